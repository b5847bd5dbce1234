"""`polit backfill` against the replay server over the shared recording: every archived
thread ends up in `posts` exactly once, and a run stopped halfway (by --limit or SIGKILL)
is finished by a rerun that fetches only the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from typer.testing import CliRunner

from polit.cli import app
from polit.crawl.backfill import have_final_copy
from polit.lake.batch import RowBuffer
from polit.lake.schema import POSTS, THREADS
from polit.lake.stats import read_table
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from polit.transform import transform
from polit.warehouse import load_lake
from polit.warehouse.duck import DuckWarehouse
from tests.helpers.replay_helpers import trimmed_recording

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = 3  # the archive at the third snapshot: the threads that left in ~3.5 hours


@pytest.fixture()
def server(recording, tmp_path) -> Iterator[SimpleNamespace]:
    """The replay at its last snapshot, with the archive's thread bodies as served there."""
    rec = trimmed_recording(recording, tmp_path / "rec", SNAPSHOTS)
    with ReplayServer(rec) as srv:
        while "error" not in srv.next():
            pass
        i = srv.index()
        archive = sorted(srv.recording.archive(i))
        bodies = {no: json.loads(srv.recording.thread_body(i, no) or b"{}") for no in archive}
        yield SimpleNamespace(srv=srv, archive=archive, bodies=bodies)


def requests(srv: ReplayServer) -> int:
    return int(srv.state()["requests"])


def run(server: SimpleNamespace, lake: Path, *args: str) -> tuple[int, dict]:
    """`polit backfill --json` in this process; returns (requests the server saw, report)."""
    before = requests(server.srv)
    args = ("--board", "pol", "--lake", str(lake), "--max-rps", "0", "--json", *args)
    result = CliRunner().invoke(app, ["backfill", "--api-url", server.srv.url, *args])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    return requests(server.srv) - before, report


def check_lake(server: SimpleNamespace, lake: Path) -> None:
    """Every archived thread in the lake whole, each post exactly once (nothing refetched)."""
    t = read_table(Lake(str(lake)), "posts", ["no", "thread_no"]).to_pylist()
    want = {p["no"]: no for no, body in server.bodies.items() for p in body["posts"]}
    assert len(t) == len(want)
    assert {r["no"]: r["thread_no"] for r in t} == want
    assert have_final_copy(Lake(str(lake)), "pol") == set(server.archive)


def test_limit_then_rerun_fetches_only_the_rest(server, tmp_path):
    lake = tmp_path / "lake"
    k, n = 40, len(server.archive)
    assert n > 150
    first, report = run(server, lake, "--limit", str(k), "--batch", "7")
    assert first == k + 1  # archive.json and k threads
    assert (report["fetched"], report["remaining"]) == (k, n - k)
    second, report = run(server, lake)
    assert second == report["requests"] == (n - k) + 1
    assert (report["had"], report["fetched"], report["remaining"]) == (k, n - k, 0)
    third, report = run(server, lake)
    assert third == 1 and report["had"] == n  # nothing left: archive.json only
    check_lake(server, lake)

    # load + transform: posts hold every archived thread's posts once, threads are archived
    wh_path = tmp_path / "w.duckdb"
    wh = DuckWarehouse(str(wh_path))
    try:
        load_lake(Lake(str(lake)), wh)
    finally:
        wh.close()
    transform(str(wh_path), select="+posts +threads", workdir=tmp_path / "dbt", quiet=True)
    con = duckdb.connect(str(wh_path), read_only=True)
    try:
        posts = dict(con.execute("SELECT post_id, thread_id FROM posts").fetchall())
        threads = con.execute("SELECT thread_id, number_of_posts, archived_at IS NOT NULL "
                              "FROM threads ORDER BY thread_id").fetchall()  # fmt: skip
    finally:
        con.close()
    assert posts == {p["no"]: no for no, b in server.bodies.items() for p in b["posts"]}
    assert threads == [(no, len(server.bodies[no]["posts"]), True) for no in server.archive]


def start(server: SimpleNamespace, lake: Path, rps: float, batch: int) -> subprocess.Popen:
    """`polit backfill` in a child process, to be killed."""
    args = ["--lake", str(lake), "--max-rps", str(rps), "--batch", str(batch)]
    cmd = [sys.executable, "-m", "polit", "backfill", "-b", "pol", "--api-url", server.srv.url,
           *args]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(proc: subprocess.Popen, done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 120
    while not done():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "backfill made no progress in 120 s"
        time.sleep(0.05)


def test_sigkill_halfway_then_rerun_fetches_only_the_rest(server, tmp_path):
    lake, rps = tmp_path / "lake", 25
    proc = start(server, lake, rps, batch=5)
    try:
        wait_for(proc, lambda: len(Lake(str(lake)).files("posts")) >= 4)  # 20 threads written
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    killed_at = requests(server.srv)
    log = server.srv.request_log
    # paced by the client's rate limiter (on average: arrival times carry the jitter of the
    # server thread on a busy machine; the limiter's own spacing is tested in test_ratelimit)
    assert (len(log) - 1) / (log[-1][0] - log[0][0]) <= rps
    done = have_final_copy(Lake(str(lake)), "pol")
    assert 20 <= len(done) <= killed_at - 1 < len(server.archive)

    second, _ = run(server, lake)
    assert second == len(set(server.archive) - done) + 1
    check_lake(server, lake)


def test_sigterm_writes_every_thread_fetched_then_exits_0(server, tmp_path):
    lake = tmp_path / "lake"
    proc = start(server, lake, rps=25, batch=1000)  # nothing written before the signal
    try:
        wait_for(proc, lambda: requests(server.srv) >= 15)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
    fetched = {int(path.rsplit("/", 1)[1].split(".")[0])
               for _, path, outcome in server.srv.request_log
               if "/thread/" in path and outcome == "200"}  # fmt: skip
    assert 15 <= len(fetched) < len(server.archive)
    assert have_final_copy(Lake(str(lake)), "pol") == fetched


def test_what_counts_as_already_in_the_lake(tmp_path):
    """An archived OP row or an `archived` thread row: yes; a live copy only: no."""
    lake = Lake(str(tmp_path / "lake"))
    now = datetime.now(UTC)
    posts = RowBuffer(POSTS)
    base = {"board": "pol", "observed_at": now, "run_id": "r"}
    posts.add({**base, "no": 1, "thread_no": 1, "archived": 1})  # archived copy
    posts.add({**base, "no": 2, "thread_no": 2})  # live copy only
    posts.add({**base, "no": 4, "thread_no": 3, "archived": 1})  # a reply, not the OP
    threads = RowBuffer(THREADS)
    threads.add({**base, "no": 5, "event": "archived"})  # archived, 404: nothing to fetch
    threads.add({**base, "no": 6, "event": "fetched"})
    lake.write_table("posts", "pol", posts.to_table(), now, "a")
    lake.write_table("threads", "pol", threads.to_table(), now, "b")
    assert have_final_copy(lake, "pol") == {1, 5}
    assert have_final_copy(lake, "int") == set()


def test_a_board_without_an_archive_is_a_clear_error(server, tmp_path):
    lake = str(tmp_path / "lake")
    result = CliRunner().invoke(app, ["backfill", "--board", "int", "--api-url", server.srv.url,
                                      "--lake", lake, "--max-rps", "0"])  # fmt: skip
    assert result.exit_code == 1
    assert "no archive to backfill" in result.output
