"""The board crawler: one cycle fetches only what changed and records every post version.

A cycle, per board:
1. GET threads.json with If-Modified-Since. 304 → done (an unchanged board costs 1 request),
   but for the deferred threads (below) whose wait is over.
2. GET thread/<no>.json for every thread that is new or whose `last_modified` grew, at most
   once every 10 s per thread (`min_thread_interval`); a thread that has to wait, or whose
   fetch failed, is deferred and fetched as soon as it is allowed, whatever threads.json says.
   Diff it (`diff.diff_thread`): new and changed posts get a row, posts missing from it get a
   tombstone, a tombstoned post that is back gets a row again (undeleted).
3. GET archive.json (only because threads.json changed) and diff it with the last cycle's:
   every newly archived thread is fetched once, final. A thread that left the board and is
   not archived was deleted. The first cycle only records archive.json as the baseline.
Rows stay in memory (`writer.LakeWriter`) until `flush()`, which writes the Parquet files and
then the state. Numbers beyond int64 never stop a cycle (see `chan.posts`), and an unexpected
error fails this board's cycle only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from polit.chan.client import ChanClient, ChanError, Unreachable
from polit.chan.posts import INT64_MAX
from polit.crawl.clock import newest_time, observed_at
from polit.crawl.diff import Where, archived_at, diff_thread, thread_row
from polit.crawl.fetch import MAX_LOGGED, BodyLog, ThreadFetch, fetch_thread
from polit.crawl.state import BoardState, ThreadState, load_state, save_state
from polit.crawl.writer import Clock, LakeWriter, new_run_id, utcnow
from polit.lake.store import Lake

log = logging.getLogger("polit.crawl")

BOARD_INFO_MAX_AGE = 24 * 3600.0
KEEP_FINISHED = 24 * 3600.0  # how long an archived or deleted thread's posts are remembered

__all__ = [
    "BoardCrawler", "Clock", "CycleReport", "Interrupted", "Listed", "beyond_int64",
    "crawl_once", "flush_logged", "new_run_id", "parse_archive", "parse_listing", "utcnow",
]  # fmt: skip


class Interrupted(Exception):
    """A stop was requested between two requests; the state stays consistent."""


@dataclass
class CycleReport:
    board: str
    requests: int = 0
    not_modified: bool = False
    interrupted: bool = False
    failed: bool = False  # the cycle stopped early (threads.json unreachable, say)
    unreachable: bool = False  # the API never answered (chan.client.Unreachable): errors[-1]
    threads_fetched: int = 0
    threads_unchanged: int = 0
    new_posts: int = 0
    changed_posts: int = 0
    deleted_posts: int = 0
    restored_posts: int = 0
    archived_threads: int = 0
    deleted_threads: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.interrupted:
            return f"/{self.board}/: interrupted after {self.requests} requests"
        if self.not_modified:
            return f"/{self.board}/: unchanged (304), {self.requests} request"
        parts = [
            f"/{self.board}/: {self.requests} requests",
            f"{self.threads_fetched} threads fetched",
            f"{self.new_posts} new posts",
            f"{self.changed_posts} changed",
            f"{self.deleted_posts} deleted",
            f"{self.restored_posts} restored",
            f"{self.archived_threads} archived threads",
            f"{self.deleted_threads} deleted threads",
        ]
        if self.errors:
            parts.append(f"{len(self.errors)} errors")
        return ", ".join(parts)


@dataclass(frozen=True)
class Listed:
    no: int
    last_modified: int
    replies: int | None
    page: int


class BoardCrawler:
    """Crawls one board. Share one ChanClient between boards to share the rate limit.

    `state` is the board's crawl state (default: the one saved in the lake) and `writer`
    where its rows go (default: a new LakeWriter); `polit backfill` passes its own of both.
    Rows are timed by the board's clock, each response's `Date` (polit.crawl.clock); `clock`
    is the local one, used where a `Date` is missing or implausible, and for run ids.
    """

    def __init__(
        self,
        client: ChanClient,
        lake: Lake,
        board: str,
        run_id: str | None = None,
        clock: Clock = utcnow,
        min_thread_interval: float = 10.0,
        should_stop: Callable[[], bool] = lambda: False,
        state: BoardState | None = None,
        writer: LakeWriter | None = None,
    ) -> None:
        self.client = client
        self.lake = lake
        self.board = board
        self.clock = clock
        self.run_id = run_id or new_run_id(clock())
        self.min_thread_interval = min_thread_interval
        self.should_stop = should_stop
        self.state: BoardState = state if state is not None else load_state(lake, board)
        self.writer = writer if writer is not None else LakeWriter(lake, board, self.run_id, clock)
        self._fetched_at: dict[int, float] = {}  # monotonic time of the last thread GET
        # Changed threads skipped by the 10 s minimum (or whose fetch failed), fetched once
        # allowed, even when threads.json answers 304 meanwhile. Kept in memory; while any
        # is left, the saved state omits threads.json's Last-Modified, so that a new process
        # (which has no minimum to wait) gets the whole listing and fetches them.
        self._deferred: dict[int, Listed] = {}
        self._body_log = BodyLog(board)
        self._clock_warned: set[str] = set()

    # -- the cycle ----------------------------------------------------------------------------
    def cycle(self) -> CycleReport:
        report = CycleReport(self.board)
        start = self.client.stats.requests
        try:
            self._cycle(report)
        except Interrupted:
            report.interrupted = True
            log.info("/%s/: cycle interrupted; the rest is fetched next time", self.board)
        except Unreachable as exc:  # the caller says it (one line), once for every board
            report.failed = report.unreachable = True
            report.errors.append(str(exc))
            log.info("/%s/: cycle stopped: %s", self.board, exc)
        except ChanError as exc:
            report.failed = True
            report.errors.append(str(exc))
            log.error("/%s/: cycle stopped: %s", self.board, exc)
        except Exception as exc:  # a bug or data nobody foresaw: this board, not the run
            report.failed = True
            report.errors.append(f"/{self.board}/: unexpected {type(exc).__name__}: {exc}")
            log.exception("/%s/: cycle failed unexpectedly; other boards go on", self.board)
        report.requests = self.client.stats.requests - start
        return report

    def _cycle(self, report: CycleReport) -> None:
        archived_board = self._board_info().get("is_archived", 1) != 0
        st = self.state
        r = self.client.threads(self.board, st.threads_last_modified)
        if r.not_found:
            raise ChanError(r.url, f"board /{self.board}/ not found (404)")
        pending = st.left or st.pending_archived
        if r.not_modified:
            fetched = self._crawl_deferred(report)
            if not pending:
                report.not_modified = not fetched
                return
        else:
            listing = parse_listing(r.data)
            if listing is None:
                raise ChanError(r.url, "threads.json is not a list of pages")
            if bad := beyond_int64(self.board, listing, "threads.json"):
                listing = {no: t for no, t in listing.items() if no not in bad}
            if not listing and st.threads:  # seen in the wild; it must not delete the board
                raise ChanError(r.url, "threads.json listed no threads; ignored this time")
            self._crawl_listing(listing, report)
            st.left.update(no for no in st.threads if no not in listing)
            st.threads_last_modified = r.last_modified
        if archived_board:
            self._crawl_archive(report)
        else:
            for no in sorted(st.left):  # pruned or deleted; without an archive we can't tell
                st.finish(no, time.time())

    def _crawl_listing(self, listing: dict[int, Listed], report: CycleReport) -> None:
        now = time.monotonic()
        st = self.state
        self._deferred = {}  # a fresh listing says again what changed
        for item in listing.values():
            if item.no in st.finished:  # back on the board: diff it against what we know
                st.threads[item.no] = st.finished.pop(item.no)
                st.threads[item.no].finished_at = None
            known = st.threads.get(item.no)
            if known is not None and (item.last_modified, item.replies) == (
                known.last_modified,
                known.replies,
            ):
                continue
            if not self._allowed(item.no, now):
                self._deferred[item.no] = item  # fetched as soon as it is allowed
                continue
            if self.should_stop():
                raise Interrupted
            self._fetch_live(item, known, report)

    def _allowed(self, no: int, now: float) -> bool:
        """4chan asks for at most one refresh per thread every 10 s."""
        return now - self._fetched_at.get(no, -1e9) >= self.min_thread_interval

    def _crawl_deferred(self, report: CycleReport) -> int:
        """Fetch the deferred threads whose 10 s have passed; returns how many were due."""
        now = time.monotonic()
        due = [item for no, item in sorted(self._deferred.items()) if self._allowed(no, now)]
        for item in due:
            if self.should_stop():
                raise Interrupted
            del self._deferred[item.no]
            if item.no not in self.state.finished:  # not archived or deleted meanwhile
                self._fetch_live(item, self.state.threads.get(item.no), report)
        return len(due)

    def _fetch_live(self, item: Listed, known: ThreadState | None, report: CycleReport) -> None:
        st = self.state
        thread = known or st.threads.setdefault(item.no, ThreadState())
        f = fetch_thread(self.client, self.board, item.no, thread.http_last_modified)
        if f.error is not None:  # retried next cycle, even if threads.json answers 304
            self._error(report, item.no, f.error)
            self._deferred[item.no] = item
            return
        self._fetched_at[item.no] = time.monotonic()
        if f.status == 404:  # gone between the listing and now: the archive step decides
            st.left.add(item.no)
            return
        if f.status == 304:
            report.threads_unchanged += 1
            thread.last_modified, thread.replies = item.last_modified, item.replies
            return
        if self._record_thread(item.no, thread, f, report, page=item.page):
            thread.last_modified, thread.replies = item.last_modified, item.replies
            thread.http_last_modified = f.last_modified
        else:  # a broken body: tried again once allowed
            self._deferred[item.no] = item

    def _crawl_archive(self, report: CycleReport) -> None:
        st = self.state
        try:
            r = self.client.archive(self.board, st.archive_last_modified)
        except ChanError as exc:
            self._error(report, None, f"archive.json: {exc}; leaving threads unclassified")
            return
        observed = self._observed(r.date)  # when the deletions below were seen
        if r.status == 200:
            current = parse_archive(r.data)
            if current is None:
                self._error(report, None, "archive.json is not a list of thread numbers")
                return
            current -= beyond_int64(self.board, current, "archive.json")
            if st.archive is not None:
                st.pending_archived |= current - st.archive
            st.archive = current
            st.archive_last_modified = r.last_modified
        archive = st.archive or set()
        # A thread that left and is archived but was not new in this diff (e.g. archived
        # before the baseline) still needs its final copy.
        st.pending_archived |= {no for no in st.left if no in archive}
        for no in sorted(st.pending_archived):
            if self.should_stop():
                raise Interrupted
            self.fetch_archived(no, report)
        for no in sorted(st.left - archive):
            self._mark_deleted(no, report, observed)
        st.left &= st.pending_archived
        st.forget_finished(before=time.time() - KEEP_FINISHED)

    def fetch_archived(self, no: int, report: CycleReport) -> bool:
        """Fetch an archived thread's final copy, diff it and buffer its rows, then mark the
        thread finished. Returns False when it must be tried again (an error, a broken body).
        """
        st = self.state
        thread = st.threads.get(no) or st.finished.get(no) or ThreadState()
        st.threads[no] = thread
        f = fetch_thread(self.client, self.board, no)
        if f.error is not None:
            self._error(report, no, f"archived copy: {f.error}; will retry")
            return False
        if f.status == 200:
            if not self._record_thread(no, thread, f, report, final=True):
                return False  # a broken archived body: keep it pending and try again
        else:
            log.warning("/%s/%d: archived but answered %d; no final copy", self.board, no, f.status)
            now = self._observed(f.date)
            self.writer.add_thread(thread_row(self._where(no, now), "archived",
                                              thread.last_modified, archived_at=now))  # fmt: skip
        report.archived_threads += 1
        st.pending_archived.discard(no)
        st.finish(no, time.time())
        return True

    def _mark_deleted(self, no: int, report: CycleReport, now: datetime) -> None:
        known = self.state.threads.get(no)
        last_modified = known.last_modified if known else None
        self.writer.add_thread(
            thread_row(self._where(no, now), "deleted", last_modified, deleted_at=now)
        )
        self.state.finish(no, time.time())
        report.deleted_threads += 1
        log.info("/%s/%d: left the board and is not archived: deleted", self.board, no)

    # -- diffing one body ------------------------------------------------------------------
    def _record_thread(
        self,
        no: int,
        thread: ThreadState,
        f: ThreadFetch,
        report: CycleReport,
        page: int | None = None,
        final: bool = False,
    ) -> bool:
        """Diff a fetched body into rows. Returns False when the body was unusable."""
        assert f.body is not None
        self._body_log.notes(no, f.notes)
        for problem in f.body.problems[:MAX_LOGGED]:
            self._error(report, no, problem)
        if not f.body.posts:
            return False
        report.threads_fetched += 1
        where = self._where(no, self._observed(f.date, newest_time(f.body.posts)))
        diff = diff_thread(thread, f.body, where)
        if not diff.inferred_deletions:
            log.warning("/%s/%d: incomplete body, deletions not inferred", self.board, no)
        diff.adopt(thread)
        report.new_posts += diff.new
        report.changed_posts += diff.changed
        report.deleted_posts += diff.deleted_posts
        report.restored_posts += diff.restored
        self.writer.add_posts(diff.rows)
        event = "archived" if final else "fetched"
        when = archived_at(diff.op, where.observed) if final else None
        self.writer.add_thread(
            thread_row(where, event, thread.last_modified, op=diff.op, page=page, archived_at=when)
        )
        return True

    def _where(self, no: int, observed: datetime) -> Where:
        return Where(self.board, no, observed, self.run_id)

    def _observed(self, date: datetime | None, newest: datetime | None = None) -> datetime:
        """When a response was observed: its `Date` unless implausible (polit.crawl.clock),
        then the local clock; a reason is logged once per kind."""
        when, why = observed_at(date, self.clock(), newest)
        if why is not None:
            kind = next((k for k in ("before", "after") if k in why), why)
            if kind not in self._clock_warned:
                self._clock_warned.add(kind)
                log.warning("/%s/: %s; timing by the local clock (logged once)", self.board, why)
        return when

    def _board_info(self) -> dict[str, Any]:
        st = self.state
        if st.board_info is None or time.time() - st.board_info_at > BOARD_INFO_MAX_AGE:
            try:
                r = self.client.boards()
                boards = r.data.get("boards", []) if isinstance(r.data, dict) else []
                info = next((b for b in boards if b.get("board") == self.board), None)
                if info is None and r.status == 200:
                    raise ChanError(r.url, f"board /{self.board}/ is not in boards.json")
                if info is not None:
                    st.board_info, st.board_info_at = info, time.time()
            except ChanError as exc:
                if "not in boards.json" in str(exc) or isinstance(exc, Unreachable):
                    raise
                log.warning("boards.json unavailable (%s); assuming an archived board", exc)
        return st.board_info or {"board": self.board, "is_archived": 1}

    def _error(self, report: CycleReport, no: int | None, message: str) -> None:
        where = f"/{self.board}/{no}" if no else f"/{self.board}/"
        report.errors.append(f"{where}: {message}")
        log.warning("%s: %s", where, message)

    # -- output ------------------------------------------------------------------------------
    @property
    def buffered(self) -> int:
        return len(self.writer)

    def flush(self) -> list[str]:
        """Write buffered rows as Parquet files, then save the state. Returns the new paths."""
        written = self.writer.write()
        state = self.state
        if self._deferred:  # not fetched yet: a new process must see threads.json whole
            state = replace(state, threads_last_modified=None)
        save_state(self.lake, state)
        return written


def parse_listing(data: Any) -> dict[int, Listed] | None:
    """threads.json → {thread no: Listed}; None when the body is not the expected shape."""
    if not isinstance(data, list):
        return None
    out: dict[int, Listed] = {}
    for page in data:
        if not isinstance(page, dict) or not isinstance(page.get("threads"), list):
            return None
        for t in page["threads"]:
            if not isinstance(t, dict):
                continue
            no, lm = t.get("no"), t.get("last_modified")
            if type(no) is not int or type(lm) is not int:
                continue
            replies = t.get("replies")
            page_no = page.get("page")
            out[no] = Listed(
                no,
                lm,
                replies if type(replies) is int else None,
                page_no if type(page_no) is int else 0,
            )
    return out


def beyond_int64(board: str, nos: Iterable[int], source: str) -> set[int]:
    """The thread numbers the lake cannot hold (int64), logged; the caller skips them."""
    bad = {no for no in nos if not 0 < no <= INT64_MAX}
    for no in sorted(bad)[:MAX_LOGGED]:
        log.warning("/%s/: %s lists thread %d, beyond int64: skipped", board, source, no)
    return bad


def parse_archive(data: Any) -> set[int] | None:
    if not isinstance(data, list):
        return None
    return {x for x in data if type(x) is int}


def crawl_once(
    client: ChanClient, lake: Lake, boards: Iterable[str], **kwargs: Any
) -> list[CycleReport]:
    """One cycle per board, then flush. What `polit crawl --once` runs."""
    reports = []
    run_id = new_run_id()
    for board in boards:
        crawler = BoardCrawler(client, lake, board, run_id=run_id, **kwargs)
        reports.append(crawler.cycle())
        flush_logged(crawler, reports[-1])
    return reports


def flush_logged(crawler: BoardCrawler, report: CycleReport | None = None) -> bool:
    """`crawler.flush()`; a failure is logged (and fails `report`) instead of stopping the
    other boards. What was not written stays buffered for the next flush."""
    try:
        crawler.flush()
    except Exception as exc:
        log.exception("/%s/: writing the lake failed; the rows stay buffered", crawler.board)
        if report is not None:
            report.failed = True
            report.errors.append(f"/{crawler.board}/: write failed: {type(exc).__name__}: {exc}")
        return False
    return True
