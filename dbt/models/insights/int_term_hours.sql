-- Every term per hour of posting: mentions and posts (each post counts once per term).
-- terms_hourly, terms_daily and terms_trending read this, not the per-post view.
select board, hour, term_kind, term, sum(mentions) as mentions, count(*) as posts
from {{ ref('int_post_terms') }}
group by 1, 2, 3, 4
