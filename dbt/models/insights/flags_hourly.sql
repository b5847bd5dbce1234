{{ config(**rebuild_config(['board', 'hour'], 'posts', 'hour')) }}
{%- set touched_inputs = [[ref('posts'), 'post_datetime'], [ref('reply_edges'), 'quoted_posted_at', 'posted_at']] %}

{#-
    Posts per hour by flag: country flags (`country`), and meme flags (`flag`, /pol/'s
    board flags, or `troll_country` in older posts, whose name is then in `country_name`).
    `replies_received`: quotes those posts got from other posts (reply_edges).
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

posts as (

    select * from {{ in_touched(ref('posts'), 'post_datetime', inputs=touched_inputs) }}
    where post_datetime is not null

),

flagged as (

    select board, post_id, post_datetime, 'country' as flag_kind,
        country as flag, country_name as flag_name, loaded_at
    from posts
    where country is not null
    union all
    select board, post_id, post_datetime, 'meme' as flag_kind,
        coalesce(flag, troll_country) as flag,
        case when flag is not null then flag_name else country_name end as flag_name,
        loaded_at
    from posts
    where flag is not null or troll_country is not null

),

received as (

    select board, quoted_post_id as post_id, count(*) as replies, max(loaded_at) as loaded_at
    from {{ in_touched(ref('reply_edges'), 'quoted_posted_at', partition='posted_at', inputs=touched_inputs) }}
    group by 1, 2

),

final as (

    select
        flagged.board,
        {{ hour_of('flagged.post_datetime') }} as hour,
        flagged.flag_kind,
        flagged.flag,
        max(flagged.flag_name) as flag_name,
        count(*) as posts,
        coalesce(sum(received.replies), 0) as replies_received,
        max(greatest(flagged.loaded_at, coalesce(received.loaded_at, flagged.loaded_at)))
            as loaded_at
    from flagged
    left join received
        on flagged.board = received.board and flagged.post_id = received.post_id
    group by 1, 2, 3, 4

)

{{ rebuild_rows('final', ['board', 'hour'], 'groups') }}
