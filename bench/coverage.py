"""Section `coverage`: what `polit watch` captures that hourly `polit crawl --once` misses.

A synthetic /pol/ (`simulate`, one snapshot every 10 minutes) is replayed three times, each
run against its own replay server and lake, moved forward one snapshot at a time:

- **watch**: `Watcher.run` (what `polit watch` runs: one `BoardCrawler` kept across cycles,
  its flush budget, its heartbeat), one cycle per snapshot. The replay server moves to the
  next snapshot when a cycle reports (the watcher's per-cycle callback), so the watcher
  sees every snapshot exactly once. Interval 0 and `min_thread_interval` 0: the replay
  compresses 10 minutes into a fraction of a second, and the 10 s per-thread minimum would
  otherwise skip threads that real 10-minute gaps never skip.
- **hourly**: `crawl_once` (what `polit crawl --once` runs, a fresh client and crawler each
  time, the state read back from the lake) on every 6th snapshot and the last, with the
  archive lookups polit does.
- **hourly, no archive**: the same on a view of the recording whose `boards.json` says the
  board keeps no archive (`is_archived: 0`), so the crawler makes no archive.json lookups
  and fetches no final copies: what the seed's hourly collector could see.

Truth is read straight from the recording's files, not from polit: every post served in a
live thread body at any snapshot or in the body of a thread archived during the replay
(threads already in the first snapshot's archive.json are left out: they were archived
before the first crawl, a backfill's job). A post is *deleted* when it was served and is
missing from the last complete copy of its thread (a body with fewer posts than its OP's
`replies` + 1 is a glitch hiding posts that come back, not a deletion); a thread is
*deleted* when it left the board and was never archived (its posts are counted apart).
Captured = distinct post numbers with a non-tombstone row in the run's lake. Requests are
counted by each run's replay server.

Run alone: `python -m bench.run --only coverage [--quick]`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from bench import log
from polit.chan.client import ChanClient
from polit.config import Settings
from polit.crawl.crawler import crawl_once
from polit.crawl.status import read_status
from polit.crawl.watch import Watcher
from polit.lake.stats import latest_posts, read_table
from polit.lake.store import Lake
from polit.replay.recording import Recording, trim_recording
from polit.replay.server import ReplayServer
from polit.replay.simulate import simulate

NAME = "coverage"
TITLE = "Coverage: `polit watch` (every snapshot) vs hourly `polit crawl --once`"
HOURS, HOURS_QUICK = 12, 2
POSTS_PER_HOUR = 5000
CADENCE_MINUTES = 10
EVERY = 6  # hourly = every 6th 10-minute snapshot
SEED = 5
RUNS = ("watch", "hourly", "hourly_no_archive")
RUN_LABELS = {
    "watch": "`polit watch`, every snapshot (`Watcher.run`)",
    "hourly": "hourly `polit crawl --once` (`crawl_once`), archive lookups",
    "hourly_no_archive": "hourly `crawl_once`, board without archive (the seed's view)",
}


# -- truth, from the recording's files -----------------------------------------------------------
@dataclass
class Truth:
    post_thread: dict[int, int] = field(default_factory=dict)  # every post served -> thread
    last_complete: dict[int, set[int]] = field(default_factory=dict)  # thread -> its posts
    threads: set[int] = field(default_factory=set)  # threads served
    listed: set[int] = field(default_factory=set)  # threads ever listed in threads.json
    listed_last: set[int] = field(default_factory=set)  # listed in the last snapshot
    archived: set[int] = field(default_factory=set)  # in some archive.json
    baseline: set[int] = field(default_factory=set)  # in the first snapshot's archive.json

    @property
    def deleted_posts(self) -> set[int]:
        """Served, then missing from the last complete copy of their thread."""
        return {
            p
            for p, t in self.post_thread.items()
            if t in self.last_complete and p not in self.last_complete[t]
        }

    @property
    def deleted_threads(self) -> set[int]:
        """Left the board and never archived."""
        return self.listed - self.listed_last - self.archived

    @property
    def deleted_thread_posts(self) -> set[int]:
        """Posts of deleted threads (those not deleted on their own)."""
        gone = self.deleted_threads
        return {p for p, t in self.post_thread.items() if t in gone} - self.deleted_posts


def recording_truth(recording: Path) -> Truth:
    """Every post the recording serves during a replay from its first snapshot on."""
    meta = json.loads((recording / "recording.json").read_text())
    snaps = [recording / s["dir"] for s in meta["snapshots"]]
    first_archive = snaps[0] / "archive.json"
    truth = Truth()
    if first_archive.exists():
        truth.baseline = set(json.loads(first_archive.read_text()))
    # (post numbers, complete?) of each body; unchanged bodies are hard links: read once
    parsed: dict[tuple[int, int], tuple[list[int], bool]] = {}

    def body(path: Path) -> tuple[list[int], bool]:
        st = path.stat()
        key = (st.st_dev, st.st_ino)
        if key not in parsed:
            posts = json.loads(path.read_bytes())["posts"]
            # A body holding fewer posts than its OP's `replies` + 1 is a glitch that hides a
            # few posts (they come back): no evidence of a deletion.
            complete = len(posts) == posts[0].get("replies", len(posts) - 1) + 1
            parsed[key] = [p["no"] for p in posts], complete
        return parsed[key]

    def served(thread: int, path: Path) -> None:
        posts, complete = body(path)
        truth.threads.add(thread)
        if complete:
            truth.last_complete[thread] = set(posts)
        for no in posts:
            truth.post_thread[no] = thread

    for d in snaps:
        pages = json.loads((d / "threads.json").read_bytes())
        listed = {t["no"] for page in pages for t in page["threads"]}
        truth.listed |= listed
        truth.listed_last = listed
        for no in listed:
            served(no, d / "thread" / f"{no}.json")
        if (d / "archive.json").exists():
            truth.archived |= set(json.loads((d / "archive.json").read_bytes()))
        if (d / "archive").is_dir():
            for f in sorted((d / "archive").glob("*.json")):
                if int(f.stem) not in truth.baseline:
                    served(int(f.stem), f)
    return truth


# -- the runs ------------------------------------------------------------------------------------
def watch_run(recording: Path, lake_dir: Path) -> dict[str, Any]:
    """`polit watch`'s loop over every snapshot: one cycle each, the server advancing after
    every cycle."""
    t0 = time.perf_counter()
    with ReplayServer(recording) as srv:
        n = len(srv.recording)
        settings = Settings(
            api_url=srv.url, lake=str(lake_dir), max_rps=0, boards=(srv.recording.board,)
        )
        watcher = Watcher(settings, interval=0, min_thread_interval=0)

        def after_cycle(line: str) -> None:  # called with each board's cycle summary
            if not line.startswith("stopped after"):
                srv.next()

        cycles = watcher.run(max_cycles=n, echo=after_cycle)
        served = srv.state()
    status = read_status(Lake(str(lake_dir))) or {}
    return {
        "crawls": cycles,
        "requests": served["requests"],
        "by_status": served["by_status"],
        "errors": status.get("errors"),
        "wall_s": round(time.perf_counter() - t0, 2),
    }


def hourly_run(recording: Path, lake_dir: Path, every: int) -> dict[str, Any]:
    """`polit crawl --once` on snapshots 0, every, 2*every, … and the last, each with a fresh
    client and crawler (a new process from a scheduler)."""
    t0 = time.perf_counter()
    crawls = errors = 0
    with ReplayServer(recording) as srv:
        n = len(srv.recording)
        settings = Settings(
            api_url=srv.url, lake=str(lake_dir), max_rps=0, boards=(srv.recording.board,)
        )
        for i in range(n):
            if i % every == 0 or i == n - 1:
                with ChanClient(settings) as client:
                    reports = crawl_once(client, Lake(settings.lake), settings.boards)
                crawls += 1
                errors += sum(len(r.errors) + r.failed for r in reports)
            if i + 1 < n:
                srv.next()
        served = srv.state()
    return {
        "crawls": crawls,
        "requests": served["requests"],
        "by_status": served["by_status"],
        "errors": errors,
        "wall_s": round(time.perf_counter() - t0, 2),
    }


def without_archive(recording: Path, out: Path) -> Path:
    """The same recording (snapshot folders linked) served as a board that keeps no
    archive: its boards.json says `is_archived: 0`, so polit never asks for archive.json."""
    view = trim_recording(recording, out, len(Recording(recording)))
    boards = json.loads(Recording(recording).boards_body())
    for b in boards["boards"]:
        b["is_archived"] = 0
    (view / "boards.json").write_text(json.dumps(boards))
    return view


def lake_capture(lake_dir: Path) -> tuple[set[int], set[int]]:
    """(posts with a non-tombstone row, posts whose newest row is a tombstone)."""
    lake = Lake(str(lake_dir))
    rows = read_table(lake, "posts", ["no", "deleted_at"])
    captured = set(rows.filter(pc.is_null(rows["deleted_at"]))["no"].to_pylist())
    latest = latest_posts(lake)
    deleted = set(latest.filter(pc.is_valid(latest["deleted_at"]))["no"].to_pylist())
    return captured, deleted


def compare(recording: Path, scratch: Path, every: int = EVERY) -> dict[str, Any]:
    """Replay `recording` with the three runs and compare each capture with the truth."""
    t0 = time.perf_counter()
    truth = recording_truth(recording)
    truth_s = time.perf_counter() - t0
    posts = set(truth.post_thread)
    deleted_posts, deleted_thread_posts = truth.deleted_posts, truth.deleted_thread_posts
    log(
        f"{NAME}: truth {len(posts):,} posts, {len(deleted_posts):,} deleted, "
        f"{len(truth.deleted_threads)} deleted threads ({truth_s:.1f} s)"
    )
    runs: dict[str, dict[str, Any]] = {}
    captures: dict[str, tuple[set[int], set[int]]] = {}
    for name in RUNS:
        lake_dir = scratch / f"lake-{name}"
        if name == "watch":
            runs[name] = watch_run(recording, lake_dir)
        elif name == "hourly":
            runs[name] = hourly_run(recording, lake_dir, every)
        else:
            view = without_archive(recording, scratch / "no-archive-view")
            runs[name] = hourly_run(view, lake_dir, every)
        captures[name] = lake_capture(lake_dir)
        r = runs[name]
        log(
            f"{NAME}: {name}: {r['crawls']} crawls, {r['requests']:,} requests, "
            f"{len(captures[name][0]):,} posts, {r['wall_s']:.1f} s"
        )
    watch_got = captures["watch"][0]
    for name, r in runs.items():
        got, tombstoned = captures[name]
        only_watch = watch_got - got
        r.update(
            posts=len(got & posts),
            share=_share(len(got & posts), len(posts)),
            outside_truth=len(got - posts),  # a check: should be 0
            deleted_posts=len(got & deleted_posts),
            deleted_posts_share=_share(len(got & deleted_posts), len(deleted_posts)),
            deletions_recorded=len(tombstoned & deleted_posts),
            deleted_thread_posts=len(got & deleted_thread_posts),
            deleted_thread_posts_share=_share(
                len(got & deleted_thread_posts), len(deleted_thread_posts)
            ),
            missed=len(posts - got),
            only_watch=len(only_watch),
            only_watch_deleted_posts=len(only_watch & deleted_posts),
            only_watch_deleted_thread_posts=len(only_watch & deleted_thread_posts),
            only_watch_other=len(only_watch - deleted_posts - deleted_thread_posts),
            not_in_watch=len(got - watch_got),
            requests_per_post=round(r["requests"] / len(got), 4) if got else None,
        )
    return {
        "truth": {
            "posts": len(posts),
            "threads": len(truth.threads),
            "deleted_posts": len(deleted_posts),
            "deleted_threads": len(truth.deleted_threads),
            "deleted_thread_posts": len(deleted_thread_posts),
            "archived_threads": len(truth.archived - truth.baseline),
            "snapshots": len(json.loads((recording / "recording.json").read_text())["snapshots"]),
            "seconds": round(truth_s, 2),
        },
        "every": every,
        "runs": runs,
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


# -- the section ---------------------------------------------------------------------------------
def run(quick: bool, scratch: Path) -> dict[str, Any]:
    hours = HOURS_QUICK if quick else HOURS
    log(
        f"{NAME}: simulating {hours} h of a synthetic board, {POSTS_PER_HOUR:,} posts/h, "
        f"a snapshot every {CADENCE_MINUTES} min"
    )
    rec = scratch / "recording"
    summary = simulate(
        rec, hours=hours, seed=SEED, posts_per_hour=POSTS_PER_HOUR, cadence_minutes=CADENCE_MINUTES
    )
    result = compare(rec, scratch)
    result["simulation"] = {
        "hours": hours,
        "posts_per_hour": POSTS_PER_HOUR,
        "cadence_minutes": CADENCE_MINUTES,
        "seed": SEED,
        "summary": str(summary),
    }
    return {
        "title": TITLE,
        "quick": quick,
        **result,
        "notes": [
            "watch = `Watcher.run` (the `polit watch` loop), one cycle per snapshot, interval "
            "0 and min_thread_interval 0 (the replay compresses 10 minutes into well under "
            "10 s); the replay server advances when a cycle reports",
            "hourly = `crawl_once` (what `polit crawl --once` runs) with a fresh client on "
            f"every {EVERY}th snapshot and the last",
            "no archive = the same crawler on the same recording served with "
            "`is_archived: 0` in boards.json: no archive.json, no final copies",
            "truth, read from the recording's files: every post served in any snapshot "
            "(live bodies, and bodies of threads archived during the replay); deleted post = "
            "missing from its thread's last complete copy (a copy with fewer posts than the "
            "OP's replies + 1 hides posts that come back: not a deletion); deleted thread = "
            "left the board, never archived",
            "requests counted by each run's replay server; max-rps 0",
        ],
    }


# -- markdown ------------------------------------------------------------------------------------
def markdown(res: dict[str, Any]) -> str:
    t, sim = res["truth"], res["simulation"]
    lines = [
        f"## {res['title']}",
        "",
        f"Synthetic /pol/, {sim['hours']} h at {sim['posts_per_hour']:,} posts/h, a snapshot "
        f"every {sim['cadence_minutes']} min ({t['snapshots']} snapshots, seed {sim['seed']}"
        f"{', quick' if res.get('quick') else ''}): {sim['summary']} (warm-up included). "
        f"Truth, read from the recording: **{t['posts']:,} posts** served in "
        f"{t['threads']:,} threads, {t['deleted_posts']:,} of them deleted later, and "
        f"{t['deleted_thread_posts']:,} more in {t['deleted_threads']:,} deleted threads; "
        f"{t['archived_threads']:,} threads archived during the replay "
        f"({t['archived_threads'] / max(sim['hours'], 1):.0f} an hour).",
        "",
        "| run | crawls | posts captured | share | deleted posts captured "
        "| their deletion recorded | posts of deleted threads captured | posts only watch "
        "sees | requests | requests per board hour |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in RUNS:
        r = res["runs"][name]
        only = "-" if name == "watch" else f"{r['only_watch']:,}"
        lines.append(
            f"| {RUN_LABELS[name]} | {r['crawls']} | {r['posts']:,} | {_pct(r['share'])} "
            f"| {r['deleted_posts']:,} ({_pct(r['deleted_posts_share'])}) "
            f"| {r['deletions_recorded']:,} "
            f"| {r['deleted_thread_posts']:,} ({_pct(r['deleted_thread_posts_share'])}) "
            f"| {only} | {r['requests']:,} | {r['requests'] / max(sim['hours'], 1):,.0f} |"
        )
    lines += ["", "Posts only `watch` captures, by kind:", ""]
    for name in RUNS[1:]:
        r = res["runs"][name]
        lines.append(
            f"- vs {RUN_LABELS[name]}: {r['only_watch']:,} = {r['only_watch_deleted_posts']:,} "
            f"deleted posts + {r['only_watch_deleted_thread_posts']:,} posts of deleted "
            f"threads + {r['only_watch_other']:,} others (live posts it did not reach)"
        )
    checks = ", ".join(
        f"{n} {res['runs'][n]['outside_truth']}/{res['runs'][n]['not_in_watch']}/"
        f"{res['runs'][n]['errors']}"
        for n in RUNS
    )
    lines += [
        "",
        f"Checks (posts captured outside the truth / captured but not by watch / crawl "
        f"errors): {checks}.",
        "",
        "Notes:",
        "",
        *[f"- {n}" for n in res["notes"]],
    ]
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"
