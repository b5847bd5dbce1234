"""The shared recording crawled today, years after it was made, through the replay server:
load, transform, report. Its observations are on the board's clock (the replay's Date), so
the report counts its deletions in its own hours and titles its own day. What it must say
is computed here from the recording's files, not by polit."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polit.cli import app
from polit.lake.stats import read_table
from polit.lake.store import Lake
from polit.transform import transform
from tests.helpers.replay_helpers import recording_truth, replay_crawl, trimmed_recording
from tests.helpers.warehouse import load, query, replayed_lake

runner = CliRunner()


def _snapshot_times(recording: Path) -> tuple[datetime, datetime]:
    """When the recording's first snapshot was taken, and its last one ended: the later of
    its `at` and the newest post it holds (a snapshot took a while to collect)."""
    meta = json.loads((recording / "recording.json").read_text())
    ats = [datetime.fromisoformat(s["at"].replace("Z", "+00:00")) for s in meta["snapshots"]]
    last = recording / meta["snapshots"][-1]["dir"] / "thread"
    newest = max(p["time"] for f in last.glob("*.json")
                 for p in json.loads(f.read_text())["posts"])  # fmt: skip
    return ats[0], max(ats[-1], datetime.fromtimestamp(newest, UTC))


@pytest.mark.slow
def test_the_recording_crawled_today_reports_its_own_day(recording, tmp_path, tmp_path_factory):
    truth = recording_truth(recording)  # posts served, then missing from their last copy
    assert len(truth.deleted) == 123
    lake, wh = replayed_lake(recording, tmp_path_factory), tmp_path / "w.duckdb"
    load(lake, wh)
    transform(str(wh), workdir=tmp_path / "dbt", quiet=True)
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--warehouse", str(wh), "--out", str(out),
                                 "--board", "pol"])  # fmt: skip
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")

    deleted = re.search(r"<div>([\d,]+)<span>deleted posts</span></div>", page)
    assert deleted is not None and int(deleted[1].replace(",", "")) == len(truth.deleted)

    first, last = _snapshot_times(recording)
    hours = query(wh, "SELECT hour, deleted_posts FROM moderation_hourly"
                  " WHERE deleted_posts > 0 ORDER BY hour")  # fmt: skip
    assert sum(n for _, n in hours) == len(truth.deleted)
    assert first.replace(minute=0, second=0) < hours[0][0] <= hours[-1][0] <= last

    title = re.search(r"<title>(.*?)</title>", page)
    assert title is not None
    assert html.unescape(title[1]) == f"polit: /pol/ {first:%Y-%m-%d %H:%M} to {last:%H:%M} UTC"


def test_rows_of_a_crawl_today_are_timed_within_the_recording(recording, tmp_path):
    """The fast half: two snapshots crawled now give rows on the recording's clock, not on
    this machine's (which is years later)."""
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=2)
    replay_crawl(rec, tmp_path / "lake")
    first, last = _snapshot_times(rec)
    posts = read_table(Lake(str(tmp_path / "lake")), "posts")
    observed = posts.column("observed_at").to_pylist()
    assert observed and all(first <= t <= last for t in observed), (min(observed), first, last)
