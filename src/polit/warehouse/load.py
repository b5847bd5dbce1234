"""`load_lake`: copy every lake file the warehouse has not loaded yet, exactly once.

The manifest (which files are loaded) belongs to the warehouse: a table committed with the
rows on DuckDB, documents in the lake on BigQuery (see those modules for the guarantees).
Files go in batches of `batch_size` per table, oldest partitions first.

An unreadable file (see `polit.lake.quarantine`) never stops a load: each pending file's
footer is checked first, and a file that fails is moved to `_polit/quarantine/` and logged.
If the warehouse still rejects a batch, every file of it is read whole; when that finds
nothing, the batch is split in halves until the file the warehouse rejects is alone. A
file is quarantined on the warehouse's word only once another load of the same run has
succeeded, so a warehouse that is down fails the load (exit 1) and moves nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from polit.lake.quarantine import Quarantined, content_problem, footer_problem, quarantine
from polit.lake.schema import TABLES
from polit.lake.store import Lake, LakeFile
from polit.warehouse.base import Warehouse, WarehouseError, lake_key

log = logging.getLogger("polit.load")

Progress = Callable[[int, int], None]  # (files done, files to do)
Check = Callable[[Lake, LakeFile], str | None]  # why a file is unreadable, or None
BATCH_SIZE = 500
CHECK_THREADS = 16  # footer checks in flight on an object store


@dataclass
class LoadReport:
    lake: str
    warehouse: str
    files: dict[str, int] = field(default_factory=dict)  # table -> files loaded now
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows loaded now
    already_loaded: int = 0  # files skipped because the manifest has them
    quarantined: list[Quarantined] = field(default_factory=list)  # unreadable, moved aside
    seconds: float = 0.0

    @property
    def total_files(self) -> int:
        return sum(self.files.values())

    def summary(self) -> str:
        parts = [f"{t}: {self.files.get(t, 0):,} files, {self.rows.get(t, 0):,} rows"
                 for t in TABLES]  # fmt: skip
        n, moved = len(self.quarantined), ""
        if n:
            moved = f"; {n:,} unreadable file{'s' * (n != 1)} moved to _polit/quarantine/"
        return (
            f"loaded {self.lake} -> {self.warehouse}: {'; '.join(parts)} "
            f"({self.already_loaded:,} files already loaded{moved}, {self.seconds:.1f}s)"
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
            _load_batch(lake, warehouse, _readable(lake, batch, report), report)
            done += len(batch)
            if progress:
                progress(done, total)
    report.seconds = time.monotonic() - started
    return report


def _readable(
    lake: Lake, files: Sequence[LakeFile], report: LoadReport, check: Check = footer_problem
) -> list[LakeFile]:
    """The files `check` finds fine; the others are quarantined. Checks run in parallel on
    an object store, where each is a few small requests."""
    with ThreadPoolExecutor(max_workers=1 if lake.local else CHECK_THREADS) as pool:
        problems = list(pool.map(lambda f: check(lake, f), files))
    for f, problem in zip(files, problems, strict=True):
        if problem is not None:
            report.quarantined.append(quarantine(lake, f, problem))
    return [f for f, problem in zip(files, problems, strict=True) if problem is None]


def _load_batch(
    lake: Lake, warehouse: Warehouse, files: Sequence[LakeFile], report: LoadReport
) -> None:
    if not files:
        return
    try:
        _load(warehouse, lake, files, report)
    except WarehouseError as exc:
        log.warning("loading %d files failed (%s); checking each file", len(files), exc)
        readable = _readable(lake, files, report, content_problem)
        if len(readable) < len(files):
            _load_batch(lake, warehouse, readable, report)
        else:
            _bisect(lake, warehouse, readable, report)


def _bisect(
    lake: Lake, warehouse: Warehouse, files: Sequence[LakeFile], report: LoadReport
) -> None:
    """Every file reads fine, yet the warehouse rejects the batch: load halves, down to the
    file it rejects on its own (tried twice), and quarantine that one, but only once a load
    has worked in this run. Without that evidence the warehouse itself may be failing."""
    if len(files) > 1:
        mid = len(files) // 2
        for half in (files[:mid], files[mid:]):
            try:
                _load(warehouse, lake, half, report)
            except WarehouseError:
                _bisect(lake, warehouse, half, report)
        return
    try:
        _load(warehouse, lake, files, report)  # a second try, alone
    except WarehouseError as exc:
        if report.total_files == 0:
            raise
        error = " ".join(str(exc).split())
        report.quarantined.append(quarantine(lake, files[0], f"the warehouse rejects it: {error}"))


def _load(warehouse: Warehouse, lake: Lake, files: Sequence[LakeFile], report: LoadReport) -> None:
    result = warehouse.load(lake, files)
    report.files[files[0].table] += result.files
    report.rows[files[0].table] += result.rows
