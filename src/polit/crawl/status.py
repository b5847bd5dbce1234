"""The heartbeat `polit watch` writes (after its first cycle, then every `--heartbeat-seconds`),
and `polit status` reads.

It lives in the lake (`_polit/status/watch.json`) so that a container's health check and
a person on another machine see the same thing.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from polit.crawl.crawler import CycleReport
from polit.lake.store import Lake

STATUS_PATH = ("_polit", "status", "watch.json")


@dataclass
class Status:
    started_at: datetime
    boards: list[str]
    pid: int = field(default_factory=os.getpid)
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
            updated_at=now.isoformat(),
            posts_per_minute=round(self.new_posts / minutes, 2),
            share_304=round(answered_304 / requests, 4) if requests else None,
            # everything on the board when the last cycle started is in the lake
            lag_seconds=round((now - self.last_cycle_at).total_seconds(), 1)
            if self.last_cycle_at
            else None,
        )
        return out


def write_status(lake: Lake, status: Status) -> None:
    lake.write_json(status.to_json(), *STATUS_PATH)


def read_status(lake: Lake) -> dict[str, Any] | None:
    doc = lake.read_json(*STATUS_PATH)
    return doc if isinstance(doc, dict) else None


def age_seconds(doc: dict[str, Any], now: datetime | None = None) -> float:
    now = now or datetime.now(UTC)
    return (now - datetime.fromisoformat(doc["updated_at"])).total_seconds()
