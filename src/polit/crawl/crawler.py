"""The board crawler: one cycle fetches only what changed and records every post version.

A cycle, per board:
1. GET threads.json with If-Modified-Since. 304 → done (an unchanged board costs 1 request).
2. GET thread/<no>.json for every thread that is new or whose `last_modified` grew.
   Diff it: new and changed posts get a row, posts missing from it get a tombstone, a
   tombstoned post that is back gets a row again (undeleted).
3. GET archive.json (only because threads.json changed) and diff it with the last cycle's:
   every newly archived thread is fetched once, final. A thread that left the board and is
   not archived was deleted. The first cycle only records archive.json as the baseline.
Rows stay in memory until `flush()`, which writes the Parquet files and then the state.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from polit.chan.client import ChanClient, ChanError, Fetch
from polit.chan.posts import parse_thread, repair_logged
from polit.crawl.state import BoardState, ThreadState, load_state, save_state
from polit.lake.batch import RowBuffer
from polit.lake.schema import POSTS, THREADS
from polit.lake.store import Lake

log = logging.getLogger("polit.crawl")

BOARD_INFO_MAX_AGE = 24 * 3600.0
KEEP_FINISHED = 24 * 3600.0  # how long an archived or deleted thread's posts are remembered
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_run_id(now: datetime | None = None) -> str:
    now = now or utcnow()
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


class Interrupted(Exception):
    """A stop was requested between two requests; the state stays consistent."""


@dataclass
class CycleReport:
    board: str
    requests: int = 0
    not_modified: bool = False
    interrupted: bool = False
    failed: bool = False  # the cycle stopped early (threads.json unreachable, say)
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
    """Crawls one board. Share one ChanClient between boards to share the rate limit."""

    def __init__(
        self,
        client: ChanClient,
        lake: Lake,
        board: str,
        run_id: str | None = None,
        clock: Clock = utcnow,
        min_thread_interval: float = 10.0,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.client = client
        self.lake = lake
        self.board = board
        self.clock = clock
        self.run_id = run_id or new_run_id(clock())
        self.min_thread_interval = min_thread_interval
        self.should_stop = should_stop
        self.state: BoardState = load_state(lake, board)
        self.posts = RowBuffer(POSTS, repair=repair_logged)
        self.threads = RowBuffer(THREADS)
        self.files_written = 0
        self._fetched_at: dict[int, float] = {}  # monotonic time of the last thread GET
        self._unknown_fields: set[str] = set()

    # -- the cycle ----------------------------------------------------------------------------
    def cycle(self) -> CycleReport:
        report = CycleReport(self.board)
        start = self.client.stats.requests
        try:
            self._cycle(report)
        except Interrupted:
            report.interrupted = True
            log.info("/%s/: cycle interrupted; the rest is fetched next time", self.board)
        except ChanError as exc:
            report.failed = True
            report.errors.append(str(exc))
            log.error("/%s/: cycle stopped: %s", self.board, exc)
        report.requests = self.client.stats.requests - start
        return report

    def _cycle(self, report: CycleReport) -> None:
        archived_board = self._board_info().get("is_archived", 1) != 0
        st = self.state
        r = self.client.threads(self.board, st.threads_last_modified)
        if r.not_found:
            raise ChanError(r.url, f"board /{self.board}/ not found (404)")
        pending = st.left or st.pending_archived
        if r.not_modified and not pending:
            report.not_modified = True
            return
        if not r.not_modified:
            listing = parse_listing(r.data)
            if listing is None:
                raise ChanError(r.url, "threads.json is not a list of pages")
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
            if now - self._fetched_at.get(item.no, -1e9) < self.min_thread_interval:
                continue  # 4chan asks for at most one refresh per thread every 10 s
            if self.should_stop():
                raise Interrupted
            self._fetch_live(item, known, report)

    def _fetch_live(self, item: Listed, known: ThreadState | None, report: CycleReport) -> None:
        st = self.state
        thread = known or st.threads.setdefault(item.no, ThreadState())
        try:
            r = self.client.thread(self.board, item.no, thread.http_last_modified)
        except ChanError as exc:  # retried next cycle: its last_modified is not advanced
            self._error(report, item.no, str(exc))
            return
        self._fetched_at[item.no] = time.monotonic()
        if r.not_found:  # gone between the listing and now: the archive step decides
            st.left.add(item.no)
            return
        if r.not_modified:
            report.threads_unchanged += 1
            thread.last_modified, thread.replies = item.last_modified, item.replies
            return
        if self._record_thread(item.no, thread, r, report, page=item.page):
            thread.last_modified, thread.replies = item.last_modified, item.replies
            thread.http_last_modified = r.last_modified

    def _crawl_archive(self, report: CycleReport) -> None:
        st = self.state
        try:
            r = self.client.archive(self.board, st.archive_last_modified)
        except ChanError as exc:
            self._error(report, None, f"archive.json: {exc}; leaving threads unclassified")
            return
        if r.status == 200:
            current = parse_archive(r.data)
            if current is None:
                self._error(report, None, "archive.json is not a list of thread numbers")
                return
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
            self._fetch_archived(no, report)
        for no in sorted(st.left - archive):
            self._mark_deleted(no, report)
        st.left &= st.pending_archived
        st.forget_finished(before=time.time() - KEEP_FINISHED)

    def _fetch_archived(self, no: int, report: CycleReport) -> None:
        st = self.state
        thread = st.threads.get(no) or st.finished.get(no) or ThreadState()
        st.threads[no] = thread
        try:
            r = self.client.thread(self.board, no)
        except ChanError as exc:
            self._error(report, no, f"archived copy: {exc}; will retry")
            return
        if r.status == 200:
            if not self._record_thread(no, thread, r, report, final=True):
                return  # a broken archived body: keep it pending and try again
        else:
            log.warning("/%s/%d: archived but answered %d; no final copy", self.board, no, r.status)
            self._thread_row(no, "archived", archived_at=self.clock())
        report.archived_threads += 1
        st.pending_archived.discard(no)
        st.finish(no, time.time())

    def _mark_deleted(self, no: int, report: CycleReport) -> None:
        self._thread_row(no, "deleted", deleted_at=self.clock())
        self.state.finish(no, time.time())
        report.deleted_threads += 1
        log.info("/%s/%d: left the board and is not archived: deleted", self.board, no)

    # -- diffing one body ------------------------------------------------------------------
    def _record_thread(
        self,
        no: int,
        thread: ThreadState,
        r: Fetch,
        report: CycleReport,
        page: int | None = None,
        final: bool = False,
    ) -> bool:
        """Diff a fetched body into rows. Returns False when the body was unusable."""
        body = parse_thread(r.data, no)
        for note in [*r.notes, *body.notes][:20]:
            if "unknown field" in note:  # once per field name, not once per post
                field_name = note.split("'")[1] if "'" in note else note
                if field_name in self._unknown_fields:
                    continue
                self._unknown_fields.add(field_name)
            log.warning("/%s/%d: %s", self.board, no, note)
        for problem in body.problems[:20]:
            self._error(report, no, problem)
        if not body.posts:
            return False
        report.threads_fetched += 1
        observed = self.clock()
        seen: set[int] = set()
        op: dict[str, Any] | None = None
        for post in body.posts:
            pno = post["no"]
            seen.add(pno)
            if pno == no:
                op = post
            previous = thread.posts.get(pno)
            restored = pno in thread.deleted
            if previous == post["version"] and not restored:
                continue
            if restored:
                report.restored_posts += 1
                thread.deleted.discard(pno)
            elif previous is None:
                report.new_posts += 1
            else:
                report.changed_posts += 1
            thread.posts[pno] = post["version"]
            post.update(board=self.board, thread_no=no, observed_at=observed, run_id=self.run_id)
            self.posts.add(post)
        if body.complete:  # only a whole body is evidence that a post is gone
            for pno in sorted(set(thread.posts) - seen - thread.deleted):
                thread.deleted.add(pno)
                report.deleted_posts += 1
                self.posts.add(
                    {"board": self.board, "no": pno, "thread_no": no, "observed_at": observed,
                     "run_id": self.run_id, "deleted_at": observed}
                )  # fmt: skip
        else:
            log.warning("/%s/%d: incomplete body, deletions not inferred", self.board, no)
        event = "archived" if final else "fetched"
        archived_at = None
        if final:
            archived_on = (op or {}).get("archived_on")
            archived_at = datetime.fromtimestamp(archived_on, UTC) if archived_on else observed
        self._thread_row(no, event, op=op, page=page, archived_at=archived_at)
        return True

    def _thread_row(
        self,
        no: int,
        event: str,
        op: dict[str, Any] | None = None,
        page: int | None = None,
        archived_at: datetime | None = None,
        deleted_at: datetime | None = None,
    ) -> None:
        op = op or {}
        known = self.state.threads.get(no)
        self.threads.add(
            {
                "board": self.board,
                "no": no,
                "observed_at": self.clock(),
                "run_id": self.run_id,
                "event": event,
                "last_modified": known.last_modified if known and known.last_modified else None,
                "page": page,
                "archived_at": archived_at,
                "deleted_at": deleted_at,
                **{k: op.get(k) for k in _THREAD_FIELDS_FROM_OP},
            }
        )

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
                if "not in boards.json" in str(exc):
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
        return len(self.posts) + len(self.threads)

    def flush(self) -> list[str]:
        """Write buffered rows as Parquet files, then save the state. Returns the new paths."""
        written = []
        when = self.clock()
        for table, buf in (("posts", self.posts), ("threads", self.threads)):
            if len(buf):
                name = f"{self.run_id}-{self.files_written}"
                written.append(self.lake.write_table(table, self.board, buf.to_table(), when, name))
                self.files_written += 1
                buf.clear()
        save_state(self.lake, self.state)
        return written


_THREAD_FIELDS_FROM_OP = (
    "replies", "images", "sticky", "closed", "bumplimit", "imagelimit", "unique_ips",
)  # fmt: skip


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
        crawler.flush()
    return reports
