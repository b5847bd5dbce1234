{{ config(**rebuild_config(['board', 'hour'], 'loaded_at', 'hour')) }}

{#-
    Deletions per hour they were found: posts gone from their thread, threads gone from the
    board without being archived.
    Incremental: a changed post or thread can add a deletion (at or after the time it was
    first seen) or take one back (undeleted: its old deletion was also after it was first
    seen). So every hour from the earliest first sighting among the changed posts and
    threads on is rebuilt whole.
-#}

with

{% if is_incremental() %}
changed as (

    select board, first_seen_at, deleted_at
    from {{ changed_rows(ref('posts'), 'post_datetime') }}
    union all
    select board, first_seen_at, deleted_at
    from {{ changed_rows(ref('threads')) }}

),

touched as (

    select
        board,
        min({{ touch_bucket('least(first_seen_at, coalesce(deleted_at, first_seen_at))') }})
            as bucket
    from changed
    group by 1

),

groups as (

    select existing.board, existing.hour
    from {{ this }} as existing
    inner join touched
        on existing.board = touched.board and existing.hour >= touched.bucket
    where existing.hour >= (select min(bucket) from touched) {{ late_bound('existing.hour') }}

),
{% endif %}

deleted_posts as (

    select posts.board, {{ hour_of('posts.deleted_at') }} as hour, count(*) as deleted,
        max(posts.loaded_at) as loaded_at
    from {{ ref('posts') }} as posts
    {% if is_incremental() %}
    inner join touched
        on posts.board = touched.board and posts.deleted_at >= touched.bucket
    {% endif %}
    where posts.deleted_at is not null
    {% if is_incremental() %}
        {{ late_bound('posts.post_datetime') }}
    {% endif %}
    group by 1, 2

),

deleted_threads as (

    select threads.board, {{ hour_of('threads.deleted_at') }} as hour, count(*) as deleted,
        max(threads.loaded_at) as loaded_at
    from {{ ref('threads') }} as threads
    {% if is_incremental() %}
    inner join touched
        on threads.board = touched.board and threads.deleted_at >= touched.bucket
    {% endif %}
    where threads.deleted_at is not null and not threads.is_archived
    group by 1, 2

),

final as (

    select
        coalesce(deleted_posts.board, deleted_threads.board) as board,
        coalesce(deleted_posts.hour, deleted_threads.hour) as hour,
        coalesce(deleted_posts.deleted, 0) as deleted_posts,
        coalesce(deleted_threads.deleted, 0) as deleted_threads,
        greatest(
            coalesce(deleted_posts.loaded_at, deleted_threads.loaded_at),
            coalesce(deleted_threads.loaded_at, deleted_posts.loaded_at)
        ) as loaded_at
    from deleted_posts
    full outer join deleted_threads
        on deleted_posts.board = deleted_threads.board
        and deleted_posts.hour = deleted_threads.hour

)

{% if is_incremental() %}
{{ rebuild_rows('final', ['board', 'hour'], '(select * from groups union all select board, hour from final)') }}
{% else %}
select * from final
{% endif %}
