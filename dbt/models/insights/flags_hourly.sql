{#-
    Posts per hour by flag: country flags (`country`), and meme flags (`flag`, /pol/'s
    board flags, or `troll_country` in older posts, whose name is then in `country_name`).
    `replies_received`: quotes those posts got from other posts (reply_edges).
-#}

with

flagged as (

    select board, post_id, post_datetime, 'country' as flag_kind,
        country as flag, country_name as flag_name
    from {{ ref('posts') }}
    where country is not null
    union all
    select board, post_id, post_datetime, 'meme' as flag_kind,
        coalesce(flag, troll_country) as flag,
        case when flag is not null then flag_name else country_name end as flag_name
    from {{ ref('posts') }}
    where flag is not null or troll_country is not null

),

received as (

    select board, quoted_post_id as post_id, count(*) as replies
    from {{ ref('reply_edges') }}
    group by 1, 2

)

select
    flagged.board,
    {{ hour_of('flagged.post_datetime') }} as hour,
    flagged.flag_kind,
    flagged.flag,
    max(flagged.flag_name) as flag_name,
    count(*) as posts,
    coalesce(sum(received.replies), 0) as replies_received
from flagged
left join received
    on flagged.board = received.board and flagged.post_id = received.post_id
where flagged.post_datetime is not null
group by 1, 2, 3, 4
