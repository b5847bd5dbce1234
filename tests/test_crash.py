"""SIGKILL at random moments never leaves a partial file, and reruns converge."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from polit.cli import app
from polit.lake.stats import latest_posts
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from tests.helpers.lake_files import assert_every_visible_file_is_whole
from tests.helpers.replay_helpers import replay_crawl, trimmed_recording

SNAPSHOTS = 3
KILLS_PER_SNAPSHOT = 7  # 21 trials


def _latest(lake_dir: Path) -> set:
    t = latest_posts(Lake(str(lake_dir)))
    cols = [t["no"], t["thread_no"], pc.is_valid(t["deleted_at"]), t["version"]]
    return set(zip(*(c.to_pylist() for c in cols), strict=True))


@pytest.mark.parametrize(
    ("snapshots", "kills_per_snapshot", "least"),
    [pytest.param(SNAPSHOTS, KILLS_PER_SNAPSHOT, 20, marks=pytest.mark.slow, id="21-kills"),
     pytest.param(1, 1, 1, id="1-kill")],
)  # fmt: skip
def test_sigkill_at_random_moments(recording, tmp_path, snapshots, kills_per_snapshot, least):
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=snapshots)
    replay_crawl(rec, tmp_path / "reference")
    lake_dir = tmp_path / "lake"
    rng = random.Random(20231127)
    kills = 0
    with ReplayServer(rec) as srv:
        env = {**os.environ, "POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake_dir),
               "POLIT_MAX_RPS": "0"}  # fmt: skip
        cmd = [sys.executable, "-m", "polit", "-q", "crawl", "--once"]
        for snapshot in range(snapshots):
            started = time.monotonic()
            subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=300)
            duration = time.monotonic() - started  # a whole run, to aim the kills inside one
            for _ in range(kills_per_snapshot):
                proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)  # fmt: skip
                time.sleep(rng.uniform(0.0, duration))
                proc.kill()
                proc.wait()
                kills += 1
                assert_every_visible_file_is_whole(lake_dir)
            if snapshot + 1 < snapshots:
                srv.next()
        # the run after the last kill brings the lake to the same contents (in this process:
        # nothing is killed, so it needs no interpreter of its own)
        done = CliRunner().invoke(app, cmd[3:], env=env)
        assert done.exit_code == 0, done.output
    assert kills >= least
    assert assert_every_visible_file_is_whole(lake_dir) > 0
    assert _latest(lake_dir) == _latest(tmp_path / "reference")
