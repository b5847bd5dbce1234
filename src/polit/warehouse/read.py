"""The one read-only way into a warehouse: a DuckDB file opened read-only, or a BigQuery
dataset queried with typed parameters. Search, export, `polit sql`, the Python API, the
dashboard and the report all read through a `Reader`; what the two warehouses spell
differently lives in the `Dialect`s below and nowhere else.

SQL is written once with `$name` parameters and `{table}` placeholders; the dialect fills in
its own table names and parameter syntax:

>>> DuckDialect().sql("SELECT 1 FROM {posts_daily} WHERE board = $board", ["posts_daily"])
'SELECT 1 FROM main."posts_daily" WHERE board = $board'
>>> BigQueryDialect("p", "d").sql("SELECT 1 FROM {x} WHERE board = $board", ["x"])
'SELECT 1 FROM `p.d.x` WHERE board = @board'
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from polit.warehouse.base import WarehouseError, parse_url

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
USED = re.compile(r"[$@]([a-z_][a-z0-9_]*)")
BATCH_ROWS = 16_384  # rows per record batch: memory per batch, whatever the result


class ReadError(WarehouseError):
    """The warehouse cannot be read, or a query was refused; the message says what to do."""


class Dialect:
    """The few things DuckDB and BigQuery spell differently in polit's read queries."""

    name = ""

    def table(self, name: str) -> str:
        raise NotImplementedError

    def raw_table(self, name: str) -> str:
        """A raw table as `polit load` fills it (`posts` or `threads`)."""
        raise NotImplementedError

    def trunc(self, column: str, grain: str) -> str:
        """`column` (a timestamp) truncated to `grain` ('hour' or 'day'), in UTC."""
        raise NotImplementedError

    def iso_weekday(self, column: str) -> str:
        """1 = Monday … 7 = Sunday (the dbt macro iso_day_of_week is the same rule)."""
        raise NotImplementedError

    def in_list(self, column: str, param: str) -> str:
        """`column` is one of the list parameter `$param`."""
        raise NotImplementedError

    def params(self, sql: str) -> str:
        return sql

    def sql(self, template: str, tables: Iterable[str], **pieces: str) -> str:
        names = {t: self.table(t) for t in tables}
        return self.params(template.format(**names, **pieces))


class DuckDialect(Dialect):
    name = "duckdb"

    def table(self, name: str) -> str:
        return f'main."{name}"'

    def raw_table(self, name: str) -> str:
        return f'raw."{name}"'

    def trunc(self, column: str, grain: str) -> str:
        return f"date_trunc('{grain}', {column})"

    def iso_weekday(self, column: str) -> str:
        return f"isodow({column})"

    def in_list(self, column: str, param: str) -> str:
        return f"{column} IN (SELECT unnest(${param}))"


class BigQueryDialect(Dialect):
    name = "bigquery"

    def __init__(self, project: str, dataset: str) -> None:
        self.prefix = f"{project}.{dataset}"

    def table(self, name: str) -> str:
        return f"`{self.prefix}.{name}`"

    def raw_table(self, name: str) -> str:
        return f"`{self.prefix}.raw_{name}`"

    def trunc(self, column: str, grain: str) -> str:
        return f"TIMESTAMP_TRUNC({column}, {grain.upper()})"

    def iso_weekday(self, column: str) -> str:  # DAYOFWEEK: 1 = Sunday
        return f"MOD(EXTRACT(DAYOFWEEK FROM {column}) + 5, 7) + 1"

    def in_list(self, column: str, param: str) -> str:
        return f"{column} IN UNNEST(${param})"

    def params(self, sql: str) -> str:
        return PARAM.sub(r"@\1", sql)


