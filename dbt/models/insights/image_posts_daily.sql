{{ config(**rebuild_config(['board', 'day'], 'posts', 'day', 'date', ['board', 'file_md5'])) }}
{%- set touched_inputs = [[ref('posts'), 'post_datetime']] %}

{#-
    Files by md5, per day and thread they were posted in: how often, first and last time.
    Summed over the days of a range, this gives each image's reposts in that range (the
    dashboard's "repeated images": the md5s posted twice or more). `example_file_name`
    (untrusted text) is the smallest of the names it was posted under.
    Incremental: the days changed posts fall in, each rebuilt whole. (An all-time count per
    md5 would reread every post of that image, however old, every hour.)
-#}

with

{% if is_incremental() %}
touched as (

    {{ touched_buckets(touched_inputs, day=true) }}

),

-- a deleted file takes its md5 out of the post: a day's group can vanish
groups as (

    select board, {{ day_of('bucket') }} as day from touched

),
{% endif %}

final as (

    select
        board,
        {{ day_of('post_datetime') }} as day,
        file_md5,
        thread_id,
        count(*) as posts,
        min(post_datetime) as first_posted_at,
        max(post_datetime) as last_posted_at,
        max(lower(file_extension)) as file_extension,
        min(file_name) as example_file_name,
        max(loaded_at) as loaded_at
    from {{ in_touched(ref('posts'), 'post_datetime', day=true, inputs=touched_inputs) }}
    where file_md5 is not null and post_datetime is not null
    group by 1, 2, 3, 4

)

{{ rebuild_rows('final', ['board', 'day'], 'groups') }}
