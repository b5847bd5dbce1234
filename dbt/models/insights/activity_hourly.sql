-- Posts, new threads (their OPs) and distinct poster ids per hour of posting.
select
    board,
    {{ hour_of('post_datetime') }} as hour,
    count(*) as posts,
    count(case when is_op then 1 end) as new_threads,
    count(distinct poster_id) as active_posters
from {{ ref('posts') }}
where post_datetime is not null
group by 1, 2
