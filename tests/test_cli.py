"""The real `polit` command, run as a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import httpx
import pytest
from typer.testing import CliRunner

from polit.cli import app
from polit.replay.server import ReplayServer
from tests.helpers.replay_helpers import recording_truth, trimmed_recording

POLIT = [sys.executable, "-m", "polit"]


def run(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run([*POLIT, *args], capture_output=True, text=True, env=full_env,
                          timeout=300)  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"polit {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def _commands(typer_app, prefix=()):
    import typer.main

    group = typer.main.get_command(typer_app)
    stack = [(prefix, group)]
    while stack:
        path, cmd = stack.pop()
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            stack.append(((*path, name), sub))


def test_every_command_has_help():
    paths = [p for p, _ in _commands(app)]
    assert ("crawl",) in paths and ("replay", "serve") in paths and ("lake", "stats") in paths
    runner = CliRunner()
    for path, cmd in _commands(app):
        assert cmd.help, f"polit {' '.join(path)} has no help text"
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, path
    assert "Usage" in run("--help").stdout  # and the installed entry point works


def test_crawl_once_then_next_with_the_cli(recording, tmp_path):
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=2)
    lake = tmp_path / "lake"
    with ReplayServer(rec) as srv:
        env = {"POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake)}
        first = run("crawl", "--once", "--board", "pol", "--max-rps", "0", "--json", env=env)
        assert json.loads(first.stdout)[0]["new_posts"] > 10_000
        moved = httpx.post(f"{srv.url}/_replay/next").json()
        assert moved["index"] == 1
        run("crawl", "--once", "--max-rps", "0", env=env)
        unchanged = run("crawl", "--once", "--max-rps", "0", "--json", env=env)
        assert json.loads(unchanged.stdout)[0]["not_modified"] is True
    stats = json.loads(run("lake", "stats", "--lake", str(lake), "--json").stdout)
    assert stats["distinct_posts"] > 10_000 and stats["archived_threads"] > 0
    assert (lake / "_polit" / "state" / "pol.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["crawl", "--max-rps", "-1"], "max_rps"),
        (["crawl", "--board", "p o l"], "invalid board"),
        (["replay", "serve", "/nonexistent"], "not a recording"),
    ],
)
def test_clear_errors(args, message, tmp_path):
    extra = ["--lake", str(tmp_path)] if args[0] == "crawl" else []
    proc = run(*args, *extra, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_version_needs_no_command():
    proc = run("--version")
    assert proc.stdout.strip().startswith("polit ") and proc.stdout.split()[1][0].isdigit()


def test_a_lake_that_does_not_exist_is_an_error_and_creates_nothing(tmp_path):
    typo, warehouse = tmp_path / "typo", tmp_path / "w.duckdb"
    for args in (["load", "--warehouse", str(warehouse)], ["lake", "stats"]):
        proc = run(*args, "--lake", str(typo), check=False)
        assert proc.returncode == 2, proc.stderr
        assert f"no lake at {typo}" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not warehouse.exists() and not typo.exists()
    typo.mkdir()  # an empty lake is a lake: nothing to load yet
    assert "0 files" in run("load", "--lake", str(typo), "--warehouse", str(warehouse)).stdout


def test_unreachable_api_is_a_clear_error(tmp_path):
    env = {"POLIT_API_URL": "http://127.0.0.1:9", "POLIT_MAX_RETRIES": "0"}
    proc = run("crawl", "--lake", str(tmp_path), env=env, check=False)
    assert proc.returncode != 0
    assert "connection error" in proc.stderr.lower() and "could not crawl /pol/" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_runs_end_to_end(tmp_path):
    proc = run("demo", "--workdir", str(tmp_path / "demo"), "--hours", "0.5")
    out = proc.stdout
    for step in ("1/4", "2/4", "3/4", "4/4", "dbt build"):
        assert step in out, step
    assert "posts:" in out and "top countries:" in out
    assert (tmp_path / "demo" / "warehouse.duckdb").is_file()
    # the completeness it proves: every post the snapshots served (read here on its own)
    # and every deletion they showed were captured
    truth = recording_truth(tmp_path / "demo" / "recording")
    posts = len(truth.post_thread)
    shown = re.search(r"visible in the snapshots: ([\d,]+) posts, ([\d,]+) of them deleted", out)
    assert shown is not None, out
    deleted = int(shown[2].replace(",", ""))
    assert int(shown[1].replace(",", "")) == posts and 0 < deleted <= len(truth.deleted)
    assert (f"captured: {posts:,} of {posts:,} (100%) visible posts, "
            f"{deleted:,} of {deleted:,} (100%) visible deletions") in out  # fmt: skip
