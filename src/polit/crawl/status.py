"""The heartbeats `polit status` reads: `polit watch` writes one after its first cycle, then
every `--heartbeat-seconds`, and when it stops; a scheduled run (`polit crawl --once`,
`polit run`) one when its crawl ends.

They live in the lake (`_polit/status/watch.json`, `…/scheduled.json`) so that a
container's health check and a person on another machine see the same thing.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from polit.crawl.crawler import CycleReport
from polit.lake.store import Lake

log = logging.getLogger("polit.status")

STATUS_PATH = ("_polit", "status", "watch.json")
SCHEDULED_PATH = ("_polit", "status", "scheduled.json")
STALE_SECONDS = 900.0  # a watch heartbeat older than this and 3 intervals: it has stopped


@dataclass
class Status:
    started_at: datetime
    boards: list[str]
    command: str = "polit watch"
    interval: float | None = None  # watch's seconds between cycle starts
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    stopped_at: datetime | None = None  # watch exited (cleanly or not) at this time
    cycles: int = 0
    last_cycle_at: datetime | None = None
    new_posts: int = 0
    deleted_posts: int = 0
    errors: int = 0
    client: dict[str, Any] = field(default_factory=dict)
    last_reports: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self, cycle_started_at: datetime, reports: list[CycleReport], client: dict[str, Any]
    ) -> None:
        self.cycles += 1
        self.last_cycle_at = cycle_started_at
        self.new_posts += sum(r.new_posts for r in reports)
        self.deleted_posts += sum(r.deleted_posts for r in reports)
        self.errors += sum(len(r.errors) for r in reports)
        self.client = client
        self.last_reports = [
            {k: v for k, v in asdict(r).items() if k != "errors"} | {"errors": r.errors[:5]}
            for r in reports
        ]

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        minutes = max((now - self.started_at).total_seconds() / 60, 1e-9)
        requests = self.client.get("requests", 0)
        answered_304 = self.client.get("by_status", {}).get("304", 0)
        out = asdict(self)
        out.update(
            started_at=self.started_at.isoformat(),
            last_cycle_at=self.last_cycle_at.isoformat() if self.last_cycle_at else None,
            stopped_at=self.stopped_at.isoformat() if self.stopped_at else None,
            updated_at=now.isoformat(),
            posts_per_minute=round(self.new_posts / minutes, 2),
            share_304=round(answered_304 / requests, 4) if requests else None,
            # everything on the board when the last cycle started is in the lake
            lag_seconds=round((now - self.last_cycle_at).total_seconds(), 1)
            if self.last_cycle_at
            else None,
        )
        return out


def write_status(lake: Lake, status: Status, path: tuple[str, ...] = STATUS_PATH) -> None:
    lake.write_json(status.to_json(), *path)


def read_status(lake: Lake, path: tuple[str, ...] = STATUS_PATH) -> dict[str, Any] | None:
    doc = lake.read_json(*path)
    return doc if isinstance(doc, dict) else None


def age_seconds(doc: dict[str, Any], now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    return (now - datetime.fromisoformat(doc["updated_at"])).total_seconds()


def stopped(doc: dict[str, Any], now: datetime | None = None) -> str | None:
    """Why a watch heartbeat's process is not running any more, or None if it may be:
    it said it stopped, its pid is gone (same host), or its heartbeat is long overdue."""
    if doc.get("stopped_at"):
        return f"stopped at {doc['stopped_at']}"
    if doc.get("host") == socket.gethostname() and not _alive(int(doc["pid"])):
        return f"stopped: pid {doc['pid']} is gone"
    age = age_seconds(doc, now)
    if age > max(STALE_SECONDS, 3 * float(doc.get("interval") or 0)):
        return f"probably stopped: no heartbeat for {duration(age)}"
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def rate(per_minute: float, what: str = "posts") -> str:
    """A rate rounded, in the unit that reads best.

    >>> rate(34474.96), rate(345.2), rate(2345.2), rate(0.25)
    ('575 posts/s', '345 posts/min', '2.3k posts/min', '15 posts/h')
    """
    if per_minute >= 6000:
        return f"{per_minute / 60:,.0f} {what}/s"
    if per_minute >= 1000:
        return f"{per_minute / 1000:.1f}k {what}/min"
    if per_minute >= 1:
        return f"{per_minute:,.0f} {what}/min"
    return f"{per_minute * 60:,.0f} {what}/h"


def duration(seconds: float) -> str:
    """A duration, rounded: 42 s, 7 min, 3.5 h, 2.0 days.

    >>> duration(42.4), duration(420), duration(12_600), duration(172_800)
    ('42 s', '7 min', '3.5 h', '2.0 days')
    """
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"


def write_scheduled(
    lake: Lake, command: str, started_at: datetime, reports: list[CycleReport],
    client: dict[str, Any],
) -> None:  # fmt: skip
    """The heartbeat of one scheduled run (`polit crawl --once`, `polit run`), once its crawl
    is over; a failure to write it is logged, never the run's failure."""
    status = Status(started_at=started_at, boards=[r.board for r in reports], command=command)
    status.record(started_at, reports, client)
    status.stopped_at = datetime.now(UTC)
    try:
        write_status(lake, status, SCHEDULED_PATH)
    except Exception as exc:
        log.warning("could not write the heartbeat of %s in %s: %s", command, lake.url, exc)
