{{ config(**rebuild_config(['board', 'hour'], 'posts', 'hour')) }}
{%- set touched_inputs = [[ref('posts'), 'post_datetime']] %}

-- Posts, new threads (their OPs) and distinct poster ids per hour of posting.
-- Incremental: the hours changed posts fall in (a post's hour never changes).

with

{% if is_incremental() %}
touched as (

    {{ touched_buckets(touched_inputs) }}

),
{% endif %}

final as (

    select
        board,
        {{ hour_of('post_datetime') }} as hour,
        count(*) as posts,
        count(case when is_op then 1 end) as new_threads,
        count(distinct poster_id) as active_posters,
        max(loaded_at) as loaded_at
    from {{ in_touched(ref('posts'), 'post_datetime', inputs=touched_inputs) }}
    where post_datetime is not null
    group by 1, 2

)

select * from final
