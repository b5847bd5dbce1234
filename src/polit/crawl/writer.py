"""The one writer of crawled rows: buffers a board's post and thread rows and writes them as
Parquet files, posts first, then threads (each file atomically). Crawl, watch and backfill
all write through it; the crawler saves its state after `write()` returns.

Every row gets its place in the board's write order (`seq`, polit.lake.sequence), reserved
before the files are written: "newest wins" in the warehouse follows it, not the clock.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from polit.chan.posts import repair_logged
from polit.lake.batch import RowBuffer
from polit.lake.schema import POSTS, THREADS
from polit.lake.sequence import numbered, reserve
from polit.lake.store import Lake

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_run_id(now: datetime | None = None) -> str:
    now = now or utcnow()
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


class LakeWriter:
    """Rows of one board and run, written as `<run_id>-<n>.parquet` files."""

    def __init__(self, lake: Lake, board: str, run_id: str, clock: Clock = utcnow) -> None:
        self.lake = lake
        self.board = board
        self.run_id = run_id
        self.clock = clock
        self.posts = RowBuffer(POSTS, repair=repair_logged)
        self.threads = RowBuffer(THREADS)
        self.files_written = 0

    def __len__(self) -> int:
        return len(self.posts) + len(self.threads)

    def add_posts(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.posts.add(row)

    def add_thread(self, row: dict[str, Any]) -> None:
        self.threads.add(row)

    def write(self) -> list[str]:
        """Write what is buffered (posts, then threads); returns the new files' paths.
        A row the lake cannot hold is logged and dropped by the buffer, the rest written.
        A table's rows leave the buffer once its file is written (a failure keeps them)."""
        tables = []
        for table, buf in (("posts", self.posts), ("threads", self.threads)):
            data = buf.to_table() if len(buf) else None
            if data is not None and data.num_rows:
                tables.append((table, buf, data))
            else:
                buf.clear()
        if not tables:
            return []
        first = reserve(self.lake, self.board, sum(data.num_rows for _, _, data in tables))
        written = []
        when = self.clock()
        for table, buf, data in tables:
            name = f"{self.run_id}-{self.files_written}"
            data = numbered(data, first)
            first += data.num_rows
            written.append(self.lake.write_table(table, self.board, data, when, name))
            self.files_written += 1
            buf.clear()
        return written
