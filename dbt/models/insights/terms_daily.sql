{{ config(**rebuild_config(['board', 'day'], 'posts', 'day', 'date')) }}
{%- set touched_inputs = [[ref('int_term_hours'), 'hour']] %}

-- Mentions of each term per day of posting, and the posts that use it; terms used by at
-- least `term_min_posts` posts that day. (A post falls in one hour, so sums of hours count
-- each post once.) Incremental: the days of changed int_term_hours rows, each rebuilt whole.

with

{% if is_incremental() %}
touched as (

    {{ touched_buckets(touched_inputs, day=true) }}

),

groups as (

    select board, {{ day_of('bucket') }} as day from touched

),
{% endif %}

final as (

    select
        board,
        {{ day_of('hour') }} as day,
        term_kind,
        term,
        sum(mentions) as mentions,
        sum(posts) as posts,
        max(loaded_at) as loaded_at
    from {{ in_touched(ref('int_term_hours'), 'hour', day=true, inputs=touched_inputs) }}
    group by 1, 2, 3, 4
    having sum(posts) >= {{ var('term_min_posts') }}

)

{{ rebuild_rows('final', ['board', 'day'], 'groups') }}
