"""`polit watch`: crawl continuously, flush files on a time or size budget, stop cleanly."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

from polit.chan.client import ChanClient
from polit.chan.ratelimit import RateLimiter
from polit.config import Settings
from polit.crawl.crawler import BoardCrawler, flush_logged, new_run_id
from polit.crawl.status import Status, write_status
from polit.lake.store import Lake

log = logging.getLogger("polit.watch")


def _now() -> datetime:
    return datetime.now(UTC)


class Watcher:
    def __init__(
        self,
        settings: Settings,
        interval: float = 60.0,
        flush_minutes: float = 10.0,
        flush_posts: int = 50_000,
        min_thread_interval: float = 10.0,
        limiter: RateLimiter | None = None,
        heartbeat_seconds: float = 300.0,
    ) -> None:
        self.settings = settings
        self.limiter = limiter  # None: the client's own (shared by nobody else)
        self.interval = interval
        self.flush_seconds = flush_minutes * 60
        self.flush_posts = flush_posts
        self.min_thread_interval = min_thread_interval
        # the heartbeat after the first cycle, then after the first cycle at least this long
        # since the last one (each a Cloud Storage write on a gs:// lake; 0: every cycle)
        self.heartbeat_seconds = heartbeat_seconds
        self.stop_event = threading.Event()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            log.warning(
                "got %s: finishing the current files, then exiting", signal.strsignal(signum)
            )
            self.stop_event.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self, max_cycles: int = 0, echo: Callable[[str], None] = print) -> int:
        """Loop until stopped (or `max_cycles`); returns the number of cycles run."""
        lake = Lake(self.settings.lake)
        run_id = new_run_id()
        # a backoff sleep ends early on stop, so SIGTERM is honoured within seconds
        with ChanClient(self.settings, limiter=self.limiter, sleep=self.stop_event.wait) as client:
            crawlers = [
                BoardCrawler(
                    client, lake, b, run_id=run_id,
                    min_thread_interval=self.min_thread_interval,
                    should_stop=self.stop_event.is_set,
                )
                for b in self.settings.boards
            ]  # fmt: skip
            status = Status(started_at=_now(), boards=list(self.settings.boards),
                            interval=self.interval)  # fmt: skip
            try:
                cycles = self._loop(lake, client, crawlers, status, max_cycles, echo)
                for crawler in crawlers:
                    flush_logged(crawler)
            finally:  # then `polit status` says that watch has stopped, and when
                status.stopped_at = _now()
                try:
                    write_status(lake, status)
                except Exception:
                    log.warning("could not write the last heartbeat", exc_info=True)
        echo(f"stopped after {cycles} cycles; files and state are written")
        return cycles

    def _loop(
        self, lake: Lake, client: ChanClient, crawlers: list[BoardCrawler], status: Status,
        max_cycles: int, echo: Callable[[str], None],
    ) -> int:  # fmt: skip
        cycles = 0
        last_flush = time.monotonic()
        last_beat: float | None = None
        while not self.stop_event.is_set():
            started = time.monotonic()
            cycle_started_at = _now()
            reports = []
            for crawler in crawlers:
                if self.stop_event.is_set():
                    break
                reports.append(crawler.cycle())
                echo(reports[-1].summary())
                if reports[-1].unreachable:
                    log.warning("%s; trying again next cycle", reports[-1].errors[-1])
            cycles += 1
            status.record(cycle_started_at, reports, client.stats.as_dict())
            if last_beat is None or time.monotonic() - last_beat >= self.heartbeat_seconds:
                write_status(lake, status)
                last_beat = time.monotonic()
            buffered = sum(c.buffered for c in crawlers)
            if buffered >= self.flush_posts or time.monotonic() - last_flush >= self.flush_seconds:
                for crawler in crawlers:
                    flush_logged(crawler)  # one board's failure is not the others'
                last_flush = time.monotonic()
            if max_cycles and cycles >= max_cycles:
                break
            self.stop_event.wait(max(0.0, self.interval - (time.monotonic() - started)))
        return cycles
