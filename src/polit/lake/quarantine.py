"""Unreadable lake files, and the place they are moved to: `<lake>/_polit/quarantine/`.

A data file is *unreadable* when it cannot give its table rows:
- it has zero bytes;
- it is not Parquet, or its footer is corrupt (pyarrow cannot parse the metadata);
- its schema does not fit its table: a column of another kind (integer, float, string,
  timestamp, list) than the table's, a required column (`board`, `no`, …) missing, or
  nulls in a required column (columns the table lacks are the warehouse's call);
- its data pages are corrupt (found only by reading the whole file, see `content_problem`);
- the warehouse rejects it alone while it accepts other files (see `polit.warehouse.load`).

`footer_problem` checks all but the last from the footer alone (two small reads), so the
loader can check every file before a load. A quarantined file keeps its path under the
lake (`_polit/quarantine/raw/posts/board=pol/…/x.parquet`), so it can be moved back by hand
once repaired. polit never deletes it, and nothing that reads `raw/` sees it.

An I/O error while reading (a network failure on `gs://`) is not a verdict on the file: it
propagates, and the file stays where it is.
"""

from __future__ import annotations

import logging
import posixpath
import struct
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from polit.lake.schema import TABLES
from polit.lake.store import Lake, LakeFile

log = logging.getLogger("polit.lake")

QUARANTINE = ("_polit", "quarantine")
MAGIC = b"PAR1"
# What pyarrow raises for bytes that are not a valid Parquet file (thrift errors are OSError).
CORRUPT = (pa.ArrowException, OSError, ValueError)


@dataclass(frozen=True)
class Quarantined:
    path: str  # where the file was, relative to the lake root
    moved_to: str  # where it is now, relative to the lake root
    error: str


class Unreadable(Exception):
    """A lake file cannot give its rows; the message says why."""


def read_footer(lake: Lake, f: LakeFile) -> pq.FileMetaData:
    """The footer of `f`, once its size, footer and schema are checked (two small reads).
    Raises Unreadable; an I/O error propagates as itself (no verdict on the file)."""
    if f.size < 12:
        raise Unreadable("zero bytes" if f.size == 0 else f"{f.size} bytes: too small for Parquet")
    tail = lake.fs.cat_file(f.path, start=f.size - 8)
    if tail[4:] != MAGIC:
        raise Unreadable("not a Parquet file (no PAR1 magic at the end)")
    footer_len = struct.unpack("<I", tail[:4])[0]
    if footer_len + 12 > f.size:
        raise Unreadable(f"corrupt footer (length {footer_len:,} in a file of {f.size:,} bytes)")
    footer = lake.fs.cat_file(f.path, start=f.size - 8 - footer_len)
    try:
        meta = pq.read_metadata(pa.BufferReader(MAGIC + footer))
        schema = meta.schema.to_arrow_schema()
    except CORRUPT as exc:
        raise Unreadable(f"corrupt footer: {_one_line(exc)}") from exc
    problem = schema_problem(f.table, schema) or _null_problem(f.table, meta)
    if problem:
        raise Unreadable(problem)
    return meta


def footer_problem(lake: Lake, f: LakeFile) -> str | None:
    """Why `f` cannot be loaded, judged from its size and footer; None when it looks fine."""
    try:
        read_footer(lake, f)
    except Unreadable as exc:
        return str(exc)
    return None


def read_rows(lake: Lake, f: LakeFile, columns: list[str] | None = None) -> pa.Table:
    """Every row of `f` (optionally some columns), validated. Raises Unreadable; an I/O
    error propagates as itself (no verdict on the file)."""
    read_footer(lake, f)
    data = lake.fs.cat_file(f.path)
    try:
        table = pq.read_table(pa.BufferReader(data), columns=columns, use_threads=False)
        table.validate(full=True)  # offsets, UTF-8 of strings
    except CORRUPT as exc:
        raise Unreadable(f"corrupt data: {_one_line(exc)}") from exc
    required = [c.name for c in TABLES[f.table] if not c.nullable]
    nulls = [c for c in required if c in table.column_names and table[c].null_count]
    if nulls:
        raise Unreadable(f"nulls in required column {nulls[0]!r}")
    return table


def content_problem(lake: Lake, f: LakeFile) -> str | None:
    """Why `f` cannot be loaded, judged from all of it (`read_rows`); None when it is fine."""
    try:
        read_rows(lake, f)
    except Unreadable as exc:
        return str(exc)
    return None


def schema_problem(table: str, schema: pa.Schema) -> str | None:
    """Why a file with `schema` does not fit `table`, or None. A column the table does not
    have is not a problem of the file: a newer polit may have added it (the lake schema only
    gains nullable columns), and the warehouse decides whether it can take it."""
    expected = TABLES[table]
    for field in schema:
        if field.name not in expected.names:
            continue
        want = expected.field(field.name).type
        if _kind(field.type) != _kind(want):
            return f"column {field.name!r} is {field.type}, the {table} schema has {want}"
    missing = [c.name for c in expected if not c.nullable and c.name not in schema.names]
    if missing:
        return f"required column {missing[0]!r} is missing"
    return None


def _kind(t: pa.DataType) -> str:
    """What the warehouses need to agree on: the kind of value, not its width or unit."""
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"list<{_kind(t.value_type)}>"
    for name, test in (("int", pa.types.is_integer), ("float", pa.types.is_floating),
                       ("string", pa.types.is_string), ("string", pa.types.is_large_string),
                       ("timestamp", pa.types.is_timestamp)):  # fmt: skip
        if test(t):
            return name
    return str(t)


def _null_problem(table: str, meta: pq.FileMetaData) -> str | None:
    """Nulls in a required column, from the footer's statistics (when the writer kept them)."""
    required = {c.name for c in TABLES[table] if not c.nullable}
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            col = group.column(c)
            stats = col.statistics
            if col.path_in_schema not in required or stats is None:
                continue
            if stats.has_null_count and stats.null_count:
                return f"nulls in required column {col.path_in_schema!r}"
    return None


def quarantine(lake: Lake, f: LakeFile, error: str) -> Quarantined:
    """Move `f` to `_polit/quarantine/<its path>` and log it. Never deletes anything: on an
    object store the move is a copy then a delete of the original, so a crash in between
    leaves both, and the next check moves the original again (same target)."""
    rel = _relative(lake, f.path)
    target = lake.path(*QUARANTINE, rel)
    if lake.local:
        lake.fs.makedirs(posixpath.dirname(target), exist_ok=True)
    lake.fs.mv(f.path, target)
    moved = posixpath.join(*QUARANTINE, rel)
    log.warning("unreadable lake file %s (%s): moved to %s", lake.uri(f.path), error, moved)
    return Quarantined(rel, moved, error)


def quarantined_files(lake: Lake) -> list[str]:
    """Paths (in `lake.fs`) of every file in the quarantine."""
    base = lake.path(*QUARANTINE)
    if not lake.fs.exists(base):
        return []
    return sorted(p for p in lake.fs.find(base) if not posixpath.basename(p).startswith("."))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _relative(lake: Lake, path: str) -> str:
    prefix = lake.root.rstrip("/") + "/"
    if not path.startswith(prefix):
        raise ValueError(f"{path} is not inside the lake {lake.url}")
    return path[len(prefix) :]
