"""The replay server, over real HTTP, against the shared recording and tiny made-up ones."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from polit.replay.recording import Recording
from polit.replay.server import ReplayServer, parse_faults

STICKY = 124205675  # listed and byte-identical in every snapshot of the shared recording


def snapshot_dir(recording: Path, i: int) -> Path:
    meta = json.loads((recording / "recording.json").read_text())
    return recording / meta["snapshots"][i]["dir"]


def listed(recording: Path, i: int) -> list[int]:
    pages = json.loads((snapshot_dir(recording, i) / "threads.json").read_bytes())
    return [t["no"] for page in pages for t in page["threads"]]


@pytest.fixture
def server(recording: Path) -> Iterator[ReplayServer]:
    with ReplayServer(recording) as srv:
        yield srv


@pytest.fixture
def client(server: ReplayServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def test_paths_and_headers(server: ReplayServer, client: httpx.Client, recording: Path) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}"
    for path in ("/boards.json", "/pol/threads.json", "/pol/archive.json", "/pol/thread/1.json"):
        r = client.get(path)
        if path.endswith("/1.json"):
            assert r.status_code == 404
            continue
        assert r.status_code == 200, path
        assert r.headers["content-type"] == "application/json"
        assert int(r.headers["content-length"]) == len(r.content)
        assert r.headers["last-modified"].endswith(" GMT")
        r.json()
    boards = client.get("/boards.json").json()["boards"]
    assert boards[0]["board"] == "pol" and boards[0]["per_page"] == 20
    assert (
        client.get("/pol/threads.json?x=1").content
        == (snapshot_dir(recording, 0) / "threads.json").read_bytes()
    )
    assert client.get("/pol/archive.json").json() == []
    no = listed(recording, 0)[5]
    r = client.get(f"/pol/thread/{no}.json")
    assert r.content == (snapshot_dir(recording, 0) / "thread" / f"{no}.json").read_bytes()
    assert r.json()["posts"][0]["no"] == no


def test_not_found(client: httpx.Client) -> None:
    for path in (
        "/pol/thread/123.json",
        "/b/threads.json",
        "/b/thread/124205675.json",
        "/pol/catalog.json",
        "/nothing",
        "/pol/thread/abc.json",
    ):
        assert client.get(path).status_code == 404, path


def test_if_modified_since(client: httpx.Client) -> None:
    for path in ("/pol/threads.json", f"/pol/thread/{STICKY}.json", "/pol/archive.json"):
        lm = client.get(path).headers["last-modified"]
        r = client.get(path, headers={"If-Modified-Since": lm})
        assert r.status_code == 304 and r.content == b""
        assert r.headers["last-modified"] == lm
        old = "Mon, 27 Mar 2023 09:00:00 GMT"
        assert client.get(path, headers={"If-Modified-Since": old}).status_code == 200
        assert client.get(path, headers={"If-Modified-Since": "garbage"}).status_code == 200


def test_last_modified_across_snapshots(
    server: ReplayServer, client: httpx.Client, recording: Path
) -> None:
    rec = Recording(recording)
    at0 = format_datetime(rec.at(0), usegmt=True)
    at1 = format_datetime(rec.at(1), usegmt=True)
    both = [n for n in listed(recording, 0) if n in set(listed(recording, 1)) and n != STICKY]
    changed = next(
        n
        for n in both
        if (snapshot_dir(recording, 0) / "thread" / f"{n}.json").read_bytes()
        != (snapshot_dir(recording, 1) / "thread" / f"{n}.json").read_bytes()
    )
    sticky_lm = client.get(f"/pol/thread/{STICKY}.json").headers["last-modified"]
    assert sticky_lm == at0
    assert client.get("/pol/threads.json").headers["last-modified"] == at0
    server.next()
    assert client.get(f"/pol/thread/{STICKY}.json").headers["last-modified"] == sticky_lm
    r = client.get(f"/pol/thread/{STICKY}.json", headers={"If-Modified-Since": sticky_lm})
    assert r.status_code == 304
    assert client.get(f"/pol/thread/{changed}.json").headers["last-modified"] == at1
    r = client.get("/pol/threads.json", headers={"If-Modified-Since": at0})
    assert r.status_code == 200 and r.headers["last-modified"] == at1


def test_next_and_state(server: ReplayServer, client: httpx.Client, recording: Path) -> None:
    rec = Recording(recording)
    st = client.get("/_replay/state").json()
    assert st == {"index": 0, "at": "2023-03-27T09:51:59Z", "requests": 0, "by_status": {}}
    client.get("/pol/threads.json")
    lm = client.get("/pol/threads.json").headers["last-modified"]
    client.get("/pol/threads.json", headers={"If-Modified-Since": lm})
    client.get("/pol/thread/1.json")
    r = client.post("/_replay/next")
    assert r.status_code == 200 and r.json() == {"index": 1, "at": "2023-03-27T13:15:40Z"}
    assert (
        client.get("/pol/threads.json").content
        == (snapshot_dir(recording, 1) / "threads.json").read_bytes()
    )
    for i in range(2, len(rec)):
        assert client.post("/_replay/next").json()["index"] == i
    r = client.post("/_replay/next")
    assert r.status_code == 409
    body = r.json()
    assert body["index"] == len(rec) - 1 and body["at"] == "2023-03-27T20:25:00Z" and body["error"]
    assert server.next()["index"] == len(rec) - 1 and "error" in server.next()
    st = client.get("/_replay/state").json()
    assert st["index"] == len(rec) - 1
    assert st["requests"] == 5
    assert st["by_status"] == {"200": 3, "304": 1, "404": 1}
    assert server.state() == st
    assert [(p, s) for _, p, s in server.request_log] == [
        ("/pol/threads.json", "200"),
        ("/pol/threads.json", "200"),
        ("/pol/threads.json", "304"),
        ("/pol/thread/1.json", "404"),
        ("/pol/threads.json", "200"),
    ]
    times = [t for t, _, _ in server.request_log]
    assert times == sorted(times) and times[-1] <= time.monotonic()


def test_archive_derivation(server: ReplayServer, client: httpx.Client, recording: Path) -> None:
    rec = Recording(recording)
    gone = sorted(set(listed(recording, 0)) - set(listed(recording, 1)))
    assert gone
    no = gone[0]
    live = client.get(f"/pol/thread/{no}.json").json()
    assert no not in client.get("/pol/archive.json").json()
    server.next()
    archive = client.get("/pol/archive.json").json()
    assert archive == sorted(archive) and set(gone) <= set(archive)
    assert not set(archive) & set(listed(recording, 1))
    r = client.get(f"/pol/thread/{no}.json")
    assert r.status_code == 200
    got = r.json()
    op = got["posts"][0]
    assert op.pop("archived") == 1
    assert op.pop("archived_on") == int(rec.at(1).timestamp())
    assert got == live
    lm = r.headers["last-modified"]
    server.next()
    r = client.get(f"/pol/thread/{no}.json")
    assert r.headers["last-modified"] == lm and r.json()["posts"][0]["archived"] == 1


def write_recording(root: Path, board: str, snaps: list[dict[str, Any]]) -> Path:
    """snaps: [{"threads": {no: posts}, "archive": [..] | None, "archive_files": {no: body}}]."""
    meta: dict[str, Any] = {"board": board, "snapshots": []}
    for i, snap in enumerate(snaps):
        name = f"s{i}"
        d = root / name
        (d / "thread").mkdir(parents=True)
        meta["snapshots"].append({"at": f"2024-01-01T0{i}:00:00Z", "dir": name})
        threads = [{"no": no, "last_modified": 1, "replies": 0} for no in snap["threads"]]
        (d / "threads.json").write_text(json.dumps([{"page": 1, "threads": threads}]))
        for no, posts in snap["threads"].items():
            (d / "thread" / f"{no}.json").write_text(json.dumps({"posts": posts}))
        if snap.get("archive") is not None:
            (d / "archive.json").write_text(json.dumps(snap["archive"]))
        for no, body in snap.get("archive_files", {}).items():
            (d / "archive").mkdir(exist_ok=True)
            (d / "archive" / f"{no}.json").write_text(json.dumps(body))
    (root / "recording.json").write_text(json.dumps(meta))
    return root


def op(no: int, **extra: Any) -> dict[str, Any]:
    return {"no": no, "resto": 0, "time": 1704067200, **extra}


def test_recorded_archive_files(tmp_path: Path) -> None:
    archived = {"posts": [op(2, archived=1, archived_on=1704070800)]}
    path = write_recording(
        tmp_path,
        "t",
        [
            {"threads": {1: [op(1)], 2: [op(2)]}, "archive": []},
            {"threads": {1: [op(1)]}, "archive": [2], "archive_files": {2: archived}},
            {"threads": {1: [op(1), op(3)]}, "archive": [2, 7]},
        ],
    )
    (tmp_path / "boards.json").write_text('{"boards": [{"board": "t"}]}')
    with ReplayServer(path) as srv, httpx.Client(base_url=srv.url) as c:
        assert c.get("/boards.json").json() == {"boards": [{"board": "t"}]}
        assert c.get("/t/archive.json").json() == []
        assert c.get("/t/thread/2.json").json() == {"posts": [op(2)]}
        srv.next()
        assert c.get("/t/archive.json").json() == [2]
        r = c.get("/t/thread/2.json")
        assert r.json() == archived
        lm = r.headers["last-modified"]
        assert lm == "Mon, 01 Jan 2024 01:00:00 GMT"
        srv.next()
        assert c.get("/t/archive.json").json() == [2, 7]
        r = c.get("/t/thread/2.json")
        assert r.json() == archived and r.headers["last-modified"] == lm
        assert c.get("/t/thread/7.json").status_code == 404  # archived but never recorded
        assert c.get("/pol/threads.json").status_code == 404


def test_two_boards_served_together(tmp_path: Path) -> None:
    a = write_recording(tmp_path / "a", "a", [{"threads": {1: [op(1)]}}, {"threads": {2: [op(2)]}}])
    b = write_recording(tmp_path / "b", "b", [{"threads": {5: [op(5)]}}])
    with pytest.raises(ValueError, match="different board"):
        ReplayServer([a, a])
    with ReplayServer([a, b]) as srv, httpx.Client(base_url=srv.url) as c:
        assert [x["board"] for x in c.get("/boards.json").json()["boards"]] == ["a", "b"]
        assert c.get("/a/thread/1.json").json() == {"posts": [op(1)]}
        assert c.get("/b/thread/5.json").json() == {"posts": [op(5)]}
        assert srv.next()["index"] == 1
        assert c.get("/a/thread/2.json").status_code == 200
        assert c.get("/b/thread/5.json").status_code == 200  # b stays at its last snapshot
        assert "error" in srv.next()
        assert c.get("/c/threads.json").status_code == 404


def test_derived_archive_when_thread_returns(tmp_path: Path) -> None:
    path = write_recording(
        tmp_path,
        "t",
        [
            {"threads": {1: [op(1)], 2: [op(2)]}},
            {"threads": {1: [op(1)]}},
            {"threads": {1: [op(1)], 2: [op(2), op(4)]}},
            {"threads": {1: [op(1)]}},
        ],
    )
    rec = Recording(path)
    assert [rec.archive(i) for i in range(4)] == [set(), {2}, set(), {2}]
    first = json.loads(rec.thread_body(1, 2) or b"")
    assert first["posts"] == [op(2, archived=1, archived_on=int(rec.at(1).timestamp()))]
    assert json.loads(rec.thread_body(2, 2) or b"") == {"posts": [op(2), op(4)]}
    last = json.loads(rec.thread_body(3, 2) or b"")
    assert last["posts"][0]["archived_on"] == int(rec.at(3).timestamp())
    assert len(last["posts"]) == 2
    assert rec.thread_body(0, 9) is None and rec.last_modified_thread(0, 9) is None


@pytest.mark.parametrize("kind", ["500", "503", "429"])
def test_status_faults(recording: Path, kind: str) -> None:
    with ReplayServer(recording, faults=f"{kind}:1") as srv, httpx.Client(base_url=srv.url) as c:
        r = c.get("/pol/threads.json")
        assert r.status_code == int(kind)
        assert r.json()["error"]
        assert r.headers.get("retry-after") == (None if kind == "500" else "1")
        assert c.get("/_replay/state").json()["by_status"] == {kind: 1}


def test_truncate_fault(recording: Path) -> None:
    full = (snapshot_dir(recording, 0) / "threads.json").read_bytes()
    with ReplayServer(recording, faults="truncate:1") as srv, httpx.Client(base_url=srv.url) as c:
        r = c.get("/pol/threads.json")
        assert r.status_code == 200 and r.headers["last-modified"]
        assert r.content == full[: len(full) // 2]
        assert int(r.headers["content-length"]) == len(full) // 2
        with pytest.raises(json.JSONDecodeError):
            r.json()
        r2 = c.get("/pol/threads.json")  # the connection is still usable
        assert r2.content == r.content


def test_reset_fault(recording: Path) -> None:
    with ReplayServer(recording, faults="reset:1") as srv, httpx.Client(base_url=srv.url) as c:
        with pytest.raises(httpx.TransportError):
            c.get("/pol/threads.json")
        assert srv.state()["by_status"] == {"reset": 1}


def test_timeout_fault_and_prompt_stop(recording: Path) -> None:
    with ReplayServer(recording, faults="timeout:1", stall_seconds=0.5) as srv:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(srv.url + "/pol/threads.json", timeout=0.2)
        assert srv.state()["by_status"] == {"timeout": 1}
    srv = ReplayServer(recording, faults="timeout:1", stall_seconds=30).start()
    errors: list[BaseException] = []

    def stalled() -> None:
        try:
            httpx.get(srv.url + "/pol/threads.json", timeout=20)
        except httpx.HTTPError as e:
            errors.append(e)

    t = threading.Thread(target=stalled)
    t.start()
    while not srv.request_log:
        time.sleep(0.01)
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 2
    t.join(5)
    assert not t.is_alive() and errors


MIXED = "500:0.15,503:0.15,429:0.15,truncate:0.15,reset:0.15"


def observe(c: httpx.Client, path: str) -> str:
    """What the client sees, named like the server's outcomes."""
    try:
        r = c.get(path)
    except httpx.TransportError:
        return "reset"
    if r.status_code == 200:
        try:
            r.json()
        except json.JSONDecodeError:
            return "truncate"
    if r.status_code in (429, 503):
        assert r.headers["retry-after"] == "1"
    return str(r.status_code)


