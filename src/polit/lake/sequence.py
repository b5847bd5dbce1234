"""A board's write order: the `seq` column of every row the crawler and backfill write.

One counter per board, in the lake (`_polit/seq/<board>.json`), so that it survives a
stateless container like the crawl state. A writer reserves the numbers of the rows it is
about to write BEFORE writing them, so a crash after the reservation leaves a gap, never
two rows with one number; and a rerun continues after the gap. One writer per lake and
board at a time (the crawl lease) keeps it a sequence. A missing or unreadable counter is
rebuilt from the lake: the largest `seq` in the board's files (their Parquet footers).

Why not a clock: "newest observation wins" must hold when the crawler's clock is behind, or
when the crawl moves to another machine. Gaps are harmless: only the order counts.

>>> import tempfile
>>> from polit.lake.store import Lake, LakeFile
>>> lake = Lake(tempfile.mkdtemp())
>>> reserve(lake, "pol", 3), reserve(lake, "pol", 2), reserve(lake, "int", 1)
(1, 4, 1)
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from polit.lake.schema import SEQ, TABLES
from polit.lake.store import Lake, LakeFile

log = logging.getLogger("polit.lake")


def counter_path(board: str) -> tuple[str, str, str]:
    return ("_polit", "seq", f"{board}.json")


def reserve(lake: Lake, board: str, rows: int) -> int:
    """Reserve `rows` numbers of `board`'s sequence; returns the first."""
    try:
        doc: Any = lake.read_json(*counter_path(board))
    except ValueError:  # not JSON
        doc = "unreadable"
    if isinstance(doc, dict) and type(doc.get("next")) is int and doc["next"] >= 1:
        first = doc["next"]
    else:
        if doc is not None:
            log.warning("%s is not a sequence counter; rebuilt from the lake",
                        lake.path(*counter_path(board)))  # fmt: skip
        first = lake_max(lake, board) + 1
    lake.write_json({"next": first + rows}, *counter_path(board))
    return first


def lake_max(lake: Lake, board: str) -> int:
    """The largest `seq` in the board's data files (0 when none has one), from the footers."""
    bounds = [file_seq(lake, f) for table in TABLES for f in lake.files(table, board)]
    return max((b[1] for b in bounds if b is not None), default=0)


def file_seq(lake: Lake, f: LakeFile) -> tuple[int, int] | None:
    """The smallest and largest `seq` of a data file, from its footer (None: it has none, or
    the file is not readable Parquet: `polit load` moves such a file aside)."""
    try:
        with lake.fs.open(f.path, "rb") as fh:
            meta = pq.read_metadata(fh)
    except (pa.ArrowException, ValueError):
        return None
    if SEQ not in meta.schema.names:
        return None
    index = meta.schema.names.index(SEQ)
    lows, highs = [], []
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(index).statistics
        if stats is not None and stats.has_min_max:
            lows.append(int(stats.min))
            highs.append(int(stats.max))
    return (min(lows), max(highs)) if lows else None


def numbered(table: pa.Table, first: int) -> pa.Table:
    """`table` with its `seq` column set to first, first + 1, … in row order."""
    values = pa.array(range(first, first + table.num_rows), type=pa.int64())
    return table.set_column(table.schema.get_field_index(SEQ), SEQ, values)
