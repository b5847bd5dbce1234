"""Every CLI failure a user meets is one line on stderr, its exit code, and no traceback;
`polit status` and `polit transform` say what happened in a few readable lines."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from bench.dashboard import free_port
from typer.testing import CliRunner

from polit.chan.client import FAIL_FAST_SECONDS, ChanClient, ChanError, Unreachable
from polit.cli import app
from polit.config import Settings
from polit.crawl.status import STATUS_PATH, Status, write_status
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from polit.replay.simulate import simulate

POLIT = [sys.executable, "-m", "polit"]


def polit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([*POLIT, *args], capture_output=True, text=True, env=full, timeout=300)


def one_error_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The single line of stderr of a command that failed with `code`."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def closed_port() -> int:
    return free_port()  # free now, and nobody listens on it


@pytest.fixture(scope="module")
def tiny_board(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic /pol/ of a few hundred posts, one snapshot."""
    out = tmp_path_factory.mktemp("tiny-board") / "rec"
    simulate(out, hours=0.1, seed=3, posts_per_hour=2000, cadence_minutes=10)
    return out


# -- transform ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "empty duckdb", "raw tables, nothing loaded"])
def test_transform_before_any_load_says_run_load_first(kind, tmp_path):
    path = tmp_path / "w.duckdb"
    if kind != "missing":
        con = duckdb.connect(str(path))
        if kind.startswith("raw"):
            con.execute("CREATE SCHEMA raw")
            con.execute("CREATE TABLE raw._manifest (path VARCHAR)")
        con.close()
    proc = polit("transform", "--warehouse", str(path), env={"XDG_CACHE_HOME": str(tmp_path)})
    line = one_error_line(proc, 2)
    assert f"nothing is loaded into {path} yet" in line and "polit load" in line
    assert path.exists() == (kind != "missing")  # a typo makes no warehouse
    assert not (tmp_path / "polit").exists()  # dbt never started


@pytest.mark.slow  # two real dbt builds of a small board
def test_transform_prints_a_line_per_model_and_keeps_dbts_log_in_a_file(tiny_board, tmp_path):
    from polit.warehouse import load_lake, open_warehouse

    lake = tmp_path / "lake"
    with ReplayServer(tiny_board) as srv:
        crawled = polit("crawl", "--once", "--api-url", srv.url, "--lake", str(lake),
                        "--max-rps", "0")  # fmt: skip
        assert crawled.returncode == 0, crawled.stderr
    path = tmp_path / "w.duckdb"
    wh = open_warehouse(str(path))
    try:
        assert load_lake(Lake(str(lake)), wh).total_files > 0
    finally:
        wh.close()
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "POLIT_WAREHOUSE": str(path)}
    proc = polit("transform", env=env)
    assert proc.returncode == 0, proc.stderr
    dbt = Path(__file__).parents[1] / "dbt"
    nodes = {("model", p.stem) for p in (dbt / "models").rglob("*.sql")}
    nodes |= {("seed", p.stem) for p in (dbt / "seeds").glob("*.csv")}
    lines = proc.stderr.strip().splitlines()
    built = [re.fullmatch(r"\s*success (model|seed) (\w+) \(\d+\.\ds\)", ln) for ln in lines]
    assert all(built), lines  # nothing but the progress lines (no tests), and all passed
    assert {m.groups() for m in built if m} == nodes and len(lines) == len(nodes)
    summary = proc.stdout.strip().splitlines()  # and the search index's line
    assert len(summary) == 2 and summary[0].startswith("dbt build: "), proc.stdout
    assert re.search(r"\d+ pass, \d+ success", summary[0]), summary[0]
    log = Path(summary[0].rsplit("dbt's log: ", 1)[1])
    assert log.is_file() and log.is_relative_to(tmp_path / "cache")
    assert "Done. PASS=" in log.read_text()  # dbt's own log went to the file
    assert "Done." not in proc.stdout + proc.stderr

    quiet = polit("-q", "transform", env=env)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and quiet.stderr == ""


# -- the API and the lake -------------------------------------------------------------


def test_an_unreachable_api_fails_fast_in_one_line(tmp_path):
    port = closed_port()
    started = time.monotonic()
    settings = Settings(api_url=f"http://127.0.0.1:{port}", max_rps=0)
    with pytest.raises(Unreachable) as raised, ChanClient(settings) as client:
        client.boards()
    assert time.monotonic() - started <= FAIL_FAST_SECONDS
    assert "cannot reach the API" in str(raised.value) and "--api-url" in str(raised.value)

    proc = polit("crawl", "--once", "-b", "pol", "-b", "int", "--lake", str(tmp_path / "lake"),
                 "--max-rps", "0", "--api-url", f"http://127.0.0.1:{port}")  # fmt: skip
    line = one_error_line(proc, 1)
    assert "could not crawl /pol/, /int/" in line and "cannot reach the API" in line


def test_connection_errors_after_a_first_answer_get_every_retry(tiny_board):
    slept: list[float] = []
    with ReplayServer(tiny_board) as srv:
        client = ChanClient(Settings(api_url=srv.url, max_rps=0, max_retries=3),
                            sleep=slept.append)  # fmt: skip
        assert client.boards().status == 200
    with client, pytest.raises(ChanError) as raised:  # the server is gone: a blip mid-crawl
        client.threads("pol")
    assert not isinstance(raised.value, Unreachable)
    assert "gave up after 4 tries" in str(raised.value) and len(slept) == 3


NO_NETWORK = {"FSSPEC_GS_TOKEN": "anon", "FSSPEC_GS_PROJECT": "polit-test"}


