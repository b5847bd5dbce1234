"""`polit backfill`: fetch every thread of a board's `archive.json` the lake has no final
copy of, at the API's rate, and write it the way the crawler writes archived threads.

The crawler's first cycle only records `archive.json` as its baseline, and a crawler that was
down misses the threads archived meanwhile: backfill fetches those.

"Already have" means the lake holds the thread's final copy: its OP row with `archived = 1`
(written by the crawler's archive lookups, an earlier backfill, or an import of archived bodies
such as the NDJSON datasets), or a `threads` row with event `archived` (the crawler's, also
written when an archived thread answers 404). A thread seen only live is fetched again: its
live copy may lack the last replies.

Resuming needs no state of its own: the posts file of a batch of threads is the record that
they are done. Every `batch` threads, the posts and then the thread rows are written (each file
atomically), so a run killed at any point loses at most the threads fetched since its last
write, and a rerun fetches exactly the threads still missing. Oldest threads go first: they
are the next to drop out of the archive (kept about 7 days).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow.compute as pc

from polit.chan.client import ChanClient, ChanError
from polit.crawl.crawler import BoardCrawler, CycleReport, beyond_int64, new_run_id, parse_archive
from polit.crawl.state import BoardState
from polit.crawl.writer import LakeWriter
from polit.lake.stats import read_table
from polit.lake.store import Lake

log = logging.getLogger("polit.backfill")

BATCH = 25  # threads per pair of lake files: what a kill can cost again
Progress = Callable[[int, int, int], None]  # (threads done, threads to do, posts written)


@dataclass
class BackfillReport:
    board: str
    run_id: str
    archived: int = 0  # threads listed in archive.json
    had: int = 0  # of those, already in the lake (final copy)
    fetched: int = 0  # final copies written by this run
    gone: int = 0  # archived but not served any more (404): recorded without posts
    failed: int = 0  # errors; a rerun tries them again
    remaining: int = 0  # not tried (--limit, or interrupted); a rerun fetches them
    posts: int = 0
    requests: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        head = f"/{self.board}/ backfill {self.run_id}"
        if self.interrupted:
            head += " (interrupted)"
        return (
            f"{head}: {self.archived:,} archived threads, {self.had:,} already in the lake, "
            f"{self.fetched:,} fetched ({self.posts:,} posts), {self.gone:,} gone (404), "
            f"{self.failed:,} failed, {self.remaining:,} left for a rerun; "
            f"{self.requests:,} requests in {self.seconds:.1f}s"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def have_final_copy(lake: Lake, board: str) -> set[int]:
    """Threads of `board` whose final copy the lake holds (see the module doc)."""
    posts = read_table(lake, "posts", ["no", "thread_no", "archived"], board)
    ops = posts.filter(
        pc.and_(pc.equal(posts["no"], posts["thread_no"]), pc.equal(posts["archived"], 1))
    )
    threads = read_table(lake, "threads", ["no", "event"], board)
    archived = threads.filter(pc.equal(threads["event"], "archived"))
    return set(ops["thread_no"].to_pylist()) | set(archived["no"].to_pylist())


def backfill(
    client: ChanClient,
    lake: Lake,
    board: str,
    limit: int | None = None,
    batch: int = BATCH,
    run_id: str | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
) -> BackfillReport:
    """Fetch the archived threads of `board` missing from the lake (at most `limit`)."""
    start, requests0 = time.perf_counter(), client.stats.requests
    report = BackfillReport(board, run_id or new_run_id())
    try:
        todo = _missing(client, lake, board, report)
        now = todo[:limit] if limit is not None else todo
        tried = _fetch(client, lake, board, now, report, batch, should_stop, progress)
        report.remaining = len(todo) - tried
    finally:
        report.requests = client.stats.requests - requests0
        report.seconds = time.perf_counter() - start
    return report


def _missing(client: ChanClient, lake: Lake, board: str, report: BackfillReport) -> list[int]:
    r = client.archive(board)
    if r.status != 200:
        raise ChanError(r.url, f"answered {r.status}: /{board}/ has no archive to backfill")
    archive = parse_archive(r.data)
    if archive is None:
        raise ChanError(r.url, "archive.json is not a list of thread numbers")
    archive -= beyond_int64(board, archive, "archive.json")
    have = have_final_copy(lake, board)
    report.archived = len(archive)
    report.had = len(archive & have)
    return sorted(archive - have)


def _fetch(
    client: ChanClient,
    lake: Lake,
    board: str,
    todo: list[int],
    report: BackfillReport,
    batch: int,
    should_stop: Callable[[], bool],
    progress: Progress | None,
) -> int:
    """Fetch and write `todo` in batches; returns how many threads were tried."""
    # The crawler's archived-thread path fetches and diffs, with a scratch state: the crawl
    # state belongs to the crawler and is neither read for the diff nor saved. The writer
    # writes posts before thread rows: the posts file is what marks the threads done.
    writer = LakeWriter(lake, board, report.run_id)
    crawler = BoardCrawler(client, lake, board, run_id=report.run_id, min_thread_interval=0,
                           state=BoardState(board), writer=writer)  # fmt: skip
    cycle = CycleReport(board)
    tried = 0
    try:
        for no in todo:
            if should_stop():
                report.interrupted = True
                break
            crawler.fetch_archived(no, cycle)
            tried += 1
            if tried % batch == 0:
                writer.write()
            _count(cycle, report, tried)
            if progress is not None:
                progress(tried, len(todo), report.posts)
    finally:
        writer.write()
        _count(cycle, report, tried)
    return tried


def _count(cycle: CycleReport, report: BackfillReport, tried: int) -> None:
    report.fetched = cycle.threads_fetched
    report.gone = cycle.archived_threads - cycle.threads_fetched
    report.failed = tried - cycle.archived_threads
    report.posts = cycle.new_posts
    report.errors = cycle.errors[:100]
