"""A board name 4chan cannot have (300 characters, a slash inside, capitals) is one line on
stderr and exit 2, before any request or file, for every command that takes -b."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from polit.config import BoardNameError, Settings, check_board

LONG = "a" * 300


def commands(tmp_path, board):
    dummy = tmp_path / "in.ndjson"
    dummy.write_text("")
    lake = ["--lake", str(tmp_path / "lake")]
    return [
        ["crawl", "-b", board, *lake],
        ["watch", "-b", board, *lake, "--cycles", "1"],
        ["backfill", "-b", board, *lake],
        ["run", "-b", board, *lake, "--warehouse", str(tmp_path / "w.duckdb")],
        ["import", "ndjson", str(dummy), "-b", board, *lake],
        ["import", "seed-parquet", str(dummy), "-b", board, *lake],
        ["cost", "-b", board, *lake],
        ["report", "-b", board, "--warehouse", str(tmp_path / "w.duckdb")],
    ]


@pytest.mark.parametrize("board", [LONG, "po/l", "POL"])
def test_every_board_option_refuses_a_bad_name_in_one_line(tmp_path, board):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # a plain 80-column stderr
    env["POLIT_API_URL"] = "http://127.0.0.1:9"  # nothing listens: no request may be needed
    for args in commands(tmp_path, board):
        proc = subprocess.run([sys.executable, "-m", "polit", *args], env=env, timeout=60,
                              capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: invalid board"), (args, lines)
        assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.ndjson"]  # nothing written


def test_the_env_var_is_checked_too(tmp_path):
    env = {**os.environ, "POLIT_BOARDS": f"pol,{LONG}", "POLIT_LAKE": str(tmp_path / "lake")}
    proc = subprocess.run([sys.executable, "-m", "polit", "crawl"], env=env, timeout=60,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and "invalid board" in proc.stderr
    assert not (tmp_path / "lake").exists()


def test_check_board():
    assert check_board("/pol/") == "pol" and check_board("r9k") == "r9k"
    for bad in (LONG, "", "p o l", "POL", "pol/../x", "é"):
        with pytest.raises(BoardNameError, match="invalid board"):
            check_board(bad)
    with pytest.raises(ValueError, match="invalid board"):
        Settings(boards=(LONG,)).validate()
