"""Soak: `polit watch` on two boards for 60+ cycles against a replay with 20% mixed faults,
poison values, and a SIGKILL plus restart every few cycles. The final lake and warehouse
equal those of a fault-free replay with the same snapshot schedule."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.compute as pc
import pytest

from polit.lake.stats import latest_posts
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from polit.transform import transform
from tests.helpers.replay_helpers import post, replay_crawl, trimmed_recording, write_recording
from tests.helpers.warehouse import digest, load

FAULTS = "500:0.05,503:0.03,429:0.03,timeout:0.02,truncate:0.03,reset:0.02,retry_after:0.02"
SNAPSHOTS = 4  # of the shared recording (each first cycle fetches ~150 threads)
CYCLES_PER_SNAPSHOT = 15  # 60 cycles in all
INTERVAL = 1.0  # seconds between cycle starts: a snapshot lasts past the 10 s per-thread minimum
KILL_EVERY = 5  # cycles between two SIGKILLs
BIG = 2**63  # one more than int64 holds
# columns that hold the crawler's wall clock or its write order, which differ between runs
CLOCK_COLUMNS = {
    "posts": ("loaded_at", "first_seen_at", "last_seen_at", "last_observed_at", "deleted_at",
              "seen_seq", "observed_seq"),
    "threads": ("loaded_at", "first_seen_at", "last_seen_at", "archived_at", "deleted_at",
                "bumplimit_at"),
}  # fmt: skip
COMPARED = " ".join(f"+{model}" for model in CLOCK_COLUMNS)  # dbt selector: "+posts +threads"


def poisoned_board(out: Path, poison: bool = True) -> Path:
    """/int/, SNAPSHOTS snapshots: each thread lives 3 snapshots and gains a reply in each; some
    posts carry numbers beyond int64, and the listing names thread numbers beyond int64."""
    snapshots = []
    for i in range(SNAPSHOTS):
        threads: dict[int, list[dict]] = {}
        for t in range(1000 + max(0, i - 2), 1000 + i + 1):
            age = i - (t - 1000)
            threads[t] = [post(t), *(post(t * 100 + k, t) for k in range(age + 1))]
        if poison:
            newest = 1000 + i
            threads[newest][-1]["fsize"] = 2**64  # kept in extra; the post is stored
            threads[newest].append(post(BIG + i, newest))  # a post the lake cannot key
            if i % 3 == 0:
                threads[BIG + i] = [post(BIG + i)]  # a listed thread the lake cannot key
        snapshots.append(threads)
    return write_recording(out, snapshots, board="int")


class Watch:
    """`polit watch` as a subprocess; counts the cycles it reports on stdout."""

    def __init__(self, env: dict[str, str]) -> None:
        cmd = [sys.executable, "-m", "polit", "watch", "-b", "pol", "-b", "int",
               "--interval", str(INTERVAL), "--flush-minutes", "0"]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)  # fmt: skip
        self.cycles = 0
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(
            target=lambda: self.err.extend(self.proc.stderr or []), daemon=True
        ).start()

    def _read(self) -> None:
        for line in self.proc.stdout or []:
            if line.startswith("/int/"):  # the second board's summary ends a cycle
                self.cycles += 1

    def wait_cycles(self, n: int, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while self.cycles < n:
            alive = self.proc.poll() is None
            assert alive, f"watch died (rc {self.proc.returncode}): {''.join(self.err)[-2000:]}"
            assert time.monotonic() < deadline, f"{self.cycles} cycles in {timeout} s"
            time.sleep(0.05)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=60) == 0, "".join(self.err)[-2000:]


def soak(recordings: list[Path], lake: Path, faults: str | None, kill_every: int) -> int:
    """Run the schedule: CYCLES_PER_SNAPSHOT cycles per snapshot, then the next snapshot;
    with `kill_every`, SIGKILL the watch every that many cycles and start it again.
    Returns the cycles run."""
    with ReplayServer(recordings, faults=faults, seed=11, stall_seconds=2) as srv:
        env = {**os.environ, "POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake),
               "POLIT_MAX_RPS": "0", "POLIT_TIMEOUT": "1"}  # fmt: skip
        total, watch = 0, Watch(env)
        for snapshot in range(SNAPSHOTS):
            done = 0
            while done < CYCLES_PER_SNAPSHOT:
                step = min(kill_every or CYCLES_PER_SNAPSHOT, CYCLES_PER_SNAPSHOT - done)
                watch.wait_cycles(watch.cycles + step)
                done += step
                if kill_every and done < CYCLES_PER_SNAPSHOT:
                    total += watch.cycles
                    watch.kill()  # state and buffered rows of the cycle in flight are lost
                    watch = Watch(env)
            if snapshot + 1 < SNAPSHOTS:
                srv.next()
        total += watch.cycles
        watch.stop()
    return total


def latest(lake: Path) -> set[tuple]:
    t = latest_posts(Lake(str(lake)))
    cols = [t["board"], t["no"], t["thread_no"], pc.is_valid(t["deleted_at"]), t["version"]]
    return set(zip(*(c.to_pylist() for c in cols), strict=True))


def test_the_poison_keys_are_dropped_and_the_rest_kept(tmp_path):
    """The soak's /int/ in one in-process crawl per snapshot (the 60 cycles with faults and
    kills are in the slow lane): nothing beyond int64 is keyed, every other post is kept."""
    replay_crawl(poisoned_board(tmp_path / "int"), tmp_path / "lake")
    replay_crawl(poisoned_board(tmp_path / "clean", poison=False), tmp_path / "clean-lake")
    got, want = latest(tmp_path / "lake"), latest(tmp_path / "clean-lake")
    assert not any(no >= BIG for _, no, *_ in got)
    # the same posts, deleted alike (versions differ: a poisoned post keeps its fsize in extra)
    assert {row[:4] for row in got} == {row[:4] for row in want} != set()


@pytest.mark.slow
def test_two_boards_sixty_cycles_of_faults_poison_and_kills(recording, tmp_path):
    pol = trimmed_recording(recording, tmp_path / "pol", snapshots=SNAPSHOTS)
    boards = [pol, poisoned_board(tmp_path / "int")]
    clean, faulty = tmp_path / "clean", tmp_path / "faulty"
    soak(boards, clean, None, kill_every=0)
    cycles = soak(boards, faulty, FAULTS, kill_every=KILL_EVERY)
    assert cycles >= 60

    got, want = latest(faulty), latest(clean)
    assert {b for b, *_ in want} == {"pol", "int"} and len(want) > 25_000
    assert got == want
    assert not any(no >= BIG for _, no, *_ in want)  # the poison keys were dropped

    for lake in (clean, faulty):  # the models compared below, and what they are built from
        load(lake, lake.with_suffix(".duckdb"))
        transform(str(lake.with_suffix(".duckdb")), select=COMPARED,
                  workdir=tmp_path / f"dbt-{lake.name}", quiet=True)  # fmt: skip
    for model, clocks in CLOCK_COLUMNS.items():
        a = digest(clean.with_suffix(".duckdb"), model, clocks)
        b = digest(faulty.with_suffix(".duckdb"), model, clocks)
        assert a == b, model
