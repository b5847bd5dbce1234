"""Bounded responses: a server that asks to wait 11 days, or sends a gzip bomb, never holds
or sinks a crawl. The real `polit crawl` runs against the replay server with hostile faults;
the lake is read back afterwards. The last tests use a tiny server of their own for bodies
the replay server cannot send (no Content-Length, endless)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.compute as pc
import pytest

from polit.chan.client import BodyTooLarge, ChanClient, ChanError, RetryAfterTooLong
from polit.config import Settings
from polit.lake.stats import latest_posts, read_table
from polit.lake.store import Lake
from polit.replay.server import ReplayServer, gzip_bomb
from tests.helpers.replay_helpers import post, trimmed_recording, write_recording

POLIT = [sys.executable, "-m", "polit"]


def polit(*args: str, env: dict[str, str], timeout: float = 300) -> tuple[int, str, float, float]:
    """Run the real CLI; return (exit code, stderr, wall seconds, the child's own peak RSS
    in MB). The peak is the child's VmHWM, read every 10 ms while it runs: exec starts a
    new address space, so it is polit's alone. (The rusage of wait4 is not: a child forked
    from a test process of 2 GB reports 2 GB, the parent's pages it held before exec.)"""
    full_env = {**os.environ, "COLUMNS": "200", **env}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen([*POLIT, *args], stdout=out, stderr=err, env=full_env)
        peak_kb = 0
        while proc.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
            if time.monotonic() - start > timeout:
                proc.kill()
            time.sleep(0.01)
        seconds = time.monotonic() - start
        err.seek(0)
        return proc.returncode, err.read().decode(), seconds, peak_kb / 1024


