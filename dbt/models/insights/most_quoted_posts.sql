{#-
    Posts quoted by at least two other posts, with the count and a rank per board
    (1 = most quoted; ties by post number). `comment` is the first 280 characters,
    as posted: untrusted text.
-#}

with

quoted as (

    select board, quoted_post_id as post_id, count(*) as times_quoted
    from {{ ref('reply_edges') }}
    group by 1, 2
    having count(*) >= 2

)

select
    posts.board,
    posts.post_id,
    posts.thread_id,
    posts.post_datetime,
    quoted.times_quoted,
    substr(posts.comment, 1, 280) as comment,
    row_number() over (
        partition by posts.board order by quoted.times_quoted desc, posts.post_id
    ) as rank
from quoted
inner join {{ ref('posts') }} as posts
    on quoted.board = posts.board and quoted.post_id = posts.post_id
