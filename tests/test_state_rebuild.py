"""A corrupt crawl state: a one-line error that names the file and the fix, and
`polit lake rebuild-state`, after which crawling goes on without doubling a row.

Everything runs the real `polit` against the replay server; the reference is an
uninterrupted run of the same commands on the same recording."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from polit.crawl.state import BoardState
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from tests.helpers.replay_helpers import trimmed_recording

POLIT = [sys.executable, "-m", "polit"]
STATE = Path("_polit/state/pol.json")
GOOD = BoardState("pol").to_json()

CORRUPT = {
    "truncated": json.dumps(GOOD).encode()[:40],
    "garbage": bytes(range(256)) * 4,
    "empty": b"",
    "a list": b"[1, 2]",
    "threads not objects": json.dumps({**GOOD, "threads": {"1": "x"}}).encode(),
    "a wrong type": json.dumps({**GOOD, "threads_lm": 5}).encode(),
    "no board": json.dumps({"version": 1, "threads": {}}).encode(),
    "another board's": json.dumps({**GOOD, "board": "int"}).encode(),
}


def polit(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*POLIT, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "300", **env})  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"polit {' '.join(args)}: {proc.returncode}\n{proc.stderr}")
    return proc


def lake_files(lake: Path) -> dict[str, bytes]:
    """The lake's files and contents, but the crawl lease's lock file (kept for flock)."""
    return {
        str(p.relative_to(lake)): p.read_bytes()
        for p in sorted(lake.rglob("*"))
        if p.is_file() and "_polit/lease" not in str(p)
    }


@pytest.mark.parametrize("kind", list(CORRUPT))
def test_a_corrupt_state_is_a_one_line_error_that_names_the_file(kind, tmp_path):
    lake = tmp_path / "lake"
    (lake / STATE).parent.mkdir(parents=True)
    (lake / STATE).write_bytes(CORRUPT[kind])
    before = lake_files(lake)
    env = {"POLIT_LAKE": str(lake), "POLIT_API_URL": "http://127.0.0.1:9", "POLIT_MAX_RETRIES": "0"}
    for command in (["crawl", "--once"], ["watch", "--cycles", "1"]):
        proc = polit(*command, env=env, check=False)
        assert proc.returncode == 2, (command, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert str(lake / STATE) in lines[0]
        assert f"polit lake rebuild-state -b pol --lake {lake}" in lines[0]
    assert lake_files(lake) == before  # nothing written, nothing lost


def _crawl(env: dict[str, str]) -> dict:
    return json.loads(polit("crawl", "--once", "--json", env=env).stdout)[0]


def _rows(lake: Path, table: str, since: set[str] | None = None) -> Counter:
    """The rows of a lake table (of the files not in `since`), without the columns that
    name the run, the clock or the write order."""
    out: Counter = Counter()
    for f in Lake(str(lake)).files(table):
        if since is not None and f.path in since:
            continue
        t = pq.read_table(f.path).drop_columns(["observed_at", "run_id", "seq"])
        if table == "posts":
            deleted = [d is not None for d in t["deleted_at"].to_pylist()]
            t = t.drop_columns(["deleted_at"]).append_column("deleted", [deleted])
        else:
            t = t.drop_columns(["archived_at", "deleted_at"])
        out.update(tuple(sorted((k, _frozen(v)) for k, v in r.items())) for r in t.to_pylist())
    return out


def _frozen(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _paths(lake: Path) -> set[str]:
    lk = Lake(str(lake))
    return {f.path for t in ("posts", "threads") for f in lk.files(t)}


def _comparable(state: dict) -> dict:
    """A saved state without the wall-clock times (finished_at, board_info_at) and, for
    finished threads, the HTTP Last-Modified a rebuild cannot know (it costs one full
    fetch if the thread comes back)."""
    state = {k: v for k, v in state.items() if k != "board_info_at"}
    state["finished"] = {no: {k: v for k, v in t.items() if k not in ("finished_at", "http_lm")}
                         for no, t in state["finished"].items()}  # fmt: skip
    return state


def test_rebuilt_state_resumes_without_duplicates(recording, tmp_path):
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=3)
    ref, lake = tmp_path / "reference", tmp_path / "lake"
    with ReplayServer(rec) as srv:
        ref_env = {"POLIT_API_URL": srv.url, "POLIT_LAKE": str(ref), "POLIT_MAX_RPS": "0"}
        env = {**ref_env, "POLIT_LAKE": str(lake)}
        for snapshot in range(3):  # the uninterrupted run
            if snapshot == 2:
                ref_s2 = _paths(ref)
            _crawl(ref_env)
            if snapshot < 2:
                srv.next()
    with ReplayServer(rec) as srv:
        env["POLIT_API_URL"] = srv.url
        _crawl(env)
        srv.next()
        _crawl(env)
        posts_before, threads_before = _rows(lake, "posts"), _rows(lake, "threads")
        saved = (lake / STATE).read_bytes()
        broken = saved[: len(saved) // 3]
        (lake / STATE).write_bytes(broken)
        assert polit("crawl", "--once", env=env, check=False).returncode == 2

        out = polit("lake", "rebuild-state", "-b", "pol", "--json", env=env).stdout
        report = json.loads(out)[0]
        rebuilt = json.loads((lake / STATE).read_bytes())
        assert (lake / report["kept_as"]).read_bytes() == broken  # the old file, kept aside
        original = json.loads(saved)
        assert rebuilt["threads"].keys() == original["threads"].keys()
        assert rebuilt["finished"].keys() == original["finished"].keys()
        for group in ("threads", "finished"):
            for no, t in original[group].items():
                assert rebuilt[group][no]["posts"] == t["posts"], (group, no)
                assert rebuilt[group][no]["deleted"] == t["deleted"], (group, no)
        assert report["posts"] == sum(len(t["posts"]) for g in ("threads", "finished")
                                      for t in original[g].values())  # fmt: skip

        # The same snapshot again: every live thread is fetched once, no post row is new.
        again = _crawl(env)
        assert again["threads_fetched"] > 0
        assert (again["new_posts"], again["changed_posts"], again["deleted_posts"]) == (0, 0, 0)
        assert _rows(lake, "posts") == posts_before
        # The next snapshot: the same rows as the uninterrupted run.
        srv.next()
        s2 = _paths(lake)
        _crawl(env)
    assert _rows(lake, "posts", since=s2) == _rows(ref, "posts", since=ref_s2)
    assert sum(_rows(lake, "posts", since=s2).values()) > 0
    assert _rows(lake, "threads", since=s2) == _rows(ref, "threads", since=ref_s2)
    assert _rows(lake, "threads") - threads_before  # the refetch at the same snapshot
    ref_state = json.loads((ref / STATE).read_bytes())
    assert _comparable(json.loads((lake / STATE).read_bytes())) == _comparable(ref_state)


def test_rebuild_skips_an_unreadable_file_and_keeps_nothing_when_there_is_no_state(
    tmp_path, recording
):
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=1)
    lake = tmp_path / "lake"
    with ReplayServer(rec) as srv:
        env = {"POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake), "POLIT_MAX_RPS": "0"}
        _crawl(env)
    (lake / STATE).unlink()
    posts = Lake(str(lake)).files("posts")[0].path
    junk = Path(posts).with_name("zz-0.parquet")
    junk.write_bytes(b"not parquet")
    proc = polit("lake", "rebuild-state", "-b", "pol", "--json", env=env)
    report = json.loads(proc.stdout)[0]
    assert report["kept_as"] is None and report["skipped"] == [str(junk)]
    assert f"skipped unreadable {junk}" in " ".join(proc.stderr.split())
    assert report["posts"] > 10_000 and report["live_threads"] > 100
    assert json.loads((lake / STATE).read_bytes())["board"] == "pol"


def test_rebuild_on_a_gs_lake(gcs_emulator, recording, tmp_path):
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=1)
    local = tmp_path / "lake"
    with ReplayServer(rec) as srv:
        _crawl({"POLIT_API_URL": srv.url, "POLIT_LAKE": str(local), "POLIT_MAX_RPS": "0"})
    lake = Lake(gcs_emulator.prefix())
    for p in sorted(local.rglob("*")):
        if p.is_file():
            lake.fs.pipe_file(lake.path(str(p.relative_to(local))), p.read_bytes())
    lake.fs.pipe_file(lake.path(str(STATE)), b"\x00garbage")
    env = {"STORAGE_EMULATOR_HOST": gcs_emulator.url, "FSSPEC_GS_TOKEN": "anon",
           "FSSPEC_GS_PROJECT": "polit-test", "POLIT_LAKE": lake.url}  # fmt: skip
    proc = polit("crawl", "--once", env={**env, "POLIT_API_URL": "http://127.0.0.1:9"},
                 check=False)  # fmt: skip
    assert proc.returncode == 2 and f"{lake.url}/{STATE}" in proc.stderr
    report = json.loads(polit("lake", "rebuild-state", "-b", "pol", "--json", env=env).stdout)[0]
    prefix = lake.root.removeprefix(gcs_emulator.bucket + "/")
    objects = gcs_emulator.objects(lake.url)
    assert report["kept_as"].startswith(f"{STATE}.before-rebuild-")
    assert objects[f"{prefix}/{report['kept_as']}"] == len(b"\x00garbage")
    rebuilt = json.loads(lake.fs.cat_file(lake.path(str(STATE))))
    original = json.loads((local / STATE).read_bytes())
    assert (rebuilt["version"], rebuilt["board"]) == (original["version"], "pol")
    assert {no: t["posts"] for no, t in rebuilt["threads"].items()} == {
        no: t["posts"] for no, t in original["threads"].items()
    }
