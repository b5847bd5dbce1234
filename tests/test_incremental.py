"""Every model after any sequence of incremental runs equals a full refresh, row for row:
on the shared recording played in parts, and on a hand-made board whose changes come late
(a quote of an old post, a quoted post that arrives after its quote, a late deletion, an
undeletion, a changed text, a deleted file, a thread archived days later)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from polit.lake.schema import TABLES
from polit.lake.store import Lake
from polit.transform import transform
from polit.transform.runner import log_file
from tests.helpers.replay_helpers import post, replay_crawl, write_recording
from tests.helpers.warehouse import build_in_parts, digests, load, query, replayed_lake

START = datetime(2023, 3, 27, tzinfo=UTC)
HOURS = [0, 1, 2, 3, 5, 30, 50]  # the snapshots: the last two a day and two days later
AT = [START + timedelta(hours=h) for h in HOURS]
MD5 = "cmVwZWF0ZWRyZXBlYXRlZA=="


def _t(snapshot: int, k: int = 0) -> int:
    """A post time a few minutes before snapshot `snapshot`."""
    return int(AT[snapshot].timestamp()) - 600 + k


def _quote(no: int, op: int | None = None) -> str:
    href = f"/pol/thread/{op}#p{no}" if op else f"#p{no}"
    return f'<a href="{href}" class="quotelink">&gt;&gt;{no}</a>'


def _file(tim: int, md5: str) -> dict:
    return {"tim": tim, "ext": ".jpg", "md5": md5, "fsize": 100, "w": 1, "h": 1,
            "filename": f"f{tim}"}  # fmt: skip


def late_board(out: Path) -> Path:
    a = [post(100, time=_t(0), sub="thread a", country="DE", country_name="Germany"),
         post(101, 100, time=_t(0, 1), country="US", **_file(1, MD5)),
         post(102, 100, time=_t(0, 2), country="US"),
         post(103, 100, time=_t(0, 3), com="kept <br>after all"),
         post(104, 100, time=_t(0, 4), **_file(2, "ZmlsZWdvbmVmaWxlZ29uZQ==")),
         post(105, 100, time=_t(0, 5))]  # fmt: skip
    b = [post(200, time=_t(0, 10), sub="thread b", country="FR"),
         post(201, 200, time=_t(0, 11), **_file(3, MD5)),
         post(202, 200, time=_t(0, 12), com="deleted hours later"),
         post(203, 200, time=_t(0, 13))]  # fmt: skip
    c = [post(150, time=_t(0, 20), sub="thread c"), post(151, 150, time=_t(0, 21))]
    a1 = [*a, post(106, 100, time=_t(1), com=f"{_quote(201, 200)} and {_quote(151, 150)}")]
    b1 = [*b, post(204, 200, time=_t(1, 1), com=_quote(201))]
    a2 = [p for p in a1 if p["no"] != 103]  # 103 deleted...
    a3 = [dict(p) for p in a1]  # ... and back: undeleted
    a3[2]["com"] = "post 102<br><br><b>(USER WAS BANNED FOR THIS POST)</b>"  # a changed text
    a3[4] = {k: v for k, v in a3[4].items() if k not in _file(0, "")} | {"filedeleted": 1}
    a4 = [*a3, post(107, 100, time=_t(4), com=f"{_quote(101)} old news")]  # a late quote
    b4 = [p for p in b1 if p["no"] != 202]  # a late deletion
    a5 = [*a4, post(108, 100, time=_t(5), country="DE")]
    final_a = [{**a5[0], "archived": 1, "archived_on": int(AT[6].timestamp())}, *a5[1:]]
    final_c = [{**c[0], "archived": 1, "archived_on": int(AT[6].timestamp())}, *c[1:]]
    snapshots = [
        {100: a, 200: b},
        {100: a1, 200: b1},
        {100: a2, 200: b1, 150: c},  # c is crawled late: 106 quoted 151 before
        {100: a3, 200: b1, 150: c},
        {100: a4, 200: b4, 150: c},
        {100: a5, 150: c},  # b left unarchived: deleted
        {300: [post(300, time=_t(6), sub="thread d")]},  # a and c archived, two days on
    ]
    return write_recording(out, snapshots, at=AT, archived={6: {100: final_a, 150: final_c}})


def _incremental_equals_full_refresh(lake: Path, tmp_path: Path, parts: int) -> Path:
    path, work = tmp_path / "w.duckdb", tmp_path / "dbt"
    build_in_parts(lake, path, work, parts)
    # the cursors, new every run, reach dbt without making it parse the project again
    assert log_file(work).read_text().count("Unable to do partial parsing") == 1  # the first
    incremental = digests(path)
    shutil.copy(path, tmp_path / "incremental.duckdb")
    transform(str(path), full_refresh=True, workdir=work, quiet=True)
    full = digests(path)
    assert len(full) >= 17
    assert {t for t in full if incremental[t] != full[t]} == set()
    return path


def test_late_changes_land_in_the_right_rows(tmp_path):
    lake = tmp_path / "lake"
    replay_crawl(late_board(tmp_path / "rec"), lake)
    path = _incremental_equals_full_refresh(lake, tmp_path, parts=len(HOURS))
    # the late changes are there (so the equality above is about them)
    deleted = query(path, "select post_id, deleted_at from posts where deleted_at is not null")
    assert deleted == [(202, AT[4])]
    moderation = query(path, "select hour, deleted_posts, deleted_threads from moderation_hourly"
                       " order by hour")  # fmt: skip
    assert [(h, p) for h, p, _ in moderation if p] == [(AT[4], 1)]  # 103's deletion taken back
    assert sum(t for _, _, t in moderation) == 1  # thread b
    edges = dict(query(path, "select quoted_post_id, quoted_thread_id from reply_edges"
                       " where post_id = 106"))  # fmt: skip
    assert edges == {201: 200, 151: 150}  # 151 arrived after the quote
    quoted = dict(query(path, "select post_id, times_quoted from most_quoted_posts"))
    assert quoted == {201: 2}
    assert query(path, "select end_state from thread_activity where thread_id = 100") == [
        ("archived",)
    ]
    files = query(path, "select file_md5, sum(posts) from image_posts_daily group by 1")
    assert dict(files) == {MD5: 2}  # 104's file was deleted


def test_a_build_whose_cursors_are_not_saved_reruns_to_a_full_refresh(tmp_path):
    """The cursors are saved once, at the end of a run (on-run-end): a run killed after its
    models' rows but before that leaves the old cursors; the rerun recomputes more and
    reaches the rows of a full refresh."""
    lake, path, work = tmp_path / "lake", tmp_path / "w.duckdb", tmp_path / "dbt"
    replay_crawl(late_board(tmp_path / "rec"), lake)
    n = {t: len(Lake(str(lake)).files(t)) for t in TABLES}
    load(lake, path, {t: slice(0, n[t] // 2) for t in TABLES})
    transform(str(path), workdir=work, quiet=True)
    cursors = "select model, loaded_at from polit_cursors order by model"
    saved = query(path, cursors)
    assert len(saved) >= 17 and all(loaded_at for _, loaded_at in saved)
    load(lake, path)  # the rest
    transform(str(path), workdir=work, quiet=True, dbt_vars={"polit_save_cursors": False})
    assert query(path, cursors) == saved  # rows built, cursors not saved: the kill
    transform(str(path), workdir=work, quiet=True)
    moved = dict(query(path, cursors))
    assert all(moved[m] > at for m, at in saved)
    incremental = digests(path)
    transform(str(path), full_refresh=True, workdir=work, quiet=True)
    full = digests(path)
    assert {t for t in full if incremental[t] != full[t]} == set()


@pytest.mark.slow
def test_the_recording_in_five_parts_equals_a_full_refresh(recording, tmp_path, tmp_path_factory):
    _incremental_equals_full_refresh(replayed_lake(recording, tmp_path_factory), tmp_path, 5)
