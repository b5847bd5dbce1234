"""Shared by the crawl tests: drive a replay and compute what a complete capture must hold,
independently of polit's own code (straight from the recording's files)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from polit.chan.client import ChanClient
from polit.config import Settings
from polit.crawl.crawler import BoardCrawler, CycleReport
from polit.lake.store import Lake
from polit.replay.recording import trim_recording as trimmed_recording  # noqa: F401
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
    first = recording / meta["snapshots"][0]["dir"] / "archive.json"
    baseline = set(json.loads(first.read_text())) if first.exists() else set()
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
                if no in baseline:  # archived before the first cycle: backfill's job
                    continue
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
    retry_errors: bool = False,
) -> list[CycleReport]:
    """Crawl snapshots 0, every, 2*every, … and the last one, like a scheduler would.
    With `retry_errors`, a cycle that reported errors is run again (up to 5 times).
    Rows are timed by the replay's `Date` headers: the recording's hours."""
    reports = []
    with ReplayServer(recording, faults=faults, seed=seed, stall_seconds=2) as srv:
        s = Settings(api_url=srv.url, lake=str(lake_dir), max_rps=0, **(settings or {}))
        lake = Lake(str(lake_dir))
        n = len(srv.recording)
        with ChanClient(s, backoff=0.01) as client:
            for i in range(n):
                if i % every == 0 or i == n - 1:
                    runs = 1 + (extra_cycles if i == n - 1 else 0)
                    attempt = 0
                    while runs > 0:
                        crawler = BoardCrawler(client, lake, srv.recording.board,
                                               min_thread_interval=0)  # fmt: skip
                        report = crawler.cycle()
                        reports.append(report)
                        crawler.flush()
                        attempt += 1
                        if retry_errors and report.errors and attempt < 6:
                            continue
                        runs -= 1
                if i + 1 < n:
                    srv.next()
    return reports


def write_recording(
    out: Path,
    snapshots: list[dict[int, bytes | list[dict]]],
    board: str = "pol",
    at: list[datetime] | None = None,
    archived: dict[int, dict[int, list[dict]]] | None = None,
) -> Path:
    """A hand-made recording: each snapshot maps thread no -> posts (or raw body bytes).
    Snapshots are an hour apart from 2023-03-27T00:00Z unless `at` gives their times.
    `archived` maps a snapshot's index to the threads archived by then with their final
    posts: the snapshots then carry archive.json and archive/<no>.json (all archived so
    far), and every other thread that leaves the listing was deleted."""
    meta = {"board": board, "snapshots": []}
    start = datetime(2023, 3, 27, tzinfo=UTC)
    finals: dict[int, list[dict]] = {}
    for i, threads in enumerate(snapshots):
        when = at[i] if at else start + timedelta(hours=i)
        d = when.strftime("%Y%m%dT%H%M%SZ")
        meta["snapshots"].append({"at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "dir": d})
        (out / d / "thread").mkdir(parents=True)
        listing = []
        for no, body in threads.items():
            raw = body if isinstance(body, bytes) else json.dumps({"posts": body}).encode()
            (out / d / "thread" / f"{no}.json").write_bytes(raw)
            lm = 1679900000 + i * 60 + (len(body) if isinstance(body, list) else 0)
            listing.append({"no": no, "last_modified": lm, "replies": i})
        (out / d / "threads.json").write_text(json.dumps([{"page": 1, "threads": listing}]))
        if archived is not None:
            finals.update(archived.get(i, {}))
            (out / d / "archive").mkdir()
            (out / d / "archive.json").write_text(json.dumps(sorted(finals)))
            for no, posts in finals.items():
                (out / d / "archive" / f"{no}.json").write_text(json.dumps({"posts": posts}))
    (out / "recording.json").write_text(json.dumps(meta))
    return out


def post(no: int, resto: int = 0, **fields) -> dict:
    return {"no": no, "resto": resto, "time": 1679900000 + no, "com": f"post {no}", **fields}
