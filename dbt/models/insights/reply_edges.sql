{#-
    The quote graph: one row per (post, post it quotes), same-thread and cross-thread quotes
    alike (a post quoting another twice is one edge; quoting itself is none).
    `quoted_thread_id` is null when the quoted post is not in `posts`.
-#}

with

quoting as (

    select board, post_id, thread_id, post_datetime as posted_at, quoted_post_id
    from {{ explode(ref('posts'), 'quotes', 'quoted_post_id',
                    ['board', 'post_id', 'thread_id', 'post_datetime']) }} as quotes

)

select
    quoting.board,
    quoting.post_id,
    quoting.quoted_post_id,
    quoting.thread_id,
    quoted.thread_id as quoted_thread_id,
    quoted.thread_id = quoting.thread_id as same_thread,
    quoting.posted_at
from quoting
left join {{ ref('posts') }} as quoted
    on quoting.board = quoted.board and quoting.quoted_post_id = quoted.post_id
where quoting.quoted_post_id != quoting.post_id
