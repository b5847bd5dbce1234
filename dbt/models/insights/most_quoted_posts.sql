{{ config(**rebuild_config(['board', 'hour'], 'post_id', 'post_datetime')) }}
{%- set touched_inputs = [[ref('posts'), 'post_datetime'], [ref('reply_edges'), 'quoted_posted_at', 'posted_at']] %}

{#-
    Posts quoted by at least two other posts, with the count. `hour` is the hour of the
    quoted post; `comment` is its first 280 characters, as posted: untrusted text. (Rank
    them at read time: a rank stored here would change with every new quote.)
    Incremental: the hours of changed posts and of the posts that changed edges quote, each
    rebuilt whole.
-#}

with

{% if is_incremental() %}
touched as (

    {{ touched_buckets(touched_inputs) }}

),

groups as (

    select board, bucket as hour from touched

),
{% endif %}

quoted as (

    select board, quoted_post_id as post_id, count(*) as times_quoted, max(loaded_at) as loaded_at
    from {{ in_touched(ref('reply_edges'), 'quoted_posted_at', partition='posted_at', inputs=touched_inputs) }}
    group by 1, 2
    having count(*) >= 2

),

final as (

    select
        posts.board,
        posts.post_id,
        posts.thread_id,
        posts.post_datetime,
        {{ hour_of('posts.post_datetime') }} as hour,
        quoted.times_quoted,
        substr(posts.comment, 1, 280) as comment,
        greatest(quoted.loaded_at, posts.loaded_at) as loaded_at
    from quoted
    inner join {{ in_touched(ref('posts'), 'post_datetime', inputs=touched_inputs) }} as posts
        on quoted.board = posts.board and quoted.post_id = posts.post_id

)

{{ rebuild_rows('final', ['board', 'hour'], 'groups') }}
