{{ config(**rebuild_config(['board', 'day'], 'links', 'day', 'date')) }}
{%- set touched_inputs = [[ref('posts'), 'post_datetime']] %}

-- Linked domains per day of posting: the host of each URL in a comment, lower case,
-- without a leading "www.". Incremental: the days changed posts fall in, each rebuilt whole.

with

{% if is_incremental() %}
touched as (

    {{ touched_buckets(touched_inputs, day=true) }}

),

groups as (

    select board, {{ day_of('bucket') }} as day from touched

),
{% endif %}

links as (

    select
        board,
        post_id,
        {{ day_of('post_datetime') }} as day,
        {{ regex_group('lower(link)', '^[a-z][a-z0-9+.-]*://(?:www\\.)?([a-z0-9.-]+)') }} as domain,
        loaded_at
    from {{ explode(in_touched(ref('posts'), 'post_datetime', day=true, inputs=touched_inputs), 'links', 'link',
                    ['board', 'post_id', 'post_datetime', 'loaded_at']) }} as links
    where post_datetime is not null

),

final as (

    select
        board,
        day,
        domain,
        count(*) as links,
        count(distinct post_id) as posts,
        max(loaded_at) as loaded_at
    from links
    where domain is not null
    group by 1, 2, 3

)

{{ rebuild_rows('final', ['board', 'day'], 'groups') }}