def run_mixed(recording: Path, seed: int, n: int = 80) -> list[str]:
    with ReplayServer(recording, faults=MIXED, seed=seed) as srv:
        with httpx.Client(base_url=srv.url) as c:
            seen = [observe(c, f"/pol/thread/{STICKY}.json") for _ in range(n)]
        outcomes = [s for _, _, s in srv.request_log]
        assert seen == outcomes
        assert srv.state()["requests"] == n
    return outcomes


def test_hostile_faults(recording: Path) -> None:
    path = f"/pol/thread/{STICKY}.json"
    with (
        ReplayServer(recording, faults="retry_after:1") as srv,
        httpx.Client(base_url=srv.url) as c,
    ):
        r = c.get(path)
        assert r.status_code == 503 and r.headers["retry-after"] == "999999"
        srv.set_faults("gzip_bomb:1")
        with c.stream("GET", path) as r:
            assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
            assert r.headers["last-modified"]
            assert 1_000_000 < int(r.headers["content-length"]) < 1_100_000
            assert next(r.iter_bytes()).startswith(b'{"posts": [      ')
        assert srv.state()["by_status"] == {"retry_after": 1, "gzip_bomb": 1}


def test_fault_paths_limit_the_faults(recording: Path) -> None:
    srv = ReplayServer(recording, faults="500:1", fault_paths=r"/pol/thread/\d+\.json")
    with srv, httpx.Client(base_url=srv.url) as c:
        assert c.get("/pol/threads.json").status_code == 200
        assert c.get(f"/pol/thread/{STICKY}.json").status_code == 500
        srv.set_faults(None)
        assert c.get(f"/pol/thread/{STICKY}.json").status_code == 200


