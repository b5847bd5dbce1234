"""Term trends: how many posts a search matches per hour or day, and their share of all
posts (`polit search --trend`, the dashboard's search box).

The matches are those of `polit search` itself, the same query on the same index (or, on
BigQuery, the same SQL): locally tantivy counts the hits by their `post_datetime` (a
histogram over the index's fast field, no hit is read), on BigQuery the hits are grouped
in SQL. The denominator counts the posts the same filters let through (`posts`, grouped by
the same buckets), and the span is that of those posts: every bucket from the first one
with a post to the last, zeros included, so the share of each bucket is over the same
posts the search looked in.

Several queries are compared side by side: `google, skype` is two queries (a comma is
nothing in the query language, so it can only separate queries).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from polit.search.query import QueryError, parse
from polit.warehouse.filters import POST_COLUMNS, Filters

if TYPE_CHECKING:
    from polit.search.query import Query
    from polit.warehouse.read import Reader

GRAINS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_QUERIES = 8
# A stretch without posts this long ends the span (looking back from the newest post): an
# old sticky years before collection started is left out, as on the dashboard's axes.
MAX_GAP = timedelta(days=7)


@dataclass(frozen=True)
class Point:
    query: str
    bucket: datetime  # the hour or day (UTC) it starts
    matches: int
    posts: int

    @property
    def share(self) -> float | None:
        return self.matches / self.posts if self.posts else None

    def row(self) -> dict[str, Any]:
        return {"query": self.query, "bucket": self.bucket, "matches": self.matches,
                "posts": self.posts, "share": self.share}  # fmt: skip


def split_queries(text: str) -> list[str]:
    """The queries of a comma-separated list.

    >>> split_queries(' google,  skype ,,"white house"')
    ['google', 'skype', '"white house"']
    """
    return [q.strip() for q in text.split(",") if q.strip()]


def trend(
    reader: Reader, text: str, filters: Filters | None = None, grain: str = "day"
) -> list[Point]:
    """Per query (in order), one point per bucket of the span."""
    from polit.search.index import SearchError

    if grain not in GRAINS:
        raise SearchError(f"--trend is hour or day, not {grain!r}")
    queries = split_queries(text)
    if not queries:
        raise SearchError("no query: give words to look for (several: comma-separated)")
    if len(queries) > MAX_QUERIES:
        raise SearchError(f"at most {MAX_QUERIES} queries at once, not {len(queries)}")
    try:
        parsed = [parse(q) for q in queries]
    except QueryError as exc:
        raise SearchError(str(exc)) from exc
    filters = filters or Filters()
    posts = post_counts(reader, filters, grain)
    if not posts:
        return []
    step = GRAINS[grain]
    first, last = span(sorted(posts), MAX_GAP)
    buckets = [first + step * i for i in range(int((last - first) / step) + 1)]
    points = []
    for text_q, query in zip(queries, parsed, strict=True):
        found = match_counts(reader, query, filters, grain)
        points += [Point(text_q, b, found.get(b, 0), posts.get(b, 0)) for b in buckets]
    return points


def span(buckets: list[datetime], max_gap: timedelta) -> tuple[datetime, datetime]:
    """The first and last bucket of the span: back from the newest until a gap longer
    than `max_gap`.

    >>> d = [datetime(2017, 5, 5), datetime(2023, 3, 26), datetime(2023, 3, 27)]
    >>> [x.year for x in span(d, timedelta(days=7))]
    [2023, 2023]
    """
    first = len(buckets) - 1
    while first > 0 and buckets[first] - buckets[first - 1] <= max_gap:
        first -= 1
    return buckets[first], buckets[-1]


def post_counts(reader: Reader, filters: Filters, grain: str) -> dict[datetime, int]:
    """All posts per bucket that the filters let through (the denominator)."""
    d = reader.dialect
    where, params = filters.where(d, POST_COLUMNS)
    sql = d.sql(
        f"SELECT {d.trunc('post_datetime', grain)} AS bucket, count(*) AS n FROM {{posts}} "
        f"WHERE {where} AND post_datetime IS NOT NULL GROUP BY 1",
        ["posts"],
    )
    df = reader.query(sql, params)
    return {_utc(b): int(n) for b, n in zip(df["bucket"], df["n"], strict=True)}


def match_counts(reader: Reader, query: Query, filters: Filters, grain: str) -> dict[datetime, int]:
    """The posts `polit search` finds for `query`, per bucket of their post_datetime."""
    if reader.dialect.name == "bigquery":
        from polit.search.bigquery import hits_sql

        hits, params = hits_sql(reader, query, filters)
        d = reader.dialect
        bucket = d.trunc("post_datetime", grain)
        sql = f"{hits}\nSELECT {bucket} AS bucket, COUNT(*) AS n FROM hits GROUP BY 1"
        df = reader.query(d.params(sql), params)
        return {_utc(b): int(n) for b, n in zip(df["bucket"], df["n"], strict=True)}
    from polit.search.index import SearchIndex, index_dir

    return SearchIndex(index_dir(reader.url)).histogram(query, filters, _micros(GRAINS[grain]))


def _micros(step: timedelta) -> int:
    return int(step.total_seconds() * 1_000_000)


def _utc(value: Any) -> datetime:
    """A bucket as the warehouse returns it (pandas or datetime), as an aware UTC datetime."""
    stamp = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
