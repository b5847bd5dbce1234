"""The DuckDB warehouse: schema `raw` with `raw.posts`, `raw.threads` and `raw._manifest`.

A batch of files is copied with one `INSERT … SELECT … FROM read_parquet([...])` and its
manifest rows are inserted in the SAME transaction, so a load killed at any moment leaves
either the whole batch (rows and manifest) or nothing: the next load copies exactly what is
missing. `raw._manifest.path` is a primary key, so a file can never be recorded twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from polit.lake.schema import TABLES
from polit.lake.store import Lake, LakeFile
from polit.warehouse.base import LoadResult, WarehouseError, lake_key, next_stamp
from polit.warehouse.gate import writing

SCHEMA = "raw"
MANIFEST = f"{SCHEMA}._manifest"
EXTRA_COLUMNS = {"_file": "VARCHAR NOT NULL", "_loaded_at": "TIMESTAMPTZ NOT NULL"}


def duck_type(t: pa.DataType) -> str:
    """The DuckDB type of a lake column.

    >>> duck_type(pa.list_(pa.int64())), duck_type(pa.timestamp("us", tz="UTC"))
    ('BIGINT[]', 'TIMESTAMPTZ')
    """
    if pa.types.is_string(t):
        return "VARCHAR"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_timestamp(t) and t.tz:
        return "TIMESTAMPTZ"
    if pa.types.is_list(t):
        return duck_type(t.value_type) + "[]"
    raise TypeError(f"no DuckDB type for {t}")


def raw_columns(table: str) -> dict[str, str]:
    """Column -> DuckDB type of a raw table: the lake schema exactly, plus `_file` (the lake
    file, relative to the lake root) and `_loaded_at` (the load's transaction time)."""
    cols = {}
    for f in TABLES[table]:
        cols[f.name] = duck_type(f.type) + ("" if f.nullable else " NOT NULL")
    return {**cols, **EXTRA_COLUMNS}


class DuckWarehouse:
    def __init__(self, path: str) -> None:
        self.url = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # a running `polit serve` lets go of the file first (warehouse/gate.py)
        self._writing = contextlib.ExitStack()
        self._writing.enter_context(writing(path))
        try:
            self.con = duckdb.connect(path)
        except duckdb.IOException as exc:
            self._writing.close()
            if "lock" in str(exc).lower():
                raise WarehouseError(
                    f"{path} is in use by another process (a load or dbt run?); try again later"
                ) from exc
            raise WarehouseError(f"cannot open {path}: {exc}") from exc
        self._filesystems: set[str] = set()
        self.create_tables()

    def create_tables(self) -> None:
        """Create what is missing: schema, tables, and columns the lake schema gained."""
        con = self.con
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        for table in TABLES:
            cols = raw_columns(table)
            body = ", ".join(f'"{c}" {t}' for c, t in cols.items())
            con.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{table} ({body})")
            have = {r[0] for r in con.execute(f"DESCRIBE {SCHEMA}.{table}").fetchall()}
            for c, t in cols.items():
                if c not in have:  # new lake columns are nullable: old rows get NULL
                    con.execute(f'ALTER TABLE {SCHEMA}.{table} ADD COLUMN "{c}" {t}')
        con.execute(
            f'CREATE TABLE IF NOT EXISTS {MANIFEST} (path VARCHAR PRIMARY KEY, "table" VARCHAR '
            "NOT NULL, rows BIGINT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL)"
        )

    def loaded_files(self, lake: Lake) -> set[str]:
        return {r[0] for r in self.con.execute(f"SELECT path FROM {MANIFEST}").fetchall()}

    def load(self, lake: Lake, files: Sequence[LakeFile]) -> LoadResult:
        if not files:
            return LoadResult("", 0, 0)
        tables = {f.table for f in files}
        if len(tables) != 1:
            raise ValueError(f"one table per load call, got {sorted(tables)}")
        table = tables.pop()
        self._register(lake)
        uris = [lake.uri(f.path) for f in files]
        cut = len(lake.uri(lake.root).rstrip("/")) + 2  # 1-based start of the lake-relative key
        keys = [lake_key(lake, f.path) for f in files]  # validates every path is in the lake
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            stamp = self._next_stamp()
            rows = con.execute(
                f"INSERT INTO {SCHEMA}.{table} BY NAME "
                f"SELECT * REPLACE (substr(_file, {cut}) AS _file), ?::TIMESTAMPTZ AS _loaded_at "
                "FROM read_parquet(?, filename = '_file', hive_partitioning = false, "
                "union_by_name = true)",
                [stamp, uris],
            ).fetchall()[0][0]
            recorded = con.execute(
                f"INSERT INTO {MANIFEST} SELECT substr(file_name, {cut}), ?, num_rows, ? "
                "FROM parquet_file_metadata(?)",
                [table, stamp, uris],
            ).fetchall()[0][0]
            if recorded != len(keys):  # never expected: then load nothing rather than guess
                raise WarehouseError(f"recorded {recorded} of {len(keys)} files; rolled back")
            con.execute("COMMIT")
        except BaseException as exc:
            con.execute("ROLLBACK")
            if isinstance(exc, duckdb.ConstraintException):
                raise WarehouseError(f"a file of this batch is already loaded: {exc}") from exc
            if isinstance(exc, duckdb.Error):
                raise WarehouseError(f"loading {keys[0]} (+{len(keys) - 1}) failed: {exc}") from exc
            raise
        return LoadResult(table, len(keys), int(rows))

    def _next_stamp(self) -> datetime:
        """The load's `_loaded_at` (base.next_stamp), after the newest stamp in the manifest
        (which keeps it also for files whose raw rows were pruned since)."""
        newest = self.con.execute(f"SELECT max(loaded_at) FROM {MANIFEST}").fetchall()[0][0]
        return next_stamp(datetime.now(UTC), newest)

    def count(self, table: str) -> int:
        if table not in TABLES:
            raise ValueError(f"unknown raw table {table!r}")
        return int(self.con.execute(f"SELECT count(*) FROM {SCHEMA}.{table}").fetchall()[0][0])

    def reset(self, lake: Lake) -> None:
        for table in TABLES:
            self.con.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{table}")
        self.con.execute(f"DROP TABLE IF EXISTS {MANIFEST}")
        self.create_tables()

    def prune_raw(self, before: datetime, dry_run: bool = False) -> dict[str, int]:
        """Raw rows loaded before `before` and already merged: loaded no later than the
        newest raw row the dbt model `main.<table>` holds (its `loaded_at`)."""
        removed = {}
        merged_tables = {
            r[0]
            for r in self.con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        for table in TABLES:
            if table not in merged_tables:  # never transformed: nothing is merged yet
                removed[table] = 0
                continue
            where = f"_loaded_at < ? AND _loaded_at <= (SELECT max(loaded_at) FROM main.{table})"
            verb = "SELECT count(*)" if dry_run else "DELETE"
            removed[table] = int(
                self.con.execute(
                    f"{verb} FROM {SCHEMA}.{table} WHERE {where}", [before]
                ).fetchall()[0][0]
            )
        return removed

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            self._writing.close()

    def _register(self, lake: Lake) -> None:
        """Let DuckDB read a remote lake (gs://…) through the lake's own fsspec filesystem,
        with the lake's credentials (DuckDB's httpfs would need HMAC keys for GCS)."""
        if lake.local or lake.protocol in self._filesystems:
            return
        try:
            self.con.register_filesystem(lake.fs)
        except Exception as exc:
            raise WarehouseError(f"DuckDB cannot read {lake.url}: {exc}") from exc
        self._filesystems.add(lake.protocol)
