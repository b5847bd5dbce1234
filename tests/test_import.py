"""`polit import ndjson` and `polit import seed-parquet`, and `polit replay ndjson`.

The key check: a synthetic NDJSON dataset, imported twice (load + transform after each),
gives the same dbt `posts` and `threads` as crawling the same threads from a replay server,
with old-format lake files (no score columns) on the crawl side.
"""

from __future__ import annotations

import gzip
import json
import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from typer.testing import CliRunner

from polit.chan.client import ChanClient
from polit.chan.html import parse_com
from polit.cli import app
from polit.config import Settings
from polit.crawl.crawler import crawl_once
from polit.importers.ndjson import compression, import_ndjson, iter_bodies
from polit.importers.seed_parquet import import_seed_parquet, to_html
from polit.lake.schema import POSTS, SCORE_FIELDS
from polit.lake.stats import read_table
from polit.lake.store import Lake
from polit.replay.ndjson import dataset_threads, write_ndjson
from polit.replay.server import ReplayServer
from polit.replay.simulate import generate_threads
from polit.transform import transform
from polit.warehouse import load_lake
from polit.warehouse.duck import DuckWarehouse, raw_columns
from tests.helpers.replay_helpers import write_recording
from tests.helpers.warehouse import query

POSTS_N, SEED = 3_000, 11
URL = "https://boards.4chan.org/pol/thread"
SCORES = list(SCORE_FIELDS.values())
MODELS = "+posts +threads"  # only our models: other dbt models are not this test's business
POST_COLUMNS = (
    "board, post_id, thread_id, poster_id, poster_name, tripcode, email, subject, comment, "
    "comment_html, file_name, file_extension, file_md5, capcode, country, country_name, flag, "
    "flag_name, url, file_size, width, height, quotes, links, is_op, has_file, "
    "is_file_deleted, is_spoiler, is_deleted, post_datetime, deleted_at"
)
THREAD_COLUMNS = (
    "board, thread_id, topic, url, number_of_posts, unique_posters, created_at, last_post_at, "
    "is_deleted"
)


def load_and_build(lake: Path, warehouse: Path, work: Path) -> None:
    wh = DuckWarehouse(str(warehouse))
    try:
        load_lake(Lake(str(lake)), wh)
    finally:
        wh.close()
    transform(str(warehouse), select=MODELS, workdir=work, quiet=True)


def drop_score_columns(lake: Path) -> int:
    """Rewrite every posts file as written before the score columns existed."""
    n = 0
    for f in Lake(str(lake)).files("posts"):
        t = pq.read_table(f.path)
        pq.write_table(t.drop_columns(SCORES), f.path, compression="zstd")
        n += 1
    return n


