"""The crawler on synthetic boards it has never seen: 10-minute and hourly polling."""

from __future__ import annotations

import json

import pyarrow.compute as pc
import pytest

from polit.lake.stats import latest_posts, read_table
from polit.lake.store import Lake
from polit.replay.simulate import simulate
from tests.helpers.replay_helpers import recording_truth, replay_crawl


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic") / "rec"
    simulate(out, hours=2, seed=11, posts_per_hour=4000, cadence_minutes=10)  # 2 threads are
    # born and archived between two snapshots in this run
    return out


def _archive(rec, index):
    meta = json.loads((rec / "recording.json").read_text())
    return set(json.loads((rec / meta["snapshots"][index]["dir"] / "archive.json").read_text()))


def _events(lake, event):
    t = read_table(lake, "threads", ["no", "event"])
    return set(t.filter(pc.equal(t["event"], event))["no"].to_pylist())


def test_every_snapshot_captures_everything(board, tmp_path):
    truth = recording_truth(board)
    reports = replay_crawl(board, tmp_path)
    lake = Lake(str(tmp_path))
    latest = latest_posts(lake)
    got = dict(zip(latest["no"].to_pylist(), latest["thread_no"].to_pylist(), strict=True))
    assert got == truth.post_thread
    deleted = set(latest.filter(pc.is_valid(latest["deleted_at"]))["no"].to_pylist())
    assert deleted == truth.deleted and deleted
    final_archive = _archive(board, -1)
    # every thread archived during the run, also one born and archived between two cycles
    assert _events(lake, "archived") == final_archive - _archive(board, 0)
    assert _events(lake, "archived") > truth.left & final_archive
    assert _events(lake, "deleted") == truth.left - final_archive
    assert truth.left - final_archive, "the synthetic board deletes some threads"
    assert not any(r.errors for r in reports)


def test_hourly_polling_still_gets_every_archived_thread_whole(board, tmp_path):
    replay_crawl(board, tmp_path, every=6)
    lake = Lake(str(tmp_path))
    rows = read_table(lake, "posts", ["no", "thread_no"])
    have = set(zip(rows["no"].to_pylist(), rows["thread_no"].to_pylist(), strict=True))
    archived_during_run = _archive(board, -1) - _archive(board, 0)
    assert len(archived_during_run) > 50
    meta = json.loads((board / "recording.json").read_text())
    missing = 0
    checked = 0
    for snap in meta["snapshots"]:
        for f in (board / snap["dir"] / "archive").glob("*.json"):
            no = int(f.stem)
            if no not in archived_during_run:
                continue
            for p in json.loads(f.read_text())["posts"]:
                checked += 1
                missing += (p["no"], no) not in have
    assert checked > 1000 and missing == 0
    assert _events(lake, "archived") >= archived_during_run
