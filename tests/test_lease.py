"""One crawler per lake and board: real `polit` processes against the replay server, on a
local lake (a lock file) and on a gs:// lake (a conditional object on the emulator, which
tests/helpers/gcs_preconditions.py teaches `ifGenerationMatch`)."""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from polit.crawl.lease import LeaseHeld, LeaseLost, take
from polit.lake.stats import read_table
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from tests.helpers.replay_helpers import post, trimmed_recording, write_recording

POLIT = [sys.executable, "-m", "polit"]


def env_for(srv: ReplayServer, lake: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    run_dir = tmp_path / "run"  # the shared request budget's file, away from the user's
    run_dir.mkdir(mode=0o700, exist_ok=True)
    return {**os.environ, "POLIT_API_URL": srv.url, "POLIT_LAKE": lake, "POLIT_MAX_RPS": "0",
            "XDG_RUNTIME_DIR": str(run_dir), "FSSPEC_GS_TOKEN": "anon",
            "FSSPEC_GS_PROJECT": "polit-test", **extra}  # fmt: skip


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([*POLIT, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*POLIT, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def wait_crawling(srv: ReplayServer, proc: subprocess.Popen[str], before: int = 0) -> None:
    """Until the server has seen a request from `proc` (it holds its leases by then)."""
    deadline = time.monotonic() + 60
    while srv.state()["requests"] <= before:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "never started crawling"
        time.sleep(0.02)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "error:" in line]
    assert len(lines) == 1, stderr
    return lines[0]


def posts_per_version(lake: str) -> Counter[tuple[int, int]]:
    t = read_table(Lake(lake), "posts", ["no", "version"])
    return Counter(zip(t["no"].to_pylist(), t["version"].to_pylist(), strict=True))


@pytest.fixture()
def rec(recording, tmp_path) -> Path:
    return trimmed_recording(recording, tmp_path / "rec", snapshots=1)


# ---- local lake ---------------------------------------------------------------------------
def test_a_second_crawler_exits_2_naming_the_holder(rec, tmp_path):
    lake = str(tmp_path / "lake")
    with ReplayServer(rec) as srv:
        env = env_for(srv, lake, tmp_path)
        first = start(["watch", "--interval", "0.5"], env)
        try:
            wait_crawling(srv, first)
            for args in (["watch", "--cycles", "1"], ["crawl"], ["run"]):
                second = run(args, env)
                assert second.returncode == 2, (args, second.stderr)
                line = one_line(second.stderr)
                assert f"pid {first.pid} on " in line and "polit watch" in line, line
                assert "already being crawled" in line and "since 20" in line, line
            # a backfill keeps no crawl state: it may run beside watch (tested for the rate
            # below), but not beside another backfill
            with take(Lake(lake), ["pol"], "test backfill", role="backfill"):
                other = run(["backfill"], env)
            assert other.returncode == 2 and "test backfill" in one_line(other.stderr)
        finally:
            first.send_signal(signal.SIGTERM)
            _, err = first.communicate(timeout=60)
        assert first.returncode == 0, err
        # released on exit: no holder named, and the next crawler takes over nothing
        assert not (tmp_path / "lake" / "_polit" / "lease" / "crawl-pol.json").exists()
        after = run(["-v", "crawl"], env)
        assert after.returncode == 0, after.stderr
        assert "took over" not in after.stderr
    # nothing was captured twice: one row per post and version
    counts = posts_per_version(lake)
    assert len(counts) > 10_000 and max(counts.values()) == 1


def test_two_watches_started_together_never_both_capture(rec, tmp_path):
    lake = str(tmp_path / "lake")
    with ReplayServer(rec) as srv:
        env = env_for(srv, lake, tmp_path)
        procs = [start(["watch", "--cycles", "2", "--interval", "0.5"], env) for _ in range(2)]
        results = [(p.pid, *p.communicate(timeout=180), p.returncode) for p in procs]
    codes = sorted(code for *_, code in results)
    assert codes == [0, 2], results
    (winner,) = [pid for pid, _, _, code in results if code == 0]
    (loser_err,) = [err for _, _, err, code in results if code == 2]
    assert f"pid {winner} on " in one_line(loser_err)
    counts = posts_per_version(lake)
    assert len(counts) > 10_000 and max(counts.values()) == 1


def test_after_kill_9_the_next_crawler_takes_over(rec, tmp_path):
    lake = str(tmp_path / "lake")
    with ReplayServer(rec) as srv:
        env = env_for(srv, lake, tmp_path)
        first = start(["watch", "--interval", "0.5"], env)
        wait_crawling(srv, first)
        first.kill()
        first.communicate(timeout=30)
        nxt = run(["crawl"], env)  # the default log level shows warnings
        assert nxt.returncode == 0, nxt.stderr
        assert "took over the crawl lease" in nxt.stderr and f"pid {first.pid} " in nxt.stderr
        again = run(["crawl"], env)
        assert again.returncode == 0 and "took over" not in again.stderr


def test_sigterm_releases_the_lease_of_a_crawl(rec, tmp_path):
    """`crawl` has no SIGTERM handler of its own: the lease's turns SIGTERM into an exit."""
    lake = tmp_path / "lake"
    with ReplayServer(rec) as srv:
        env = env_for(srv, str(lake), tmp_path, POLIT_MAX_RPS="20")
        proc = start(["crawl"], env)
        wait_crawling(srv, proc, before=2)  # past boards/threads: fetching threads
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert not (lake / "_polit" / "lease" / "crawl-pol.json").exists()


def test_watch_and_backfill_share_one_request_per_second(tmp_path):
    """At the default rate, side by side: the server never sees 2 requests within 1 s."""
    live = {n: [post(n), post(n + 1, n)] for n in range(1000, 1120, 10)}
    archived = {n: [post(n), post(n + 1, n)] for n in range(500, 650, 10)}
    recording = write_recording(tmp_path / "rec", [live], archived={0: archived})
    lake = str(tmp_path / "lake")
    with ReplayServer(recording) as srv:
        env = env_for(srv, lake, tmp_path, POLIT_MAX_RPS="1")
        watch = start(["-q", "watch", "--cycles", "3", "--interval", "3"], env)
        backfill = start(["-q", "backfill"], env)
        for p in (watch, backfill):
            _, err = p.communicate(timeout=180)
            assert p.returncode == 0, err
        log = sorted(srv.request_log)
    times = [t for t, _, _ in log]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) >= 25 and min(gaps) >= 1.0, f"two requests {min(gaps):.3f} s apart"
    # and they did run side by side: backfill's requests fell between watch's
    fetched = [path for _, path, _ in log]
    first_backfill = min(i for i, p in enumerate(fetched) if p.endswith("/500.json"))
    last_live = max(i for i, p in enumerate(fetched) if "/thread/1" in p or "threads" in p)
    first_live = min(i for i, p in enumerate(fetched) if "threads.json" in p)
    assert first_live < first_backfill < last_live, fetched


# ---- gs:// lake -----------------------------------------------------------------------------
def _upload(emulator, name: str, if_generation: int | None) -> tuple[int, dict]:
    query = f"uploadType=media&name={name}"
    if if_generation is not None:
        query += f"&ifGenerationMatch={if_generation}"
    url = f"{emulator.url}/upload/storage/v1/b/{emulator.bucket}/o?{query}"
    return _http(urllib.request.Request(url, data=b"x", method="POST"))


def _http(req: urllib.request.Request) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            return r.status, json.loads(body) if body else {}
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_the_emulator_refuses_a_failed_generation_precondition(gcs_emulator):
    name = f"pre-{time.monotonic_ns()}"
    status, first = _upload(gcs_emulator, name, 0)
    assert status == 200
    gen = int(first["generation"])
    status, body = _upload(gcs_emulator, name, 0)  # 0: must not exist
    assert status == 412 and body["error"]["errors"][0]["reason"] == "conditionNotMet"
    assert _upload(gcs_emulator, name, gen + 1)[0] == 412
    status, second = _upload(gcs_emulator, name, gen)
    assert status == 200 and int(second["generation"]) != gen
    assert _upload(gcs_emulator, name, None)[0] == 200  # no precondition: as before
    obj = f"{gcs_emulator.url}/storage/v1/b/{gcs_emulator.bucket}/o/{name}"
    live = int(_http(urllib.request.Request(obj))[1]["generation"])
    assert (
        _http(urllib.request.Request(f"{obj}?ifGenerationMatch={gen}", method="DELETE"))[0] == 412
    )
    assert name in gcs_emulator.objects(name)
    deleted = _http(urllib.request.Request(f"{obj}?ifGenerationMatch={live}", method="DELETE"))
    assert deleted[0] in (200, 204) and name not in gcs_emulator.objects(name)


def test_gs_lease_holds_renews_expires_and_is_taken_over(gcs_emulator, caplog):
    lake = Lake(gcs_emulator.prefix())
    key = lake.path("_polit", "lease", "crawl-pol.json").partition("/")[2]
    first = take(lake, ["pol"], "polit first", ttl=3)
    first._stop.set()  # no background renewals: this test renews by hand
    with pytest.raises(LeaseHeld, match=r"pid \d+ on .*\(polit first, since "):
        take(lake, ["pol"], "polit second")
    (lease,) = first.held
    gen = lease.generation
    lease.renew()
    assert lease.generation != gen and key in gcs_emulator.objects(key)
    time.sleep(2.2)  # younger than its ttl since the renewal
    with pytest.raises(LeaseHeld):
        take(lake, ["pol"], "polit second")
    time.sleep(2.0)  # now older: stale, taken over
    caplog.set_level(logging.WARNING, "polit.lease")
    second = take(lake, ["pol"], "polit second", ttl=3)
    assert "took over the crawl lease of pid" in caplog.text and "(polit first" in caplog.text
    with pytest.raises(LeaseLost, match="polit second"):
        lease.renew()  # the first holder learns it lost the lease
    first.held = []  # its release must not delete the second holder's lease
    second.release()
    assert key not in gcs_emulator.objects(key)
    take(lake, ["pol"], "polit third").release()  # free again


def test_gs_lease_background_renewal_keeps_it(gcs_emulator):
    lake = Lake(gcs_emulator.prefix())
    with take(lake, ["pol", "int"], "polit watch", ttl=2) as leases:
        time.sleep(3.5)  # longer than the ttl: only the renewals (every 0.5 s) keep it
        with pytest.raises(LeaseHeld, match="polit watch"):
            take(lake, ["int"], "polit crawl")
        assert not leases.lost.is_set()
    take(lake, ["int", "pol"], "polit crawl").release()


def test_gs_lease_race_has_one_winner(gcs_emulator):
    lake_url = gcs_emulator.prefix()
    barrier = threading.Barrier(6)
    results: list[str] = []

    def contender(i: int) -> None:
        lake = Lake(lake_url)
        barrier.wait()
        try:
            take(lake, ["pol"], f"contender {i}")
            results.append("won")
        except LeaseHeld:
            results.append("held")

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["held"] * 5 + ["won"]


_HOLDER = """
import signal, sys
from polit.crawl.lease import take
from polit.lake.store import Lake
take(Lake(sys.argv[1]), ["pol"], "polit watch (test holder)", ttl=float(sys.argv[2]))
print("held", flush=True)
signal.pause()
"""


def test_gs_second_crawler_exits_2_and_a_killed_holder_is_taken_over(gcs_emulator, rec, tmp_path):
    lake = gcs_emulator.prefix()
    with ReplayServer(rec) as srv:
        env = env_for(srv, lake, tmp_path)
        holder = subprocess.Popen([sys.executable, "-c", _HOLDER, lake, "3"], env=env,
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        second = run(["crawl"], env)
        assert second.returncode == 2, second.stderr
        line = one_line(second.stderr)
        assert f"pid {holder.pid} on " in line and "test holder" in line, line
        assert srv.state()["requests"] == 0  # it never fetched anything
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        time.sleep(4.5)  # past its 3 s ttl, by the emulator's clock (1 s resolution)
        nxt = run(["crawl"], env)
        assert nxt.returncode == 0, nxt.stderr
        assert "took over the crawl lease" in nxt.stderr and "test holder" in nxt.stderr
        # a watch releases on SIGTERM: the crawl after it takes over nothing
        watch = start(["watch", "--interval", "0.5"], env)
        wait_crawling(srv, watch, before=srv.state()["requests"])
        blocked = run(["crawl"], env)
        assert blocked.returncode == 2 and f"pid {watch.pid} " in one_line(blocked.stderr)
        watch.send_signal(signal.SIGTERM)
        _, err = watch.communicate(timeout=60)
        assert watch.returncode == 0, err
        after = run(["crawl"], env)
        assert after.returncode == 0 and "took over" not in after.stderr, after.stderr
    assert not [k for k in gcs_emulator.objects(lake) if "/_polit/lease/" in k]
