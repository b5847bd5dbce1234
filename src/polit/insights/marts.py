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
    "replies": f"""
        SELECT {{bucket}} AS t, SUM(posts) AS posts, SUM(posts_with_reply) AS posts_with_reply,
               SUM(posts_without_reply) AS posts_without_reply
        FROM {{replies_hourly}} {HOURLY}
        GROUP BY t ORDER BY t""",
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
BOARDS = """
    SELECT board, SUM(posts) AS posts, MIN(hour) AS first_hour, MAX(hour) AS last_hour
    FROM {activity_hourly} GROUP BY board ORDER BY posts DESC, board"""


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
    """A board in the marts: its posts and the span of its hours."""

    name: str
    posts: int
    first_day: date
    last_day: date

    def last(self, days: int | None) -> Filters:
        """The last `days` days with posts (all of them for None)."""
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
    df = source.query(source.dialect.sql(BOARDS, MARTS), {})
    return [
        Board(str(r.board), int(r.posts), _day(r.first_hour), _day(r.last_hour))
        for r in df.itertuples()
    ]


def _day(value: Any) -> date:
    return pd.Timestamp(value).tz_convert(UTC).date()


@dataclass
class Insights:
    """What the tiles show: one data frame per query, and the time grain of the series."""

    filters: Filters
    grain: str  # 'hour' or 'day': the buckets of the time series
    frames: dict[str, pd.DataFrame]

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]


def query_sql(source: Source, name: str, grain: str = "hour") -> str:
    """A tile query's SQL in the source's dialect."""
    d = source.dialect
    template = SPAN if name == "span" else QUERIES[name]
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
    frames = {name: _tidy(source.query(query_sql(source, name, grain), params)) for name in QUERIES}
    return Insights(filters, grain, frames)


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
    return set(re.findall(r"\{([a-z_]+)\}", sql_template)) - {"bucket", "weekday"}