# -- the key check: import == crawl -----------------------------------------------------------
@pytest.fixture(scope="module")
def both(tmp_path_factory) -> SimpleNamespace:
    tmp = tmp_path_factory.mktemp("import")
    dataset = tmp / "pol.ndjson.gz"
    result = CliRunner().invoke(app, ["replay", "ndjson", "--posts", str(POSTS_N), "--seed",
                                      str(SEED), "--out", str(dataset)])  # fmt: skip
    assert result.exit_code == 0, result.output

    # import side: import, load, build (a copy of that warehouse is the single import's);
    # the same file again and its middle half (overlapping), load, build (incremental)
    imp_lake, imp_wh, once_wh = tmp / "imp_lake", tmp / "imp.duckdb", tmp / "once.duckdb"
    with gzip.open(dataset) as f:
        lines = f.readlines()
    half = tmp / "half.ndjson"
    half.write_bytes(b"".join(lines[len(lines) // 4 : 3 * len(lines) // 4]))
    for inputs in ([dataset], [dataset, half]):
        for path in inputs:  # one run each
            result = CliRunner().invoke(app, ["import", "ndjson", str(path), "--lake",
                                              str(imp_lake), "--workers", "2"])  # fmt: skip
            assert result.exit_code == 0, result.output
        load_and_build(imp_lake, imp_wh, tmp / "dbt_imp")
        if not once_wh.exists():
            shutil.copy(imp_wh, once_wh)

    # crawl side: the same threads served by the replay server, crawled once
    rec = write_recording(tmp / "rec", [{b["posts"][0]["no"]: b["posts"]
                                         for b in generate_threads(POSTS_N, SEED)}])  # fmt: skip
    crawl_lake, crawl_wh = tmp / "crawl_lake", tmp / "crawl.duckdb"
    with ReplayServer(rec) as srv:
        s = Settings(api_url=srv.url, lake=str(crawl_lake), max_rps=0)
        with ChanClient(s) as client:
            (report,) = crawl_once(client, Lake(str(crawl_lake)), ["pol"], min_thread_interval=0)
    assert not report.errors and report.threads_fetched > 50
    rewritten = drop_score_columns(crawl_lake)  # lake files from before the score columns
    load_and_build(crawl_lake, crawl_wh, tmp / "dbt_crawl")
    return SimpleNamespace(dataset=dataset, half=half, imp_lake=imp_lake, imp=imp_wh,
                           once=once_wh, crawl=crawl_wh, rewritten=rewritten)  # fmt: skip


def test_import_gives_the_same_posts_and_threads_as_a_crawl(both):
    for columns, table, key in ((POST_COLUMNS, "posts", "post_id"),
                                (THREAD_COLUMNS, "threads", "thread_id")):  # fmt: skip
        sql = f"SELECT {columns} FROM {table} ORDER BY board, {key}"
        imported, crawled = query(both.imp, sql), query(both.crawl, sql)
        assert len(imported) == len(crawled) > 0
        assert imported == crawled
    n = query(both.imp, "SELECT count(*) FROM posts")[0][0]
    assert n == sum(len(b["posts"]) for b in iter_bodies(both.dataset))


# -- re-imports: each post once in `posts` ---------------------------------------------------
def assert_each_post_once(warehouse: Path, reference: Path) -> None:
    """`posts` holds each (board, post_id) once, row for row the reference's content."""
    ((n, distinct),) = query(warehouse, "SELECT count(*), count(DISTINCT (board, post_id)) "
                                        "FROM posts")  # fmt: skip
    assert n == distinct, f"{n - distinct} duplicate rows in posts"
    sql = f"SELECT {POST_COLUMNS} FROM posts ORDER BY board, post_id"
    got, want = query(warehouse, sql), query(reference, sql)
    assert len(got) == len(want), f"{len(got)} posts, the reference has {len(want)}"
    assert got == want, "posts differ from the reference's"


def test_reimports_and_an_overlapping_import_keep_each_post_once(both):
    posts = sum(len(b["posts"]) for b in iter_bodies(both.dataset))
    overlap = sum(len(b["posts"]) for b in iter_bodies(both.half))
    assert 0 < overlap < posts
    raw = query(both.imp, "SELECT count(*), count(DISTINCT run_id) FROM raw.posts")[0]
    assert raw == (2 * posts + overlap, 3)  # the lake is at-least-once: every run's rows
    assert query(both.once, "SELECT count(*) FROM posts")[0][0] == posts
    assert_each_post_once(both.imp, both.once)


FIRST = "SELECT min(post_id) FROM posts"


def test_the_once_check_catches_a_doubled_changed_or_lost_post(both, tmp_path):
    for name, sql, why in (
        ("doubled", "INSERT INTO posts SELECT * FROM posts LIMIT 1", "1 duplicate rows"),
        ("changed", f"UPDATE posts SET comment = 'x' WHERE post_id = ({FIRST})", "differ"),
        ("lost", f"DELETE FROM posts WHERE post_id = ({FIRST})", "posts,"),
    ):
        copy = tmp_path / f"{name}.duckdb"
        shutil.copy(both.imp, copy)
        con = duckdb.connect(str(copy))
        con.execute(sql)
        con.close()
        with pytest.raises(AssertionError, match=why):
            assert_each_post_once(copy, both.once)


def test_scores_reach_the_raw_table_and_old_files_still_load(both):
    assert both.rewritten > 0
    bodies = {p["no"]: p for b in iter_bodies(both.dataset) for p in b["posts"]}
    rows = query(both.imp, f"SELECT DISTINCT no, {', '.join(SCORES)} FROM raw.posts")
    scored = 0
    for no, *values in rows:
        want = bodies[no].get("perspectives", {})
        assert values == [want.get(name) for name in SCORE_FIELDS]
        scored += bool(want)
    assert 0 < scored < len(rows)  # posts without a comment have no scores
    assert query(both.crawl, f"SELECT count(*), count({SCORES[0]}) FROM raw.posts")[0][1] == 0
    # and on into the built `posts` (dbt's staging passes them through)
    built = dict(query(both.imp, "SELECT post_id, toxicity FROM posts"))
    assert built.keys() == bodies.keys()
    assert all(t == bodies[no].get("perspectives", {}).get("TOXICITY") for no, t in built.items())
    assert query(both.crawl, "SELECT count(*), count(toxicity) FROM posts")[0][1] == 0


def test_entities_and_thread_keys_are_kept_in_extra(both):
    t = read_table(Lake(str(both.imp_lake)), "posts", ["no", "thread_no", "extra"])
    bodies = list(iter_bodies(both.dataset))
    ops = {b["posts"][0]["no"]: b for b in bodies}
    posts = {p["no"]: p for b in bodies for p in b["posts"]}
    for row in t.to_pylist()[:2000]:
        extra = json.loads(row["extra"])
        assert extra["entities"] == posts[row["no"]]["entities"]
        assert "perspectives" not in extra  # all seven scores became columns
        if row["no"] in ops:
            assert extra["thread"] == {"extracted_poster_id": ops[row["no"]]["extracted_poster_id"]}


# -- formats, bad lines -----------------------------------------------------------------------
def test_compression_is_sniffed_from_the_content_not_the_name(tmp_path):
    bodies = list(dataset_threads(400, 5))
    plain = b"".join(orjson.dumps(b) + b"\n" for b in bodies)
    files = {
        "plain.gz": plain,  # a misleading name
        "gzipped.ndjson": gzip.compress(plain),
        "zstd.txt": zstandard.ZstdCompressor().compress(plain),
    }
    want = sum(len(b["posts"]) for b in bodies)
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        report = import_ndjson(Lake(str(tmp_path / "lake")), [path], workers=1)
        assert report.posts == want and report.malformed == 0, name
    assert [compression(d[:4]) for d in files.values()] == [None, "gzip", "zstd"]


def test_malformed_lines_are_logged_by_file_and_line_and_skipped(tmp_path, caplog):
    bodies = list(dataset_threads(300, 6))
    good = [orjson.dumps(b) for b in bodies]
    lines = [good[0], b'{"posts": [{"no": 1, "com": "cut', good[1], b"", b"[1, 2]",
             b'{"posts": [{"resto": 0}]}', b'{"posts": []}', *good[2:], b"\xff\xfe{"]  # fmt: skip
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with caplog.at_level(logging.WARNING, logger="polit.import"):
        report = import_ndjson(Lake(str(tmp_path / "lake")), [path], workers=1)
    assert report.malformed == 5
    assert report.threads == len(bodies)
    assert report.posts == sum(len(b["posts"]) for b in bodies)
    logged = {r.getMessage().split(": ")[0] for r in caplog.records}
    assert {f"{path}:{n}" for n in (2, 5, 6, 7, len(lines))} == logged


def test_a_truncated_compressed_file_keeps_what_came_before(tmp_path, caplog):
    bodies = list(dataset_threads(2_000, 7))
    path = tmp_path / "cut.ndjson.gz"
    write_ndjson(bodies, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with caplog.at_level(logging.ERROR, logger="polit.import"):
        report = import_ndjson(Lake(str(tmp_path / "lake")), [path], workers=1)
    assert report.malformed == 1 and 0 < report.threads < len(bodies)
    assert "unreadable from here on" in caplog.text


def test_replay_ndjson_is_deterministic(tmp_path):
    a, b = tmp_path / "a.ndjson.zst", tmp_path / "b.ndjson"
    assert write_ndjson(dataset_threads(1_000, 3), a) == write_ndjson(dataset_threads(1_000, 3), b)
    assert list(iter_bodies(a)) == list(iter_bodies(b))


# -- seed Parquet -----------------------------------------------------------------------------
def seed_files(out: Path, n_posts: int = 2_000) -> tuple[dict, dict, Path, Path]:
    """Seed-format posts and threads files of synthetic threads, with the seed's mistake: each
    thread's posts labelled with the *next* thread's number (the zip of two listings)."""
    bodies = list(generate_threads(n_posts, 9))
    threads = [b["posts"][0]["no"] for b in bodies]
    wrong = dict(zip(threads, threads[1:] + threads[:1], strict=True))
    truth, originals, rows = {}, {}, []
    for body in bodies:
        op = body["posts"][0]["no"]
        for p in body["posts"]:
            truth[p["no"]] = op
            originals[p["no"]] = p
            rows.append({
                "thread_id": wrong[op], "post_id": p["no"], "poster_id": p.get("id"),
                "poster_name": p.get("name"), "is_op": p["no"] == op, "tripcode": p.get("trip"),
                "email": None, "subject": p.get("sub"), "comment": parse_com(p.get("com")).text,
                "has_file": "filename" in p,
                "post_datetime": datetime.fromtimestamp(p["time"], UTC).replace(tzinfo=None),
                "url": f"{URL}/{op}#p{p['no']}",
                "file_name": p["filename"] + p["ext"] if "filename" in p else None,
                "file_extension": p.get("ext"),
            })  # fmt: skip
    posts_file = out / "posts_20230327_09.parquet"
    pq.write_table(pa.Table.from_pylist(rows), posts_file)
    thread_rows = [{"thread_id": wrong[op], "is_sticky": False, "is_closed": op == threads[0],
                    "topic": "x", "number_of_posts": 1, "url": f"{URL}/{op}"}
                   for op in threads]  # fmt: skip
    threads_file = out / "threads_20230327_09.parquet"
    pq.write_table(pa.Table.from_pylist(thread_rows), threads_file)
    return truth, originals, posts_file, threads_file


def test_seed_parquet_takes_each_posts_thread_from_its_url(tmp_path):
    truth, originals, posts_file, threads_file = seed_files(tmp_path)
    lake = Lake(str(tmp_path / "lake"))
    result = CliRunner().invoke(app, ["import", "seed-parquet", str(posts_file), str(threads_file),
                                      "--lake", lake.url])  # fmt: skip
    assert result.exit_code == 0, result.output
    t = read_table(lake, "posts", ["no", "thread_no", "text", "quotes", "observed_at", "extra",
                                   "filename", "ext", "resto", "time"]).to_pylist()  # fmt: skip
    assert len(t) == len(truth)
    assert {r["no"]: r["thread_no"] for r in t} == truth
    wrong = sum("seed_thread_id" in json.loads(r["extra"] or "{}") for r in t)
    assert wrong == len(truth)  # every post was under the wrong thread, each one kept its label
    for r in t:
        original = originals[r["no"]]
        assert r["text"] == parse_com(original.get("com")).text
        assert r["quotes"] == parse_com(original.get("com")).quotes
        assert (r["filename"], r["ext"]) == (original.get("filename"), original.get("ext"))
        assert (r["resto"], r["time"]) == (original["resto"], original["time"])
        assert r["observed_at"] == datetime(2023, 3, 27, 9, tzinfo=UTC)
    th = read_table(lake, "threads", ["no", "event", "closed"]).to_pylist()
    assert {r["no"] for r in th} == set(truth.values())
    assert sum(r["closed"] for r in th) == 1


def test_seed_parquet_skips_unusable_rows_and_files(tmp_path, caplog):
    rows = [{"post_id": 5, "thread_id": 5, "url": "https://boards.4chan.org/pol/thread/5#p5",
             "comment": "ok", "post_datetime": datetime(2023, 1, 1)},
            {"post_id": None, "thread_id": 5, "url": None, "comment": "no id",
             "post_datetime": None},
            {"post_id": 7, "thread_id": 5, "url": "https://boards.4chan.org/pol/thread/5#p8",
             "comment": "url names another post", "post_datetime": None}]  # fmt: skip
    posts = tmp_path / "posts.parquet"
    pq.write_table(pa.Table.from_pylist(rows), posts)
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1]}), other)
    with caplog.at_level(logging.WARNING, logger="polit.import"):
        report = import_seed_parquet(Lake(str(tmp_path / "lake")), [posts, other])
    assert (report.posts, report.malformed) == (1, 3)
    assert f"{posts}:2" in caplog.text and f"{posts}:3" in caplog.text
    assert "neither a seed posts nor a seed threads file" in caplog.text


