{#
    How the insight marts stay incremental (models/insights). Every mart carries `loaded_at`:
    the newest `loaded_at` of the rows it was computed from (posts.loaded_at moves with every
    merge of a post). An hourly run reads the rows of its inputs changed since its own newest
    `loaded_at` (macro changed_rows), finds the groups they touch (hours, days, posts, keys),
    and recomputes only those groups from their inputs.

    Every mart is "rebuilt": the rows of the touched groups are replaced.
    - DuckDB: the custom incremental strategy `rebuild` below deletes the target's rows of the
      touched groups and inserts the recomputed ones. A model emits one row per touched group
      even when the group is now empty (macro rebuild_rows: the touched groups left-joined to
      the result), so a group that vanished (a post undeleted, a text changed) is deleted too;
      such placeholder rows have a null `present` column and are not inserted. A per-post
      mart recomputes every post of the touched hours (its groups are posts: none vanish).
    - BigQuery (dbt-bigquery allows no custom strategy): `insert_overwrite` of day partitions,
      by copy jobs (`copy_partitions`: free, where a MERGE would bill the partitions it
      replaces). There the touched groups are whole days (macro touch_bucket), so every
      touched day is recomputed whole and replaced. Reads carry literal partition bounds (macro late_bound):
      a post changes only while its thread lives, so changed posts are at most
      `late_change_days` older than the crawl that changed them.
#}


{#- Rows of `relation` changed since this model's last run (all rows on a first run). -#}
{% macro changed_rows(relation, time_column=none) -%}
    {%- if is_incremental() -%}
    (
        select * from {{ relation }}
        where {{ since_cursor() }}
        {%- if time_column %} {{ late_bound(time_column) }}{% endif %}
    )
    {%- else -%}
    {{ relation }}
    {%- endif -%}
{%- endmacro %}


{#-
    Each incremental model's cursor, in the table `polit_cursors` (model, loaded_at, previous):
    the newest `loaded_at` among its inputs when it last ran. `polit transform` reads the
    table once before the build and passes it in $POLIT_CURSORS (cursor_of); the
    on-run-end hook save_cursors writes every built model's new cursor in one MERGE. A mart
    whose new input makes no row of its own (no deletion this hour, a board without flags)
    still moves on. A missing cursor reads as the beginning of time: everything is recomputed.
-#}
{% macro cursor_table(relation=none) -%}
    {%- set relation = relation or this -%}
    {{ return(api.Relation.create(database=relation.database, schema=relation.schema, identifier='polit_cursors')) }}
{%- endmacro %}

{#- [loaded_at, previous] of `model_name` as this build found them: literals
    'YYYY-MM-DD HH:MM:SS.ffffff+00' or none. From $POLIT_CURSORS, JSON that polit transform
    reads before the build (src/polit/transform/cursors.py; read only while models run, so
    that its change is no reason for dbt to parse again); without it (a plain `dbt build`)
    one query per model, kept on the node while it compiles. -#}
{% macro cursor_of(model_name) -%}
    {%- set given = env_var('POLIT_CURSORS', '') if execute else '' -%}
    {%- set cursors = fromjson(given) if given else none -%}
    {%- if cursors is mapping -%}
        {%- set row = cursors.get(model_name) or {} -%}
        {{ return([row.get('loaded_at') or none, row.get('previous') or none]) }}
    {%- endif -%}
    {%- set key = 'polit_cursor_of_' ~ model_name -%}
    {%- if model is mapping and key in model -%}
        {{ return(model[key]) }}
    {%- endif -%}
    {%- set result = [none, none] -%}
    {%- set nodes = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == model_name -%}
        {%- do nodes.append(node) -%}
    {%- endfor -%}
    {%- if execute and nodes and adapter.get_relation(nodes[0].database, nodes[0].schema, 'polit_cursors') is not none -%}
        {%- set rows = run_query(
            'select ' ~ cursor_literal_sql('loaded_at') ~ ', ' ~ cursor_literal_sql('previous')
            ~ ' from ' ~ cursor_table(nodes[0]) ~ " where model = '" ~ model_name ~ "'"
        ).rows -%}
        {%- if rows -%}
            {%- set result = [rows[0][0] or none, (rows[0][1] if rows[0] | length > 1 else none) or none] -%}
        {%- endif -%}
        {%- if model is mapping -%}
            {%- do model.update({key: result}) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(result) }}
{%- endmacro %}

{#- A timestamp column as the literal text cursor_of returns. -#}
{% macro cursor_literal_sql(column) -%}
    {{ return(adapter.dispatch('cursor_literal_sql', 'polit')(column)) }}
{%- endmacro %}

{% macro duckdb__cursor_literal_sql(column) -%}
    strftime({{ column }} at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%f+00')
{%- endmacro %}

{% macro bigquery__cursor_literal_sql(column) -%}
    format_timestamp("%Y-%m-%d %H:%M:%E6S+00", {{ column }})
{%- endmacro %}

{#- A cursor literal (or none) as a SQL timestamp. -#}
{% macro cursor_timestamp(literal) -%}
    {{ return(adapter.dispatch('cursor_timestamp', 'polit')(literal)) }}
{%- endmacro %}

{% macro duckdb__cursor_timestamp(literal) -%}
    {{ return("timestamptz '" ~ literal ~ "'" if literal else 'cast(null as timestamptz)') }}
{%- endmacro %}

{% macro bigquery__cursor_timestamp(literal) -%}
    {{ return("timestamp('" ~ literal ~ "')" if literal else 'cast(null as timestamp)') }}
{%- endmacro %}

{#- [the cursor less `hours`, the day `days` before it] as literals; none: the beginning. -#}
{% macro cursor_bounds(literal, hours=0, days=0) -%}
    {%- if not literal -%}
        {{ return(['0001-01-01 00:00:00+00', '0001-01-01 00:00:00+00']) }}
    {%- endif -%}
    {%- set dt = modules.datetime -%}
    {%- set at = dt.datetime.strptime(literal[:26], '%Y-%m-%d %H:%M:%S.%f') -%}
    {{ return([
        (at - dt.timedelta(hours=hours | int)).strftime('%Y-%m-%d %H:%M:%S.%f') ~ '+00',
        (at - dt.timedelta(days=days | int)).strftime('%Y-%m-%d 00:00:00+00'),
    ]) }}
{%- endmacro %}

{% macro since_cursor(column='loaded_at') -%}
    {{ return(adapter.dispatch('since_cursor', 'polit')(column)) }}
{%- endmacro %}

{% macro duckdb__since_cursor(column) -%}
    {%- set loaded_at = cursor_of(this.identifier)[0] -%}
    {%- if loaded_at -%}
    {{ column }} > {{ cursor_timestamp(loaded_at) }}
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- BigQuery: a literal, so that the raw tables' partitions are pruned. -#}
{% macro bigquery__since_cursor(column) -%}
    {{ column }} {{ '>=' if var('lookback_hours', 0) else '>' }} timestamp('{{ bigquery_cursor()[0] }}')
{%- endmacro %}

{#- (since, bound): this model's cursor less the lookback, and the day `late_change_days`
    before it, as literals (cursor_of). -#}
{% macro bigquery_cursor() -%}
    {{ return(cursor_bounds(cursor_of(this.identifier)[0], var('lookback_hours', 0), var('late_change_days'))) }}
{%- endmacro %}


{#-
    The on-run-end hook (dbt_project.yml): one MERGE of the new cursor of every incremental
    model built with success: the newest `loaded_at` of the models it reads. An incremental
    input built in this run has the new cursor worked out here; one not built keeps its saved
    cursor; a staging view (posts, threads) is read as its raw table's newest `_loaded_at`
    since the model's cursor: a literal (pruned on BigQuery), and on BigQuery as of the
    build's start, so that a load during the build moves no cursor past rows no model read.
    The cursor never goes back; `previous` keeps the one before.
    A kill before the hook leaves the old cursors: the next run recomputes more, and rebuilds
    the same rows (every model is idempotent). `polit_save_cursors: false` skips the save.
-#}
{% macro save_cursors(results) -%}
    {%- if not execute or not var('polit_save_cursors', true) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set terms = {} -%}
    {%- set raw = [] -%}
    {%- set where = [] -%}
    {%- for result in results if result.node.resource_type == 'model'
            and result.node.config.materialized == 'incremental' and result.status == 'success' -%}
        {%- set node = result.node -%}
        {%- do where.append(node) -%}
        {%- set own = cursor_of(node.alias)[0] -%}
        {%- set mine = [cursor_timestamp(own)] -%}
        {%- for node_id in node.depends_on.nodes if node_id.startswith('model.') -%}
            {%- set input = graph.nodes[node_id] -%}
            {%- if input.config.materialized == 'incremental' -%}
                {%- for term in terms.get(input.alias) or [cursor_timestamp(cursor_of(input.alias)[0])] if term not in mine -%}
                    {%- do mine.append(term) -%}
                {%- endfor -%}
            {%- else -%}
                {%- for source_id in input.depends_on.nodes if source_id.startswith('source.') -%}
                    {%- set source = graph.sources[source_id] -%}
                    {%- set relation = api.Relation.create(database=source.database, schema=source.schema, identifier=source.identifier) -%}
                    {%- do raw.append(raw_newest(relation, own)) -%}
                    {%- do mine.append('(select loaded_at from raw_' ~ (raw | length) ~ ')') -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do terms.update({node.alias: mine}) -%}
    {%- endfor -%}
    {%- if not where -%}
        {{ return('') }}
    {%- endif -%}
    {%- set selects = [] -%}
    {%- for node in where -%}
        {%- set parts = [] -%}
        {%- for term in terms[node.alias] -%}
            {%- do parts.append('select ' ~ term ~ ' as t') -%}
        {%- endfor -%}
        {%- do selects.append("select '" ~ node.alias ~ "' as model, (select max(t) from (" ~ parts | join(' union all ') ~ ") as terms_) as loaded_at") -%}
    {%- endfor -%}
    {%- set table = cursor_table(where[0]) -%}
    create table if not exists {{ table }} (
        model {{ type_string() }}, loaded_at {{ cursor_type() }}, previous {{ cursor_type() }}
    );
    merge into {{ table }} as cursors
    using (
        with
        {%- for read in raw %}
        raw_{{ loop.index }} as ({{ read }}){% if not loop.last %},{% endif %}
        {%- endfor %}
        {%- if not raw %} no_raw as (select 1 as one){% endif %}
        {%- for select in selects %}
        {{ select }}
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as newest
    on cursors.model = newest.model
    when matched then update set previous = cursors.loaded_at, loaded_at = newest.loaded_at
    when not matched then insert (model, loaded_at, previous)
        values (newest.model, newest.loaded_at, null)
{%- endmacro %}

{#- The newest `_loaded_at` of a raw table since `since` (a cursor literal or none). -#}
{% macro raw_newest(relation, since) -%}
    {{ return(adapter.dispatch('raw_newest', 'polit')(relation, since)) }}
{%- endmacro %}

{% macro duckdb__raw_newest(relation, since) -%}
    {{ return('select max(' ~ chan_loaded_at() ~ ') as loaded_at from ' ~ relation
        ~ (' where ' ~ chan_loaded_at() ~ ' > ' ~ cursor_timestamp(since) if since else '')) }}
{%- endmacro %}

{% macro bigquery__raw_newest(relation, since) -%}
    {{ return('select max(' ~ chan_loaded_at() ~ ') as loaded_at from ' ~ relation
        ~ " for system_time as of timestamp('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "+00')"
        ~ ' where ' ~ chan_loaded_at() ~ ' > ' ~ cursor_timestamp(since or '0001-01-01 00:00:00.000000+00')) }}
{%- endmacro %}


{% macro cursor_type() -%}
    {{ return(adapter.dispatch('cursor_type', 'polit')()) }}
{%- endmacro %}

{% macro duckdb__cursor_type() -%}
    timestamptz
{%- endmacro %}

{% macro bigquery__cursor_type() -%}
    timestamp
{%- endmacro %}


{#- ` and <column> >= <literal>` on BigQuery: the partitions an hourly run may touch. -#}
{% macro late_bound(column) -%}
    {{ return(adapter.dispatch('late_bound', 'polit')(column)) }}
{%- endmacro %}

{% macro duckdb__late_bound(column) -%}
{%- endmacro %}

{% macro bigquery__late_bound(column) -%}
    {%- if is_incremental() %}
    and {{ column }} >= timestamp('{{ bigquery_cursor()[1] }}')
    {%- endif -%}
{%- endmacro %}


{#- The bucket a touched group is recomputed in, as a timestamp: the hour on DuckDB, the
    day (one partition) on BigQuery; day_bucket: the day on both. -#}
{% macro touch_bucket(ts) -%}
    {{ return(adapter.dispatch('touch_bucket', 'polit')(ts)) }}
{%- endmacro %}

{% macro duckdb__touch_bucket(ts) -%}
    date_trunc('hour', {{ ts }})
{%- endmacro %}

{% macro bigquery__touch_bucket(ts) -%}
    timestamp_trunc({{ ts }}, day)
{%- endmacro %}

{% macro day_bucket(ts) -%}
    {{ return(adapter.dispatch('day_bucket', 'polit')(ts)) }}
{%- endmacro %}

{% macro duckdb__day_bucket(ts) -%}
    date_trunc('day', {{ ts }})
{%- endmacro %}

{% macro bigquery__day_bucket(ts) -%}
    timestamp_trunc({{ ts }}, day)
{%- endmacro %}


{#-
    The buckets (board, bucket) that rows changed since this model's last run fall in: for
    each input, a [relation, time column] pair (a third item: the relation's partition column
    when it is not the time column). `day`: day buckets.
-#}
{% macro touched_buckets(inputs, day=false) -%}
    select distinct board, bucket from (
        {%- for input in inputs %}
        {%- set ts = input[1] %}
        select board, {{ day_bucket(ts) if day else touch_bucket(ts) }} as bucket
        from {{ changed_rows(input[0], input[2] if input | length > 2 else ts) }}
        where {{ ts }} is not null
        {%- if not loop.last %}
        union all
        {%- endif %}
        {%- endfor %}
    ) as touched_rows
{%- endmacro %}


{#- The earliest bucket of touched_buckets(inputs) as a literal, read before the run, or
    none: DuckDB (BigQuery's literal bound is late_bound). -#}
{% macro touched_floor(inputs, day=false) -%}
    {{ return(adapter.dispatch('touched_floor', 'polit')(inputs, day)) }}
{%- endmacro %}

{% macro duckdb__touched_floor(inputs, day) -%}
    {%- if execute and is_incremental() -%}
        {%- set rows = run_query(
            'select strftime(min(bucket), \'%Y-%m-%d %H:%M:%S+00\') from ('
            ~ touched_buckets(inputs, day) ~ ') as touched'
        ).rows -%}
        {%- if rows and rows[0][0] -%}
            {{ return("timestamptz '" ~ rows[0][0] ~ "'") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{% macro bigquery__touched_floor(inputs, day) -%}
    {{ return(none) }}
{%- endmacro %}


{#-
    `relation` limited to the rows whose `ts` falls in a touched bucket (CTE `touched`:
    `board`, `bucket`); the whole relation on a first run or a full refresh. `day`: the
    buckets are days (day_bucket). `partition`: the relation's partition column when it is
    not `ts`, a column never earlier than `ts` (bounded too, so that BigQuery prunes).
    `inputs` (those of touched_buckets): the earliest touched bucket, read before the run, as
    a literal bound too (touched_floor), so that DuckDB skips older row groups; a bound on a
    subquery's result prunes nothing.
-#}
{% macro in_touched(relation, ts, day=false, partition=none, inputs=none) -%}
    {%- if is_incremental() -%}
    {%- set column = 'rows_.' ~ ts -%}
    {%- set floor = touched_floor(inputs, day) if inputs else none -%}
    (
        select rows_.*
        from {{ relation }} as rows_
        inner join touched
            on rows_.board = touched.board
            and {{ day_bucket(column) if day else touch_bucket(column) }} = touched.bucket
        where {{ column }} >= (select min(bucket) from touched) {{ late_bound(column) }}
        {%- if floor %} and {{ column }} >= {{ floor }}{% endif %}
        {%- if partition %}
            and rows_.{{ partition }} >= (select min(bucket) from touched)
            {{ late_bound('rows_.' ~ partition) }}
            {%- if floor %} and rows_.{{ partition }} >= {{ floor }}{% endif %}
        {%- endif %}
    )
    {%- else -%}
    {{ relation }}
    {%- endif -%}
{%- endmacro %}


{#-
    The final select of a rebuilt mart. Incremental on DuckDB: every touched group, with its
    recomputed rows, or one placeholder row (null `present`) when it has none now.
    `keys` name the group in `relation` and in `touched`.
-#}
{% macro rebuild_rows(relation, keys, touched='touched') -%}
    {{ return(adapter.dispatch('rebuild_rows', 'polit')(relation, keys, touched)) }}
{%- endmacro %}

{% macro duckdb__rebuild_rows(relation, keys, touched) -%}
    {%- if is_incremental() -%}
    select {{ relation }}.* exclude ({{ keys | join(', ') }}), groups_.*
    from (select distinct {{ keys | join(', ') }} from {{ touched }}) as groups_
    left join {{ relation }} using ({{ keys | join(', ') }})
    {%- else -%}
    select * from {{ relation }}
    {%- endif -%}
{%- endmacro %}

{% macro bigquery__rebuild_rows(relation, keys, touched) -%}
    select * from {{ relation }}
{%- endmacro %}


{#-
    The config of a rebuilt mart: `keys` name a group (DuckDB deletes and re-inserts whole
    groups), `present` a column that is never null in a real row, `partition` the time column
    of the BigQuery day partitions (`data_type` timestamp or date), `cluster` its clustering,
    `keep_days` (when set) BigQuery's partition_expiration_days: partitions whose day is older
    are deleted (DuckDB keeps everything; the key is in both configs so that `dbt parse`, which
    polit cost reads, sees it).
-#}
{% macro rebuild_config(keys, present, partition, data_type='timestamp', cluster=['board'], keep_days=none) -%}
    {%- set config = adapter.dispatch('rebuild_config', 'polit')(keys, present, partition, data_type, cluster) -%}
    {%- if keep_days is not none and keep_days | int > 0 -%}
        {%- do config.update({'partition_expiration_days': keep_days | int}) -%}
    {%- endif -%}
    {{ return(config) }}
{%- endmacro %}

{% macro duckdb__rebuild_config(keys, present, partition, data_type, cluster) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'rebuild',
        'unique_key': keys,
        'rebuild_present': present,
        'on_schema_change': 'append_new_columns',
    }) }}
{%- endmacro %}

{% macro bigquery__rebuild_config(keys, present, partition, data_type, cluster) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'partition_by': {
            'field': partition, 'data_type': data_type, 'granularity': 'day',
            'copy_partitions': true,
        },
        'cluster_by': cluster,
        'on_schema_change': 'append_new_columns',
    }) }}
{%- endmacro %}


{#-
    The `rebuild` strategy (DuckDB): replace the target's rows of every group in the new
    rows (keys: `unique_key`), then insert the new rows that are real (`rebuild_present` not
    null). One transaction with the model's temp table (dbt-duckdb's incremental
    materialization), so a kill leaves the old rows or the new ones.
-#}
{% macro get_incremental_rebuild_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set keys = arg_dict['unique_key'] -%}
    {%- set keys = [keys] if keys is string else keys -%}
    {%- set present = config.get('rebuild_present') -%}
    {%- if not keys or not present -%}
        {{ exceptions.raise_compiler_error('rebuild: needs unique_key and rebuild_present') }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {#- the groups' smallest last key as a constant (getvariable), so that the target's scan
        skips the row groups of older hours, days or posts by their min/max -#}
    set variable polit_rebuild_floor = (select min({{ keys[-1] }}) from {{ source }});
    delete from {{ target }}
    where {{ target }}.{{ keys[-1] }} >= getvariable('polit_rebuild_floor')
    and exists (
        select 1 from {{ source }} as groups_
        where {% for key in keys %}groups_.{{ key }} = {{ target }}.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
    );
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }} where {{ present }} is not null
{%- endmacro %}
