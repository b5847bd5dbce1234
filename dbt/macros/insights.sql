{#
    Dialect macros of the insight marts (models/insights): time buckets, regular
    expressions, arrays. A duckdb__ and a bigquery__ implementation each, like warehouse.sql.
    DuckDB runs with TimeZone UTC (the generated profile), so its buckets are UTC hours.
#}


{# The hour (a timestamp) and the day (a date) a timestamp falls in, in UTC. #}
{% macro hour_of(ts) -%}
    {{ return(adapter.dispatch('hour_of', 'polit')(ts)) }}
{%- endmacro %}

{% macro duckdb__hour_of(ts) -%}
    date_trunc('hour', {{ ts }})
{%- endmacro %}

{% macro bigquery__hour_of(ts) -%}
    timestamp_trunc({{ ts }}, hour)
{%- endmacro %}

{% macro day_of(ts) -%}
    {{ return(adapter.dispatch('day_of', 'polit')(ts)) }}
{%- endmacro %}

{% macro duckdb__day_of(ts) -%}
    cast({{ ts }} as date)
{%- endmacro %}

{% macro bigquery__day_of(ts) -%}
    date({{ ts }})
{%- endmacro %}


{# ISO day of the week, 1 = Monday .. 7 = Sunday. #}
{% macro iso_day_of_week(ts) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'polit')(ts)) }}
{%- endmacro %}

{% macro duckdb__iso_day_of_week(ts) -%}
    isodow({{ ts }})
{%- endmacro %}

{% macro bigquery__iso_day_of_week(ts) -%}
    mod(extract(dayofweek from {{ ts }}) + 5, 7) + 1
{%- endmacro %}


{# Seconds from `start` to `finish` (a float). #}
{% macro seconds_between(start, finish) -%}
    {{ return(adapter.dispatch('seconds_between', 'polit')(start, finish)) }}
{%- endmacro %}

{% macro duckdb__seconds_between(start, finish) -%}
    (epoch({{ finish }}) - epoch({{ start }}))
{%- endmacro %}

{% macro bigquery__seconds_between(start, finish) -%}
    (timestamp_diff({{ finish }}, {{ start }}, microsecond) / 1e6)
{%- endmacro %}


{# A regular expression (RE2 on both) as a string literal of the dialect. #}
{% macro regex(pattern) -%}
    {{ return(adapter.dispatch('regex', 'polit')(pattern)) }}
{%- endmacro %}

{% macro duckdb__regex(pattern) -%}
    '{{ pattern | replace("'", "''") }}'
{%- endmacro %}

{% macro bigquery__regex(pattern) -%}
    {%- if '"' in pattern -%}
        {{ exceptions.raise_compiler_error('regex(): no double quotes in BigQuery raw strings') }}
    {%- endif -%}
    r"{{ pattern }}"
{%- endmacro %}


{# Every match of `pattern` replaced by `replacement` (a SQL string literal). #}
{% macro regex_replace_all(expr, pattern, replacement="' '") -%}
    {{ return(adapter.dispatch('regex_replace_all', 'polit')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro duckdb__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ regex(pattern) }}, {{ replacement }}, 'g')
{%- endmacro %}

{% macro bigquery__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, {{ regex(pattern) }}, {{ replacement }})
{%- endmacro %}


{# The array of every match of `pattern` (no capture groups). #}
{% macro regex_matches(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'polit')(expr, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_matches(expr, pattern) -%}
    regexp_extract_all({{ expr }}, {{ regex(pattern) }})
{%- endmacro %}

{% macro bigquery__regex_matches(expr, pattern) -%}
    regexp_extract_all({{ expr }}, {{ regex(pattern) }})
{%- endmacro %}


{# The first capture group of `pattern`, null when it does not match. #}
{% macro regex_group(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_group', 'polit')(expr, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_group(expr, pattern) -%}
    nullif(regexp_extract({{ expr }}, {{ regex(pattern) }}, 1), '')
{%- endmacro %}

{% macro bigquery__regex_group(expr, pattern) -%}
    regexp_extract({{ expr }}, {{ regex(pattern) }})
{%- endmacro %}


{#
    One row per element of an array column, as a subquery: `from {{ explode(ref('posts'),
    'quotes', 'quoted_post_id', ['board', 'post_id']) }} as quoting` gives the columns and
    `quoted_post_id`. Rows with an empty or null array drop out. On DuckDB the unnest is in
    the select list: a lateral join with a filter above it runs ten times slower there.
#}
{% macro explode(relation, array, alias, columns) -%}
    {{ return(adapter.dispatch('explode', 'polit')(relation, array, alias, columns)) }}
{%- endmacro %}

{% macro duckdb__explode(relation, array, alias, columns) -%}
    (select {{ columns | join(', ') }}, unnest({{ array }}) as {{ alias }} from {{ relation }})
{%- endmacro %}

{% macro bigquery__explode(relation, array, alias, columns) -%}
    (
        select {{ columns | join(', ') }}, {{ alias }}
        from {{ relation }} cross join unnest({{ array }}) as {{ alias }}
    )
{%- endmacro %}


{# The array of adjacent pairs of an array of words, as structs (w1, w2). #}
{% macro word_pairs(words) -%}
    {{ return(adapter.dispatch('word_pairs', 'polit')(words)) }}
{%- endmacro %}

{% macro duckdb__word_pairs(words) -%}
    list_transform(
        range(1, len({{ words }})),
        lambda i: {'w1': {{ words }}[i], 'w2': {{ words }}[i + 1]}
    )
{%- endmacro %}

{% macro bigquery__word_pairs(words) -%}
    array(
        select as struct {{ words }}[offset(i)] as w1, {{ words }}[offset(i + 1)] as w2
        from unnest(generate_array(0, array_length({{ words }}) - 2)) as i
        order by i
    )
{%- endmacro %}


{#- The earliest hour any board's trend window reaches: `seconds` before the newest hour of
    `activity` (the oldest board's). DuckDB: a subquery; BigQuery: a literal read before the
    run, so that the day partitions before it are pruned. -#}
{% macro trend_window_start(activity, seconds) -%}
    {{ return(adapter.dispatch('trend_window_start', 'polit')(activity, seconds)) }}
{%- endmacro %}

{% macro duckdb__trend_window_start(activity, seconds) -%}
    (
        select min(newest_hour) - to_seconds({{ seconds }})
        from (select max(hour) as newest_hour from {{ activity }} group by board) as newest
    )
{%- endmacro %}

{% macro bigquery__trend_window_start(activity, seconds) -%}
    {%- set start = '0001-01-01 00:00:00+00' -%}
    {%- if execute -%}
        {%- set rows = run_query(
            'select format_timestamp("%Y-%m-%d %H:%M:%E6S+00", timestamp_sub(min(newest_hour), '
            ~ 'interval ' ~ (seconds | int) ~ ' second)) from (select max(hour) as newest_hour from '
            ~ activity ~ ' group by board)'
        ).rows -%}
        {%- if rows and rows[0][0] -%}
            {%- set start = rows[0][0] -%}
        {%- endif -%}
    {%- endif -%}
    timestamp('{{ start }}')
{%- endmacro %}
