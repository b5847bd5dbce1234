"""Read the lake back: whole tables for tools and tests, and `polit lake stats`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from polit.lake.schema import TABLES
from polit.lake.store import Lake


def read_table(
    lake: Lake, table: str, columns: list[str] | None = None, board: str | None = None
) -> pa.Table:
    """Every row of a raw table (optionally some columns), in the table's schema."""
    schema = TABLES[table]
    paths = [f.path for f in lake.files(table, board)]
    if not paths:
        empty = schema if columns is None else pa.schema([schema.field(c) for c in columns])
        return empty.empty_table()
    dataset = ds.dataset(paths, schema=schema, format="parquet", filesystem=lake.fs)
    return dataset.to_table(columns=columns)


def latest_posts(lake: Lake, board: str | None = None) -> pa.Table:
    """The newest row of each post: (board, no, thread_no, deleted_at, version)."""
    t = read_table(lake, "posts", ["board", "no", "thread_no", "observed_at", "deleted_at",
                                   "version"], board)  # fmt: skip
    if t.num_rows == 0:
        return t
    t = t.sort_by([("board", "ascending"), ("no", "ascending"), ("observed_at", "ascending")])
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lake_stats(lake: Lake) -> LakeStats:
    tables = {}
    for name in TABLES:
        files = lake.files(name)
        rows = sum(
            ds.dataset(f.path, format="parquet", filesystem=lake.fs).count_rows() for f in files
        )
        tables[name] = TableStats(len(files), sum(f.size for f in files), rows)
    latest = latest_posts(lake)
    threads = read_table(lake, "threads", ["board", "no", "event"])
    events = threads.filter(pc.is_in(threads["event"], pa.array(["archived", "deleted"])))
    archived = events.filter(pc.equal(events["event"], "archived"))
    deleted = events.filter(pc.equal(events["event"], "deleted"))
    boards = sorted(
        {f.board for f in lake.files("posts")} | {f.board for f in lake.files("threads")}
    )
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
    )


def _distinct(t: pa.Table, keys: list[str]) -> int:
    if t.num_rows == 0:
        return 0
    return t.group_by(keys).aggregate([]).num_rows
