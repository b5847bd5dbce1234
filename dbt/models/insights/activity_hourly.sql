{{ config(**rebuild_config(['board', 'hour'], 'posts', 'hour')) }}
{%- set touched_inputs = [[ref('posts'), 'post_datetime']] %}

-- Posts, new threads (their OPs) and distinct poster ids per hour of posting, and when
-- the crawl saw them: the first sighting of any of them (`first_seen_at`) and the newest
-- observation (`last_observed_at`). Over a board's hours these give the span collected,
-- which the dashboard and the report show (an old sticky's hour has posts, not a longer
-- collection). Incremental: the hours changed posts fall in (a post's hour never changes;
-- a new observation of a post changes its row).

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
        min(first_seen_at) as first_seen_at,
        max(last_observed_at) as last_observed_at,
        max(loaded_at) as loaded_at
    from {{ in_touched(ref('posts'), 'post_datetime', inputs=touched_inputs) }}
    where post_datetime is not null
    group by 1, 2

)

select * from final
