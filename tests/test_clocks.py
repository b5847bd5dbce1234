"""No wall clock decides what is merged: a loader whose clock is behind (faketime, a real
`polit load` process) still gets every row into `posts`, and `polit prune` keeps raw rows
dbt has not merged whatever the clocks say. No wall clock times an observation either: a
crawler whose clock is years off builds the same warehouse (the board's Date header)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest

from polit.lake.schema import TABLES
from polit.lake.stats import read_table
from polit.lake.store import Lake
from polit.replay.recording import Recording
from polit.replay.server import ReplayServer
from polit.transform import transform
from tests.helpers.replay_helpers import replay_crawl, trimmed_recording
from tests.helpers.warehouse import digest, load, models, query, replayed_lake

POLIT = [sys.executable, "-m", "polit"]
FAKETIME = shutil.which("faketime")


@pytest.fixture(scope="module")
def lake_dir(recording, tmp_path_factory) -> Path:
    return replayed_lake(recording, tmp_path_factory)


def polit_at(offset: str, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """`polit ARGS` in a process whose clock is `offset` (like -3h) off; monotonic time
    stays real, so timeouts and sleeps behave."""
    if FAKETIME is None:
        pytest.fail("faketime is missing: `make debs` installs it (make test does)")
    env = {**os.environ, "FAKETIME_DONT_FAKE_MONOTONIC": "1", **env_vars}
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


def test_a_crawler_clock_behind_still_records_its_deletions(recording, tmp_path):
    """The crawls after the first run on a clock 3 hours behind: their tombstones and new
    versions carry older times than the rows they supersede, and must still win."""
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=3)
    reference = tmp_path / "reference"
    replay_crawl(rec, reference)
    lake = tmp_path / "lake"
    with ReplayServer(rec) as srv:
        env = {"POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake), "POLIT_MAX_RPS": "0"}
        for i, offset in enumerate(("+0", "-3h", "-3h")):
            polit_at(offset, "crawl", "--once", **env)
            if i < 2:
                srv.next()
    skewed = read_table(Lake(str(lake)), "posts", ["observed_at"])["observed_at"]
    assert pc.min(skewed).as_py() < pc.max(skewed).as_py() - timedelta(hours=2)

    got, want = tmp_path / "got.duckdb", tmp_path / "want.duckdb"
    for lake_dir, wh in ((lake, got), (reference, want)):
        load(lake_dir, wh)
        transform(str(wh), workdir=tmp_path / f"dbt-{wh.stem}", quiet=True)
    sql = "SELECT post_id, is_deleted, version FROM main.posts ORDER BY 1"
    deleted = query(want, "SELECT count(*) FROM main.posts WHERE is_deleted")[0][0]
    assert deleted > 0
    assert query(got, sql) == query(want, sql)


def _crawl_at(offsets: tuple[str, ...], rec: Path, lake: Path) -> None:
    """`polit crawl --once` of each snapshot of `rec`, on a clock `offsets[i]` off."""
    with ReplayServer(rec) as srv:
        env = {"POLIT_API_URL": srv.url, "POLIT_LAKE": str(lake), "POLIT_MAX_RPS": "0"}
        for i, offset in enumerate(offsets):
            polit_at(offset, "crawl", "--once", **env)
            if i + 1 < len(offsets):
                srv.next()


def _local_columns(warehouse: Path, model: str) -> tuple[str, ...]:
    """The columns of a model stamped by the loader's clock (not the crawler's)."""
    rows = query(warehouse, "SELECT column_name FROM information_schema.columns WHERE "
                 f"table_schema = 'main' AND table_name = '{model}'")  # fmt: skip
    return tuple(c for (c,) in rows if c == "loaded_at")


@pytest.mark.slow
def test_a_crawler_clock_off_by_years_gives_the_same_warehouse(recording, tmp_path):
    """Observations are on the board's clock (the replay's Date): crawled on clocks 5 years
    ahead and 2 years behind, the warehouse is the one an unskewed crawl builds, every model
    and every column but the loader's stamps; and the times are the recording's."""
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=3)
    built = {}
    for name, offsets in (("true", ("+0",) * 3), ("skewed", ("+5y", "-2y", "+5y"))):
        lake, wh = tmp_path / f"lake-{name}", tmp_path / f"{name}.duckdb"
        _crawl_at(offsets, rec, lake)
        load(lake, wh)
        transform(str(wh), workdir=tmp_path / f"dbt-{name}", quiet=True)
        built[name] = wh
    true, skewed = built["true"], built["skewed"]
    names = models(true)
    assert {"posts", "threads", "thread_activity", "moderation_hourly"} <= set(names)
    for model in names:
        exclude = _local_columns(true, model)
        assert digest(skewed, model, exclude) == digest(true, model, exclude), model

    # on the recording's clock: its first to last snapshot, and so are live threads' lives
    first, last = query(true, "SELECT min(first_seen_at), max(last_observed_at) FROM posts")[0]
    assert (first, last) == (rec_at(rec, 0), rec_served_at(rec, 2)), (first, last)
    deleted = query(true, "SELECT min(deleted_at), max(deleted_at), count(*) FROM posts"
                    " WHERE is_deleted")[0]  # fmt: skip
    assert deleted[2] > 0 and rec_at(rec, 1) <= deleted[0] <= deleted[1] <= last
    live = query(true, "SELECT max(hours_on_board) FROM thread_activity WHERE end_state = 'live'"
                 " AND created_at >= TIMESTAMPTZ '2023-03-26'")[0][0]  # fmt: skip
    assert 0 < live <= 48  # not the years until the day the crawl ran


def rec_at(rec: Path, i: int):
    return Recording(rec).at(i)


def rec_served_at(rec: Path, i: int):
    """The newest Date snapshot i serves (its time, or its newest post if later)."""
    r = Recording(rec)
    return max(r.served_at(i, no) for no in r.listed(i))
