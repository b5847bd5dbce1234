"""Building and reading DuckDB warehouses in tests: load a lake (or some of its files),
query read-only, and hash whole models to compare builds."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest

from polit.lake.schema import TABLES
from polit.lake.store import Lake
from polit.transform import transform
from polit.warehouse import load_lake
from polit.warehouse.duck import DuckWarehouse
from tests.helpers.once import once
from tests.helpers.replay_helpers import replay_crawl

# tables of the main schema that are not models of the project's own
NOT_MODELS = ("polit_cursors", "vader_lexicon", "stopwords")


def replayed_lake(recording: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared recording crawled into a lake, once per test run: every snapshot, so the
    lake holds versions, tombstones and archives. Tests only read it."""

    def build(lake: Path) -> Path:
        replay_crawl(recording, lake)
        return lake

    return once(tmp_path_factory, "replayed-lake", build)


def load(lake: Path, warehouse: Path, files: dict[str, slice] | None = None) -> int:
    """Load the lake (or a slice of each table's files); returns the files loaded."""
    wh = DuckWarehouse(str(warehouse))
    try:
        if files is None:
            return load_lake(Lake(str(lake)), wh).total_files
        lk = Lake(str(lake))
        return sum(wh.load(lk, lk.files(t)[s]).files for t, s in files.items())
    finally:
        wh.close()


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def digest(warehouse: Path, table: str, exclude: tuple[str, ...] = ()) -> tuple[int, str]:
    """Row count and a hash of a model's full contents, whatever order its rows are in."""
    cols = f"* EXCLUDE ({', '.join(exclude)})" if exclude else "*"
    row = "CAST(t AS VARCHAR)"
    sql = (f"SELECT count(*), md5(coalesce(string_agg({row}, chr(10) ORDER BY {row}), ''))"
           f" FROM (SELECT {cols} FROM main.{table}) AS t")  # fmt: skip
    n, h = query(warehouse, sql)[0]
    return n, h


def models(warehouse: Path) -> list[str]:
    """The tables dbt built: posts, threads and every insight mart."""
    rows = query(
        warehouse,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        " AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    return [name for (name,) in rows if name not in NOT_MODELS]


def digests(warehouse: Path, exclude: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    return {t: digest(warehouse, t, exclude) for t in models(warehouse)}


def build_in_parts(lake: Path, warehouse: Path, workdir: Path, parts: int) -> None:
    """From an empty warehouse, the lake's files in `parts` successive loads (in their
    order), each followed by an incremental `transform`."""
    lk = Lake(str(lake))
    n = {t: len(lk.files(t)) for t in TABLES}
    load(lake, warehouse, {t: slice(0, 0) for t in TABLES})  # raw tables exist, still empty
    transform(str(warehouse), workdir=workdir, quiet=True)
    for k in range(parts):
        part = {t: slice(math.ceil(n[t] * k / parts), math.ceil(n[t] * (k + 1) / parts))
                for t in TABLES}  # fmt: skip
        load(lake, warehouse, part)
        transform(str(warehouse), workdir=workdir, quiet=True)
