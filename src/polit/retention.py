"""Retention: `polit prune --older-than 30d` removes old raw lake files and old raw warehouse
rows, but only what is safe to lose: a lake file only once the warehouse has loaded it, a
raw row only once dbt has merged it into `posts`/`threads`. Nothing unloaded is touched.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from polit.lake.schema import TABLES
from polit.lake.store import Lake, LakeFile
from polit.warehouse.base import Warehouse, lake_key

PARTITION = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_age(text: str) -> timedelta:
    """'30d', '12h' or '90m'.

    >>> parse_age("30d")
    datetime.timedelta(days=30)
    """
    match = re.fullmatch(r"\s*(\d+)\s*([dhm])\s*", text)
    if not match:
        raise ValueError(f"an age is a number and a unit (d, h or m), like 30d; got {text!r}")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def partition_end(path: str) -> datetime | None:
    """When a file's date/hour partition ends (its rows were written before then)."""
    match = PARTITION.search(path)
    if not match:
        return None
    start = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}:00:00+00:00")
    return start + timedelta(hours=1)


@dataclass
class PruneReport:
    cutoff: str
    dry_run: bool
    files_removed: int = 0
    bytes_removed: int = 0
    old_files_kept_unloaded: int = 0
    raw_rows_removed: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        rows = ", ".join(f"{n:,} raw {t} rows" for t, n in self.raw_rows_removed.items())
        return (
            f"older than {self.cutoff}: {verb} {self.files_removed:,} lake files "
            f"({self.bytes_removed:,} bytes){', ' + rows if rows else ''}; kept "
            f"{self.old_files_kept_unloaded:,} old files that are not loaded yet"
        )


def prune(
    lake: Lake,
    warehouse: Warehouse,
    older_than: timedelta,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PruneReport:
    cutoff = (now or datetime.now(UTC)) - older_than
    report = PruneReport(cutoff=cutoff.isoformat(), dry_run=dry_run)
    loaded = warehouse.loaded_files(lake)
    old: list[LakeFile] = []
    for table in TABLES:
        for f in lake.files(table):
            end = partition_end(f.path)
            if end is None or end > cutoff:
                continue
            if lake_key(lake, f.path) in loaded:
                old.append(f)
            else:
                report.old_files_kept_unloaded += 1
    report.raw_rows_removed = warehouse.prune_raw(cutoff, dry_run=dry_run)
    for f in old:
        if not dry_run:
            lake.fs.rm(f.path)
        report.files_removed += 1
        report.bytes_removed += f.size
    return report