def test_a_gs_lake_without_network_is_one_line(tmp_path):
    env = {**NO_NETWORK, "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{closed_port()}"}
    line = one_error_line(polit("lake", "stats", "--lake", "gs://no-network/lake", env=env), 1)
    assert "cannot reach Google Cloud Storage" in line and "--lake" in line


@pytest.mark.parametrize("command", [("lake", "stats"), ("crawl", "--once"), ("load",)])
def test_a_gs_lake_without_network_fails_within_seconds(command, tmp_path, monkeypatch):
    """In this process, once its imports are done (a fresh `python -m polit` compiles its
    imports for seconds where PYTHONDONTWRITEBYTECODE is set): gcsfs's retries took ~35 s."""
    for name, value in {**NO_NETWORK, "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{closed_port()}",
                        "POLIT_WAREHOUSE": str(tmp_path / "w.duckdb")}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    args = [*command, "--lake", "gs://no-network/lake"]
    CliRunner().invoke(app, args)  # the imports
    started = time.monotonic()
    result = CliRunner().invoke(app, args)
    seconds = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert "cannot reach Google Cloud Storage" in result.output
    assert seconds < 10, f"{seconds:.1f} s"


def test_the_store_probe_gives_up_in_its_time_and_passes_a_listening_port():
    from polit.cli.base import unreachable

    assert "refused" in (unreachable("127.0.0.1", closed_port()) or "")
    with contextlib.ExitStack() as stack:
        listening = stack.enter_context(socket.socket())
        listening.bind(("127.0.0.1", 0))
        listening.listen(0)
        port = listening.getsockname()[1]
        assert unreachable("127.0.0.1", port) is None
        for _ in range(3):  # a full backlog: the kernel leaves further connects unanswered
            waiting = stack.enter_context(socket.socket())
            waiting.setblocking(False)
            waiting.connect_ex(("127.0.0.1", port))
        time.sleep(0.2)
        started = time.monotonic()
        assert unreachable("127.0.0.1", port, seconds=0.5) == "no answer in 0.5 s"
        assert time.monotonic() - started < 2


# -- status ------------------------------------------------------------------------------


def test_status_shows_the_last_scheduled_run_and_readable_rates(tiny_board, tmp_path):
    lake = tmp_path / "lake"
    with ReplayServer(tiny_board) as srv:
        crawled = polit("crawl", "--once", "--api-url", srv.url, "--lake", str(lake),
                        "--max-rps", "0")  # fmt: skip
        assert crawled.returncode == 0, crawled.stderr
    doc = json.loads(polit("status", "--json", "--lake", str(lake)).stdout)
    assert doc["command"] == "polit crawl --once" and doc["cycles"] == 1
    assert doc["new_posts"] > 100 and doc["stopped_at"]
    shown = polit("status", "--lake", str(lake))
    assert shown.returncode == 0, shown.stderr
    assert "last scheduled run: polit crawl --once" in shown.stdout
    rate = re.search(r"\(([\d,.]+k?) posts/(s|min|h)\)", shown.stdout)
    assert rate and re.fullmatch(r"[\d,]+|\d+\.\dk", rate.group(1)), shown.stdout
    assert polit("status", "--lake", str(lake), "--max-age", "3600").returncode == 0


def test_status_says_when_watch_has_stopped(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    status = Status(started_at=_ago(600), boards=["pol"], interval=60.0, pid=int(gone.stdout))
    status.new_posts = 34474 * 10
    write_status(lake, status)
    shown = polit("status", "--lake", lake.url)
    assert f"pid {status.pid} is gone" in shown.stdout, shown.stdout
    assert "575 posts/s" in shown.stdout and "34474" not in shown.stdout
    assert json.loads(polit("status", "--json", "--lake", lake.url).stdout)["running"] is False

    status.pid = os.getpid()  # alive, but said it stopped
    status.stopped_at = _ago(5)
    write_status(lake, status)
    assert "polit watch (pid" in (shown := polit("status", "--lake", lake.url)).stdout
    assert "stopped at" in shown.stdout

    status.stopped_at, status.host = None, "another-host"  # its pid cannot be looked up
    lake.write_json(status.to_json(now=_ago(7200)), *STATUS_PATH)  # but 2 h without a beat
    assert "probably stopped: no heartbeat for 2.0 h" in polit("status", "--lake", lake.url).stdout
    write_status(lake, status)  # a beat just now: running, as far as anyone can tell
    assert json.loads(polit("status", "--json", "--lake", lake.url).stdout)["running"] is True


def _ago(seconds: float):
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(seconds=seconds)


# -- dashboard ---------------------------------------------------------------------------


def test_a_busy_dashboard_port_is_one_line_before_any_url(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = polit("dashboard", "--port", str(port), "--warehouse", str(tmp_path / "w.duckdb"))
    line = one_error_line(proc, 2)
    assert f"127.0.0.1:{port}" in line and "--port" in line
    assert "http://" not in proc.stdout + proc.stderr


# -- anything else ----------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_and_its_traceback_needs_vv(tmp_path):
    lake = tmp_path / "lake"
    (lake / "_polit" / "status").mkdir(parents=True)
    (lake / "_polit" / "status" / "watch.json").write_text('{"updated_at": "not a time"}')
    line = one_error_line(polit("status", "--lake", str(lake)), 1)
    assert "ValueError" in line and "-vv" in line
    traced = polit("-vv", "status", "--lake", str(lake))
    assert traced.returncode == 1 and "Traceback" in traced.stderr


def test_a_trend_grain_other_than_hour_or_day_is_a_usage_error_before_any_warehouse(tmp_path):
    missing = tmp_path / "nowhere.duckdb"
    line = one_error_line(polit("search", "x", "--trend", "week", "--warehouse", str(missing)), 2)
    assert "--trend is hour or day" in line and "'week'" in line
    assert not missing.exists()
