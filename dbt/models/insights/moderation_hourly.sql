-- Deletions per hour they were found: posts gone from their thread, threads gone from the
-- board without being archived.
with

posts as (

    select board, {{ hour_of('deleted_at') }} as hour, count(*) as deleted
    from {{ ref('posts') }}
    where deleted_at is not null
    group by 1, 2

),

threads as (

    select board, {{ hour_of('deleted_at') }} as hour, count(*) as deleted
    from {{ ref('threads') }}
    where deleted_at is not null and not is_archived
    group by 1, 2

)

select
    coalesce(posts.board, threads.board) as board,
    coalesce(posts.hour, threads.hour) as hour,
    coalesce(posts.deleted, 0) as deleted_posts,
    coalesce(threads.deleted, 0) as deleted_threads
from posts
full outer join threads
    on posts.board = threads.board and posts.hour = threads.hour
