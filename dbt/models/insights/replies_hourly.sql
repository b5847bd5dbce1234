-- Per hour of posting: posts, and how many got at least one reply (a quote from another post).
with

replied as (

    select distinct board, quoted_post_id as post_id
    from {{ ref('reply_edges') }}

)

select
    posts.board,
    {{ hour_of('posts.post_datetime') }} as hour,
    count(*) as posts,
    count(replied.post_id) as posts_with_reply,
    count(*) - count(replied.post_id) as posts_without_reply,
    (count(*) - count(replied.post_id)) / count(*) as share_without_reply
from {{ ref('posts') }} as posts
left join replied
    on posts.board = replied.board and posts.post_id = replied.post_id
where posts.post_datetime is not null
group by 1, 2
