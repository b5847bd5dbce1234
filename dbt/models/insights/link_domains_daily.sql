-- Linked domains per day of posting: the host of each URL in a comment, lower case,
-- without a leading "www.".
with

links as (

    select
        board,
        post_id,
        {{ day_of('post_datetime') }} as day,
        {{ regex_group('lower(link)', '^[a-z][a-z0-9+.-]*://(?:www\\.)?([a-z0-9.-]+)') }} as domain
    from {{ explode(ref('posts'), 'links', 'link', ['board', 'post_id', 'post_datetime']) }}
        as links
    where post_datetime is not null

)

select board, day, domain, count(*) as links, count(distinct post_id) as posts
from links
where domain is not null
group by 1, 2, 3
