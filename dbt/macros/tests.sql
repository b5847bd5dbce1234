{#
    Tests sized to the run. An hourly `polit transform` sets `test_recent_hours`: the data
    tests of every model with a `loaded_at` then read only its rows changed in the last that
    many hours before its newest (what the run just wrote, with a margin), so that testing
    costs what building did. `polit transform --full-tests` and every `--full-refresh` leave
    it at 0: every row is tested. A test's own `where` config still applies.
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
    {%- set hours = var('test_recent_hours', 0) | int -%}
    {%- if hours > 0 and execute -%}
        {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- if 'loaded_at' in columns -%}
            {%- do conditions.append(recent_rows(relation, hours)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ')') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{% macro recent_rows(relation, hours) -%}
    {{ return(adapter.dispatch('recent_rows', 'polit')(relation, hours)) }}
{%- endmacro %}

{% macro duckdb__recent_rows(relation, hours) -%}
    loaded_at >= (select max(loaded_at) - interval '{{ hours }} hours' from {{ relation }})
{%- endmacro %}

{#- BigQuery: literals from the model's cursor (polit_cursors), so that neither the lookup
    nor the test reads the model's history. -#}
{% macro bigquery__recent_rows(relation, hours) -%}
    {%- set since = ['0001-01-01 00:00:00+00', '0001-01-01 00:00:00+00'] -%}
    {%- set rows = run_query(
        'select format_timestamp("%Y-%m-%d %H:%M:%E6S+00", timestamp_sub(max(loaded_at), interval '
        ~ hours ~ ' hour)), format_timestamp("%Y-%m-%d 00:00:00+00", timestamp_sub(max(loaded_at), '
        ~ 'interval ' ~ (var('late_change_days') | int) ~ ' day)) from ' ~ cursor_table(relation)
        ~ " where model = '" ~ relation.identifier ~ "'"
    ).rows -%}
    {%- if rows and rows[0][0] -%}
        {%- set since = [rows[0][0], rows[0][1]] -%}
    {%- endif -%}
    loaded_at >= timestamp('{{ since[0] }}')
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.alias == relation.identifier -%}
        {%- set partition = node.config.partition_by or {} -%}
        {%- if partition.get('field') -%}
            {%- set bound = "timestamp('" ~ since[1] ~ "')" -%}
            {{ ' and ' ~ partition['field'] ~ ' >= ' ~ ('date(' ~ bound ~ ')' if partition.get('data_type') == 'date' else bound) }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
