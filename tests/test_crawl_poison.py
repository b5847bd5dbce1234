"""Numbers the lake cannot hold (beyond int64) never stop a crawl, and one board's bad data
never stops another board: the real `polit` against replays serving poison values."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from polit.chan.client import ChanClient
from polit.config import Settings
from polit.crawl import crawler as crawler_module
from polit.crawl.crawler import crawl_once
from polit.crawl.watch import Watcher
from polit.lake.batch import RowBuffer
from polit.lake.schema import POSTS, THREADS
from polit.lake.stats import read_table
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from tests.helpers.replay_helpers import post, write_recording

BIG = 2**63  # one past int64
POLIT = [sys.executable, "-m", "polit"]


def poison_recording(out: Path) -> Path:
    """/pol/ with values beyond int64 in bodies, threads.json and archive.json, beside
    healthy posts. Snapshot 1 adds a reply and archives thread 30."""
    t1 = [post(1), post(2, 1)]
    t10 = [
        post(10),
        post(11, 10, fsize=BIG + 5),  # decoded as an int beyond int64
        post(12, 10, time=2**64),  # beyond 64 bits: the JSON decoder gives a float
        {"no": BIG, "resto": 10, "com": "my number is too big"},  # the key: dropped
        post(13, 10, w=-(2**65), tail_size=10**30),  # floats once decoded
    ]
    t20 = [post(20, replies=BIG, images=3)]  # a thread counter beyond int64 on the OP
    t30 = [post(30), post(31, 30, fsize=BIG)]
    digits = b'{"posts": [{"no": 40, "resto": 0, "time": ' + b"1" * 5000 + b"}]}"
    s0 = {1: t1, 10: t10, 20: t20, 30: t30, 40: digits, BIG: [post(BIG)]}
    s1 = {1: [*t1, post(3, 1)], 10: t10, 20: t20, BIG: [post(BIG)]}
    archived = {0: {}, 1: {30: t30, BIG + 1: [post(BIG + 1)]}}
    return write_recording(out, [s0, s1], archived=archived)


def clean_recording(out: Path, board: str = "int") -> Path:
    s0 = {500: [post(500), post(501, 500)]}
    s1 = {500: [post(500), post(501, 500), post(502, 500)], 600: [post(600)]}
    return write_recording(out, [s0, s1], board=board)


def polit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "400", **env}
    return subprocess.run([*POLIT, *args], env=full, capture_output=True, text=True, timeout=120)


def posts_by_no(lake_dir: Path, board: str = "pol") -> dict[int, dict]:
    rows = read_table(Lake(str(lake_dir)), "posts", None, board).to_pylist()
    return {r["no"]: r for r in sorted(rows, key=lambda r: r["observed_at"])}  # newest wins


def test_poison_numbers_are_logged_kept_in_extra_and_the_rest_written(tmp_path):
    rec = poison_recording(tmp_path / "rec")
    lake_dir = tmp_path / "lake"
    with ReplayServer(rec) as srv:
        env = {"POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake_dir), "POLIT_MAX_RPS": "0"}
        first = polit("crawl", "--once", "-b", "pol", env=env)
        assert first.returncode == 0, first.stderr
        assert "Traceback" not in first.stderr
        posts = posts_by_no(lake_dir)
        assert set(posts) == {1, 2, 10, 11, 12, 13, 20, 30, 31}  # everything but no = 2^63
        assert posts[11]["fsize"] is None and json.loads(posts[11]["extra"]) == {"fsize": BIG + 5}
        assert posts[12]["time"] is None and json.loads(posts[12]["extra"])["time"] == 2.0**64
        assert posts[13]["w"] is None and posts[13]["tail_size"] is None
        assert json.loads(posts[13]["extra"]) == {"w": -(2.0**65), "tail_size": 1e30}
        assert posts[20]["replies"] is None and posts[20]["images"] == 3
        assert posts[10]["time"] == post(10)["time"]  # the healthy values are typed as ever
        threads = read_table(Lake(str(lake_dir)), "threads", None, "pol").to_pylist()
        assert {t["no"] for t in threads} == {1, 10, 20, 30}
        assert next(t for t in threads if t["no"] == 20)["replies"] is None
        log = first.stderr
        for line in (
            "/pol/10: post 11: field 'fsize' is beyond int64",
            "/pol/10: post 13: field 'w' is beyond int64",
            "/pol/20: post 20: field 'replies' is beyond int64",
            f"/pol/10: post #3 rejected: post number {BIG} is beyond int64",
            f"/pol/: threads.json lists thread {BIG}, beyond int64: skipped",
            "/pol/10: post 12: field 'time'",
            "/pol/40: thread/40.json: undecodable body",  # 5,000 digits: retried, not fatal
        ):
            assert line in log, line
        assert Lake(str(lake_dir)).read_json("_polit", "state", "pol.json") is not None

        # unchanged board: the state was saved, so nothing is fetched or written twice; only
        # the thread that failed is tried again (the listing is read whole for it)
        files = len(Lake(str(lake_dir)).files("posts"))
        again = polit("crawl", "--once", "-b", "pol", "--json", env=env)
        assert again.returncode == 0, again.stderr
        (report,) = json.loads(again.stdout)
        assert (report["threads_fetched"], report["new_posts"], report["requests"]) == (0, 0, 3)
        assert [e.split(":")[0] for e in report["errors"]] == ["/pol/40"]
        assert len(Lake(str(lake_dir)).files("posts")) == files

        # the next snapshot is captured: a new reply, thread 30's final copy, poison skipped
        srv.next()
        nxt = polit("crawl", "--once", "-b", "pol", "--json", env=env)
        assert nxt.returncode == 0, nxt.stderr
        (report,) = json.loads(nxt.stdout)
        assert report["new_posts"] == 1 and report["archived_threads"] == 1
        assert f"/pol/: archive.json lists thread {BIG + 1}, beyond int64: skipped" in nxt.stderr
    posts = posts_by_no(lake_dir)
    assert 3 in posts and BIG not in posts
    threads = read_table(Lake(str(lake_dir)), "threads", None, "pol").to_pylist()
    assert any(t["no"] == 30 and t["event"] == "archived" for t in threads)


def test_watch_two_boards_bad_data_on_one_keeps_both_going(tmp_path):
    """`polit watch -b pol -b int`: poison on /pol/ only. The daemon runs every cycle and
    writes both boards; a later run captures what both serve next."""
    recordings = [poison_recording(tmp_path / "pol"), clean_recording(tmp_path / "int")]
    lake_dir = tmp_path / "lake"
    with ReplayServer(recordings) as srv:
        env = {"POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake_dir), "POLIT_MAX_RPS": "0"}
        cmd = ["watch", "-b", "pol", "-b", "int", "--interval", "0", "--flush-minutes", "0"]
        first = polit(*cmd, "--cycles", "3", env=env)
        assert first.returncode == 0, first.stderr
        assert "stopped after 3 cycles" in first.stdout
        assert set(posts_by_no(lake_dir, "int")) == {500, 501}
        assert {1, 2, 11, 20} <= set(posts_by_no(lake_dir, "pol"))
        srv.next()
        second = polit(*cmd, "--cycles", "2", env=env)
        assert second.returncode == 0, second.stderr
    assert set(posts_by_no(lake_dir, "int")) == {500, 501, 502, 600}
    assert 3 in posts_by_no(lake_dir, "pol")


@pytest.fixture()
def two_boards(tmp_path):
    recordings = [clean_recording(tmp_path / "pol", board="pol"), clean_recording(tmp_path / "int")]
    with ReplayServer(recordings) as srv:
        yield Settings(api_url=srv.url, lake=str(tmp_path / "lake"), max_rps=0,
                       boards=("pol", "int"))  # fmt: skip


def _bug_on_pol(monkeypatch):
    """A bug nobody foresaw, in /pol/'s diff only (fault injection: no data triggers one)."""
    real = crawler_module.diff_thread

    def diff(known, body, where):
        if where.board == "pol":
            raise KeyError("a bug")
        return real(known, body, where)

    monkeypatch.setattr(crawler_module, "diff_thread", diff)


