{#
    Tests sized to the run. An incremental `polit transform` sets `test_changed_rows`: the
    data tests of every incremental model then read only the rows this build changed, those
    with a `loaded_at` past the cursor the build started from (macro cursor_of), as a literal
    read before the test so that DuckDB skips older row groups and BigQuery older
    partitions. Testing costs what building did. `polit transform --full-tests` and every
    `--full-refresh` leave it off: every row is tested. A test's own `where` still applies.
    dbt's get_where_subquery is overridden for that (dispatch in dbt_project.yml); the
    subquery has no alias, so that a test can alias it.
#}

{% macro duckdb__get_where_subquery(relation) -%}
    {{ return(polit_where_subquery(relation)) }}
{%- endmacro %}

{% macro bigquery__get_where_subquery(relation) -%}
    {{ return(polit_where_subquery(relation)) }}
{%- endmacro %}

{% macro polit_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- if var('test_changed_rows', false) and execute -%}
        {%- set changed = changed_rows_filter(relation) -%}
        {%- if changed -%}
            {%- do conditions.append(changed) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ')') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{#- ` loaded_at > <previous cursor>` (and on BigQuery the partitions that can hold such
    rows), or none: not an incremental model (a seed, a view, terms_trending), or on its
    first build (no previous cursor). -#}
{% macro changed_rows_filter(relation) -%}
    {%- set incremental = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == relation.identifier
            and node.config.materialized == 'incremental' -%}
        {%- do incremental.append(node) -%}
    {%- endfor -%}
    {%- if not incremental or adapter.get_relation(relation.database, relation.schema, 'polit_cursors') is none -%}
        {{ return(none) }}
    {%- endif -%}
    {#- the cursor this build started from: the rows it changed are past it -#}
    {%- set since = cursor_of(relation.identifier)[0] -%}
    {%- if not since -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set row = [since, cursor_bounds(since, 0, var('late_change_days'))[1]] -%}
    {{ return(adapter.dispatch('changed_rows_filter', 'polit')(relation, row)) }}
{%- endmacro %}

{% macro duckdb__changed_rows_filter(relation, row) -%}
    {{ return("loaded_at > timestamptz '" ~ row[0] ~ "'") }}
{%- endmacro %}

{% macro bigquery__changed_rows_filter(relation, row) -%}
    {%- set conditions = ["loaded_at > timestamp('" ~ row[0] ~ "')"] -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == relation.identifier -%}
        {%- set partition = node.config.partition_by or {} -%}
        {%- if partition.get('field') -%}
            {%- set bound = "timestamp('" ~ row[1] ~ "')" -%}
            {%- do conditions.append(partition['field'] ~ ' >= ' ~ ('date(' ~ bound ~ ')' if partition.get('data_type') == 'date' else bound)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(conditions | join(' and ')) }}
{%- endmacro %}


{#- The hourly combined test (tests/generic/changed_rows_valid.sql): the tests of its model
    that it folds in, as one `select failed_check, failures` per test, over `rows` (the
    model's changed rows), keeping the failed ones. It folds in the tests polit transform
    leaves out of hourly builds (polit.transform.runner.FOLDED_TESTS, same list: kinds of
    test with severity error on an incremental model or a model reading one, each of which
    declares changed_rows_valid); any other test runs on its own. -#}
{% macro changed_rows_folded_kinds() -%}
    {{ return(['not_null', 'unique', 'accepted_values', 'unique_combination_of_columns']) }}
{%- endmacro %}

{% macro changed_rows_checks(rows) -%}
    {%- set checks = [] -%}
    {%- if execute -%}
        {%- set attached = model.attached_node -%}
        {%- for node in graph.nodes.values()
                if node.resource_type == 'test' and node.attached_node == attached
                and node.test_metadata and node.test_metadata.name in changed_rows_folded_kinds()
                and (node.config.severity | lower) == 'error' -%}
            {%- do checks.append(changed_rows_check(node, rows)) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if not checks -%}
        {%- do checks.append("select cast(null as string) as failed_check, 0 as failures") -%}
    {%- endif %}
, checks as (
    {{ checks | join('\n    union all\n    ') }}
)
select failed_check, failures from checks where failures > 0
{%- endmacro %}

{#- One folded test as `select '<its name>' as failed_check, <failing rows> as failures`. -#}
{% macro changed_rows_check(node, rows) -%}
    {%- set kind = node.test_metadata.name -%}
    {%- set args = node.test_metadata.kwargs -%}
    {%- for key in ('limit', 'fail_calc', 'warn_if', 'error_if') if node.config[key] not in (none, 'count(*)', '!= 0') -%}
        {{ exceptions.raise_compiler_error("test " ~ node.name ~ " sets " ~ key ~ ", which changed_rows_valid cannot fold in: drop it, or make the test's severity warn") }}
    {%- endfor -%}
    {%- set conditions = ['(' ~ node.config.where ~ ')'] if node.config.where else [] -%}
    {%- set column = args.column_name -%}
    {%- if kind == 'not_null' -%}
        {%- set failing = rows ~ ' where ' ~ (conditions + [column ~ ' is null']) | join(' and ') -%}
    {%- elif kind == 'accepted_values' -%}
        {%- set quote = args.get('quote', true) -%}
        {%- set values = [] -%}
        {%- for v in args['values'] -%}
            {%- do values.append("'" ~ v ~ "'" if quote else v | string) -%}
        {%- endfor -%}
        {%- set failing = rows ~ ' where ' ~ (conditions + [column ~ ' is not null', column ~ ' not in (' ~ values | join(', ') ~ ')']) | join(' and ') -%}
    {%- else -%}
        {%- set keys = [column] if kind == 'unique' else args.combination_of_columns -%}
        {%- if kind == 'unique' -%}
            {%- do conditions.append(column ~ ' is not null') -%}
        {%- endif -%}
        {%- set failing = '(select ' ~ keys | join(', ') ~ ' from ' ~ rows
            ~ (' where ' ~ conditions | join(' and ') if conditions else '')
            ~ ' group by ' ~ keys | join(', ') ~ ' having count(*) > 1) as duplicates' -%}
    {%- endif -%}
    select '{{ node.name }}' as failed_check, count(*) as failures from {{ failing }}
{%- endmacro %}
