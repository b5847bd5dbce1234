"""`polit serve`: the 4chan and FoolFuuka read APIs over the shared recording's warehouse,
read by real clients (BASC-py4chan, moesearch) from a real `polit serve`; the HTTP rules
(Last-Modified, limits, CORS, errors); and a server that never stops a load or a build."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import basc_py4chan
import httpx
import moesearch
import pytest
from bench.crawl_vs_seed import seed_api_at
from moesearch.exceptions import ArchiveException
from starlette.testclient import TestClient

from polit.search.index import update_index
from polit.serve.app import create_app
from tests.helpers.built import recording_warehouse
from tests.helpers.serve import POLIT, serving
from tests.helpers.warehouse import query


@pytest.fixture(scope="module")
def warehouse(recording, tmp_path_factory) -> Path:
    """A copy of the recording's warehouse, with its search index."""
    path = tmp_path_factory.mktemp("serve") / "warehouse.duckdb"
    shutil.copyfile(recording_warehouse(recording, tmp_path_factory), path)
    update_index(str(path))
    return path


@pytest.fixture(scope="module")
def url(warehouse: Path):
    with serving(warehouse, "--rate", "0") as base:
        yield base


@pytest.fixture(scope="module")
def client(warehouse: Path):
    with TestClient(create_app(str(warehouse), rate=0)) as c:
        yield c


def thread_truth(warehouse: Path, where: str = "TRUE") -> dict[int, dict[int, tuple]]:
    """thread -> post -> (deleted, com of its last version), from the warehouse."""
    rows = query(
        warehouse,
        f"""SELECT thread_id, post_id, deleted_at IS NOT NULL, comment_html
        FROM main.posts WHERE last_seen_at IS NOT NULL AND ({where})""",
    )
    out: dict[int, dict[int, tuple]] = {}
    for thread, post, deleted, com in rows:
        out.setdefault(thread, {})[post] = (deleted, com)
    return out


def check_thread(body: dict, expected: dict[int, tuple]) -> None:
    posts = body["posts"]
    assert [p["no"] for p in posts] == sorted(expected)
    for p in posts:
        deleted, com = expected[p["no"]]
        assert p.get("com") == com
        assert ("deleted" in p) == deleted
        if deleted:
            # never gone before it was posted (the replay's clock can be that very second)
            assert p["deleted"] == 1 and p["deleted_at"] >= p["time"]


