{{ config(**rebuild_config(['board', 'hour'], 'images', 'hour')) }}
{%- set touched_inputs = [[ref('posts'), 'post_datetime']] %}

-- Files posted per hour by type (extension), with their bytes.
-- Incremental: the hours changed posts fall in, each rebuilt whole.

with

{% if is_incremental() %}
touched as (

    {{ touched_buckets(touched_inputs) }}

),

groups as (

    select board, bucket as hour from touched

),
{% endif %}

final as (

    select
        board,
        {{ hour_of('post_datetime') }} as hour,
        lower(file_extension) as file_extension,
        count(*) as images,
        sum(file_size) as bytes,
        max(loaded_at) as loaded_at
    from {{ in_touched(ref('posts'), 'post_datetime', inputs=touched_inputs) }}
    where file_extension is not null and post_datetime is not null
    group by 1, 2, 3

)

{{ rebuild_rows('final', ['board', 'hour'], 'groups') }}
