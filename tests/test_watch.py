"""`polit watch`: SIGTERM at random moments stops cleanly; the heartbeat tells the state."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pyarrow.compute as pc
import pytest
from click.testing import Result
from typer.testing import CliRunner

from polit.cli import app
from polit.lake.stats import latest_posts
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from tests.helpers.lake_files import assert_every_visible_file_is_whole
from tests.helpers.replay_helpers import replay_crawl, trimmed_recording

TRIALS = 20


def polit(env: dict[str, str], *args: str) -> Result:
    """`polit ARGS` in this process (no interpreter start-up, about 2.5 s a run): the SIGTERM
    trials need their own process, the rest do not. `watch` installs signal handlers; the
    test process gets its own back."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return CliRunner().invoke(app, list(args), env=env)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _latest(lake_dir):
    t = latest_posts(Lake(str(lake_dir)))
    cols = [t["no"], t["thread_no"], pc.is_valid(t["deleted_at"]), t["version"]]
    return set(zip(*(c.to_pylist() for c in cols), strict=True))


@pytest.mark.slow
def test_sigterm_mid_cycle_exits_cleanly_and_loses_nothing(recording, tmp_path):
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=2)
    replay_crawl(rec, tmp_path / "reference")
    lake_dir = tmp_path / "lake"
    rng = random.Random(5)
    with ReplayServer(rec) as srv:
        env = {**os.environ, "POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake_dir),
               "POLIT_MAX_RPS": "0"}  # fmt: skip
        cmd = [sys.executable, "-m", "polit", "-q", "watch", "--interval", "0.5",
               "--flush-minutes", "0.02"]  # fmt: skip
        for trial in range(TRIALS):
            if trial == TRIALS // 2:
                srv.next()  # the second half of the trials sees a changed board
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)  # fmt: skip
            before = srv.state()["requests"]
            deadline = time.monotonic() + 60
            while srv.state()["requests"] == before:  # wait until it is crawling
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 3.0))  # inside a cycle, or between two
            proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            out, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err
            assert time.monotonic() - sent < 10, "took more than 10 s to stop"
            assert "stopped after" in out
            assert_every_visible_file_is_whole(lake_dir)
        # one uninterrupted cycle at the last snapshot completes the capture
        done = polit(env, "-q", "watch", "--cycles", "1")
        assert done.exit_code == 0, done.output
    assert _latest(lake_dir) == _latest(tmp_path / "reference")


def test_status_reads_the_heartbeat(recording, tmp_path):
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=1)
    lake_dir = tmp_path / "lake"
    with ReplayServer(rec) as srv:
        env = {**os.environ, "POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake_dir),
               "POLIT_MAX_RPS": "0"}  # fmt: skip
        none = polit(env, "status")
        assert none.exit_code == 1 and "no heartbeat" in none.stderr
        cycles = polit(env, "-q", "watch", "--cycles", "2", "--interval", "0")
        assert cycles.exit_code == 0, cycles.output
        proc = polit(env, "status", "--json")
        assert proc.exit_code == 0, proc.output
        doc = json.loads(proc.stdout)
        assert doc["cycles"] == 2 and doc["new_posts"] > 10_000
        assert doc["share_304"] > 0  # the second cycle is answered 304
        assert doc["posts_per_minute"] > 0 and doc["lag_seconds"] >= 0
        stale = polit(env, "status", "--max-age", "0")
        assert stale.exit_code == 1 and "old" in stale.stderr


def test_heartbeat_is_written_at_most_every_heartbeat_seconds(recording, tmp_path, monkeypatch):
    """Each heartbeat is a Cloud Storage write on a gs:// lake (polit cost counts them): the
    first cycle writes one, then none until `heartbeat_seconds` have passed, and the cycles
    since the last one are written once on the way out, with the time watch stopped."""
    import polit.crawl.watch as watch_mod
    from polit.config import Settings
    from polit.crawl.status import read_status

    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=1)
    written: list[int] = []
    real = watch_mod.write_status

    def counting(lake, status):
        written.append(status.cycles)
        real(lake, status)

    monkeypatch.setattr(watch_mod, "write_status", counting)
    with ReplayServer(rec) as srv:
        for beat, expected in ((3600.0, [1, 4]), (0.0, [1, 2, 3, 4, 4])):
            written.clear()
            lake_dir = tmp_path / f"lake-{beat:g}"
            s = Settings(api_url=srv.url, lake=str(lake_dir), max_rps=0)
            watcher = watch_mod.Watcher(s, interval=0, min_thread_interval=0,
                                        heartbeat_seconds=beat)  # fmt: skip
            assert watcher.run(max_cycles=4, echo=lambda _: None) == 4
            assert written == expected, beat
            doc = read_status(Lake(str(lake_dir)))
            assert doc is not None and doc["cycles"] == 4 and doc["stopped_at"]
