{{ config(**rebuild_config(['board', 'hour'], 'posts', 'hour')) }}
{%- set touched_inputs = [[ref('posts'), 'post_datetime'], [ref('reply_edges'), 'quoted_posted_at', 'posted_at']] %}

-- Per hour of posting: posts, how many got at least one reply (a quote from another post),
-- and the replies they got (quotes: a post quoting another twice is one). Incremental: the hours of changed posts and of the posts that changed edges quote,
-- each rebuilt whole.

with

{% if is_incremental() %}
touched as (

    {{ touched_buckets(touched_inputs) }}

),
{% endif %}

replied as (

    select board, quoted_post_id as post_id, count(*) as replies,
        max(loaded_at) as loaded_at
    from {{ in_touched(ref('reply_edges'), 'quoted_posted_at', partition='posted_at', inputs=touched_inputs) }}
    group by 1, 2

),

final as (

    select
        posts.board,
        {{ hour_of('posts.post_datetime') }} as hour,
        count(*) as posts,
        count(replied.post_id) as posts_with_reply,
        count(*) - count(replied.post_id) as posts_without_reply,
        (count(*) - count(replied.post_id)) / count(*) as share_without_reply,
        coalesce(sum(replied.replies), 0) as replies_received,
        max(greatest(posts.loaded_at, coalesce(replied.loaded_at, posts.loaded_at))) as loaded_at
    from {{ in_touched(ref('posts'), 'post_datetime', inputs=touched_inputs) }} as posts
    left join replied
        on posts.board = replied.board and posts.post_id = replied.post_id
    where posts.post_datetime is not null
    group by 1, 2

)

select * from final
