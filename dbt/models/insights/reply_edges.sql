{{ config(**rebuild_config(['board', 'hour'], 'quoted_post_id', 'posted_at')) }}

{#-
    The quote graph: one row per (post, post it quotes), same-thread and cross-thread quotes
    alike (a post quoting another twice is one edge; quoting itself is none). `hour` is the
    hour of the quoting post. `quoted_thread_id` and `quoted_posted_at` are null when the
    quoted post is not in `posts`.
    Incremental: the hours of changed posts, and the hours of the posts that quote them (a
    quoted post that arrives late fills in their edges), each rebuilt whole.
-#}

with

{% if is_incremental() %}
changed as (

    select board, post_id, post_datetime
    from {{ changed_rows(ref('posts'), 'post_datetime') }}
    where post_datetime is not null

),

touched_rows as (

    select board, {{ touch_bucket('post_datetime') }} as bucket from changed
    union all
    select edges.board, {{ touch_bucket('edges.posted_at') }} as bucket
    from {{ this }} as edges
    inner join changed
        on edges.board = changed.board and edges.quoted_post_id = changed.post_id
    -- a quote comes after the post it quotes
    where edges.posted_at >= (select min(post_datetime) from changed)
        {{ late_bound('edges.posted_at') }}

),

touched as (

    select distinct board, bucket from touched_rows

),

groups as (

    select board, bucket as hour from touched

),
{% endif %}

quoting as (

    select
        board, post_id, thread_id, post_datetime as posted_at, quoted_post_id, loaded_at
    from {{ explode(in_touched(ref('posts'), 'post_datetime'), 'quotes', 'quoted_post_id',
                    ['board', 'post_id', 'thread_id', 'post_datetime', 'loaded_at']) }} as quotes
    where post_datetime is not null

),

quoted as (

    select board, post_id, thread_id, post_datetime, loaded_at
    from {{ ref('posts') }}
    {% if is_incremental() %}
    -- the quoted posts are among the newest (row groups of older posts are skipped)
    where post_id >= (select min(quoted_post_id) from quoting)
        {{ late_bound('post_datetime') }}
    {% endif %}

),

final as (

    select distinct
        quoting.board,
        quoting.post_id,
        quoting.quoted_post_id,
        quoting.thread_id,
        quoted.thread_id as quoted_thread_id,
        quoted.thread_id = quoting.thread_id as same_thread,
        quoting.posted_at,
        quoted.post_datetime as quoted_posted_at,
        {{ hour_of('quoting.posted_at') }} as hour,
        greatest(quoting.loaded_at, coalesce(quoted.loaded_at, quoting.loaded_at)) as loaded_at
    from quoting
    left join quoted
        on quoting.board = quoted.board and quoting.quoted_post_id = quoted.post_id
    where quoting.quoted_post_id != quoting.post_id

)

{{ rebuild_rows('final', ['board', 'hour'], 'groups') }}
