"""Where the marts are read from: a DuckDB file (opened read-only) or a BigQuery dataset.

A source runs one SQL text written once for both (see `marts.py`): `$name` parameters and
`{table}` placeholders; the source fills in its own table names and parameter syntax.

>>> DuckDialect().sql("SELECT 1 FROM {posts_daily} WHERE board = $board", ["posts_daily"])
'SELECT 1 FROM main."posts_daily" WHERE board = $board'
>>> BigQueryDialect("p", "d").sql("SELECT 1 FROM {x} WHERE board = $board", ["x"])
'SELECT 1 FROM `p.d.x` WHERE board = @board'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from polit.warehouse.base import WarehouseError, parse_url

PARAM = re.compile(r"\$([a-z_]+)")
USED = re.compile(r"[$@]([a-z_]+)")


class InsightsError(Exception):
    """The marts cannot be read; the message says what to do."""


class Dialect:
    """The few things DuckDB and BigQuery spell differently in the marts' queries."""

    def table(self, name: str) -> str:
        raise NotImplementedError

    def trunc(self, column: str, grain: str) -> str:
        """`column` (a timestamp) truncated to `grain` ('hour' or 'day'), in UTC."""
        raise NotImplementedError

    def iso_weekday(self, column: str) -> str:
        """1 = Monday … 7 = Sunday."""
        raise NotImplementedError

    def params(self, sql: str) -> str:
        return sql

    def sql(self, template: str, tables: Iterable[str], **pieces: str) -> str:
        names = {t: self.table(t) for t in tables}
        return self.params(template.format(**names, **pieces))


class DuckDialect(Dialect):
    def table(self, name: str) -> str:
        return f'main."{name}"'

    def trunc(self, column: str, grain: str) -> str:
        return f"date_trunc('{grain}', {column})"

    def iso_weekday(self, column: str) -> str:
        return f"isodow({column})"


class BigQueryDialect(Dialect):
    def __init__(self, project: str, dataset: str) -> None:
        self.prefix = f"{project}.{dataset}"

    def table(self, name: str) -> str:
        return f"`{self.prefix}.{name}`"

    def trunc(self, column: str, grain: str) -> str:
        return f"TIMESTAMP_TRUNC({column}, {grain.upper()})"

    def iso_weekday(self, column: str) -> str:  # DAYOFWEEK: 1 = Sunday
        return f"MOD(EXTRACT(DAYOFWEEK FROM {column}) + 5, 7) + 1"

    def params(self, sql: str) -> str:
        return PARAM.sub(r"@\1", sql)


class Source(Protocol):
    url: str
    dialect: Dialect

    def query(self, sql: str, params: Mapping[str, Any]) -> pd.DataFrame:
        """Run SQL already in this source's dialect; parameters by name."""
        ...

    def tables(self) -> set[str]:
        """Names of the tables and views next to `posts` (the marts' schema/dataset)."""
        ...

    def close(self) -> None: ...


class DuckSource:
    """A DuckDB warehouse file, read-only: other readers may share it, a writer may not."""

    def __init__(self, path: str, url: str | None = None) -> None:
        import duckdb

        self.url = url or path
        self.dialect: Dialect = DuckDialect()
        if not Path(path).expanduser().is_file():
            raise InsightsError(
                f"no warehouse at {path}: run `polit load` and `polit transform` first"
            )
        try:
            self.con = duckdb.connect(str(Path(path).expanduser()), read_only=True)
        except duckdb.IOException as exc:
            raise InsightsError(
                f"cannot open {path} (is `polit transform` or `polit load` writing it right "
                f"now? try again when it is done): {exc}"
            ) from exc
        self.con.execute("SET TimeZone = 'UTC'")  # date_trunc and extract work in UTC

    def query(self, sql: str, params: Mapping[str, Any]) -> pd.DataFrame:
        return self.con.execute(sql, used_params(sql, params)).df()

    def tables(self) -> set[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        return {r[0] for r in rows}

    def close(self) -> None:
        self.con.close()


class BigQuerySource:
    """A BigQuery dataset, through google-cloud-bigquery with query parameters
    (credentials: application-default, at first use)."""

    def __init__(self, project: str, dataset: str, url: str) -> None:
        from google.cloud import bigquery

        self.url = url
        self.project, self.dataset = project, dataset
        self.dialect: Dialect = BigQueryDialect(project, dataset)
        self.client = bigquery.Client(project=project)

    def query(self, sql: str, params: Mapping[str, Any]) -> pd.DataFrame:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter(name, bigquery_type(value), value)
                for name, value in used_params(sql, params).items()
            ]
        )
        rows = self.client.query(sql, job_config=config).result()
        columns = [field.name for field in rows.schema]
        return pd.DataFrame.from_records([tuple(r.values()) for r in rows], columns=columns)

    def tables(self) -> set[str]:
        return {t.table_id for t in self.client.list_tables(f"{self.project}.{self.dataset}")}

    def close(self) -> None:
        self.client.close()


def used_params(sql: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a query names (DuckDB rejects unused ones).

    >>> used_params("WHERE day >= $start_day", {"start": 1, "start_day": 2})
    {'start_day': 2}
    """
    names = set(USED.findall(sql))
    return {k: v for k, v in params.items() if k in names}


def bigquery_type(value: Any) -> str:
    """The BigQuery type of a query parameter.

    >>> from datetime import UTC
    >>> bigquery_type(datetime(2023, 3, 27, tzinfo=UTC)), bigquery_type(date(2023, 3, 27))
    ('TIMESTAMP', 'DATE')
    """
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    return "STRING"


def open_source(url: str) -> Source:
    """The marts' source a warehouse URL names (see `polit.warehouse.base.parse_url`)."""
    try:
        target = parse_url(url)
    except WarehouseError as exc:
        raise InsightsError(str(exc)) from exc
    if target.kind == "bigquery":
        return BigQuerySource(target.project, target.dataset, url)
    return DuckSource(target.path, url)