def sample(truth: dict[int, dict[int, tuple]], n: int) -> list[int]:
    """Threads with deleted posts first, then the biggest ones, then the rest."""
    with_deleted = [t for t, ps in truth.items() if any(d for d, _ in ps.values())]
    biggest = sorted(truth, key=lambda t: -len(truth[t]))
    picked = list(dict.fromkeys([*with_deleted[: n // 2], *biggest[: n // 4], *sorted(truth)]))
    return picked[:n]


def test_thread_json_holds_the_posts_polit_captured(warehouse: Path, url: str) -> None:
    truth = thread_truth(warehouse)
    threads = sample(truth, 40)
    assert any(any(d for d, _ in truth[t].values()) for t in threads)
    with httpx.Client(base_url=url, timeout=60) as http:
        for no in threads:
            r = http.get(f"/pol/thread/{no}.json")
            assert r.status_code == 200, no
            check_thread(r.json(), truth[no])
        assert http.get("/pol/thread/1.json").status_code == 404


@pytest.mark.slow
def test_every_thread_json_holds_the_posts_polit_captured(warehouse: Path, client) -> None:
    truth = thread_truth(warehouse)
    for no, expected in truth.items():
        r = client.get(f"/pol/thread/{no}.json")
        if r.status_code == 404:  # a thread whose OP polit never saw is not a thread here
            assert no not in expected
            continue
        check_thread(r.json(), expected)


def test_thread_json_keeps_every_field_the_api_sent(warehouse: Path, client) -> None:
    (no,) = query(
        warehouse,
        "SELECT thread_id FROM main.threads WHERE number_of_posts > 100 ORDER BY thread_id LIMIT 1",
    )[0]
    posts = client.get(f"/pol/thread/{no}.json").json()["posts"]
    op = posts[0]
    assert op["no"] == no and op["resto"] == 0
    for field in ("time", "now", "name", "com", "replies", "images"):
        assert field in op
    images = [p for p in posts if "filename" in p]
    assert images and all("ext" in p for p in images)
    # the OP's newest version: every field the lake holds for it, and no other
    from polit.lake.schema import API_INT_FIELDS, API_STR_FIELDS

    names = ("no", *API_INT_FIELDS, *API_STR_FIELDS)
    row = query(
        warehouse,
        f"""SELECT {", ".join(f'r."{c}"' for c in names)}
        FROM raw.posts AS r JOIN main.posts AS p ON p.post_id = r.no
        AND p.seen_seq = coalesce(r.seq, -1) WHERE r.no = {no} AND r.deleted_at IS NULL""",
    )[0]
    assert {k: v for k, v in zip(names, row, strict=True) if v is not None} == op
    assert all(p["resto"] == no for p in posts[1:])


def test_basc_py4chan_reads_threads_and_posts(warehouse: Path, url: str) -> None:
    live = {
        t
        for (t,) in query(
            warehouse, "SELECT thread_id FROM main.threads WHERE NOT is_archived AND NOT is_deleted"
        )
    }
    truth = thread_truth(warehouse)
    with seed_api_at(url):
        board = basc_py4chan.Board("pol")
        ids = board.get_all_thread_ids()
        listed = [
            t["no"] for p in httpx.get(url + "/pol/threads.json").json() for t in p["threads"]
        ]
        assert ids == listed and set(ids) <= live
        assert len(ids) == min(150, len([t for t in live if t in truth and t in truth[t]]))
        for no in sample(truth, 12):
            thread = board.get_thread(no)
            assert thread is not None, no
            assert [p.post_id for p in thread.all_posts] == sorted(truth[no])
            assert thread.topic.comment is not None
        threads = board.get_all_threads()
        assert {t.id for t in threads} == set(ids)


def test_threads_catalog_and_archive(warehouse: Path, client) -> None:
    live = {
        t
        for (t,) in query(
            warehouse, "SELECT thread_id FROM main.threads WHERE NOT is_archived AND NOT is_deleted"
        )
    }
    archived = [
        t
        for (t,) in query(
            warehouse,
            "SELECT thread_id FROM main.threads WHERE is_archived AND NOT is_deleted ORDER BY 1",
        )
    ]
    pages = client.get("/pol/threads.json").json()
    listed = [t["no"] for p in pages for t in p["threads"]]
    assert len(listed) == len(set(listed)) and set(listed) <= live
    assert all(len(p["threads"]) <= 15 for p in pages) and len(pages) <= 10
    catalog = client.get("/pol/catalog.json").json()
    ops = [t for p in catalog for t in p["threads"]]
    assert {t["no"] for t in ops} <= set(listed)
    assert all(len(t["last_replies"]) <= 5 and t["resto"] == 0 for t in ops)
    assert client.get("/pol/archive.json").json() == archived
    assert client.get("/boards.json").json()["boards"][0]["board"] == "pol"
    assert client.get("/nope/threads.json").status_code == 404


def test_last_modified_and_if_modified_since(warehouse: Path, client) -> None:
    (no,) = query(warehouse, "SELECT min(thread_id) FROM main.threads")[0]
    for path in (f"/pol/thread/{no}.json", "/pol/threads.json", "/pol/catalog.json"):
        r = client.get(path)
        stamp = r.headers["last-modified"]
        assert stamp.endswith(" GMT")
        again = client.get(path, headers={"If-Modified-Since": stamp})
        assert again.status_code == 304 and again.content == b""
        older = client.get(path, headers={"If-Modified-Since": "Mon, 27 Mar 2023 00:00:00 GMT"})
        assert older.status_code == 200


def polit_search(warehouse: Path, text: str) -> list[dict]:
    result = subprocess.run(
        [POLIT, "search", text, "--warehouse", str(warehouse), "--json", "--limit", "100000"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def search_all(url: str, **params: str) -> list:
    found, page = [], 1
    while True:
        try:
            posts = moesearch.search(url, "pol", page=page, **params)
        except ArchiveException as exc:
            assert exc.args[0] == "No results found."
            return found
        assert 0 < len(posts) <= 25
        found += posts
        page += 1


def test_moesearch_search_returns_what_polit_search_does(warehouse: Path, url: str) -> None:
    expected = polit_search(warehouse, "nashville")
    assert len(expected) > 25  # more than one page
    found = search_all(url, text="nashville")
    assert sorted(int(p.num) for p in found) == sorted(h["post_id"] for h in expected)
    times = [p.timestamp for p in found]
    assert times == sorted(times, reverse=True)  # FoolFuuka's order: newest first
    oldest = search_all(url, text="nashville", order="asc")
    assert sorted(p.num for p in oldest) == sorted(p.num for p in found)
    assert [p.timestamp for p in oldest] == sorted(p.timestamp for p in oldest)


def test_moesearch_search_filters(warehouse: Path, url: str) -> None:
    ops = search_all(url, text="nashville", type="op")
    truth = {h["post_id"] for h in polit_search(warehouse, "nashville")}
    op_ids = {t for (t,) in query(warehouse, "SELECT post_id FROM main.posts WHERE is_op")}
    assert {int(p.num) for p in ops} == truth & op_ids
    gone = search_all(url, text="nashville", deleted="deleted")
    deleted = {
        p
        for (p,) in query(warehouse, "SELECT post_id FROM main.posts WHERE deleted_at IS NOT NULL")
    }
    assert {int(p.num) for p in gone} == truth & deleted
    (subject,) = query(
        warehouse,
        "SELECT subject FROM main.posts WHERE is_op AND subject"
        " IS NOT NULL ORDER BY post_id LIMIT 1",
    )[0]
    word = subject.split()[0]
    by_subject = search_all(url, subject=word)
    expected = {
        p
        for (p,) in query(
            warehouse,
            f"SELECT post_id FROM main.posts WHERE strpos(lower(subject), lower('{word}')) > 0",
        )
    }
    assert {int(p.num) for p in by_subject} == expected


def test_moesearch_thread_and_post(warehouse: Path, url: str) -> None:
    truth = thread_truth(warehouse)
    for no in sample(truth, 6):
        thread = moesearch.thread(url, "pol", no)
        assert int(thread.op.num) == no
        assert [int(p.num) for p in [thread.op, *thread.posts]] == sorted(truth[no])
        deleted = {int(p.num) for p in [thread.op, *thread.posts] if p.deleted == "1"}
        assert deleted == {p for p, (d, _) in truth[no].items() if d}
    (post_id, comment) = query(
        warehouse,
        "SELECT post_id, comment FROM main.posts WHERE NOT is_op AND comment IS NOT NULL LIMIT 1",
    )[0]
    post = moesearch.post(url, "pol", post_id)
    assert int(post.num) == post_id and post.comment == comment
    assert post.board.short_name == "pol"
    with pytest.raises(ArchiveException, match="Post not found"):
        moesearch.post(url, "pol", 1)
    index = moesearch.index(url, "pol", 1)
    assert 0 < len(index) <= 10


def test_foolfuuka_errors_are_its_own(client) -> None:
    cases = {
        "/_/api/chan/thread/?num=1": (422, "No board selected."),
        "/_/api/chan/thread/?board=pol": (422, 'The "num" parameter is missing.'),
        "/_/api/chan/thread/?board=pol&num=x1": (422, 'The value for "num" is invalid.'),
        "/_/api/chan/thread/?board=pol&num=1": (200, "Thread not found."),
        "/_/api/chan/index/?board=pol": (422, 'The "page" parameter is missing.'),
        "/_/api/chan/search/?boards=pol&text=zzzqqqxxx": (200, "No results found."),
        "/_/api/chan/nothing/": (404, "Requested resource does not exist."),
    }
    for path, (status, message) in cases.items():
        r = client.get(path)
        assert (r.status_code, r.json()) == (status, {"error": message}), path
    hostile = client.get(
        "/_/api/chan/search/", params={"boards": "pol", "text": "x'; DROP TABLE posts; --"}
    )
    assert "error" in hostile.json() or "0" in hostile.json()
    assert client.get("/_/api/chan/post/?board=pol&num=1").json() == {"error": "Post not found."}


def test_gzip_limits_cors_and_read_only(warehouse: Path) -> None:
    with TestClient(create_app(str(warehouse), rate=1, burst=3)) as c:
        r = c.get("/pol/threads.json", headers={"Accept-Encoding": "gzip"})
        assert r.headers["content-encoding"] == "gzip"
        assert "access-control-allow-origin" not in r.headers
        codes = [c.get("/boards.json").status_code for _ in range(4)]
        assert codes[:2] == [200, 200] and codes[-1] == 429
        assert int(c.get("/boards.json").headers["retry-after"]) >= 1
        assert c.post("/boards.json").status_code in (405, 429)
    with TestClient(create_app(str(warehouse), ("https://example.org",), rate=0)) as c:
        r = c.get("/boards.json", headers={"Origin": "https://example.org"})
        assert r.headers["access-control-allow-origin"] == "https://example.org"
        assert c.delete("/boards.json").status_code == 405


@pytest.mark.slow
def test_a_running_serve_never_stops_load_and_transform(recording, tmp_path_factory, tmp_path):
    """Serve half the recording; while requests keep coming, a real `polit load` of the rest
    and `polit transform` succeed; then the API shows the new posts."""
    import threading

    from polit.lake.schema import TABLES
    from polit.lake.store import Lake
    from polit.transform import transform
    from tests.helpers.warehouse import load, replayed_lake

    lake = replayed_lake(recording, tmp_path_factory)
    path = tmp_path / "warehouse.duckdb"
    n = {t: len(Lake(str(lake)).files(t)) for t in TABLES}
    load(lake, path, {t: slice(0, n[t] // 2) for t in TABLES})
    transform(str(path), workdir=tmp_path / "dbt", quiet=True)
    update_index(str(path))
    before = {p for (p,) in query(path, "SELECT post_id FROM main.posts")}
    with serving(path, "--rate", "0") as base, httpx.Client(base_url=base, timeout=60) as http:
        assert http.get("/pol/threads.json").status_code == 200  # it holds the file now
        statuses: list[int] = []
        stop = threading.Event()

        def keep_asking() -> None:
            with httpx.Client(base_url=base, timeout=60) as c:
                while not stop.is_set():
                    statuses.append(c.get("/pol/threads.json").status_code)
                    time.sleep(0.05)

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            for args in (["load", "--lake", str(lake)], ["transform"]):
                done = subprocess.run(
                    [POLIT, *args, "--warehouse", str(path)],
                    capture_output=True,
                    text=True,
                    timeout=900,
                )
                assert done.returncode == 0, done.stderr
        finally:
            stop.set()
            asker.join()
        assert set(statuses) <= {200, 503} and 200 in statuses
        new = query(path, "SELECT post_id, thread_id FROM main.posts ORDER BY post_id DESC")
        post, thread = next((p, t) for p, t in new if p not in before)
        deadline = time.monotonic() + 30
        while (r := http.get(f"/pol/thread/{thread}.json")).status_code == 503:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert post in {p["no"] for p in r.json()["posts"]}
        assert int(moesearch.post(base, "pol", post).num) == post