def test_gzip_mode(recording: Path) -> None:
    full = (snapshot_dir(recording, 0) / "thread" / f"{STICKY}.json").read_bytes()
    with ReplayServer(recording, gzip=True) as srv, httpx.Client(base_url=srv.url) as c:
        r = c.get(f"/pol/thread/{STICKY}.json", headers={"Accept-Encoding": "gzip"})
        assert r.headers["content-encoding"] == "gzip" and r.content == full
        assert int(r.headers["content-length"]) < len(full)
        plain = c.get(f"/pol/thread/{STICKY}.json", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == full


def test_mixed_faults_are_seeded(recording: Path) -> None:
    a = run_mixed(recording, seed=7)
    assert set(a) == {"200", "500", "503", "429", "truncate", "reset"}
    assert run_mixed(recording, seed=7) == a
    assert run_mixed(recording, seed=8) != a


def test_bad_fault_specs() -> None:
    assert parse_faults(None) == [] and parse_faults("") == []
    assert parse_faults(" 500:0.5, reset:0.5 ") == [("500", 0.5), ("reset", 0.5)]
    assert parse_faults("retry_after:0.1,gzip_bomb:0.1") == [
        ("retry_after", 0.1),
        ("gzip_bomb", 0.1),
    ]
    for spec in ("500", "404:0.1", "500:x", "500:0.6,503:0.6", "500:-0.1", "500:0.1,500:0.1"):
        with pytest.raises(ValueError):
            parse_faults(spec)
    with pytest.raises(ValueError):
        ReplayServer(Path("/nonexistent"), faults="boom:1")


def test_speed_mode(recording: Path) -> None:
    # snapshot 1 is 12221 s after snapshot 0: at 30000x it comes after about 0.4 s
    with ReplayServer(recording, speed=30000) as srv, httpx.Client(base_url=srv.url) as c:
        assert c.get("/_replay/state").json()["index"] == 0
        time.sleep(0.7)
        i = c.get("/_replay/state").json()["index"]
        assert i >= 1
        assert (
            c.get("/pol/threads.json").content
            == (snapshot_dir(recording, i) / "threads.json").read_bytes()
            or srv.index() > i
        )


def test_concurrent_load(server: ReplayServer, recording: Path) -> None:
    paths = [f"/pol/thread/{n}.json" for n in listed(recording, 0)[:100]]

    def worker(k: int) -> list[int]:
        with httpx.Client(base_url=server.url) as c:
            return [c.get(paths[(k + j) % len(paths)]).status_code for j in range(100)]

    t0 = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        codes = [s for got in pool.map(worker, range(4)) for s in got]
    rate = len(codes) / (time.monotonic() - t0)
    assert codes == [200] * 400
    assert server.state()["requests"] == 400
    assert rate > 100, rate  # bound by the in-process httpx clients; the server does thousands/s
