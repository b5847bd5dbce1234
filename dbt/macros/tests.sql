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
