-- Mentions of each term per hour of posting, and the posts that use it; terms used by at
-- least `term_min_posts` posts in that hour (rare terms would outnumber the rest).
select board, hour, term_kind, term, mentions, posts
from {{ ref('int_term_hours') }}
where posts >= {{ var('term_min_posts') }}
