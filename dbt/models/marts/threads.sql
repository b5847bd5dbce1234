{{
    config(
        materialized='incremental',
        unique_key=['board', 'thread_id'],
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        pre_hook="{{ set_merge_floor(
            'polit_threads_floor', 'thread_id', [ref('stg_chan__threads'), ref('posts')]
        ) }}",
        incremental_predicates=merge_floor_predicates('polit_threads_floor', 'thread_id')
    )
}}

{#-
    One row per thread with its lifecycle. A thread is known from its raw thread rows, from
    its posts, or both (a load can bring one before the other). Its newest raw row is the
    last in the board's write order `seq`, then by `observed_at` (as in posts).

    An incremental run recomputes the threads touched since the cursor: those with new raw
    thread rows, and those whose posts changed (`posts.loaded_at` moves with every merge).
    Raw thread rows are few (one per thread per crawl), so a touched thread's history is
    read whole; its posts come from `posts`, already merged. A thread's posts are numbered
    from its own number up, so only posts numbered at or above the smallest touched thread
    are read (recent ones: `posts` is stored in post order, so older row groups are skipped).
    On BigQuery both reads carry literal partition bounds instead (macro threads_bounds).
-#}

{%- if is_incremental() -%}
{%- set bounds = threads_bounds('stg.loaded_at', 'posts.post_datetime') -%}
{%- endif %}

with

{% if is_incremental() %}
touched_rows as (

    select board, thread_id
    from {{ ref('stg_chan__threads') }}
    where {{ loaded_since_last_run(this) }}
    union all
    select board, thread_id
    from {{ ref('posts') }}
    where {{ loaded_since_last_run(this) }} {{ late_bound('post_datetime') }}

),

touched as (

    select distinct board, thread_id from touched_rows

),
{% endif %}

states as (

    select stg.*
    from {{ ref('stg_chan__threads') }} as stg
    {% if is_incremental() %}
    inner join touched
        on stg.board = touched.board and stg.thread_id = touched.thread_id
    where true {{ bounds[0] }}
    {% endif %}

),

thread_posts as (

    select posts.*
    from {{ ref('posts') }} as posts
    {% if is_incremental() %}
    inner join touched
        on posts.board = touched.board and posts.thread_id = touched.thread_id
    where posts.post_id >= (select min(thread_id) from touched) {{ bounds[1] }}
    {% endif %}

),

known as (

    select board, thread_id from states
    union all
    select board, thread_id from thread_posts

),

threads as (

    select distinct board, thread_id from known

),

states_summary as (

    select
        board,
        thread_id,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        max(archived_at) as archived_at,
        min(case when is_bumplimit then observed_at end) as bumplimit_seen_at,
        max(loaded_at) as loaded_at
    from states
    group by board, thread_id

),

-- the newest row decides whether the thread is deleted now (it may come back)
states_ranked as (

    select
        board,
        thread_id,
        deleted_at,
        row_number() over (
            partition by board, thread_id
            order by coalesce(seq, -1) desc, observed_at desc, deleted_at desc nulls last
        ) as recency
    from states

),

latest_state as (

    select board, thread_id, deleted_at from states_ranked where recency = 1

),

-- the newest row that saw the thread itself (a `deleted` row carries no flags or counts)
listings_ranked as (

    select
        board,
        thread_id,
        is_sticky,
        is_closed,
        replies,
        images,
        page,
        unique_ips,
        last_modified_at,
        row_number() over (
            partition by board, thread_id order by coalesce(seq, -1) desc, observed_at desc
        ) as recency
    from states
    where event != 'deleted'

),

latest_listing as (

    select
        board,
        thread_id,
        is_sticky,
        is_closed,
        replies,
        images,
        page,
        unique_ips,
        last_modified_at
    from listings_ranked
    where recency = 1

),

posts_summary as (

    select
        board,
        thread_id,
        count(case when deleted_at is null then 1 end) as number_of_posts,
        count(distinct poster_id) as unique_posters,
        max(post_datetime) as last_post_at,
        max(loaded_at) as loaded_at
    from thread_posts
    group by board, thread_id

),

op as (

    select board, thread_id, subject as topic, post_datetime as created_at
    from thread_posts
    where is_op

),

replies_numbered as (

    select
        board,
        thread_id,
        post_datetime,
        row_number() over (partition by board, thread_id order by post_id) as reply_number
    from thread_posts
    where not is_op

),

bump_reply as (

    select board, thread_id, post_datetime as bump_reply_at
    from replies_numbered
    where reply_number = {{ var('bump_limit') }}

),

final as (

    select
        ---------- ids
        threads.board,
        threads.thread_id,

        ---------- strings
        op.topic,
        {{ chan_url('threads.board', 'threads.thread_id') }} as url,

        ---------- numerics
        coalesce(posts_summary.number_of_posts, 0) as number_of_posts,
        latest_listing.replies,
        latest_listing.images,
        coalesce(posts_summary.unique_posters, 0) as unique_posters,
        latest_listing.unique_ips,
        latest_listing.page,

        ---------- booleans
        coalesce(latest_listing.is_sticky, false) as is_sticky,
        coalesce(latest_listing.is_closed, false) as is_closed,
        states_summary.archived_at is not null as is_archived,
        latest_state.deleted_at is not null as is_deleted,

        ---------- timestamps
        op.created_at,
        posts_summary.last_post_at,
        latest_listing.last_modified_at,
        case
            when bump_reply.bump_reply_at is null then states_summary.bumplimit_seen_at
            when states_summary.bumplimit_seen_at is null then bump_reply.bump_reply_at
            when bump_reply.bump_reply_at < states_summary.bumplimit_seen_at
                then bump_reply.bump_reply_at
            else states_summary.bumplimit_seen_at
        end as bumplimit_at,
        states_summary.archived_at,
        latest_state.deleted_at,
        states_summary.first_seen_at,
        states_summary.last_seen_at,
        greatest(
            coalesce(states_summary.loaded_at, posts_summary.loaded_at),
            coalesce(posts_summary.loaded_at, states_summary.loaded_at)
        ) as loaded_at

    from threads
    left join states_summary
        on threads.board = states_summary.board and threads.thread_id = states_summary.thread_id
    left join latest_state
        on threads.board = latest_state.board and threads.thread_id = latest_state.thread_id
    left join latest_listing
        on threads.board = latest_listing.board and threads.thread_id = latest_listing.thread_id
    left join posts_summary
        on threads.board = posts_summary.board and threads.thread_id = posts_summary.thread_id
    left join op
        on threads.board = op.board and threads.thread_id = op.thread_id
    left join bump_reply
        on threads.board = bump_reply.board and threads.thread_id = bump_reply.thread_id

)

select * from final
{% if not is_incremental() %}
{{ build_order(['board', 'thread_id']) }}
{% endif %}
