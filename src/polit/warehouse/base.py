"""One small interface over the warehouses, and the URL that chooses one.

`./data/warehouse.duckdb` or `duckdb:///abs/path.duckdb` is a DuckDB file;
`bigquery://PROJECT/DATASET` is a BigQuery dataset.

>>> parse_url("bigquery://my-project/polit")
Target(kind='bigquery', path='', project='my-project', dataset='polit')
>>> parse_url("duckdb:///tmp/w.duckdb").path
'/tmp/w.duckdb'
>>> parse_url("").path
'./data/warehouse.duckdb'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from polit.lake.store import Lake, LakeFile

DEFAULT_WAREHOUSE = "./data/warehouse.duckdb"


class WarehouseError(Exception):
    """A warehouse could not be opened or loaded; the message says what to do."""


@dataclass(frozen=True)
class Target:
    kind: str  # duckdb | bigquery
    path: str = ""  # DuckDB file
    project: str = ""  # BigQuery
    dataset: str = ""


@dataclass
class LoadResult:
    """What one `Warehouse.load` call copied: files and rows of one raw table."""

    table: str
    files: int
    rows: int


class Warehouse(Protocol):
    url: str

    def loaded_files(self, lake: Lake) -> set[str]:
        """Keys (`lake_key`) of the lake files already loaded: the manifest."""
        ...

    def load(self, lake: Lake, files: Sequence[LakeFile]) -> LoadResult:
        """Copy files of ONE raw table and record them in the manifest, all or nothing."""
        ...

    def count(self, table: str) -> int:
        """Rows in a raw table (`posts`, `threads`)."""
        ...

    def reset(self, lake: Lake) -> None:
        """Drop the raw tables and forget the manifest (for a rebuild from the lake)."""
        ...

    def prune_raw(self, before: datetime, dry_run: bool = False) -> dict[str, int]:
        """Delete raw rows loaded before `before` that dbt has already merged; per table."""
        ...

    def close(self) -> None: ...


def parse_url(url: str) -> Target:
    url = url.strip() or DEFAULT_WAREHOUSE
    if url.startswith("bigquery://"):
        project, _, dataset = url.removeprefix("bigquery://").strip("/").partition("/")
        if not project or not dataset or "/" in dataset:
            raise WarehouseError(f"a BigQuery warehouse is bigquery://PROJECT/DATASET, not {url!r}")
        return Target("bigquery", project=project, dataset=dataset)
    if url.startswith("duckdb://"):
        url = url.removeprefix("duckdb://") or DEFAULT_WAREHOUSE
    elif "://" in url:
        raise WarehouseError(f"unknown warehouse {url!r}: use a path, duckdb:///… or bigquery://…")
    return Target("duckdb", path=url)


def open_warehouse(url: str) -> Warehouse:
    """The warehouse a URL names; DuckDB creates its file and raw tables on first use."""
    target = parse_url(url)
    if target.kind == "bigquery":
        from polit.config import Settings
        from polit.warehouse.bigquery import BigQueryWarehouse

        location = Settings.from_env().bigquery_location
        return BigQueryWarehouse(target.project, target.dataset, location)
    from polit.warehouse.duck import DuckWarehouse

    return DuckWarehouse(target.path)


def lake_key(lake: Lake, path: str) -> str:
    """A data file's name relative to the lake root (`raw/posts/board=pol/…/x.parquet`): the
    manifest's key, the same wherever the lake is mounted."""
    prefix = lake.root.rstrip("/") + "/"
    if not path.startswith(prefix):
        raise WarehouseError(f"{path} is not inside the lake {lake.url}")
    return path[len(prefix) :]


def next_stamp(now: datetime, newest: datetime | None) -> datetime:
    """A load's stamp: the clock, but after every earlier load's, whatever the clock says.

    >>> t = datetime(2026, 1, 1)
    >>> next_stamp(t, t + timedelta(hours=3)) - t
    datetime.timedelta(seconds=10800, microseconds=1)
    """
    if newest is None:
        return now
    return max(now, newest + timedelta(microseconds=1))
