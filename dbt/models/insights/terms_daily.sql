-- Mentions of each term per day of posting, and the posts that use it; terms used by at
-- least `term_min_posts` posts that day. (A post falls in one hour, so sums of hours count
-- each post once.)
select
    board,
    {{ day_of('hour') }} as day,
    term_kind,
    term,
    sum(mentions) as mentions,
    sum(posts) as posts
from {{ ref('int_term_hours') }}
group by 1, 2, 3, 4
having sum(posts) >= {{ var('term_min_posts') }}