def test_an_unexpected_error_fails_that_board_only(two_boards, monkeypatch, caplog):
    _bug_on_pol(monkeypatch)
    caplog.set_level(logging.ERROR)
    with ChanClient(two_boards) as client:
        pol, intl = crawl_once(client, Lake(two_boards.lake), two_boards.boards)
    assert pol.failed and "unexpected KeyError" in pol.errors[0] and not intl.failed
    assert "/pol/: cycle failed unexpectedly" in caplog.text
    assert set(posts_by_no(Path(two_boards.lake), "int")) == {500, 501}
    # the daemon goes on too
    assert Watcher(two_boards, interval=0).run(max_cycles=2, echo=lambda _: None) == 2


def test_a_failed_write_fails_that_board_only_and_is_retried(two_boards, monkeypatch, caplog):
    real = Lake.write_table

    def write_table(self, table, board, *args, **kwargs):
        if board == "pol":
            raise OSError("disk on fire")
        return real(self, table, board, *args, **kwargs)

    monkeypatch.setattr(Lake, "write_table", write_table)
    caplog.set_level(logging.ERROR)
    with ChanClient(two_boards) as client:
        pol, intl = crawl_once(client, Lake(two_boards.lake), two_boards.boards)
    assert pol.failed and "write failed: OSError" in pol.errors[-1] and not intl.failed
    assert set(posts_by_no(Path(two_boards.lake), "int")) == {500, 501}
    assert not Lake(two_boards.lake).files("posts", "pol")
    monkeypatch.setattr(Lake, "write_table", real)  # the disk is back: the rerun writes /pol/
    with ChanClient(two_boards) as client:
        (again,) = crawl_once(client, Lake(two_boards.lake), ["pol"])
    assert again.new_posts == 2 and set(posts_by_no(Path(two_boards.lake))) == {500, 501}


