{{ config(**rebuild_config(['board', 'thread_id'], 'thread_id', 'created_at')) }}
{%- set touched_inputs = [[ref('threads'), 'created_at', none]] %}

{#-
    One row per thread: how long it stayed on the board (from its OP to its archiving or
    deletion, or to the last crawl that saw it while it is live), its replies (the API's
    count, else the posts seen), posts per hour over that time (at least a minute), whether
    it reached the bump limit, and how it ended. `topic` is the OP's subject or, without one,
    the start of its comment (as 4chan's catalog shows it), whitespace collapsed: untrusted
    text. Threads whose OP was never seen (no creation time) are left out.
    Incremental: every thread created in the hours (BigQuery: days) that changed threads
    were created in.
-#}

with

{% if is_incremental() %}
touched as (

    {{ touched_buckets(touched_inputs) }}

),
{% endif %}

threads as (

    select
        *,
        case
            when is_archived then archived_at
            when is_deleted then deleted_at
        end as ended_at
    from {{ in_touched(ref('threads'), 'created_at', inputs=touched_inputs) }}
    where created_at is not null

),

-- the OPs, for threads without a subject (an OP is posted when its thread is created)
ops as (

    select board, thread_id, comment
    from {{ in_touched(ref('posts'), 'post_datetime', inputs=touched_inputs) }}
    where is_op

),

timed as (

    select
        *,
        {{ seconds_between('created_at', 'coalesce(ended_at, last_seen_at)') }} / 3600 as hours_on_board
    from threads

)

select
    timed.board,
    timed.thread_id,
    coalesce(
        nullif(trim(timed.topic), ''),
        -- the first 80 characters, like the catalog's teaser
        nullif(substr(trim({{ regex_replace_all('ops.comment', '\\s+') }}), 1, 80), '')
    ) as topic,
    created_at,
    ended_at,
    hours_on_board,
    coalesce(replies, number_of_posts - 1) as replies,
    number_of_posts / greatest(hours_on_board, 1 / 60) as posts_per_hour,
    bumplimit_at is not null as reached_bump_limit,
    case
        when is_archived then 'archived'
        when is_deleted then 'deleted'
        else 'live'
    end as end_state,
    timed.loaded_at
from timed
left join ops
    on timed.board = ops.board and timed.thread_id = ops.thread_id
