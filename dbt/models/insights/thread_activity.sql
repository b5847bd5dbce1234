{{ config(**rebuild_config(['board', 'thread_id'], 'thread_id', 'created_at')) }}
{%- set touched_inputs = [[ref('threads'), 'created_at', none]] %}

{#-
    One row per thread: how long it stayed on the board (from its OP to its archiving or
    deletion, or to the last crawl that saw it while it is live), its replies (the API's
    count, else the posts seen), posts per hour over that time (at least a minute), whether
    it reached the bump limit, and how it ended. `topic` is untrusted text. Threads whose OP
    was never seen (no creation time) are left out.
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

timed as (

    select
        *,
        {{ seconds_between('created_at', 'coalesce(ended_at, last_seen_at)') }} / 3600 as hours_on_board
    from threads

)

select
    board,
    thread_id,
    topic,
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
    loaded_at
from timed
