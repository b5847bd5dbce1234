"""Retention never removes what is not loaded, or raw rows dbt has not merged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from polit.lake.batch import RowBuffer
from polit.lake.schema import POSTS
from polit.lake.store import Lake
from polit.retention import parse_age, partition_end, prune
from polit.transform import transform
from polit.warehouse import load_lake, open_warehouse

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)


def _write(lake: Lake, when: datetime, name: str, first_no: int) -> None:
    buf = RowBuffer(POSTS)
    for no in range(first_no, first_no + 3):
        buf.add({"board": "pol", "no": no, "thread_no": first_no, "resto": 0 if no == first_no
                 else first_no, "time": int(when.timestamp()), "observed_at": when,
                 "run_id": name, "com": "x", "text": "x", "quotes": [], "urls": []})  # fmt: skip
    lake.write_table("posts", "pol", buf.to_table(), when, name)


def test_parse_age_and_partitions():
    assert parse_age("12h") == timedelta(hours=12) and parse_age("90m") == timedelta(minutes=90)
    with pytest.raises(ValueError, match="30d"):
        parse_age("thirty days")
    end = partition_end("raw/posts/board=pol/date=2026-10-01/hour=05/x.parquet")
    assert end == datetime(2026, 10, 1, 6, tzinfo=UTC)


def test_prune_keeps_unloaded_and_unmerged(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    wh_path = str(tmp_path / "w.duckdb")
    old = NOW - timedelta(days=40)
    _write(lake, old, "old-loaded", 100)
    _write(lake, NOW - timedelta(hours=1), "new-loaded", 200)
    wh = open_warehouse(wh_path)
    load_lake(lake, wh)  # loads both
    _write(lake, old, "old-unloaded", 300)  # an old file the warehouse has not seen
    report = prune(lake, wh, timedelta(days=30), now=NOW)
    wh.close()
    names = sorted(f.path.rsplit("/", 1)[1] for f in lake.files("posts"))
    assert names == ["new-loaded.parquet", "old-unloaded.parquet"]
    assert report.files_removed == 1 and report.old_files_kept_unloaded == 1
    assert report.raw_rows_removed == {"posts": 0, "threads": 0}  # not merged by dbt yet

    transform(wh_path, quiet=True)  # now the loaded rows are merged into posts
    wh = open_warehouse(wh_path)
    try:
        dry = prune(lake, wh, timedelta(days=0), now=datetime.now(UTC), dry_run=True)
        assert dry.raw_rows_removed["posts"] == 6 and wh.count("posts") == 6
        report = prune(lake, wh, timedelta(days=0), now=datetime.now(UTC))
        assert report.raw_rows_removed["posts"] == 6 and wh.count("posts") == 0
        # the unloaded file is still there, however old
        assert "old-unloaded.parquet" in [f.path.rsplit("/", 1)[1] for f in lake.files("posts")]
    finally:
        wh.close()
