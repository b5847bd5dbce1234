"""The pure diff of one thread body against what is known: no server, no lake."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from polit.chan.posts import parse_thread
from polit.crawl.diff import Where, archived_at, diff_thread, thread_row
from polit.crawl.state import ThreadState
from tests.helpers.replay_helpers import post

T0 = datetime(2023, 3, 27, 12, tzinfo=UTC)
T1 = datetime(2023, 3, 27, 13, tzinfo=UTC)


def body(*posts):
    return parse_thread({"posts": [dict(p) for p in posts]}, 1)


def at(observed):
    return Where("pol", 1, observed, "run-1")


def test_new_posts_give_one_row_each_with_polit_columns():
    d = diff_thread(ThreadState(), body(post(1), post(2, 1)), at(T0))
    assert (d.new, d.changed, d.deleted_posts, d.restored) == (2, 0, 0, 0)
    assert [r["no"] for r in d.rows] == [1, 2]
    for r in d.rows:
        stamp = (r["board"], r["thread_no"], r["observed_at"], r["run_id"])
        assert stamp == ("pol", 1, T0, "run-1")
        assert "deleted_at" not in r  # not a tombstone
    assert set(d.versions) == {1, 2} and d.op is not None and d.op["no"] == 1


def test_same_body_again_gives_no_rows_and_state_is_not_touched():
    known = ThreadState()
    diff_thread(known, body(post(1), post(2, 1)), at(T0)).adopt(known)
    before = (dict(known.posts), set(known.deleted))
    d = diff_thread(known, body(post(1), post(2, 1)), at(T1))
    assert d.rows == [] and (d.new, d.changed) == (0, 0)
    d2 = diff_thread(known, body(post(1)), at(T1))  # a diff does not change what is known
    assert (dict(known.posts), set(known.deleted)) == before and d2.deleted_posts == 1


def test_a_changed_post_gets_a_new_version_row():
    known = ThreadState()
    diff_thread(known, body(post(1), post(2, 1)), at(T0)).adopt(known)
    d = diff_thread(known, body(post(1), post(2, 1, filedeleted=1)), at(T1))
    assert (d.new, d.changed) == (0, 1)
    assert [(r["no"], r["filedeleted"]) for r in d.rows] == [(2, 1)]
    assert d.versions[2] != known.posts[2]


def test_a_missing_post_gets_a_tombstone_then_comes_back():
    known = ThreadState()
    diff_thread(known, body(post(1), post(2, 1), post(3, 1)), at(T0)).adopt(known)
    gone = diff_thread(known, body(post(1), post(3, 1)), at(T1))
    assert gone.deleted_posts == 1 and gone.deleted == {2}
    (tomb,) = gone.rows
    assert (tomb["no"], tomb["thread_no"], tomb["deleted_at"]) == (2, 1, T1)
    gone.adopt(known)
    again = diff_thread(known, body(post(1), post(3, 1)), at(T1))
    assert again.rows == []  # one tombstone, not one per fetch
    back = diff_thread(known, body(post(1), post(2, 1), post(3, 1)), at(T1))
    assert back.restored == 1 and back.deleted == set() and [r["no"] for r in back.rows] == [2]


def test_an_incomplete_body_proves_nothing_gone():
    known = ThreadState()
    diff_thread(known, body(post(1), post(2, 1)), at(T0)).adopt(known)
    broken = parse_thread({"posts": [post(1), {"resto": 1, "com": "no number"}]}, 1)
    d = diff_thread(known, broken, at(T1))
    assert not d.inferred_deletions and d.deleted_posts == 0 and d.rows == []


def test_every_snapshot_of_a_real_thread(recording):
    """Diffing a recorded thread's copies in order: every post ever served has a version,
    and the tombstones are exactly the posts missing from the last copy."""
    meta = json.loads((recording / "recording.json").read_text())
    no = 421202079
    known, served, last = ThreadState(), set(), set()
    for snap in meta["snapshots"]:
        path = recording / snap["dir"] / "thread" / f"{no}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        served |= {p["no"] for p in data["posts"]}
        last = {p["no"] for p in data["posts"]}
        diff_thread(known, parse_thread(data, no), Where("pol", no, T0, "r")).adopt(known)
    assert set(known.posts) == served and known.deleted == served - last
    assert 421208946 in served - last  # the post that lived in one snapshot only


def test_thread_rows_leave_out_what_int64_cannot_hold():
    row = thread_row(at(T0), "fetched", 2**63, op={"replies": 2**64, "images": 4}, page=3)
    assert (row["last_modified"], row["replies"], row["images"], row["page"]) == (None, None, 4, 3)
    assert row["event"] == "fetched" and row["no"] == 1


def test_archived_at_from_the_op_or_when_seen():
    assert archived_at({"archived_on": 1679923200}, T1) == datetime(2023, 3, 27, 13, 20, tzinfo=UTC)
    assert archived_at({"archived_on": 10**15}, T1) == T1  # beyond datetime's years
    assert archived_at({}, T1) == archived_at(None, T1) == T1
