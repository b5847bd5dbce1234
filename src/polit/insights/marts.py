"""One query per tile over the insight marts (dbt/models/insights), by board and days.

The dashboard and the report read only these marts: never `posts`, `post_tone` or
`reply_edges`, which grow with every post. Each query is written once for DuckDB and
BigQuery (`sources.Dialect` fills in table names, `{bucket}` and `{weekday}`) and
returns at most a few thousand rows.

>>> f = Filters("pol", date(2023, 3, 27), date(2023, 3, 28))
>>> f.start.isoformat(), f.end.isoformat(), f.days
('2023-03-27T00:00:00+00:00', '2023-03-29T00:00:00+00:00', 2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd

from polit.insights.sources import InsightsError, Source

HOURLY_UP_TO_DAYS = 3  # longer ranges are charted by day
TOP = 15  # rows of the "top" lists
# Reply shares count only posts the crawl watched this long after they were made: the
# newest posts have had no time to be answered, and would read as ignored.
ANSWER_HOURS = 6
# Observations later than this after the newest post are on the crawling machine's clock
# (a recording crawled later), not the board's: they do not say what span was collected.
CLOCK_SLACK = timedelta(days=1)

# What the dashboard and the report read; nothing else.
MARTS = (
    "activity_hourly",
    "flags_hourly",
    "terms_daily",
    "terms_trending",
    "thread_activity",
    "most_quoted_posts",
    "replies_hourly",
    "link_domains_daily",
    "image_types_hourly",
    "image_posts_daily",
    "moderation_hourly",
    "tone_hourly",
)
# Sums come back as floats from DuckDB (HUGEINT); they are counts.
COUNTS = {
    "posts", "new_threads", "active_posters", "hours", "replies_received", "mentions",
    "recent_mentions", "baseline_mentions", "posts_with_reply", "posts_without_reply",
    "links", "images", "bytes", "deleted_posts", "deleted_threads", "positive_posts",
    "negative_posts", "neutral_posts", "times_quoted", "times_posted", "threads", "replies",
    "uncounted_hours", "thread_posts",
}  # fmt: skip
HOURLY = "WHERE board = $board AND hour >= $start AND hour < $end"
DAILY = "WHERE board = $board AND day BETWEEN $first_day AND $last_day"

QUERIES: dict[str, str] = {
    "activity": f"""
        SELECT {{bucket}} AS t, SUM(posts) AS posts, SUM(new_threads) AS new_threads,
               MAX(active_posters) AS active_posters
        FROM {{activity_hourly}} {HOURLY}
        GROUP BY t ORDER BY t""",
    # From activity_hourly rather than activity_hour_of_week, so that it follows the days.
    "hour_of_week": f"""
        SELECT {{weekday}} AS day_of_week, EXTRACT(HOUR FROM hour) AS hour_of_day,
               SUM(posts) AS posts, COUNT(*) AS hours
        FROM {{activity_hourly}} {HOURLY}
        GROUP BY day_of_week, hour_of_day ORDER BY day_of_week, hour_of_day""",
    "flags": f"""
        SELECT flag_kind, flag, MAX(flag_name) AS flag_name, SUM(posts) AS posts,
               SUM(replies_received) AS replies_received
        FROM {{flags_hourly}} {HOURLY}
        GROUP BY flag_kind, flag ORDER BY posts DESC, flag""",
    "terms": f"""
        SELECT term_kind, term, SUM(mentions) AS mentions, SUM(posts) AS posts
        FROM {{terms_daily}} {DAILY}
        GROUP BY term_kind, term
        QUALIFY ROW_NUMBER() OVER (PARTITION BY term_kind ORDER BY SUM(mentions) DESC, term)
            <= {TOP}
        ORDER BY term_kind, mentions DESC, term""",
    "trending": f"""
        SELECT term_kind, term, recent_mentions, baseline_mentions, score, rank
        FROM {{terms_trending}}
        WHERE board = $board
        QUALIFY ROW_NUMBER() OVER (PARTITION BY term_kind ORDER BY rank, term) <= {TOP}
        ORDER BY term_kind, rank, term""",
    "threads": """
        SELECT thread_id, topic, created_at, hours_on_board, replies, posts_per_hour,
               reached_bump_limit, end_state
        FROM {thread_activity}
        WHERE board = $board AND created_at >= $start AND created_at < $end
        ORDER BY replies DESC, thread_id LIMIT 1000""",
    "most_quoted": f"""
        SELECT post_id, thread_id, post_datetime, times_quoted, comment
        FROM {{most_quoted_posts}}
        WHERE board = $board AND post_datetime >= $start AND post_datetime < $end
        ORDER BY times_quoted DESC, post_id LIMIT {TOP}""",
    # posts made at least ANSWER_HOURS before the last observation (whole hours)
    "replies": f"""
        SELECT {{bucket}} AS t, SUM(posts) AS posts, SUM(posts_with_reply) AS posts_with_reply,
               SUM(posts_without_reply) AS posts_without_reply,
               SUM(replies_received) AS replies_received,
               COUNT(*) - COUNT(replies_received) AS uncounted_hours
        FROM {{replies_hourly}} {HOURLY} AND hour < $answerable_before
        GROUP BY t ORDER BY t""",
    # the published-figures section (published.py): threads created in the days by size and
    # how they ended, and the images posted in the days by how often
    "thread_sizes": """
        SELECT replies + 1 AS thread_posts, end_state, COUNT(*) AS threads
        FROM {thread_activity}
        WHERE board = $board AND created_at >= $start AND created_at < $end
        GROUP BY thread_posts, end_state ORDER BY thread_posts, end_state""",
    "image_repeats": f"""
        SELECT times_posted, COUNT(*) AS images
        FROM (SELECT file_md5, SUM(posts) AS times_posted
              FROM {{image_posts_daily}} {DAILY} GROUP BY file_md5) AS per_image
        GROUP BY times_posted ORDER BY times_posted""",
    # which kinds of flag the board has at all, in any hour (an empty tile says why)
    "flag_kinds": """
        SELECT flag_kind, SUM(posts) AS posts
        FROM {flags_hourly} WHERE board = $board
        GROUP BY flag_kind ORDER BY flag_kind""",
    "links": f"""
        SELECT domain, SUM(links) AS links, SUM(posts) AS posts
        FROM {{link_domains_daily}} {DAILY}
        GROUP BY domain ORDER BY links DESC, domain LIMIT {TOP}""",
    "image_types": f"""
        SELECT file_extension, SUM(images) AS images, SUM(bytes) AS bytes
        FROM {{image_types_hourly}} {HOURLY}
        GROUP BY file_extension ORDER BY images DESC, file_extension""",
    "images_repeated": f"""
        SELECT file_md5, SUM(posts) AS times_posted, COUNT(DISTINCT thread_id) AS threads,
               MIN(first_posted_at) AS first_posted_at, MAX(last_posted_at) AS last_posted_at,
               MAX(file_extension) AS file_extension, MIN(example_file_name) AS example_file_name
        FROM {{image_posts_daily}} {DAILY}
        GROUP BY file_md5 HAVING SUM(posts) >= 2
        ORDER BY times_posted DESC, file_md5 LIMIT {TOP}""",
    "moderation": f"""
        SELECT {{bucket}} AS t, SUM(deleted_posts) AS deleted_posts,
               SUM(deleted_threads) AS deleted_threads
        FROM {{moderation_hourly}} {HOURLY}
        GROUP BY t ORDER BY t""",
    "tone": f"""
        SELECT {{bucket}} AS t, SUM(posts) AS posts, SUM(mean_tone * posts) AS tone_sum,
               SUM(positive_posts) AS positive_posts, SUM(negative_posts) AS negative_posts,
               SUM(neutral_posts) AS neutral_posts
        FROM {{tone_hourly}} {HOURLY}
        GROUP BY t ORDER BY t""",
}
SPAN = """
    SELECT MIN(hour) AS first_hour, MAX(hour) AS last_hour
    FROM {activity_hourly} WHERE board = $board AND hour >= $start AND hour < $end"""
# the board's observations: in the days chosen, and over all time
OBSERVED = """
    SELECT MIN(CASE WHEN hour >= $start AND hour < $end THEN hour END) AS first_hour,
           MAX(CASE WHEN hour >= $start AND hour < $end THEN hour END) AS last_hour,
           MAX(hour) AS newest_hour, MIN(first_seen_at) AS first_observed,
           MAX(last_observed_at) AS last_observed,
           COUNT(*) - COUNT(first_seen_at) AS unobserved_hours
    FROM {activity_hourly} WHERE board = $board"""
# per board and day of posting: the days with posts and what the crawl saw of them
BOARD_DAYS = """
    SELECT board, {day} AS day, SUM(posts) AS posts, MIN(hour) AS first_hour,
           MAX(hour) AS last_hour, MIN(first_seen_at) AS first_observed,
           MAX(last_observed_at) AS last_observed
    FROM {activity_hourly} GROUP BY board, day ORDER BY board, day"""


@dataclass(frozen=True)
class Filters:
    """A board and whole UTC days, first to last (inclusive)."""

    board: str
    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), UTC)

    @property
    def end(self) -> datetime:  # exclusive
        return datetime.combine(self.last_day + timedelta(days=1), time(), UTC)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def params(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "start": self.start,
            "end": self.end,
            "first_day": self.first_day,
            "last_day": self.last_day,
        }


@dataclass(frozen=True)
class Board:
    """A board in the marts: its posts, and the days a selection can span (`first_day` to
    `last_day`): the days collected, not the creation days of every post found. They run to
    the day of the last observation, and back from the day of the first one through every
    day with posts before it without a gap (the threads on the board when collection
    started), but not to an old sticky's day years before. When the observations are not
    on the board's clock (a recording crawled later), the last day with posts stands for
    both observations. `observed`: the first and last observation (UTC), if on the clock.
    """

    name: str
    posts: int
    first_day: date
    last_day: date
    observed: tuple[datetime, datetime] | None = None

    def last(self, days: int | None) -> Filters:
        """The last `days` days collected (all of them for None)."""
        first = self.first_day if days is None else self.last_day - timedelta(days=days - 1)
        return Filters(self.name, max(first, self.first_day), self.last_day)


def missing_marts(source: Source) -> list[str]:
    present = source.tables()
    return [m for m in MARTS if m not in present]


def check_marts(source: Source) -> None:
    """Raise InsightsError naming the marts that are missing."""
    missing = missing_marts(source)
    if missing:
        raise InsightsError(
            f"{source.url} has no {', '.join(missing)}: run `polit transform` first"
        )


def boards(source: Source) -> list[Board]:
    """The boards in the marts, most posts first."""
    d = source.dialect
    df = source.query(d.sql(BOARD_DAYS, MARTS, day=d.trunc("hour", "day")), {})
    if df.empty:
        return []
    found = [board_of(str(name), rows) for name, rows in df.groupby("board", sort=False)]
    return sorted(found, key=lambda b: (-b.posts, b.name))


def board_of(name: str, days: pd.DataFrame) -> Board:
    """A board from its days of posting (rows of BOARD_DAYS).

    >>> t = lambda d, h: pd.Timestamp(2023, 3, d, h, tz="UTC")
    >>> rows = pd.DataFrame({"day": [t(1, 0), t(26, 0), t(27, 0)], "posts": [1, 5, 90],
    ...     "first_hour": [t(1, 9), t(26, 7), t(27, 0)], "last_hour": [t(1, 9), t(26, 23),
    ...     t(27, 11)], "first_observed": [t(27, 8), t(27, 8), t(27, 8)],
    ...     "last_observed": [t(27, 9), t(27, 10), t(27, 11)]})
    >>> b = board_of("pol", rows)
    >>> (b.first_day.day, b.last_day.day, b.observed[0].hour, b.observed[1].hour, b.posts)
    (26, 27, 8, 11, 96)
    >>> b = board_of("pol", rows.assign(first_observed=t(29, 0)))  # the crawler's clock, later
    >>> (b.first_day.day, b.last_day.day, b.observed)
    (26, 27, None)
    >>> board_of("pol", rows.assign(first_observed=[None, t(27, 8), t(27, 8)])).observed is None
    True
    """
    days = days.sort_values("day")
    posts = int(days["posts"].sum())
    first_seen, last_seen = days["first_observed"].min(), days["last_observed"].max()
    last_post = pd.Timestamp(days["last_hour"].max()) + pd.Timedelta(hours=1)
    # hours built before the mart had these columns have none (until a full refresh)
    on_clock = bool(days["first_observed"].notna().all()) and pd.notna(last_seen)
    on_clock = bool(on_clock and first_seen <= last_post + CLOCK_SLACK)
    observed = (_utc(first_seen), _utc(last_seen)) if on_clock else None
    posting = {_day(d) for d in days["day"]}
    first = _day(first_seen) if observed else max(posting)
    last = max(_day(last_seen), first) if observed else first
    while first - timedelta(days=1) in posting:
        first -= timedelta(days=1)
    return Board(name, posts, first, last, observed)


def _utc(value: Any) -> datetime:
    return pd.Timestamp(value).tz_convert(UTC).to_pydatetime()


def _day(value: Any) -> date:
    return _utc(value).date()


@dataclass
class Insights:
    """What the tiles show: one data frame per query, and the time grain of the series.

    `covered`: the span these days actually hold, first to last observation within them
    (`on_board_clock`), else first to last hour of posts. `collection_start`: the first
    observation, where the charts mark that collection started (None if not known).
    `answerable_before`: reply shares count posts made before this (ANSWER_HOURS before the
    last observation). Times are naive UTC, like the frames'.
    """

    filters: Filters
    grain: str  # 'hour' or 'day': the buckets of the time series
    frames: dict[str, pd.DataFrame]
    covered: tuple[datetime, datetime] | None = None
    on_board_clock: bool = False
    collection_start: datetime | None = None
    answerable_before: datetime | None = None
    first_post: datetime | None = None  # the hour of the first post in these days

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def covered_text(self) -> str:
        """The span covered, for a title: '2023-03-27 08:50 to 23:10 UTC'."""
        if self.covered is None:
            return f"{self.filters.first_day} to {self.filters.last_day} (UTC): no posts"
        first, last = self.covered
        end = f"{last:%H:%M}" if first.date() == last.date() else f"{last:%Y-%m-%d %H:%M}"
        return f"{first:%Y-%m-%d %H:%M} to {end} UTC"

    def covered_note(self) -> str:
        """What the covered span is made of."""
        if self.covered is None:
            return "nothing collected in these days"
        hours = (self.covered[1] - self.covered[0]).total_seconds() / 3600
        length = f"{hours:.0f} h" if hours < 72 else f"{hours / 24:.1f} days"
        if self.on_board_clock:
            note = f"{length} of observations, first to last"
            if self.first_post is not None and self.first_post < self.covered[0]:
                note += (f", and posts from {self.first_post:%Y-%m-%d %H:%M} on in the "
                         "threads on the board when collection started")  # fmt: skip
            return note
        return (f"{length} of posts, first to last hour (the observation times are not on "
                "the board's clock)")  # fmt: skip


def query_sql(source: Source, name: str, grain: str = "hour") -> str:
    """A tile query's SQL in the source's dialect."""
    d = source.dialect
    template = {"span": SPAN, "observed": OBSERVED}.get(name) or QUERIES[name]
    return d.sql(template, MARTS, bucket=d.trunc("hour", grain), weekday=d.iso_weekday("hour"))


def choose_grain(source: Source, filters: Filters) -> str:
    """Hours when the posts in the range span at most a few days, else days."""
    span = source.query(query_sql(source, "span"), filters.params())
    if span.empty:
        return "hour"
    first, last = span.iloc[0]["first_hour"], span.iloc[0]["last_hour"]
    if pd.isna(first) or pd.isna(last):
        return "hour"
    return "hour" if last - first <= pd.Timedelta(days=HOURLY_UP_TO_DAYS) else "day"


def load_insights(source: Source, filters: Filters) -> Insights:
    """Every tile's data for a board and days."""
    params = filters.params()
    grain = choose_grain(source, filters)
    spans = observations(source.query(query_sql(source, "observed"), params), filters)
    params["answerable_before"] = spans["answerable_before"].replace(tzinfo=UTC)
    frames = {name: _tidy(source.query(query_sql(source, name, grain), params)) for name in QUERIES}
    return Insights(filters, grain, frames, **spans)


