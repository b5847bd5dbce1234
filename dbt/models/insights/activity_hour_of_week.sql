-- The hour-of-week heatmap (UTC): posts at each (ISO day of week, hour of day), the number
-- of hours with posts at that slot, and posts per such hour.
select
    board,
    {{ iso_day_of_week('hour') }} as day_of_week,
    extract(hour from hour) as hour_of_day,
    sum(posts) as posts,
    count(*) as hours,
    sum(posts) / count(*) as posts_per_hour
from {{ ref('activity_hourly') }}
group by 1, 2, 3
