"""No wall clock decides what is merged: a loader whose clock is behind (faketime, a real
`polit load` process) still gets every row into `posts`, and `polit prune` keeps raw rows
dbt has not merged whatever the clocks say."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from polit.lake.schema import TABLES
from polit.lake.store import Lake
from polit.transform import transform
from tests.helpers.warehouse import digest, load, query, replayed_lake

POLIT = [sys.executable, "-m", "polit"]
FAKETIME = shutil.which("faketime")


@pytest.fixture(scope="module")
def lake_dir(recording, tmp_path_factory) -> Path:
    return replayed_lake(recording, tmp_path_factory)


def polit_at(offset: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`polit ARGS` in a process whose clock is `offset` (like -3h) off; monotonic time
    stays real, so timeouts and sleeps behave."""
    if FAKETIME is None:
        pytest.fail("faketime is missing: `make debs` installs it (make test does)")
    env = {**os.environ, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    cmd = [str(FAKETIME), "-f", offset, *POLIT, *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=True)


def copy_files(source: Path, target: Path, part: slice) -> None:
    """Copy a slice of each raw table's files (in path order) into another lake."""
    lake = Lake(str(source))
    for table in TABLES:
        for f in lake.files(table)[part]:
            dest = target / Path(f.path).relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f.path, dest)


def test_a_loader_clock_behind_loses_nothing_and_prune_keeps_unmerged(lake_dir, tmp_path):
    reference = tmp_path / "reference.duckdb"
    load(lake_dir, reference)
    transform(str(reference), workdir=tmp_path / "dbt-ref", quiet=True)

    lake, wh = tmp_path / "lake", tmp_path / "w.duckdb"
    half = len(Lake(str(lake_dir)).files("posts")) // 2
    copy_files(lake_dir, lake, slice(0, half))
    load(lake, wh)
    transform(str(wh), workdir=tmp_path / "dbt", quiet=True)
    merged_until = query(wh, "SELECT max(loaded_at) FROM main.posts")[0][0]

    # the rest, loaded by a process whose clock is 3 hours behind the first load's
    copy_files(lake_dir, lake, slice(half, None))
    polit_at("-3h", "load", "--lake", str(lake), "--warehouse", str(wh))
    newest = query(wh, "SELECT max(_loaded_at) FROM raw.posts")[0][0]
    assert newest > merged_until  # the stamp still comes after everything merged

    # prune, on a clock 1 hour ahead, keeping nothing younger than a minute: it would
    # remove the merged raw rows only, never the ones loaded late
    out = polit_at("+1h", "prune", "--older-than", "1m", "--dry-run", "--json",
                   "--lake", str(lake), "--warehouse", str(wh))  # fmt: skip
    merged = query(wh, f"SELECT count(*) FROM raw.posts WHERE _loaded_at <= '{merged_until}'")
    assert json.loads(out.stdout)["raw_rows_removed"]["posts"] == merged[0][0] > 0

    transform(str(wh), workdir=tmp_path / "dbt", quiet=True)
    for model in ("posts", "threads"):
        assert digest(wh, model, ("loaded_at",)) == digest(reference, model, ("loaded_at",))