def test_a_row_arrow_refuses_is_dropped_alone(caplog):
    """The last line of defence at flush: rows no repair can fix are logged and dropped."""
    caplog.set_level(logging.ERROR)
    now = datetime.now(UTC)
    threads = RowBuffer(THREADS)
    threads.add({"board": "pol", "no": 1, "run_id": "r", "event": "fetched", "observed_at": now})
    threads.add({"board": "pol", "no": BIG, "run_id": "r", "event": "fetched", "observed_at": now})
    assert threads.to_table().column("no").to_pylist() == [1]
    posts = RowBuffer(POSTS, repair=lambda row: row)  # a repair that cannot help
    posts.add({"board": "pol", "no": 5, "thread_no": 5, "run_id": "r", "observed_at": now})
    posts.add({"board": "pol", "no": 6, "thread_no": BIG, "run_id": "r", "observed_at": now})
    assert posts.to_table().column("no").to_pylist() == [5]
    assert f"/pol/{BIG}: thread {BIG} dropped" in caplog.text
    assert f"/pol/{BIG}: post 6 dropped" in caplog.text


def test_backfill_skips_thread_numbers_beyond_int64(tmp_path):
    rec = poison_recording(tmp_path / "rec")
    lake_dir = tmp_path / "lake"
    with ReplayServer(rec) as srv:
        srv.next()  # archive.json: [30, 2^63 + 1]
        env = {"POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake_dir), "POLIT_MAX_RPS": "0"}
        first = polit("backfill", "-b", "pol", "--json", env=env)
        assert first.returncode == 0, first.stderr
        (report,) = json.loads(first.stdout)
        assert (report["archived"], report["fetched"], report["failed"]) == (1, 1, 0)
        assert f"/pol/: archive.json lists thread {BIG + 1}, beyond int64: skipped" in first.stderr
        again = polit("backfill", "-b", "pol", "--json", env=env)
        (report,) = json.loads(again.stdout)
        assert (report["had"], report["fetched"], report["requests"]) == (1, 0, 1)
    posts = posts_by_no(lake_dir)
    assert set(posts) == {30, 31} and json.loads(posts[31]["extra"]) == {"fsize": BIG}


def test_flush_writes_the_rest_and_saves_the_state_around_a_bad_row(tmp_path, caplog):
    """The crawler's flush with a row no repair can fix (here put in the writer directly,
    since the parser lets none through): that row is dropped, the others and the state
    are written, and the next cycle starts from that state."""
    rec = clean_recording(tmp_path / "rec", board="pol")
    caplog.set_level(logging.ERROR)
    with ReplayServer(rec) as srv:
        s = Settings(api_url=srv.url, lake=str(tmp_path / "lake"), max_rps=0)
        with ChanClient(s) as client:
            crawler = crawler_module.BoardCrawler(client, Lake(s.lake), "pol")
            assert crawler.cycle().new_posts == 2
            bad = {"board": "pol", "no": 7, "thread_no": BIG, "run_id": "r",
                   "observed_at": datetime.now(UTC)}  # fmt: skip
            crawler.writer.add_posts([bad])
            assert len(crawler.flush()) == 2  # a posts and a threads file
            again = crawler_module.BoardCrawler(client, Lake(s.lake), "pol").cycle()
    assert set(posts_by_no(tmp_path / "lake")) == {500, 501}
    assert f"/pol/{BIG}: post 7 dropped" in caplog.text
    assert again.not_modified  # the state was saved


def test_normalize_post_int64_rules():
    from polit.chan.posts import normalize_post, repair_logged

    row, notes = normalize_post({"no": 5, "time": 1, "fsize": BIG, "tim": -BIG})
    assert row is not None and "fsize" not in row and row["tim"] == -BIG  # -2^63 fits
    assert json.loads(row["extra"]) == {"fsize": BIG}
    assert notes == [f"field 'fsize' is beyond int64 ({BIG}), kept in extra"]
    assert normalize_post({"no": BIG})[0] is None
    assert normalize_post({"no": BIG - 1})[0] is not None
    row, _ = normalize_post({"no": 6, "perspectives": {"TOXICITY": 10**400, "SPAM": 0.5}})
    assert row["spam"] == 0.5 and "toxicity" not in row and "TOXICITY" in row["extra"]
    # a number as text with more digits than int() takes: the flush's repair keeps it in extra
    row, _ = normalize_post({"no": 7, "time": "9" * 5000})
    row.update(board="pol", thread_no=7, observed_at=datetime.now(UTC), run_id="r")
    buf = RowBuffer(POSTS, repair=repair_logged)
    buf.add(row)
    (got,) = buf.to_table().to_pylist()
    assert got["time"] is None and json.loads(got["extra"]) == {"time": "9" * 5000}