def observations(df: pd.DataFrame, filters: Filters) -> dict[str, Any]:
    """Insights' spans (covered, on_board_clock, collection_start, answerable_before), from
    the OBSERVED row."""
    row = df.iloc[0] if len(df) else pd.Series(dtype=object)

    def value(column: str) -> datetime | None:
        return None if pd.isna(row.get(column)) else _utc(row[column])

    first_hour, last_hour, newest = value("first_hour"), value("last_hour"), value("newest_hour")
    first_seen, last_seen = value("first_observed"), value("last_observed")
    hour = timedelta(hours=1)
    unobserved = row.get("unobserved_hours")
    on_clock = (
        first_seen is not None and last_seen is not None and newest is not None
        and not (pd.notna(unobserved) and int(unobserved) > 0)
        and first_seen <= newest + hour + CLOCK_SLACK
    )  # fmt: skip
    covered = None
    if first_hour is not None and last_hour is not None:
        covered = (first_hour, last_hour + hour)
        if on_clock and first_seen is not None and last_seen is not None:
            start, end = max(first_seen, filters.start), min(last_seen, filters.end)
            if start <= end:
                covered = (start, end)
    # the last observation; the end of the newest post's hour without one on the board's clock
    last = last_seen if on_clock else (newest + hour if newest is not None else None)
    # the hours whose posts were all made ANSWER_HOURS or more before it
    bound = filters.start if last is None else last - timedelta(hours=ANSWER_HOURS)
    return {
        "covered": (_naive(covered[0]), _naive(covered[1])) if covered else None,
        "on_board_clock": on_clock,
        "collection_start": _naive(first_seen) if on_clock and first_seen else None,
        "answerable_before": _naive(bound.replace(minute=0, second=0, microsecond=0)),
        "first_post": _naive(first_hour) if first_hour is not None else None,
    }


def _naive(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None)


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as naive UTC (what the charts label as UTC), counts as integers."""
    for column in df.columns:
        if isinstance(df[column].dtype, pd.DatetimeTZDtype):
            df[column] = df[column].dt.tz_convert(UTC).dt.tz_localize(None)
        elif column in COUNTS:
            df[column] = df[column].astype("Int64")
    return df


def referenced_tables(sql_template: str) -> set[str]:
    """The `{table}` placeholders of a query template (tests check they are all marts)."""
    return set(re.findall(r"\{([a-z_]+)\}", sql_template)) - {"bucket", "weekday", "day"}