def test_to_html_round_trips_plain_text():
    for text in ["a\n>b\n>>12 c", "x & <y> \"q\" 'z'", ">>>/g/ >>1 >>2\n\n>>3", "", "&amp;"]:
        html = to_html(text)
        assert parse_com(html).text == text


# -- the lake schema --------------------------------------------------------------------------
def test_score_columns_are_nullable_and_last():
    names = POSTS.names
    assert names[-len(SCORES) - 1 : -1] == SCORES and names[-1] == "seq"  # added after them
    assert all(POSTS.field(c).nullable and POSTS.field(c).type == pa.float64() for c in SCORES)


def test_duckdb_adds_score_columns_to_an_old_raw_table(tmp_path):
    path = tmp_path / "old.duckdb"
    old = {c: t for c, t in raw_columns("posts").items() if c not in SCORES}
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA raw")
    con.execute(f"CREATE TABLE raw.posts ({', '.join(f'{c!r} {t}' for c, t in old.items())})"
                .replace("'", '"'))  # fmt: skip
    con.close()
    wh = DuckWarehouse(str(path))
    try:
        cols = dict(wh.con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                   "WHERE table_name = 'posts'").fetchall())  # fmt: skip
    finally:
        wh.close()
    assert all(cols[c] == "DOUBLE" for c in SCORES)
