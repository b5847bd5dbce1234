"""The crawler against the real recorded /pol/ board, served by the replay server."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest

from polit.lake.stats import latest_posts, read_table
from polit.lake.store import Lake
from tests.helpers.replay_helpers import recording_truth, replay_crawl


@pytest.fixture(scope="module")
def truth(recording):
    return recording_truth(recording)


@pytest.fixture(scope="module")
def crawled(recording, tmp_path_factory):
    lake_dir = tmp_path_factory.mktemp("lake")
    reports = replay_crawl(recording, lake_dir)
    return Lake(str(lake_dir)), reports


def test_truth_matches_the_fixture_readme(truth):
    assert len(truth.post_thread) == 59_993
    assert len(truth.deleted) == 123


def test_every_post_captured_under_the_thread_it_was_served_in(crawled, truth):
    lake, _ = crawled
    latest = latest_posts(lake)
    got = dict(zip(latest["no"].to_pylist(), latest["thread_no"].to_pylist(), strict=True))
    assert len(got) == len(truth.post_thread)
    wrong = {no for no, t in truth.post_thread.items() if got.get(no) != t}
    assert not wrong, f"{len(wrong)} posts missing or under the wrong thread"
    # every stored row (not just the latest) names the right thread
    rows = read_table(lake, "posts", ["no", "thread_no"])
    pairs = set(zip(rows["no"].to_pylist(), rows["thread_no"].to_pylist(), strict=True))
    assert all(truth.post_thread[no] == t for no, t in pairs)


def test_exactly_the_missing_posts_are_deleted(crawled, truth):
    lake, _ = crawled
    latest = latest_posts(lake)
    deleted = set(latest.filter(pc.is_valid(latest["deleted_at"]))["no"].to_pylist())
    assert deleted == truth.deleted


def test_posts_that_come_back_are_undeleted(crawled):
    lake, reports = crawled
    # in the board's write order: observation times follow the board's clock, which a
    # recording's snapshots need not keep in order
    rows = read_table(lake, "posts", ["no", "seq", "deleted_at"]).sort_by(
        [("no", "ascending"), ("seq", "ascending")]
    )
    came_back, previous = set(), {}
    for no, deleted_at in zip(rows["no"].to_pylist(), rows["deleted_at"].to_pylist(), strict=True):
        if previous.get(no, False) and deleted_at is None:
            came_back.add(no)
        previous[no] = deleted_at is not None
    assert len(came_back) == 336  # the fixture's README counts 336 such posts
    assert sum(r.restored_posts for r in reports) == 336


def test_every_thread_that_left_is_archived(crawled, truth):
    lake, reports = crawled
    threads = read_table(lake, "threads", ["no", "event", "archived_at"])
    archived = set(threads.filter(pc.equal(threads["event"], "archived"))["no"].to_pylist())
    deleted = set(threads.filter(pc.equal(threads["event"], "deleted"))["no"].to_pylist())
    assert archived == truth.left
    assert not deleted
    assert sum(r.archived_threads for r in reports) == truth.left_events == 999


def test_requests_are_minimal(crawled):
    _, reports = crawled
    first = reports[0]
    # baseline cycle: boards.json + threads.json + every listed thread + archive.json
    assert first.requests == 1 + 1 + first.threads_fetched + 1
    for r in reports[1:]:
        assert r.requests <= 1 + r.threads_fetched + r.threads_unchanged + 1 + r.archived_threads


def test_unchanged_board_costs_one_request(recording, tmp_path):
    reports = replay_crawl(recording, tmp_path, every=100, extra_cycles=2)
    # snapshots 0 and 10 are crawled, then the board is unchanged twice
    assert [r.not_modified for r in reports[-2:]] == [True, True]
    assert [r.requests for r in reports[-2:]] == [1, 1]