def _vm_hwm_kb(pid: int) -> int:
    """The process's peak resident memory so far (kB), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def crawl(srv: ReplayServer, lake: Path, *extra: str) -> tuple[int, str, float, float]:
    return polit("crawl", "--once", *extra, env={"POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake)})


def posts_by_thread(lake: Path) -> dict[int, set[int]]:
    t = latest_posts(Lake(str(lake)))
    out: dict[int, set[int]] = {}
    for no, thread in zip(t["no"].to_pylist(), t["thread_no"].to_pylist(), strict=True):
        out.setdefault(thread, set()).add(no)
    return out


def raw_rows(lake: Path) -> list[tuple]:
    t = read_table(Lake(str(lake)), "posts", ["no", "version", "deleted_at"])
    return list(zip(t["no"].to_pylist(), t["version"].to_pylist(),
                    pc.is_valid(t["deleted_at"]).to_pylist(), strict=True))  # fmt: skip


def latest(lake: Path) -> set[tuple]:
    t = latest_posts(Lake(str(lake)))
    cols = [t[c].to_pylist() for c in ("no", "thread_no", "version")]
    return set(zip(*cols, pc.is_valid(t["deleted_at"]).to_pylist(), strict=True))


# -- Retry-After: 999999 -------------------------------------------------------------------


def small_board(tmp_path: Path) -> Path:
    threads = {n: [post(n)] + [post(n * 10 + k, n) for k in range(3)] for n in (100, 200, 300)}
    later = {**threads, 200: [*threads[200], post(2009, 200)]}
    return write_recording(tmp_path / "rec", [threads, later])


def test_huge_retry_after_leaves_the_thread_for_the_next_run(tmp_path):
    rec, lake = small_board(tmp_path), tmp_path / "lake"
    with ReplayServer(rec, faults="retry_after:1", fault_paths=r"/pol/thread/200\.json") as srv:
        code, err, seconds, _ = crawl(srv, lake)  # the default 1 request/s
        assert code == 0, err
        # sleeping 999999 s hangs; pushing the limiter by the 120 s cap takes over 2 minutes
        assert seconds < 30, f"the crawl took {seconds:.0f} s"
        assert "/pol/thread/200.json" in err and "999999" in err, err
        assert srv.state()["by_status"]["retry_after"] == 1  # given up at once, no retries
        assert posts_by_thread(lake) == {100: {100, 1000, 1001, 1002}, 300: {300, 3000, 3001, 3002}}

        srv.set_faults(None)
        srv.next()
        code, err, _, _ = crawl(srv, lake, "--max-rps", "0")
        assert code == 0, err
    assert posts_by_thread(lake)[200] == {200, 2000, 2001, 2002, 2009}
    rows = raw_rows(lake)
    assert len(rows) == len(set(rows)) == 13  # every post once, nothing doubled


def test_retry_after_under_the_cap_is_still_waited(tmp_path):
    rec = small_board(tmp_path)
    slept: list[float] = []
    with ReplayServer(rec, faults="503:1") as srv:  # Retry-After: 1
        s = Settings(api_url=srv.url, max_rps=0, max_retries=2)
        with ChanClient(s, sleep=slept.append, backoff=0.01) as client:
            with pytest.raises(ChanError, match="gave up after 3 tries: HTTP 503") as exc:
                client.threads("pol")
            assert not isinstance(exc.value, RetryAfterTooLong)
        assert slept == [1.0, 1.0]
        slept.clear()
        client = ChanClient(dataclasses.replace(s, max_retry_after=0.5), sleep=slept.append)
        with client, pytest.raises(RetryAfterTooLong, match=r"over max_retry_after, 0\.5 s"):
            client.threads("pol")
        assert slept == [] and srv.state()["requests"] == 4


def test_a_refused_retry_after_holds_the_limiter_a_second_at_most(tmp_path):
    rec = small_board(tmp_path)
    with (
        ReplayServer(rec, faults="retry_after:1") as srv,
        ChanClient(Settings(api_url=srv.url, max_rps=1)) as client,
    ):
        with pytest.raises(RetryAfterTooLong):
            client.threads("pol")
        waited = client.limiter.wait()
    assert 0.5 < waited <= 1.1  # not 999999 s, nor the 120 s cap


# -- a gzip bomb -----------------------------------------------------------------------------


def test_the_bomb_is_what_it_says():
    bomb = gzip_bomb()
    inflated = zlib.decompressobj(zlib.MAX_WBITS | 16)
    size = 0
    for i in range(0, len(bomb), 1 << 16):
        size += len(inflated.decompress(bomb[i : i + (1 << 16)]))
    assert len(bomb) < 1.1e6 and size == 1 << 30


def _growing_thread(recording: Path) -> int:
    """A thread listed in snapshots 0 and 1 that only gained posts in between."""
    meta = json.loads((recording / "recording.json").read_text())
    d0, d1 = (recording / meta["snapshots"][i]["dir"] / "thread" for i in (0, 1))
    for f in sorted(d0.glob("*.json")):
        if not (d1 / f.name).exists():
            continue
        before = {p["no"] for p in json.loads(f.read_text())["posts"]}
        after = {p["no"] for p in json.loads((d1 / f.name).read_text())["posts"]}
        if before < after and len(before) > 20:
            return int(f.stem)
    raise AssertionError("no growing thread in the recording")


def test_gzip_bomb_keeps_memory_low_and_the_thread_comes_next_run(recording, tmp_path):
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=2)
    bombed = _growing_thread(rec)
    clean, faulty = tmp_path / "clean", tmp_path / "faulty"
    with ReplayServer(rec, gzip=True) as srv:  # gzip like 4chan: the normal bodies decode too
        for _ in range(2):
            code, err, _, clean_rss = crawl(srv, clean, "--max-rps", "0")
            assert code == 0, err
            srv.next()
    with ReplayServer(rec, gzip=True, faults="gzip_bomb:1",
                      fault_paths=rf"/pol/thread/{bombed}\.json") as srv:  # fmt: skip
        code, err, seconds, rss = crawl(srv, faulty, "--max-rps", "0")
        print(f"bomb run: peak RSS {rss:.0f} MB ({clean_rss:.0f} MB without), {seconds:.1f} s")
        assert code == 0, err
        assert rss < 500, f"peak RSS {rss:.0f} MB"  # 2165 MB with the client before the cap
        assert rss < clean_rss + 100  # the bomb costs about one cap (32 MB), not 1 GiB
        assert f"/pol/thread/{bombed}.json" in err and "body too large" in err, err
        first = posts_by_thread(faulty)
        assert bombed not in first and len(first) > 100  # the other threads are written

        srv.set_faults(None)
        srv.next()
        code, err, _, _ = crawl(srv, faulty, "--max-rps", "0")
        assert code == 0, err
    assert latest(faulty) == latest(clean)  # the bombed thread caught up, nothing lost
    assert len(latest(clean)) > 20_000
    rows = raw_rows(faulty)
    assert len(rows) == len(set(rows))  # and nothing written twice


def test_the_body_cap_is_a_setting(tmp_path):
    rec, lake = small_board(tmp_path), tmp_path / "lake"
    with ReplayServer(rec) as srv:  # listing 194 bytes, each thread 279
        env = {"POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake), "POLIT_MAX_RPS": "0"}
        code, err, _, _ = polit("crawl", "--once", env={**env, "POLIT_MAX_BODY_BYTES": "250"})
        assert code == 0, err
        assert err.count("body too large (Content-Length 279, max_body_bytes)") == 3, err
        assert posts_by_thread(lake) == {}
        srv.next()
        code, err, _, _ = polit("crawl", "--once", env=env)
        assert code == 0, err
    assert set(posts_by_thread(lake)) == {100, 200, 300}


# -- bodies without a length -------------------------------------------------------------


class _Hostile(BaseHTTPRequestHandler):
    """HTTP/1.0, no Content-Length: the body ends when the connection closes (or never)."""

    def do_GET(self) -> None:
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "application/json")
        for name, value in self.server.headers.items():  # type: ignore[attr-defined]
            self.send_header(name, value)
        if self.server.gzip:  # type: ignore[attr-defined]
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        try:
            for chunk in self.server.body():  # type: ignore[attr-defined]
                self.wfile.write(chunk)
        except OSError:
            pass  # the client hung up: what it should do

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hostile():
    servers = []

    def start(body, gzip=False, status=200, headers=None):
        srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
        srv.daemon_threads = True
        srv.body, srv.gzip, srv.status = body, gzip, status  # type: ignore[attr-defined]
        srv.headers = headers or {}  # type: ignore[attr-defined]
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def endless(piece: bytes) -> Iterator[bytes]:
    while True:
        yield piece


def test_a_retry_after_date_days_ahead_is_refused_too(hostile):
    ahead = format_datetime(datetime.now(UTC) + timedelta(days=3), usegmt=True)
    url = hostile(lambda: iter([b"{}"]), status=429, headers={"Retry-After": ahead})
    slept: list[float] = []
    with ChanClient(Settings(api_url=url, max_rps=0), sleep=slept.append) as client:
        with pytest.raises(RetryAfterTooLong, match=re.escape(repr(ahead))):
            client.thread("pol", 1)
        assert slept == [] and client.stats.requests == 1


def test_an_endless_body_is_cut_at_the_cap(hostile):
    url = hostile(lambda: endless(os.urandom(1 << 16)))
    with ChanClient(Settings(api_url=url, max_rps=0, max_body_bytes=1 << 20)) as client:
        with pytest.raises(BodyTooLarge, match="more than 1,048,576 bytes"):
            client.thread("pol", 1)
        assert 1 << 20 < client.stats.bytes < 2 << 20


def test_an_endless_gzip_stream_is_cut_at_the_compressed_cap(hostile):
    def random_gzip() -> Iterator[bytes]:  # incompressible: the compressed cap trips first
        z = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        yield z.compress(b'{"posts": [')
        while True:
            yield z.compress(os.urandom(1 << 16)) + z.flush(zlib.Z_SYNC_FLUSH)

    url = hostile(random_gzip, gzip=True)
    client = ChanClient(Settings(api_url=url, max_rps=0, max_body_bytes=1 << 20))
    with client, pytest.raises(BodyTooLarge, match="compressed"):
        client.thread("pol", 1)


def test_a_chunked_bomb_without_length_is_cut(hostile):
    bomb = gzip_bomb(64 << 20)
    url = hostile(lambda: (bomb[i : i + 4096] for i in range(0, len(bomb), 4096)), gzip=True)
    with ChanClient(Settings(api_url=url, max_rps=0, max_body_bytes=1 << 20)) as client:
        with pytest.raises(BodyTooLarge, match="once decoded"):
            client.thread("pol", 1)
        assert client.stats.bytes <= (1 << 20) + 1


def test_a_gzip_body_under_the_cap_decodes(hostile):
    body = json.dumps({"posts": [post(1)]}).encode()
    url = hostile(lambda: iter([zlib.compress(body, wbits=zlib.MAX_WBITS | 16)]), gzip=True)
    with ChanClient(Settings(api_url=url, max_rps=0)) as client:
        r = client.thread("pol", 1)
    assert r.data == {"posts": [post(1)]} and client.stats.bytes == len(body)


def test_a_socket_left_open_by_the_cap_is_not_reused(hostile):
    """After a cut, the next request on the same client still works (a fresh connection)."""
    url = hostile(lambda: endless(b" " * 65536))
    with ChanClient(Settings(api_url=url, max_rps=0, max_body_bytes=100_000)) as client:
        for _ in range(3):
            with pytest.raises(BodyTooLarge):
                client.thread("pol", 1)
        assert client.stats.requests == 3
