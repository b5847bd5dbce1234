{{ config(**rebuild_config(['board', 'hour'], 'posts', 'hour')) }}
{%- set touched_inputs = [[ref('post_tone'), 'post_datetime']] %}

-- Tone per hour of posting: mean post_tone, and posts by VADER's thresholds (var
-- tone_threshold). Incremental: the hours of changed post_tone rows.
{%- set threshold = var('tone_threshold') %}

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
        -- rounded, so that the order of the rows (a full refresh or an incremental run)
        -- does not show in the last bits
        round(avg(tone), 12) as mean_tone,
        count(case when tone >= {{ threshold }} then 1 end) as positive_posts,
        count(case when tone <= -{{ threshold }} then 1 end) as negative_posts,
        count(case when tone > -{{ threshold }} and tone < {{ threshold }} then 1 end)
            as neutral_posts,
        max(loaded_at) as loaded_at
    from {{ in_touched(ref('post_tone'), 'post_datetime', inputs=touched_inputs) }}
    group by 1, 2

)

select * from final
