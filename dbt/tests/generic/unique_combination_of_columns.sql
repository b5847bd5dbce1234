{#
    The columns together identify a row: no combination occurs twice. Written here rather
    than taken from dbt_utils, so that the project needs no package download.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
