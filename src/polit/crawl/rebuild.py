"""`polit lake rebuild-state`: a board's crawl state, rebuilt from the lake's own rows.

The state is a summary of what the crawler wrote, so most of it can be recomputed:
- a thread whose last `threads` row is `fetched` is live; one whose last row is `archived`
  or `deleted` is finished, and kept (as the crawler keeps it) for a day after that row,
  counted back from the board's newest row;
- a thread's post versions are the `version` of each post's last row that has one, and
  its tombstones the posts whose last row is one (`deleted_at` set);
- `last_modified` is the largest one its rows carry, `replies` its last row's.
"Last" is the board's write order, as in the warehouse: files by their `seq`
(polit.lake.sequence), those without one (older files, imports) first, by run id then file
number (`<run_id>-<n>.parquet`); rows in file order, the order the crawler created them in.

What cannot be rebuilt is left empty, which costs requests, not rows: the HTTP
`Last-Modified` values (the next crawl fetches `threads.json`, `archive.json` and each live
thread once, and finds their posts known) and the `archive.json` baseline (the next crawl
takes a new one). Threads born and archived while the state was broken were never seen
live; `polit backfill` fetches them.

The old file is kept beside the new one as `<board>.json.before-rebuild-<time>`.
"""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from polit.crawl.crawler import KEEP_FINISHED
from polit.crawl.state import BoardState, ThreadState, save_state, state_path
from polit.lake.quarantine import Unreadable, read_rows
from polit.lake.sequence import file_seq
from polit.lake.store import Lake, LakeFile

log = logging.getLogger("polit.crawl")

FINISHING = ("archived", "deleted")


@dataclass
class RebuildReport:
    board: str
    state: str  # the state file, relative to the lake
    kept_as: str | None = None  # the old file, moved aside
    files: int = 0  # lake files read
    skipped: list[str] = field(default_factory=list)  # unreadable files left out
    live_threads: int = 0
    finished_threads: int = 0
    posts: int = 0
    deleted_posts: int = 0

    def summary(self) -> str:
        old = f"; the old state is kept as {self.kept_as}" if self.kept_as else ""
        skipped = f", {len(self.skipped)} unreadable skipped" if self.skipped else ""
        return (
            f"rebuilt {self.state} from {self.files:,} lake files{skipped}: "
            f"{self.live_threads:,} live threads, {self.finished_threads:,} finished, "
            f"{self.posts:,} posts known ({self.deleted_posts:,} deleted){old}"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lake_order(f: LakeFile) -> tuple[str, int, str]:
    """Sort key of a data file in the order it was written: run id, then its sequence
    number as a number (`-10` after `-9`), then the path.

    >>> sorted(["x/r1-10.parquet", "x/r1-9.parquet", "y/r0-3.parquet"],
    ...        key=lambda p: lake_order(LakeFile(p, "posts", "pol", 1)))
    ['y/r0-3.parquet', 'x/r1-9.parquet', 'x/r1-10.parquet']
    """
    name = posixpath.basename(f.path).removesuffix(".parquet")
    run, _, n = name.rpartition("-")
    return (run, int(n), f.path) if n.isdigit() else (name, -1, f.path)


def _write_order(lake: Lake, f: LakeFile) -> tuple[int, tuple[str, int, str]]:
    """Sort key of a data file in the board's write order (see the module doc)."""
    bounds = file_seq(lake, f)
    return (bounds[0] if bounds else -1, lake_order(f))


def rebuild_state(lake: Lake, board: str, now: float | None = None) -> RebuildReport:
    """Rebuild the crawl state of `board` from the lake, save it, keep the old file aside."""
    report = RebuildReport(board, posixpath.join(*state_path(board)))
    state = BoardState(board)
    threads = _threads(lake, board, report)
    newest = max((t["observed"] for t in threads.values()), default=0.0)
    now = time.time() if now is None else now
    for no, t in threads.items():
        if t["event"] not in FINISHING:
            state.threads[no] = ThreadState(last_modified=t["lm"], replies=t["replies"])
        elif t["observed"] >= newest - KEEP_FINISHED:
            thread = ThreadState(last_modified=t["lm"], replies=t["replies"])
            thread.finished_at = now - (newest - t["observed"])  # the board's age, our clock
            state.finished[no] = thread
    _posts(lake, board, {**state.threads, **state.finished}, report)
    report.live_threads, report.finished_threads = len(state.threads), len(state.finished)
    known = [*state.threads.values(), *state.finished.values()]
    report.posts = sum(len(t.posts) for t in known)
    report.deleted_posts = sum(len(t.deleted) for t in known)
    report.kept_as = _keep_old(lake, board)
    save_state(lake, state)
    return report


def _readable(
    lake: Lake, files: list[LakeFile], columns: list[str], report: RebuildReport
) -> Iterator[pa.Table]:
    """The rows of each file in lake order; unreadable files are logged and skipped."""
    for f in sorted(files, key=lambda f: _write_order(lake, f)):
        try:
            rows = read_rows(lake, f, columns)
        except Unreadable as exc:
            log.warning("skipped unreadable %s (%s); `polit load` moves it aside",
                        lake.uri(f.path), exc)  # fmt: skip
            report.skipped.append(lake.uri(f.path))
            continue
        report.files += 1
        yield rows


def _threads(lake: Lake, board: str, report: RebuildReport) -> dict[int, dict[str, Any]]:
    """Per thread: its last event and when (unix seconds), its largest last_modified and
    its last replies count."""
    out: dict[int, dict[str, Any]] = {}
    columns = ["no", "event", "observed_at", "last_modified", "replies"]
    for rows in _readable(lake, lake.files("threads", board), columns, report):
        observed = [us / 1e6 for us in pc.cast(rows["observed_at"], pa.int64()).to_pylist()]
        for no, event, at, lm, replies in zip(
            rows["no"].to_pylist(), rows["event"].to_pylist(), observed,
            rows["last_modified"].to_pylist(), rows["replies"].to_pylist(), strict=True,
        ):  # fmt: skip
            t = out.setdefault(no, {"lm": 0, "replies": None})
            t["event"], t["observed"] = event, at
            t["lm"] = max(t["lm"], lm or 0)
            if replies is not None:
                t["replies"] = replies
    return out


def _posts(lake: Lake, board: str, threads: dict[int, ThreadState], report: RebuildReport) -> None:
    """Fill in each known thread's post versions and tombstones, from its rows in order."""
    wanted = pa.array(sorted(threads), pa.int64())
    columns = ["no", "thread_no", "version", "deleted_at"]
    for rows in _readable(lake, lake.files("posts", board), columns, report):
        rows = rows.filter(pc.is_in(rows["thread_no"], wanted))
        for no, thread_no, version, deleted_at in zip(
            *(rows[c].to_pylist() for c in columns), strict=True
        ):
            thread = threads[thread_no]
            if version is not None:
                thread.posts[no] = version
            if deleted_at is not None:
                thread.deleted.add(no)
            else:
                thread.deleted.discard(no)


def _keep_old(lake: Lake, board: str) -> str | None:
    """Copy the old state file aside (a copy: the state is never missing, even if this is
    killed before the new one is saved). Returns its path relative to the lake."""
    path = lake.path(*state_path(board))
    if not lake.fs.exists(path):
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")  # unique: never overwrites one
    aside = f"{path}.before-rebuild-{stamp}"
    lake.fs.copy(path, aside)
    return aside[len(lake.root.rstrip("/")) + 1 :]
