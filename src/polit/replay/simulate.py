"""A synthetic /pol/-like board, written as a recording (see fixtures/README.md).

`simulate` plays a board for some hours and writes one snapshot every `cadence_minutes`:
threads.json, every listed thread's body, archive.json and the bodies of newly archived
threads. `generate_threads` runs the same model without disk and yields final thread
bodies, for benchmarks that need many posts fast.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     s = simulate(Path(d) / "rec", hours=0.5, seed=1, cadence_minutes=15)
    >>> s.snapshots
    3
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from polit.replay.synth_board import Board
from polit.replay.synth_thread import Thread, op_body, thread_json

DEFAULT_START = datetime(2023, 3, 27, tzinfo=UTC)
WARMUP_SECONDS = 3 * 3600  # enough history for 200 live threads at the first snapshot
PER_PAGE = 20
ORIGIN = "polit synthetic board"
GLITCH_SHARE = 0.4  # snapshots in which a thread body briefly misses a few posts

# The two stickies of the real board: old, closed, without replies.
STICKIES = (
    (
        1493993226,
        124205675,
        "Welcome to /{board}/",
        "This board is for the discussion of news, world events, political issues, and "
        "other related topics.<br><br>Off-topic and /b/-tier threads will be deleted.",
    ),
    (
        1590952059,
        259848258,
        "Check the catalog before posting a new thread!",
        "Reply to existing threads about a topic instead of starting a new one.",
    ),
)


@dataclass(frozen=True)
class SimulationSummary:
    """Counts over the whole simulated span, warm-up included."""

    snapshots: int
    posts: int
    threads: int
    deleted_posts: int
    deleted_threads: int
    archived_threads: int
    bytes_written: int

    def __str__(self) -> str:
        return (
            f"{self.snapshots} snapshots, {self.posts:,} posts in {self.threads:,} threads "
            f"({self.archived_threads:,} archived, {self.deleted_threads:,} deleted), "
            f"{self.deleted_posts:,} deleted posts, {self.bytes_written / 1e6:.1f} MB"
        )


def simulate(
    out: Path,
    hours: float,
    seed: int,
    posts_per_hour: int = 5000,
    board: str = "pol",
    cadence_minutes: float = 10.0,
    start: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationSummary:
    """Write a recording of a synthetic board to `out`; the same seed gives the same bytes.

    Snapshots are taken at `start` (default 2023-03-27T00:00Z) and every `cadence_minutes`
    for `hours`, after three simulated hours of warm-up so the board is full from the first
    one. `out` must be empty, missing, or hold an earlier synthetic recording (replaced).
    `progress(done, total)` is called after each snapshot.
    """
    if hours < 0 or cadence_minutes < 1 / 60 or posts_per_hour <= 0:
        # Snapshot directories are named to the second: a finer cadence would collide.
        raise ValueError("need hours >= 0, cadence_minutes >= 1/60 and posts_per_hour > 0")
    first = _utc(start or DEFAULT_START).timestamp()
    count = round(hours * 60 / cadence_minutes) + 1
    times = [first + k * cadence_minutes * 60 for k in range(count)]
    span = times[-1] - first
    sim = new_board(seed, board, first - WARMUP_SECONDS, posts_per_hour)
    out = Path(out)
    _prepare(out)
    writer = SnapshotWriter(out, random.Random(f"{seed}-glitch"))
    for k, t in enumerate(times):
        sim.progress = (t - first) / span if span else 0.0
        sim.run_until(t)
        writer.write(sim, t, k)
        if progress is not None:
            progress(k + 1, count)
    recording = {"board": board, "origin": f"{ORIGIN}, seed={seed}", "snapshots": writer.index}
    writer.put(out / "recording.json", json.dumps(recording, indent=1).encode())
    return SimulationSummary(
        snapshots=count,
        posts=sim.created_posts,
        threads=sim.created_threads,
        deleted_posts=sim.deleted_posts,
        deleted_threads=sim.deleted_threads,
        archived_threads=sim.archived_threads,
        bytes_written=writer.bytes,
    )


def generate_threads(n_posts: int, seed: int, board: str = "pol") -> Iterator[dict[str, Any]]:
    """Yield final thread bodies `{"posts": [...]}` until about `n_posts` posts are out.

    Bodies are the archived ones (threads pruned off the board), in the order threads
    leave it; deleted threads are never yielded. Memory stays at one board (200 threads).
    """
    sim = new_board(seed, board, DEFAULT_START.timestamp(), 5000)
    sim.keep_archive_list = False  # nobody reads archive.json here; keep memory flat
    done = 0
    while done < n_posts:
        sim.progress = min(1.0, sim.created_posts / max(1, n_posts))
        sim.run_until(sim.clock + 600)
        for thread in sim.drain_left():
            posts = thread.posts  # the thread is off the board: its list can be handed out
            posts[0] = op_body(thread, archived=True)
            yield {"posts": posts}
            done += len(posts)
            if done >= n_posts:
                return


def new_board(seed: int, board: str, t0: float, posts_per_hour: int) -> Board:
    sim = Board(random.Random(seed), board, t0, posts_per_hour)
    stickies = STICKIES if sim.rng.random() < 0.7 else STICKIES[:1]
    for t, no, sub, com in stickies:
        sim.add_sticky(t, no, sub.format(board=board), com)
    return sim


class SnapshotWriter:
    """Writes snapshots; unchanged thread files are hard links to the previous snapshot's."""

    def __init__(self, out: Path, rng: random.Random) -> None:
        self.out = out
        self.rng = rng
        self.index: list[dict[str, str]] = []
        self.prev: Path | None = None
        self.bytes = 0

    def write(self, sim: Board, t: float, k: int) -> None:
        at = datetime.fromtimestamp(int(t), UTC)
        name = at.strftime("%Y%m%dT%H%M%SZ")
        snap = self.out / name
        (snap / "thread").mkdir(parents=True, exist_ok=True)
        listed = sim.listing()
        glitch = self._glitch(listed) if k > 0 else (None, frozenset[int]())
        for thread in listed:
            hidden = glitch[1] if thread is glitch[0] else frozenset[int]()
            self._thread(snap, thread, k, hidden)
        self._archive(snap, sim)
        self.put(snap / "threads.json", _compact(_pages(listed)))
        self.index.append({"at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "dir": name})
        self.prev = snap

    def _glitch(self, listed: list[Thread]) -> tuple[Thread | None, frozenset[int]]:
        """A real API glitch: a refetch briefly misses posts that come back next time."""
        if self.rng.random() >= GLITCH_SHARE:
            return None, frozenset()
        busy = [th for th in listed if th.replies >= 5 and not th.sticky]
        if not busy:
            return None, frozenset()
        thread = self.rng.choice(busy)
        replies = thread.posts[1:]
        return thread, frozenset(p["no"] for p in self.rng.sample(replies, self.rng.randint(1, 2)))

    def _thread(self, snap: Path, thread: Thread, k: int, hidden: frozenset[int]) -> None:
        path = snap / "thread" / f"{thread.no}.json"
        if not hidden and thread.written == (k - 1, thread.version) and self.prev is not None:
            self.link(self.prev / "thread" / path.name, path)
        else:
            self.put(path, thread_json(thread, hidden=hidden).encode())
        # After a glitch the next snapshot must write the full body again, not link.
        thread.written = (k, -1 if hidden else thread.version)

    def _archive(self, snap: Path, sim: Board) -> None:
        """archive.json lists every archived thread; each body is written once, here."""
        left = sim.drain_left()
        if left:
            (snap / "archive").mkdir(exist_ok=True)
        for thread in left:
            body = thread_json(thread, archived=True).encode()
            self.put(snap / "archive" / f"{thread.no}.json", body)
        self.put(snap / "archive.json", _compact(sim.archived))

    def put(self, path: Path, data: bytes) -> None:
        """Write through a temporary name and rename, so readers never see half a file."""
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        self.bytes += len(data)

    def link(self, src: Path, dst: Path) -> None:
        """A hard link appears whole, so it needs no temporary name."""
        try:
            os.link(src, dst)
        except OSError:  # no hard links here (another filesystem, Windows share): copy
            self.put(dst, src.read_bytes())


def _pages(listed: list[Thread]) -> list[dict[str, Any]]:
    rows = [
        {"no": th.no, "last_modified": th.last_modified, "replies": th.replies} for th in listed
    ]
    return [
        {"page": i // PER_PAGE + 1, "threads": rows[i : i + PER_PAGE]}
        for i in range(0, len(rows), PER_PAGE)
    ]


def _compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _prepare(out: Path) -> None:
    """Start from an empty directory; replace an earlier synthetic recording, nothing else."""
    if not out.exists() or not any(out.iterdir()):
        out.mkdir(parents=True, exist_ok=True)
        return
    index = out / "recording.json"
    try:
        old = json.loads(index.read_text())
        ours = str(old.get("origin", "")).startswith(ORIGIN)
    except (OSError, ValueError, AttributeError):
        ours = False
    if not ours:
        raise FileExistsError(f"{out} is not empty and holds no synthetic recording")
    index.unlink()
    for snap in old.get("snapshots", []):
        target = out / str(snap.get("dir", ""))
        if target != out and target.parent == out and target.is_dir():
            shutil.rmtree(target)
