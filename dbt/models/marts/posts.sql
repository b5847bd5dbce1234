{{
    config(
        materialized='incremental',
        unique_key=['board', 'post_id'],
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        pre_hook="{{ set_merge_floor('polit_posts_floor', 'post_id', [ref('stg_chan__posts')]) }}",
        incremental_predicates=merge_floor_predicates('polit_posts_floor', 'post_id'),
        **posts_storage_config()
    )
}}

{#-
    One row per post: its latest content (the newest non-tombstone row), when it was first
    and last seen, and `deleted_at` from its newest row of any kind (null again when a post
    comes back after a tombstone: undeleted).

    "Newest" is the board's write order `seq` (src/polit/lake/sequence.py), then
    `observed_at`: a crawler whose clock is behind still writes its later rows later. Rows
    without a `seq` (imports, files from before it) are older than every row with one.
    `seen_seq` and `observed_seq` keep the order of the newest version and of the newest
    row of any kind, so that the target row can stand in for them in the next run.

    An incremental run reads only raw rows loaded since the last run (macro loaded_since_last_run)
    and merges them with the row the target already has, which stands in for all the older
    raw rows: its content as seen at `last_seen_at`, its state as seen at
    `last_observed_at`. Min, max and "newest wins" give the same answer however the rows are
    split between runs, and whether a row comes once or twice (the lake is at-least-once).

    Flat incremental cost: post numbers grow over time on a board and new raw rows are about
    recent posts, so both reads of the target (`existing` below, and the merge itself through
    `incremental_predicates`: macro set_merge_floor) are bounded by the smallest post number
    among the new rows. On BigQuery both reads carry a literal bound on the day partitions
    instead (macros late_bound, bigquery__get_merge_sql).
    The bound changes no result (both also match on the key, and every new row is above it);
    it lets DuckDB skip the row groups of older posts by their min/max, which is why a full
    build writes the table in (board, post_id) order (macro build_order).
-#}

{%- set content = [
    'thread_id', 'poster_id', 'version',
    'poster_name', 'tripcode', 'email', 'subject', 'comment', 'comment_html', 'file_name',
    'file_extension', 'file_md5', 'capcode', 'country', 'country_name', 'flag', 'flag_name',
    'troll_country', 'url',
    'file_size', 'width', 'height', 'quotes', 'links',
    'toxicity', 'severe_toxicity', 'inflammatory', 'profanity', 'insult', 'obscene', 'spam',
    'is_op', 'has_file', 'is_file_deleted', 'is_spoiler',
    'post_datetime',
] %}

with

{% if not is_incremental() and narrow_full_build() %}
-- A full build (DuckDB): one aggregate over the narrow columns finds each post's newest
-- version row and state (arg_max), then only those rows are read whole. Sorting every
-- wide raw row by post and time, as the windows below do, costs about twice as much.

observations as (

    select
        board, post_id, thread_id, observed_at, deleted_at, is_tombstone, loaded_at, lake_file,
        coalesce(seq, -1) as seq
    from {{ ref('stg_chan__posts') }}

),

summary as (

    select
        board,
        post_id,
        min(observed_at) as first_seen_at,
        max(case when not is_tombstone then observed_at end) as last_seen_at,
        max(observed_at) as last_observed_at,
        max(loaded_at) as loaded_at,
        -- the newest observation; at the same place a tombstone wins (as in the windows)
        arg_max(
            {'thread_id': thread_id, 'deleted_at': deleted_at, 'seq': seq},
            {'seq': seq, 'at': observed_at, 'deleted_at': coalesce(deleted_at, '-infinity'::timestamptz)}
        ) as state,
        arg_max({'seq': seq, 'at': observed_at, 'file': lake_file}, {'seq': seq, 'at': observed_at})
            filter (where not is_tombstone) as version_row
    from observations
    group by board, post_id

),

seen as (

    select board, post_id, first_seen_at, last_seen_at, last_observed_at, loaded_at
    from summary

),

latest_state as (

    select
        board, post_id, state.thread_id as thread_id, state.deleted_at as deleted_at,
        state.seq as seq
    from summary

),

latest_version as (

    select
        summary.board, summary.post_id, summary.version_row.seq as seq,
        {% for c in content %}stg.{{ c }}{% if not loop.last %}, {% endif %}{% endfor %}
    from summary
    inner join {{ ref('stg_chan__posts') }} as stg
        on stg.board = summary.board
        and stg.post_id = summary.post_id
        and stg.observed_at = summary.version_row.at
        and stg.lake_file = summary.version_row.file
        and coalesce(stg.seq, -1) = summary.version_row.seq
    where not stg.is_tombstone

),
{% else %}

new_rows as (

    select * from {{ ref('stg_chan__posts') }}
    {% if is_incremental() %}
    where {{ loaded_since_last_run(this) }}
    {% endif %}

),

{% if is_incremental() %}
existing as (

    select target.*
    from {{ this }} as target
    inner join (select distinct board, post_id from new_rows) as touched
        on target.board = touched.board and target.post_id = touched.post_id
    where target.post_id >= (select min(post_id) from new_rows)
        {{ late_bound('target.post_datetime') }}

),
{% endif %}

-- every known version of each post's content, with when it was seen
versions as (

    select board, post_id, coalesce(seq, -1) as seq, observed_at, {{ content | join(', ') }}
    from new_rows
    where not is_tombstone
    {% if is_incremental() %}
    union all
    select
        board, post_id, coalesce(seen_seq, -1) as seq, last_seen_at as observed_at,
        {{ content | join(', ') }}
    from existing
    where last_seen_at is not null
    {% endif %}

),

-- every known observation of each post: a version (deleted_at null) or a tombstone
observations as (

    select
        board,
        post_id,
        thread_id,
        deleted_at,
        coalesce(seq, -1) as seq,
        observed_at,
        observed_at as first_seen_at,
        case when not is_tombstone then observed_at end as last_seen_at,
        loaded_at
    from new_rows
    {% if is_incremental() %}
    union all
    select
        board,
        post_id,
        thread_id,
        deleted_at,
        coalesce(observed_seq, -1) as seq,
        last_observed_at as observed_at,
        first_seen_at,
        last_seen_at,
        loaded_at
    from existing
    {% endif %}

),

versions_ranked as (

    select
        *,
        row_number() over (
            partition by board, post_id order by seq desc, observed_at desc
        ) as recency
    from versions

),

latest_version as (

    select board, post_id, seq, {{ content | join(', ') }}
    from versions_ranked
    where recency = 1

),

observations_ranked as (

    select
        board,
        post_id,
        thread_id,
        deleted_at,
        seq,
        row_number() over (
            partition by board, post_id
            order by seq desc, observed_at desc, deleted_at desc nulls last
        ) as recency
    from observations

),

latest_state as (

    select board, post_id, thread_id, deleted_at, seq
    from observations_ranked
    where recency = 1

),

seen as (

    select
        board,
        post_id,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        max(observed_at) as last_observed_at,
        max(loaded_at) as loaded_at
    from observations
    group by board, post_id

),
{% endif %}

final as (

    select
        ---------- ids
        seen.board,
        seen.post_id,
        coalesce(latest_version.thread_id, latest_state.thread_id) as thread_id,
        latest_version.poster_id,
        latest_version.version,

        ---------- strings
        latest_version.poster_name,
        latest_version.tripcode,
        latest_version.email,
        latest_version.subject,
        latest_version.comment,
        latest_version.comment_html,
        latest_version.file_name,
        latest_version.file_extension,
        latest_version.file_md5,
        latest_version.capcode,
        latest_version.country,
        latest_version.country_name,
        latest_version.flag,
        latest_version.flag_name,
        latest_version.troll_country,
        latest_version.url,

        ---------- numerics
        latest_version.file_size,
        latest_version.width,
        latest_version.height,
        latest_version.quotes,
        latest_version.links,
        latest_version.toxicity,
        latest_version.severe_toxicity,
        latest_version.inflammatory,
        latest_version.profanity,
        latest_version.insult,
        latest_version.obscene,
        latest_version.spam,

        ---------- booleans
        latest_version.is_op,
        latest_version.has_file,
        latest_version.is_file_deleted,
        latest_version.is_spoiler,
        latest_state.deleted_at is not null as is_deleted,

        ---------- timestamps
        latest_version.post_datetime,
        seen.first_seen_at,
        seen.last_seen_at,
        seen.last_observed_at,
        latest_state.deleted_at,
        seen.loaded_at,

        ---------- the write order of the newest version and of the newest row
        latest_version.seq as seen_seq,
        latest_state.seq as observed_seq

    from seen
    inner join latest_state
        on seen.board = latest_state.board and seen.post_id = latest_state.post_id
    left join latest_version
        on seen.board = latest_version.board and seen.post_id = latest_version.post_id

)

select * from final
{% if not is_incremental() %}
{{ build_order(['board', 'post_id']) }}
{% endif %}
