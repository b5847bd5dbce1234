{#
    Like `relationships`, on several columns at once: every non-null combination of
    `columns` in the model exists as `parent_columns` (default: the same names) in `to`.
#}
{% test relationships_on_columns(model, to, columns, parent_columns=none) %}

{%- set parent_columns = parent_columns or columns %}

select child.*
from {{ model }} as child
left join {{ to }} as parent
    on {% for c in columns -%}
    child.{{ c }} = parent.{{ parent_columns[loop.index0] }}{% if not loop.last %} and {% endif %}
    {%- endfor %}
where {% for c in columns -%}
    child.{{ c }} is not null and {% endfor -%}
    parent.{{ parent_columns[0] }} is null

{% endtest %}
