"""Full-text search over posts, with no extra server: a tantivy index beside a DuckDB
warehouse (`index.py`), or BigQuery's own search index and SEARCH() (`bigquery.py`).
Hits come back as Arrow tables (RESULT_SCHEMA), the post text as it is in `posts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from polit.search.query import Query, QueryError, parse
from polit.warehouse.filters import Filters

if TYPE_CHECKING:
    from polit.warehouse.read import Reader

SORTS = ("relevance", "new", "old")
RESULT_SCHEMA = pa.schema([
    ("board", pa.string()), ("post_id", pa.int64()), ("thread_id", pa.int64()),
    ("post_datetime", pa.timestamp("us", tz="UTC")), ("subject", pa.string()),
    ("comment", pa.string()), ("url", pa.string()),
    ("deleted_at", pa.timestamp("us", tz="UTC")), ("score", pa.float64()),
])  # fmt: skip
RESULT_COLUMNS = tuple(RESULT_SCHEMA.names[:-1])


@dataclass
class SearchResult:
    total: int  # hits in all (before --limit/--offset)
    table: pa.Table  # one row per hit of the page, in order: RESULT_COLUMNS + score


def search(
    reader: Reader,
    text: str,
    filters: Filters | None = None,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """The posts matching a query (see `query.py` for the language), a page of them."""
    from polit.search.index import SearchError

    if sort not in SORTS:
        raise SearchError(f"--sort is one of {', '.join(SORTS)}, not {sort!r}")
    if limit < 0 or offset < 0:
        raise SearchError("--limit and --offset are 0 or more")
    query = _parse(text)
    filters = filters or Filters()
    if reader.dialect.name == "bigquery":
        from polit.search.bigquery import search_bigquery

        return search_bigquery(reader, query, filters, sort, limit, offset)
    return _search_local(reader, query, filters, sort, limit, offset)


def _parse(text: str) -> Query:
    from polit.search.index import SearchError

    try:
        return parse(text)
    except QueryError as exc:
        raise SearchError(str(exc)) from exc


def _search_local(
    reader: Reader, query: Query, filters: Filters, sort: str, limit: int, offset: int
) -> SearchResult:
    from polit.search.index import SearchIndex, index_dir

    index = SearchIndex(index_dir(reader.url))
    total, hits = index.search(query, filters, sort, limit, offset)
    return SearchResult(total, pa.Table.from_pylist(hits, schema=RESULT_SCHEMA))
