"""Read the lake back: whole tables for tools and tests, and `polit lake stats`.

`polit lake stats` reads footers only. A file it cannot read (see `polit.lake.quarantine`)
is counted as unreadable and left out of the figures; `polit load` moves such files aside.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from polit.lake.quarantine import (
    CORRUPT,
    Unreadable,
    content_problem,
    quarantined_files,
    read_footer,
)
from polit.lake.schema import SEQ, TABLES
from polit.lake.store import Lake, LakeFile


def read_table(
    lake: Lake,
    table: str,
    columns: list[str] | None = None,
    board: str | None = None,
    files: list[LakeFile] | None = None,
) -> pa.Table:
    """Every row of a raw table (optionally some columns), in the table's schema; from
    `files` only, when given."""
    schema = TABLES[table]
    paths = [f.path for f in (lake.files(table, board) if files is None else files)]
    if not paths:
        empty = schema if columns is None else pa.schema([schema.field(c) for c in columns])
        return empty.empty_table()
    dataset = ds.dataset(paths, schema=schema, format="parquet", filesystem=lake.fs)
    return dataset.to_table(columns=columns)


def latest_posts(
    lake: Lake, board: str | None = None, files: list[LakeFile] | None = None
) -> pa.Table:
    """The newest row of each post: (board, no, thread_no, deleted_at, version). Newest is
    the board's write order `seq`, then `observed_at`, as in the warehouse's `posts`; rows
    without a `seq` (imports, older files) come before those with one."""
    t = read_table(lake, "posts", ["board", "no", "thread_no", "observed_at", "deleted_at",
                                   "version", SEQ], board, files)  # fmt: skip
    if t.num_rows == 0:
        return t.drop_columns(["observed_at", SEQ])
    t = t.set_column(t.schema.get_field_index(SEQ), SEQ, pc.fill_null(t[SEQ], -1))
    t = t.sort_by([("board", "ascending"), ("no", "ascending"), (SEQ, "ascending"),
                   ("observed_at", "ascending")])  # fmt: skip
    keep_nulls = pc.ScalarAggregateOptions(skip_nulls=False)  # a null deleted_at is news
    grouped = t.group_by(["board", "no"], use_threads=False).aggregate(
        [(c, "last", keep_nulls) for c in ("thread_no", "deleted_at", "version")]
    )
    return grouped.rename_columns(["board", "no", "thread_no", "deleted_at", "version"])


@dataclass
class TableStats:
    files: int
    bytes: int
    rows: int


@dataclass
class LakeStats:
    lake: str
    posts: TableStats
    threads: TableStats
    distinct_posts: int
    distinct_threads: int
    deleted_posts: int
    archived_threads: int
    deleted_threads: int
    boards: list[str]
    unreadable_files: int  # under raw/, left out of the figures; `polit load` moves them
    quarantined_files: int  # under _polit/quarantine/, moved there by `polit load`

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lake_stats(lake: Lake) -> LakeStats:
    readable: dict[str, list[tuple[LakeFile, int]]] = {}  # table -> (file, rows)
    unreadable = 0
    for name in TABLES:
        readable[name] = []
        for f in lake.files(name):
            try:
                readable[name].append((f, read_footer(lake, f).num_rows))
            except Unreadable:
                unreadable += 1
    try:
        latest, threads = _columns(lake, readable)
    except CORRUPT:  # a sound footer over broken pages: find such files, leave them out
        for name in TABLES:
            sound = [(f, n) for f, n in readable[name] if content_problem(lake, f) is None]
            unreadable += len(readable[name]) - len(sound)
            readable[name] = sound
        latest, threads = _columns(lake, readable)
    tables = {
        name: TableStats(len(files), sum(f.size for f, _ in files), sum(n for _, n in files))
        for name, files in readable.items()
    }
    events = threads.filter(pc.is_in(threads["event"], pa.array(["archived", "deleted"])))
    archived = events.filter(pc.equal(events["event"], "archived"))
    deleted = events.filter(pc.equal(events["event"], "deleted"))
    boards = sorted({f.board for files in readable.values() for f, _ in files})
    return LakeStats(
        lake=lake.url,
        posts=tables["posts"],
        threads=tables["threads"],
        distinct_posts=latest.num_rows,
        distinct_threads=_distinct(threads, ["board", "no"]),
        deleted_posts=int(pc.sum(pc.is_valid(latest["deleted_at"])).as_py() or 0)
        if latest.num_rows
        else 0,
        archived_threads=_distinct(archived, ["board", "no"]),
        deleted_threads=_distinct(deleted, ["board", "no"]),
        boards=boards,
        unreadable_files=unreadable,
        quarantined_files=len(quarantined_files(lake)),
    )


def _columns(
    lake: Lake, readable: dict[str, list[tuple[LakeFile, int]]]
) -> tuple[pa.Table, pa.Table]:
    """What the figures need: the latest row of each post, and (board, no, event) of threads."""
    posts = [f for f, _ in readable["posts"]]
    threads = [f for f, _ in readable["threads"]]
    return (
        latest_posts(lake, files=posts),
        read_table(lake, "threads", ["board", "no", "event"], files=threads),
    )


def _distinct(t: pa.Table, keys: list[str]) -> int:
    if t.num_rows == 0:
        return 0
    return t.group_by(keys).aggregate([]).num_rows
