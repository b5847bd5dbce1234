-- Tone per hour of posting: mean post_tone, and posts by VADER's thresholds (var tone_threshold).
{%- set threshold = var('tone_threshold') %}

select
    board,
    {{ hour_of('post_datetime') }} as hour,
    count(*) as posts,
    avg(tone) as mean_tone,
    count(case when tone >= {{ threshold }} then 1 end) as positive_posts,
    count(case when tone <= -{{ threshold }} then 1 end) as negative_posts,
    count(case when tone > -{{ threshold }} and tone < {{ threshold }} then 1 end) as neutral_posts
from {{ ref('post_tone') }}
group by 1, 2
