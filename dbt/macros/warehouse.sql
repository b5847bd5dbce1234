{#
    Every difference between DuckDB and BigQuery lives here, as dispatch macros with a
    duckdb__ and a bigquery__ implementation. Models call the plain names.
#}


{# A UTC timestamp from seconds since the epoch (the API's `time`, `last_modified`). #}
{% macro epoch_to_timestamp(seconds) -%}
    {{ return(adapter.dispatch('epoch_to_timestamp', 'polit')(seconds)) }}
{%- endmacro %}

{% macro duckdb__epoch_to_timestamp(seconds) -%}
    to_timestamp({{ seconds }})
{%- endmacro %}

{% macro bigquery__epoch_to_timestamp(seconds) -%}
    timestamp_seconds({{ seconds }})
{%- endmacro %}


{# https://boards.4chan.org/<board>/thread/<thread>[#p<post>] #}
{% macro chan_url(board, thread_id, post_id=none) -%}
    {{ return(adapter.dispatch('chan_url', 'polit')(board, thread_id, post_id)) }}
{%- endmacro %}

{% macro duckdb__chan_url(board, thread_id, post_id) -%}
    {%- if post_id -%}
    printf('https://boards.4chan.org/%s/thread/%d#p%d', {{ board }}, {{ thread_id }}, {{ post_id }})
    {%- else -%}
    printf('https://boards.4chan.org/%s/thread/%d', {{ board }}, {{ thread_id }})
    {%- endif -%}
{%- endmacro %}

{% macro bigquery__chan_url(board, thread_id, post_id) -%}
    {%- if post_id -%}
    format('https://boards.4chan.org/%s/thread/%d#p%d', {{ board }}, {{ thread_id }}, {{ post_id }})
    {%- else -%}
    format('https://boards.4chan.org/%s/thread/%d', {{ board }}, {{ thread_id }})
    {%- endif -%}
{%- endmacro %}


{#
    When a raw row reached the warehouse: the incremental models' cursor. The loader stamps
    `_loaded_at` on every row of a load, later than every earlier load's stamp whatever the
    clocks say (src/polit/warehouse): DuckDB in the load's transaction, BigQuery by the
    insert from the batch's scratch table.
#}
{% macro chan_loaded_at() -%}
    _loaded_at
{%- endmacro %}


{#
    The filter of an incremental run: raw rows loaded since the newest one the target
    holds. Loads never overlap a transform and their stamps only grow, so `>` the target's
    newest is exact; merging a row twice changes nothing, so `lookback_hours` (default 0)
    may widen it. DuckDB: a subquery. BigQuery: `relation` is the model itself and its
    cursor is in polit_cursors (save_cursors), read before the run as a literal, so that the
    filter prunes the raw tables' day partitions of `_loaded_at` (a subquery scans them all).
#}
{% macro loaded_since_last_run(relation, column='loaded_at') -%}
    {{ return(adapter.dispatch('loaded_since_last_run', 'polit')(relation, column)) }}
{%- endmacro %}

{% macro duckdb__loaded_since_last_run(relation, column) -%}
    {%- set lookback = var('lookback_hours', 0) -%}
    {{ column }} {{ '>=' if lookback else '>' }} (
        select coalesce(max({{ column }}) - interval '{{ lookback }} hours', '-infinity'::timestamptz)
        from {{ relation }}
    )
{%- endmacro %}

{% macro bigquery__loaded_since_last_run(relation, column) -%}
    {{ column }} {{ '>=' if var('lookback_hours', 0) else '>' }} timestamp('{{ bigquery_cursor()[0] }}')
{%- endmacro %}


{#
    The partitions an incremental `threads` run must read on BigQuery, as two literals: a
    touched thread's raw rows are all observed since it was first seen, and its posts were
    all posted since its OP (or, OP unknown, `late_change_days` before it was first seen).
    New threads' rows and posts are among the new ones. Returns (states, posts) filters,
    ` and <column> >= <literal>`; DuckDB needs none (it skips row groups by post number).
#}
{% macro threads_bounds(states_column, posts_column) -%}
    {{ return(adapter.dispatch('threads_bounds', 'polit')(states_column, posts_column)) }}
{%- endmacro %}

{% macro duckdb__threads_bounds(states_column, posts_column) -%}
    {{ return(['', '']) }}
{%- endmacro %}

{% macro bigquery__threads_bounds(states_column, posts_column) -%}
    {%- set since, posted = bigquery_cursor() -%}
    {%- set bounds = [since, posted] -%}
    {%- if execute -%}
        {%- set rows = run_query(
            "with touched as (select board, thread_id from " ~ ref('stg_chan__threads')
            ~ " where loaded_at >= timestamp('" ~ since ~ "') union distinct select board, thread_id from "
            ~ ref('posts') ~ " where loaded_at >= timestamp('" ~ since ~ "') and post_datetime >= timestamp('"
            ~ posted ~ "')) select format_timestamp('%Y-%m-%d %H:%M:%E6S+00', least(min(t.first_seen_at), timestamp('"
            ~ since ~ "'))), format_timestamp('%Y-%m-%d 00:00:00+00', least(min(coalesce(t.created_at, timestamp_sub("
            ~ "t.first_seen_at, interval " ~ (var('late_change_days') | int) ~ " day))), timestamp('" ~ posted
            ~ "'))) from " ~ this ~ " as t inner join touched using (board, thread_id)"
        ).rows -%}
        {%- if rows and rows[0][0] -%}
            {%- set bounds = [rows[0][0], rows[0][1] or posted] -%}
        {%- endif -%}
    {%- endif -%}
    {{ return([
        " and " ~ states_column ~ " >= timestamp('" ~ bounds[0] ~ "')",
        " and " ~ posts_column ~ " >= timestamp('" ~ bounds[1] ~ "')",
    ]) }}
{%- endmacro %}


{#
    Storage options of `posts` on BigQuery (nothing on DuckDB): partitioned by DAY of the
    post and clustered by board, thread and post. The seed asked for hourly partitions, but
    BigQuery allows 10,000 partitions per table, which hourly partitions fill in 417 days;
    day partitions last 27 years, and a query for one hour still reads one day's partition.
    `merge_late_bound`: the MERGE reads only the partitions an hourly run can touch
    (bigquery__get_merge_sql), as does the read of existing rows (late_bound).
#}
{% macro posts_storage_config() -%}
    {{ return(adapter.dispatch('posts_storage_config', 'polit')()) }}
{%- endmacro %}

{% macro duckdb__posts_storage_config() -%}
    {{ return({}) }}
{%- endmacro %}

{% macro bigquery__posts_storage_config() -%}
    {{ return({
        'partition_by': {'field': 'post_datetime', 'data_type': 'timestamp', 'granularity': 'day'},
        'cluster_by': ['board', 'thread_id', 'post_id'],
        'merge_late_bound': 'post_datetime',
    }) }}
{%- endmacro %}


{#
    dbt's MERGE on BigQuery, with the target's partitions bounded by a literal when the model
    sets `merge_late_bound` (BigQuery prunes on a literal, not on a subquery's result): the
    model's cursor less `late_change_days` (late_bound), read before its post-hook moves it.
#}
{% macro bigquery__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates=none) -%}
    {%- set predicates = (incremental_predicates or []) | list -%}
    {%- set column = config.get('merge_late_bound') -%}
    {%- if column -%}
        {%- do predicates.append("DBT_INTERNAL_DEST." ~ column ~ " >= timestamp('" ~ bigquery_cursor()[1] ~ "')") -%}
    {%- endif -%}
    {{ return(default__get_merge_sql(target, source, unique_key, dest_columns, predicates)) }}
{%- endmacro %}


{#
    Bounding a merge to recent rows. Before an incremental run (a pre-hook), the smallest
    `column` among the rows the run will merge (the rows of `relations` loaded since the
    target's cursor) is kept; `incremental_predicates` then limit the merge to target rows
    at or above it. Exact: the merge also matches on the key, and every source row is above
    the bound. What it saves is reading the target's older row groups.
    DuckDB: a session variable (the hook and the merge run on the model's connection);
    `getvariable` is a constant to the planner, so the target's scan skips row groups by
    their min/max. BigQuery: nothing; `posts` is partitioned by post time there, and a bound
    on the post number would prune nothing.
#}
{% macro set_merge_floor(variable, column, relations) -%}
    {{ return(adapter.dispatch('set_merge_floor', 'polit')(variable, column, relations)) }}
{%- endmacro %}

{% macro duckdb__set_merge_floor(variable, column, relations) -%}
    {%- if is_incremental() -%}
    set variable {{ variable }} = (
        select min({{ column }}) from (
            {%- for relation in relations %}
            select {{ column }} from {{ relation }} where {{ loaded_since_last_run(this) }}
            {%- if not loop.last %} union all{% endif %}
            {%- endfor %}
        )
    )
    {%- endif -%}
{%- endmacro %}

{% macro bigquery__set_merge_floor(variable, column, relations) -%}
{%- endmacro %}

{% macro merge_floor_predicates(variable, column) -%}
    {{ return(adapter.dispatch('merge_floor_predicates', 'polit')(variable, column)) }}
{%- endmacro %}

{% macro duckdb__merge_floor_predicates(variable, column) -%}
    {{ return(["DBT_INTERNAL_DEST." ~ column ~ " >= getvariable('" ~ variable ~ "')"]) }}
{%- endmacro %}

{% macro bigquery__merge_floor_predicates(variable, column) -%}
    {{ return([]) }}
{%- endmacro %}

{#
    The order a full build writes a table in. DuckDB keeps min/max per row group, so a table
    written in key order lets a filter on a recent key range skip the rest. BigQuery: none
    (storage is arranged by partitioning and clustering; a global ORDER BY only costs).
#}
{% macro build_order(columns) -%}
    {{ return(adapter.dispatch('build_order', 'polit')(columns)) }}
{%- endmacro %}

{% macro duckdb__build_order(columns) -%}
    order by {{ columns | join(', ') }}
{%- endmacro %}

{% macro bigquery__build_order(columns) -%}
{%- endmacro %}


{#
    A field the API sends HTML-escaped (`sub`, `name`, `filename`, flag names) as plain text:
    4chan escapes exactly & < > " and ' (as &#039;), so undoing those five is exact. `&amp;`
    goes last, so "&amp;lt;" becomes "&lt;" as typed. (`com` is parsed in Python instead.)
#}
{% macro html_text(column) -%}
    replace(replace(replace(replace(replace({{ column }},
        '&#039;', {{ adapter.dispatch('apostrophe', 'polit')() }}),
        '&quot;', '"'), '&lt;', '<'), '&gt;', '>'), '&amp;', '&')
{%- endmacro %}

{% macro duckdb__apostrophe() -%}
    chr(39)
{%- endmacro %}

{% macro bigquery__apostrophe() -%}
    code_points_to_string([39])
{%- endmacro %}


{#
    A full build of `posts` by one narrow aggregate and a join back to the newest version's
    raw row (DuckDB: a post is in a lake file once per observation time, and the loader keeps
    each row's file in `_file`), or by window functions over all raw rows (BigQuery, whose
    load jobs cannot add the file's name; it sorts in parallel anyway).
#}
{% macro narrow_full_build() -%}
    {{ return(adapter.dispatch('narrow_full_build', 'polit')()) }}
{%- endmacro %}

{% macro duckdb__narrow_full_build() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro bigquery__narrow_full_build() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro lake_file() -%}
    {{ return(adapter.dispatch('lake_file', 'polit')()) }}
{%- endmacro %}

{% macro duckdb__lake_file() -%}
    _file
{%- endmacro %}

{% macro bigquery__lake_file() -%}
    cast(null as string)
{%- endmacro %}
