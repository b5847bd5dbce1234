"""Shared by the crawl tests: drive a replay and compute what a complete capture must hold,
independently of polit's own code (straight from the recording's files)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from polit.chan.client import ChanClient
from polit.config import Settings
from polit.crawl.crawler import BoardCrawler, CycleReport
from polit.lake.store import Lake
from polit.replay.server import ReplayServer


@dataclass
class Truth:
    post_thread: dict[int, int] = field(default_factory=dict)  # every post ever served
    last_copy: dict[int, set[int]] = field(default_factory=dict)  # thread -> posts in last copy
    left: set[int] = field(default_factory=set)  # threads that left the board
    left_events: int = 0  # a thread can leave, come back and leave again

    @property
    def deleted(self) -> set[int]:
        last = set().union(*self.last_copy.values())
        return set(self.post_thread) - last


def recording_truth(recording: Path) -> Truth:
    meta = json.loads((recording / "recording.json").read_text())
    truth = Truth()
    listed_last: set[int] = set()
    for snap in meta["snapshots"]:
        d = recording / snap["dir"]
        pages = json.loads((d / "threads.json").read_text())
        listed = {t["no"] for p in pages for t in p["threads"]}
        truth.left |= listed_last - listed
        truth.left_events += len(listed_last - listed)
        listed_last = listed
        for no in listed:
            posts = json.loads((d / "thread" / f"{no}.json").read_text())["posts"]
            truth.last_copy[no] = {p["no"] for p in posts}
            for p in posts:
                truth.post_thread[p["no"]] = no
        archive_dir = d / "archive"
        if archive_dir.is_dir():
            for f in archive_dir.glob("*.json"):
                no = int(f.stem)
                posts = json.loads(f.read_text())["posts"]
                truth.last_copy[no] = {p["no"] for p in posts}
                for p in posts:
                    truth.post_thread[p["no"]] = no
    return truth


def replay_crawl(
    recording: Path,
    lake_dir: Path,
    every: int = 1,
    faults: str | None = None,
    seed: int = 0,
    extra_cycles: int = 0,
    settings: dict | None = None,
) -> list[CycleReport]:
    """Crawl snapshots 0, every, 2*every, … and the last one, like a scheduler would."""
    reports = []
    with ReplayServer(recording, faults=faults, seed=seed, stall_seconds=2) as srv:
        s = Settings(api_url=srv.url, lake=str(lake_dir), max_rps=0, **(settings or {}))
        lake = Lake(str(lake_dir))
        n = len(srv.recording)
        with ChanClient(s, backoff=0.01) as client:
            for i in range(n):
                if i % every == 0 or i == n - 1:
                    for _ in range(1 + (extra_cycles if i == n - 1 else 0)):
                        crawler = BoardCrawler(client, lake, srv.recording.board,
                                               min_thread_interval=0)  # fmt: skip
                        reports.append(crawler.cycle())
                        crawler.flush()
                if i + 1 < n:
                    srv.next()
    return reports
