"""`load_lake`: copy every lake file the warehouse has not loaded yet, exactly once.

The manifest (which files are loaded) belongs to the warehouse: a table committed with the
rows on DuckDB, documents in the lake on BigQuery (see those modules for the guarantees).
Files go in batches of `batch_size` per table, oldest partitions first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from polit.lake.schema import TABLES
from polit.lake.store import Lake, LakeFile
from polit.warehouse.base import Warehouse, lake_key

Progress = Callable[[int, int], None]  # (files done, files to do)
BATCH_SIZE = 500


@dataclass
class LoadReport:
    lake: str
    warehouse: str
    files: dict[str, int] = field(default_factory=dict)  # table -> files loaded now
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows loaded now
    already_loaded: int = 0  # files skipped because the manifest has them
    seconds: float = 0.0

    @property
    def total_files(self) -> int:
        return sum(self.files.values())

    def summary(self) -> str:
        parts = [f"{t}: {self.files.get(t, 0):,} files, {self.rows.get(t, 0):,} rows"
                 for t in TABLES]  # fmt: skip
        return (
            f"loaded {self.lake} -> {self.warehouse}: {'; '.join(parts)} "
            f"({self.already_loaded:,} files already loaded, {self.seconds:.1f}s)"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pending_files(lake: Lake, warehouse: Warehouse) -> tuple[dict[str, list[LakeFile]], int]:
    """Per table, the lake files not in the warehouse's manifest; and how many are in it."""
    done = warehouse.loaded_files(lake)
    todo: dict[str, list[LakeFile]] = {}
    skipped = 0
    for table in TABLES:
        files = lake.files(table)
        todo[table] = [f for f in files if lake_key(lake, f.path) not in done]
        skipped += len(files) - len(todo[table])
    return todo, skipped


def load_lake(
    lake: Lake,
    warehouse: Warehouse,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> LoadReport:
    """Load what is new. Safe to kill at any moment and to run again.

    >>> import shutil, tempfile
    >>> from polit.warehouse.duck import DuckWarehouse
    >>> tmp = tempfile.mkdtemp()
    >>> wh = DuckWarehouse(f"{tmp}/w.duckdb")
    >>> load_lake(Lake(f"{tmp}/lake"), wh).total_files
    0
    >>> wh.close(); shutil.rmtree(tmp)
    """
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    started = time.monotonic()
    report = LoadReport(lake=lake.url, warehouse=warehouse.url)
    todo, report.already_loaded = pending_files(lake, warehouse)
    total = sum(len(files) for files in todo.values())
    done = 0
    if progress:
        progress(0, total)
    for table, files in todo.items():
        report.files[table] = report.rows[table] = 0
        for i in range(0, len(files), batch_size):
            batch = files[i : i + batch_size]
            result = warehouse.load(lake, batch)
            report.files[table] += result.files
            report.rows[table] += result.rows
            done += len(batch)
            if progress:
                progress(done, total)
    report.seconds = time.monotonic() - started
    return report
