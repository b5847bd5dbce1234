{#
    Every data test of the model the hourly build can fold in (macros/tests.sql,
    changed_rows_checks), in one query over the rows this build changed: BigQuery bills each
    query at least 10 MiB per table, so one query per model instead of one per test. The
    hourly `polit transform` runs it and leaves out the tests it folds in; `--full-tests` and
    `--full-refresh` run those tests themselves and leave it out. A failed check stops the
    query with an error naming the check (the folded test's own name) and its failing rows.
#}
{% test changed_rows_valid(model) %}

{{ config(fail_calc="case when count(*) = 0 then 0 else error(concat('failed checks: ', string_agg(concat(failed_check, ' (', cast(failures as string), ' rows)'), ', '))) end") }}

with changed as (select * from {{ model }})

{{ changed_rows_checks('changed') }}

{% endtest %}
