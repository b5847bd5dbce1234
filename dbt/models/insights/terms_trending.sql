{#-
    Rising terms per board: mentions in the recent window (the last `trend_recent_hours`
    hours up to the board's newest hour of posts) against the baseline window (the
    `trend_baseline_hours` before it). Rates are per hour with posts in each window, with
    one mention added to both (so a new term does not divide by zero); `score` is how many
    times more often per hour the term comes up now. Terms with fewer than
    `trend_min_mentions` recent mentions are left out. `rank` 1 rises most.
    A table rebuilt every run, from the last `trend_recent_hours` + `trend_baseline_hours`
    of int_term_hours only (macro trend_window_start): a bounded read at any history.
-#}

{%- set recent = var('trend_recent_hours') * 3600 -%}
{%- set baseline = var('trend_baseline_hours') * 3600 %}

with

{%- set window_start = trend_window_start(ref('activity_hourly'), recent + baseline) %}

newest as (

    select board, max(hour) as newest_hour
    from {{ ref('activity_hourly') }}
    where hour >= {{ window_start }}
    group by 1

),

-- how far before the newest hour each hour is: 0 for the newest hour
hours_back as (

    select
        activity.board,
        activity.hour,
        {{ seconds_between('activity.hour', 'newest.newest_hour') }} as seconds_back
    from {{ ref('activity_hourly') }} as activity
    inner join newest on activity.board = newest.board
    where activity.hour >= {{ window_start }}

),

windows as (

    select
        board,
        hour,
        case when seconds_back < {{ recent }} then 'recent' else 'baseline' end as window_name
    from hours_back
    where seconds_back < {{ recent + baseline }}

),

window_hours as (

    select
        board,
        count(case when window_name = 'recent' then 1 end) as recent_hours,
        count(case when window_name = 'baseline' then 1 end) as baseline_hours
    from windows
    group by 1

),

counts as (

    select
        terms.board,
        terms.term_kind,
        terms.term,
        sum(case when windows.window_name = 'recent' then terms.mentions else 0 end)
            as recent_mentions,
        sum(case when windows.window_name = 'baseline' then terms.mentions else 0 end)
            as baseline_mentions
    from {{ ref('int_term_hours') }} as terms
    inner join windows
        on terms.board = windows.board and terms.hour = windows.hour
    where terms.hour >= {{ window_start }}
    group by 1, 2, 3

),

scored as (

    select
        counts.*,
        ((counts.recent_mentions + 1) / greatest(window_hours.recent_hours, 1))
        / ((counts.baseline_mentions + 1) / greatest(window_hours.baseline_hours, 1)) as score
    from counts
    inner join window_hours on counts.board = window_hours.board
    where counts.recent_mentions >= {{ var('trend_min_mentions') }}

)

select
    board,
    term_kind,
    term,
    recent_mentions,
    baseline_mentions,
    score,
    row_number() over (
        partition by board, term_kind order by score desc, recent_mentions desc, term
    ) as rank
from scored
