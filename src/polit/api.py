"""The Python API, for notebooks: a warehouse opened read-only, its models as lazy results
that become pandas, polars or Arrow on demand.

    import polit
    wh = polit.open("./data/warehouse.duckdb")          # or "bigquery://PROJECT/DATASET"
    wh.posts.filter(board="pol", deleted="no").df()      # pandas
    wh.search('"school shooting" -hoax', sort="new", limit=100).arrow()
    wh.sql("SELECT board, count(*) AS n FROM posts GROUP BY board").pl()  # polars

Nothing runs until a result is converted; every query goes through the read-only layer
(`polit.warehouse.read`), so a notebook cannot change the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from polit.warehouse.filters import Filters, parse_time, yes_no
from polit.warehouse.read import Reader, ReadError, open_reader

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def _filters(**given: Any) -> Filters:
    """Filters from keyword arguments: board, start, end (days or ISO times, or datetimes),
    thread, country, flag (a value or a list), deleted ('yes'/'no'/'only'), op, has_file."""
    known = {"board", "start", "end", "thread", "country", "flag", "deleted", "op", "has_file"}
    unknown = set(given) - known
    if unknown:
        raise ReadError(
            f"unknown filter {', '.join(sorted(unknown))}; use {', '.join(sorted(known))}"
        )

    def many(name: str) -> tuple[Any, ...]:
        value = given.get(name)
        if value is None:
            return ()
        return tuple(value) if isinstance(value, list | tuple | set) else (value,)

    def when(name: str, end: bool) -> Any:
        value = given.get(name)
        return parse_time(value, end=end) if isinstance(value, str) else value

    def flag(name: str) -> bool | None:
        value = given.get(name)
        return yes_no(value, name) if isinstance(value, str) else value

    return Filters(
        boards=many("board"), start=when("start", False), end=when("end", True),
        threads=many("thread"), countries=many("country"), flags=many("flag"),
        deleted=given.get("deleted", "yes"), op=flag("op"), has_file=flag("has_file"),
    )  # fmt: skip


@dataclass(frozen=True)
class Result:
    """A query not yet run. `.arrow()`, `.df()` (pandas) and `.pl()` (polars) run it."""

    warehouse: Warehouse
    sql: str
    params: dict[str, Any] = field(default_factory=dict)
    table: str = ""  # set for a whole model, which .filter() narrows

    def filter(self, **filters: Any) -> Result:
        """The rows of this model that pass the filters (see `polit export --help`)."""
        if not self.table:
            raise ReadError("filter() narrows a model (wh.posts, wh.threads, wh.table(…))")
        r = self.warehouse.reader
        where, params = _filters(**filters).where(r.dialect, r.columns(self.table))
        sql = r.dialect.params(f"SELECT * FROM {r.dialect.table(self.table)} WHERE {where}")
        return replace(self, sql=sql, params=params)

    def limit(self, n: int) -> Result:
        return replace(self, sql=f"SELECT * FROM ({self.sql}) AS t LIMIT {int(n)}", table="")

    def arrow(self) -> pa.Table:
        return self.warehouse.reader.arrow(self.sql, self.params)

    def df(self) -> pd.DataFrame:
        return self.arrow().to_pandas()

    to_pandas = df

    def pl(self) -> Any:
        return _polars(self.arrow())

    def count(self) -> int:
        sql = f"SELECT count(*) AS n FROM ({self.sql}) AS t"
        return int(self.warehouse.reader.arrow(sql, self.params)["n"][0].as_py())

    def __repr__(self) -> str:
        return f"<polit result: {' '.join(self.sql.split())[:120]}>"


@dataclass(frozen=True)
class SearchHits:
    """A page of search hits (already run: the index answers in milliseconds)."""

    total: int  # hits in all
    table_: Any

    def arrow(self) -> pa.Table:
        return self.table_

    def df(self) -> pd.DataFrame:
        return self.table_.to_pandas()

    to_pandas = df

    def pl(self) -> Any:
        return _polars(self.table_)

    def __len__(self) -> int:
        return int(self.table_.num_rows)


def _polars(table: pa.Table) -> Any:
    try:
        import polars as pl
    except ImportError:
        raise ReadError("polars is not installed: pip install polars (or use .df())") from None
    return pl.from_arrow(table)


class Warehouse:
    """A warehouse opened read-only. Use it in a `with` block, or call `close()`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.reader: Reader = open_reader(url)

    def table(self, name: str) -> Result:
        """A model: posts, threads or any mart (`wh.tables()` lists them)."""
        if name not in self.reader.tables():
            raise ReadError(f"no table {name!r} in {self.url}: run `polit transform` first?")
        return Result(self, f"SELECT * FROM {self.reader.dialect.table(name)}", table=name)

    @property
    def posts(self) -> Result:
        return self.table("posts")

    @property
    def threads(self) -> Result:
        return self.table("threads")

    def tables(self) -> list[str]:
        return sorted(self.reader.tables())

    def sql(self, query: str, **params: Any) -> Result:
        """A read-only query in the warehouse's SQL; `$name` parameters by keyword."""
        self.reader.check_read_only(query)
        return Result(self, self.reader.dialect.params(query), params)

    def search(
        self, query: str, sort: str = "relevance", limit: int = 100, offset: int = 0,
        **filters: Any,
    ) -> SearchHits:  # fmt: skip
        """Posts matching a query (the language of `polit search --help`)."""
        from polit.search import search

        result = search(self.reader, query, _filters(**filters), sort, limit, offset)
        return SearchHits(result.total, result.table)

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<polit warehouse {self.url}>"


def open(url: str = "./data/warehouse.duckdb") -> Warehouse:
    """Open a warehouse read-only: a DuckDB file, duckdb:///… or bigquery://PROJECT/DATASET."""
    return Warehouse(url)