class Reader(Protocol):
    url: str
    dialect: Dialect

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run SQL already in this reader's dialect; parameters by name."""
        ...

    def arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table: ...

    def batches(
        self, sql: str, params: Mapping[str, Any] | None = None, rows: int = BATCH_ROWS
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """The result as a stream of record batches (constant memory), and its schema."""
        ...

    def check_read_only(self, sql: str) -> None:
        """Raise ReadError unless `sql` is one query that changes nothing."""
        ...

    def limit_memory(self, megabytes: int) -> None:
        """Cap what the engine keeps in memory (DuckDB caches every block it reads, up to
        80% of RAM by default: a stream through a big table would grow with it)."""
        ...

    def tables(self) -> set[str]:
        """Names of the tables and views next to `posts` (the models' schema/dataset)."""
        ...

    def columns(self, table: str) -> list[str]:
        """A table's column names, in order ([] when there is no such table)."""
        ...

    def close(self) -> None: ...


class DuckReader:
    """A DuckDB warehouse file, read-only: other readers may share it, a writer may not."""

    @classmethod
    def over(cls, con: Any, url: str) -> DuckReader:
        """A reader on a connection (or cursor) opened elsewhere (ServingReaders)."""
        reader = cls.__new__(cls)
        reader.url, reader.dialect, reader.con = url, DuckDialect(), con
        reader._settings()
        return reader

    def _settings(self) -> None:
        self.con.execute("SET TimeZone = 'UTC'")  # date_trunc and extract work in UTC
        self.con.execute("SET enable_progress_bar = false")  # stderr is for polit's own

    def __init__(self, path: str, url: str | None = None) -> None:
        import duckdb

        self.url = url or path
        self.dialect: Dialect = DuckDialect()
        file = Path(path).expanduser()
        if not file.is_file():
            raise ReadError(f"no warehouse at {path}: run `polit load` and `polit transform` first")
        try:
            self.con = duckdb.connect(str(file), read_only=True)
        except duckdb.Error as exc:
            raise ReadError(
                f"cannot open {path} (is `polit transform` or `polit load` writing it right "
                f"now? try again when it is done): {exc}"
            ) from exc
        self._settings()

    def _run(self, sql: str, params: Mapping[str, Any] | None) -> Any:
        import duckdb

        try:
            return self.con.execute(sql, used_params(sql, params or {}))
        except duckdb.Error as exc:
            raise ReadError(one_line(exc)) from exc

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self._run(sql, params).df()

    def arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        import duckdb

        try:  # a relation hands over its batches; an execute() result would copy them
            return self.con.sql(sql, params=used_params(sql, params or {})).to_arrow_table()
        except duckdb.Error as exc:
            raise ReadError(one_line(exc)) from exc

    def batches(
        self, sql: str, params: Mapping[str, Any] | None = None, rows: int = BATCH_ROWS
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        import duckdb

        try:  # a relation streams its batches; an execute() result would copy them all
            relation = self.con.sql(sql, params=used_params(sql, params or {}))
            reader = relation.to_arrow_reader(rows)
        except duckdb.Error as exc:
            raise ReadError(one_line(exc)) from exc
        return reader.schema, iter(reader)

    def check_read_only(self, sql: str) -> None:
        import duckdb

        try:
            statements = self.con.extract_statements(sql)
        except duckdb.Error as exc:
            raise ReadError(one_line(exc)) from exc
        if len(statements) != 1:
            raise ReadError(f"one statement at a time, not {len(statements)}")
        kind = statements[0].type
        if kind not in (duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN):
            raise ReadError(f"only queries are allowed here (this is a {kind.name} statement)")

    def limit_memory(self, megabytes: int) -> None:
        self.con.execute(f"SET memory_limit = '{int(megabytes)}MB'")

    def tables(self) -> set[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        return {r[0] for r in rows}

    def columns(self, table: str) -> list[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main'"
            " AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        self.con.close()


class BigQueryReader:
    """A BigQuery dataset, through google-cloud-bigquery with typed query parameters
    (credentials: application-default, at first use)."""

    def __init__(self, project: str, dataset: str, url: str, location: str | None = None) -> None:
        from google.cloud import bigquery

        self.url = url
        self.project, self.dataset = project, dataset
        self.dialect: Dialect = BigQueryDialect(project, dataset)
        where: dict[str, Any] = {"location": location} if location else {}  # unset: its own
        self.client = bigquery.Client(project=project, **where)

    def _config(self, sql: str, params: Mapping[str, Any] | None, **kw: Any) -> Any:
        from google.cloud import bigquery

        return bigquery.QueryJobConfig(
            query_parameters=[
                bigquery_param(name, value)
                for name, value in used_params(sql, params or {}).items()
            ],
            **kw,
        )

    def _rows(self, sql: str, params: Mapping[str, Any] | None, page: int | None = None) -> Any:
        job = self.client.query(sql, job_config=self._config(sql, params))
        return job.result(page_size=page) if page else job.result()

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        import pandas as pd

        rows = self._rows(sql, params)
        columns = [field.name for field in rows.schema]
        return pd.DataFrame.from_records([tuple(r.values()) for r in rows], columns=columns)

    def arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        return self._rows(sql, params).to_arrow(create_bqstorage_client=False)

    def batches(
        self, sql: str, params: Mapping[str, Any] | None = None, rows: int = BATCH_ROWS
    ) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        import pyarrow as pa

        stream = iter(self._rows(sql, params, page=rows).to_arrow_iterable())
        first = next(stream, None)
        if first is None:
            return pa.schema([]), iter(())

        def all_batches() -> Iterator[pa.RecordBatch]:
            yield first
            yield from stream

        return first.schema, all_batches()

    def check_read_only(self, sql: str) -> None:
        """A dry run (free) tells BigQuery's own statement type."""
        job = self.client.query(sql, job_config=self._config(sql, {}, dry_run=True))
        kind = getattr(job, "statement_type", None)
        if kind != "SELECT":
            raise ReadError(f"only queries are allowed here (this is a {kind} statement)")

    def limit_memory(self, megabytes: int) -> None:
        pass  # the query runs in BigQuery; results arrive a page at a time

    def tables(self) -> set[str]:
        return {t.table_id for t in self.client.list_tables(f"{self.project}.{self.dataset}")}

    def columns(self, table: str) -> list[str]:
        from google.api_core.exceptions import NotFound

        try:
            return [f.name for f in self.client.get_table(f"{self.dialect.prefix}.{table}").schema]  # type: ignore[attr-defined]
        except NotFound:
            return []

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


def bigquery_param(name: str, value: Any) -> Any:
    """A typed BigQuery query parameter; lists become ARRAY parameters.

    >>> bigquery_param("boards", ["pol", "int"]).array_type
    'STRING'
    """
    from google.cloud import bigquery

    if isinstance(value, list | tuple):
        kind = bigquery_type(value[0]) if value else "STRING"
        return bigquery.ArrayQueryParameter(name, kind, list(value))
    return bigquery.ScalarQueryParameter(name, bigquery_type(value), value)


def one_line(exc: BaseException) -> str:
    """An error's message on one line (DuckDB's span several, with a caret drawing)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


class WarehouseBusy(ReadError):
    """A writer has the DuckDB file now (a brief reader does not wait for it)."""


class ServingReaders:
    """Readers for a server that must never be in a writer's way.

    DuckDB: one read-only connection, opened at the first use (a tenth of a second or
    more) and shared by every use (a cursor each), held under warehouse/gate.py's lock. A
    watcher thread lets go of the file as soon as `polit load` or `polit transform` wants
    it (after the uses under way, milliseconds), and after `idle` seconds unused; while a
    writer has it, a use raises WarehouseBusy; the next use after it opens the new build.
    BigQuery holds no lock: one reader serves every use."""

    def __init__(self, url: str, idle: float = 30.0, poll: float = 0.1) -> None:
        import threading

        try:
            self.target = parse_url(url)
        except WarehouseError as exc:
            raise ReadError(str(exc)) from exc
        self.url = url
        self.idle, self.poll = idle, poll
        self._shared: Reader | None = None
        self._con: Any = None
        self._gate: int | None = None
        self._users = 0
        self._last_use = 0.0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        if self.target.kind == "bigquery":
            self._shared = open_reader(url)
            return
        if not Path(self.target.path).expanduser().is_file():
            raise ReadError(f"no warehouse at {self.target.path}: run `polit load` and "
                            "`polit transform` first")  # fmt: skip
        self._watcher = threading.Thread(target=self._watch, name="polit-serve-gate", daemon=True)
        self._watcher.start()

    @property
    def holding(self) -> bool:
        """Whether the DuckDB file is open now."""
        return self._con is not None

    def _connect(self) -> None:  # under self._cond
        import time

        import duckdb

        from polit.warehouse.gate import Busy, share

        try:
            gate = share(self.target.path)
        except Busy as exc:
            raise WarehouseBusy(
                f"{exc} (polit load or polit transform); try again when it is done"
            ) from None
        try:
            self._con = duckdb.connect(str(Path(self.target.path).expanduser()), read_only=True)
        except duckdb.Error as exc:
            os.close(gate)
            raise WarehouseBusy(f"cannot open {self.target.path} now: {one_line(exc)}") from exc
        self._gate = gate
        self._last_use = time.monotonic()  # idle counts from here

    def _release(self) -> None:  # under self._cond, with no user
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._gate is not None:
            os.close(self._gate)
            self._gate = None

    def _watch(self) -> None:
        import time

        from polit.warehouse.gate import writer_waiting

        while not self._stop.wait(self.poll):
            if self._con is None:
                continue
            wanted = writer_waiting(self.target.path)
            with self._cond:
                idle = self._users == 0 and time.monotonic() - self._last_use > self.idle
                if wanted or idle:
                    self._closing = True
                    while self._users:
                        self._cond.wait()
                    self._release()
                    self._closing = False

    _closing = False

    @contextlib.contextmanager
    def open(self) -> Iterator[Reader]:
        if self._shared is not None:
            yield self._shared
            return
        import time

        with self._cond:
            if self._closing:
                raise WarehouseBusy(f"{self.target.path} is being written (polit load or "
                                    "polit transform); try again when it is done")  # fmt: skip
            if self._con is None:
                self._connect()
            cursor = self._con.cursor()
            self._users += 1
        try:
            yield DuckReader.over(cursor, self.url)
        finally:
            cursor.close()
            with self._cond:
                self._users -= 1
                self._last_use = time.monotonic()
                self._cond.notify_all()

    def close(self) -> None:
        self._stop.set()
        if self._shared is not None:
            self._shared.close()
            return
        self._watcher.join()
        with self._cond:
            while self._users:
                self._cond.wait()
            self._release()


def open_reader(url: str) -> Reader:
    """The read-only reader a warehouse URL names (see `polit.warehouse.base.parse_url`)."""
    try:
        target = parse_url(url)
    except WarehouseError as exc:
        raise ReadError(str(exc)) from exc
    if target.kind == "bigquery":
        from polit.config import Settings

        location = Settings.from_env().bigquery_location
        return BigQueryReader(target.project, target.dataset, url, location)
    return DuckReader(target.path, url)


def nothing_loaded(url: str) -> bool:
    """True when a DuckDB warehouse has never loaded a lake file: no file, no raw manifest,
    or an empty one (then dbt has no raw tables to build from). False otherwise, and for
    BigQuery (its load manifest is in the lake) or a file a writer holds right now."""
    import duckdb

    target = parse_url(url)
    if target.kind != "duckdb":
        return False
    if not Path(target.path).expanduser().is_file():
        return True
    try:
        reader = DuckReader(target.path, url)
    except ReadError:
        return False  # in use: the transform itself says so
    try:
        found = reader.con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'raw' AND table_name = '_manifest'"
        ).fetchall()[0][0]
        if not found:
            return True
        return not reader.con.execute("SELECT count(*) FROM raw._manifest").fetchall()[0][0]
    except duckdb.Error:
        return False
    finally:
        reader.close()
