"""The lake on `gs://`, against a real GCS emulator (fixture `gcs_emulator`,
tests/helpers/gcs.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import pytest

from polit.chan.client import ChanClient
from polit.config import Settings
from polit.crawl.crawler import BoardCrawler
from polit.lake.batch import RowBuffer
from polit.lake.schema import POSTS, THREADS
from polit.lake.stats import lake_stats, latest_posts, read_table
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from tests.helpers.gcs import GcsEmulator
from tests.helpers.replay_helpers import replay_crawl, trimmed_recording

WHEN = datetime(2023, 3, 27, 9, 51, 59, tzinfo=UTC)
SNAPSHOTS = 3  # of the shared recording: enough for new, changed, deleted and archived posts
DATA_FILE = re.compile(
    r"raw/(posts|threads)/board=pol/date=\d{4}-\d{2}-\d{2}/hour=\d{2}/[\w-]+\.parquet"
)


def _posts(n: int) -> RowBuffer:
    buf = RowBuffer(POSTS)
    for i in range(n):
        buf.add({"board": "pol", "no": i + 1, "thread_no": 1, "observed_at": WHEN, "run_id": "r",
                 "com": f"post {i}", "text": f"post {i}", "quotes": [1], "urls": []})  # fmt: skip
    return buf


def _relative(gcs: GcsEmulator, url: str) -> dict[str, int]:
    """The objects under a lake URL, by name relative to it."""
    prefix = url.removeprefix(f"gs://{gcs.bucket}/") + "/"
    return {k.removeprefix(prefix): v for k, v in gcs.objects(prefix).items()}


def test_emulator_is_what_gcsfs_talks_to(gcs_emulator):
    lake = Lake(gcs_emulator.prefix())
    assert lake.protocol == "gs" and not lake.local
    assert lake.fs._location == gcs_emulator.url  # STORAGE_EMULATOR_HOST, honoured by gcsfs
    assert lake.fs.credentials.method == "anon"  # never real Google credentials


def test_layout_files_and_roundtrip(gcs_emulator):
    url = gcs_emulator.prefix()
    lake = Lake(url)
    assert lake.files("posts") == []  # nothing under the prefix yet: no error
    table = _posts(3).to_table()

    path = lake.write_table("posts", "pol", table, WHEN, "run1-0")

    key = "raw/posts/board=pol/date=2023-03-27/hour=09/run1-0.parquet"
    assert path == f"{url.removeprefix('gs://')}/{key}"
    objects = _relative(gcs_emulator, url)
    assert list(objects) == [key]
    (f,) = lake.files("posts")
    assert (f.path, f.table, f.board, f.size) == (path, "posts", "pol", objects[key])
    assert lake.files("posts", board="pol") == [f]
    assert lake.files("posts", board="int") == []
    assert lake.files("threads") == []

    back = read_table(lake, "posts")
    assert back.schema == POSTS
    assert back.equals(table)
    assert read_table(lake, "posts", ["no"], board="pol").column("no").to_pylist() == [1, 2, 3]
    # tools that open files themselves get a gs:// URL that works
    assert lake.uri(path) == f"gs://{path}"
    with fsspec.open(lake.uri(path), "rb") as fh:
        assert pq.read_table(fh).equals(table)
    meta = pq.ParquetFile(lake.fs.open(path, "rb")).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_json_documents(gcs_emulator):
    url = gcs_emulator.prefix()
    lake = Lake(url)
    assert lake.read_json("_polit", "state", "pol.json") is None
    assert lake.read_json("_polit", "missing", "deeper", "x.json") is None

    doc = {"board": "pol", "threads": {"1": [1, 2]}, "text": "ünïcode"}
    lake.write_json(doc, "_polit", "state", "pol.json")
    assert lake.read_json("_polit", "state", "pol.json") == doc
    lake.write_json({"board": "pol", "v": 2}, "_polit", "state", "pol.json")  # overwrite
    assert Lake(url).read_json("_polit", "state", "pol.json") == {"board": "pol", "v": 2}
    assert list(_relative(gcs_emulator, url)) == ["_polit/state/pol.json"]


def test_gcs_scheme_alias(gcs_emulator):
    url = gcs_emulator.prefix()
    Lake(url).write_json({"a": 1}, "doc.json")
    other = Lake("gcs://" + url.removeprefix("gs://") + "/")  # alias, trailing slash
    assert other.read_json("doc.json") == {"a": 1}
    assert other.uri(other.path("doc.json")) == f"{url}/doc.json"


def test_no_temporary_or_partial_objects(gcs_emulator):
    url = gcs_emulator.prefix()
    lake = Lake(url)
    target = lake.path("raw", "posts", "board=pol", "date=2023-03-27", "hour=09", "x.parquet")
    seen_mid_write = []

    def slow(f):
        f.write(b"PAR1 first half ")
        seen_mid_write.append(_relative(gcs_emulator, url))
        f.write(b"second half PAR1")

    lake._atomic(target, slow)
    assert seen_mid_write == [{}]  # nothing visible while the file was being written
    assert _relative(gcs_emulator, url) == {
        "raw/posts/board=pol/date=2023-03-27/hour=09/x.parquet": 32
    }

    def boom(f):
        f.write(b"PAR1 partial")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="killed mid-write"):
        lake._atomic(lake.path("raw", "posts", "board=pol", "y.parquet"), boom)
    with pytest.raises(RuntimeError, match="killed mid-write"):
        lake._atomic(target, boom)  # a failed overwrite keeps the old object
    assert _relative(gcs_emulator, url) == {
        "raw/posts/board=pol/date=2023-03-27/hour=09/x.parquet": 32
    }
    assert lake.fs.cat_file(target) == b"PAR1 first half second half PAR1"

    for i in range(3):
        lake.write_table("posts", "pol", _posts(2).to_table(), WHEN, f"r-{i}")
        lake.write_table("threads", "pol", RowBuffer(THREADS).to_table(), WHEN, f"r-{i}")
        lake.write_json({"i": i}, "_polit", "state", "pol.json")
    names = _relative(gcs_emulator, url)
    assert len(names) == 1 + 6 + 1
    assert all(size > 0 for size in names.values()), names
    assert not [n for n in names if "tmp" in n or n.rsplit("/", 1)[-1].startswith((".", "_"))]


@pytest.fixture(scope="module")
def crawled(recording, gcs_emulator, tmp_path_factory):
    """The first snapshots of the shared recording, crawled into gs:// and into a local lake."""
    rec = trimmed_recording(recording, tmp_path_factory.mktemp("rec") / "rec", SNAPSHOTS)
    local_dir = tmp_path_factory.mktemp("local") / "lake"
    url = gcs_emulator.prefix("crawl")
    local_reports = replay_crawl(rec, local_dir)
    gs_reports = replay_crawl(rec, url)  # a URL string works as the lake dir
    return rec, Lake(str(local_dir)), Lake(url), local_reports, gs_reports


def _latest(lake: Lake) -> list[tuple]:
    t = latest_posts(lake)
    return sorted(
        zip(
            t["no"].to_pylist(),
            t["thread_no"].to_pylist(),
            [d is not None for d in t["deleted_at"].to_pylist()],
            t["version"].to_pylist(),
            strict=True,
        )
    )


def _counts(report) -> tuple:
    r = report
    return (r.requests, r.not_modified, r.threads_fetched, r.new_posts, r.changed_posts,
            r.deleted_posts, r.restored_posts, r.archived_threads, r.deleted_threads,
            r.errors)  # fmt: skip


def test_crawl_into_gcs_equals_local(gcs_emulator, crawled):
    _, local, gs, local_reports, gs_reports = crawled
    assert [_counts(r) for r in gs_reports] == [_counts(r) for r in local_reports]
    assert sum(r.new_posts for r in gs_reports) > 100, "the crawl recorded too little"

    latest = _latest(gs)
    assert latest == _latest(local)
    assert any(deleted for _, _, deleted, _ in latest), "expected some deleted posts"

    local_stats, gs_stats = lake_stats(local).as_dict(), lake_stats(gs).as_dict()
    assert gs_stats["lake"] == gs.url
    for d in (local_stats, gs_stats):
        del d["lake"], d["posts"]["bytes"], d["threads"]["bytes"]  # run ids differ
    assert gs_stats == local_stats
    assert gs_stats["boards"] == ["pol"] and gs_stats["distinct_posts"] == len(latest)

    objects = _relative(gcs_emulator, gs.url)
    data = [n for n in objects if n not in ("_polit/state/pol.json", "_polit/seq/pol.json")]
    assert {"_polit/state/pol.json", "_polit/seq/pol.json"} <= set(objects)
    assert data and all(DATA_FILE.fullmatch(n) for n in data), data
    assert len(data) == len(gs.files("posts")) + len(gs.files("threads"))
    local_data = sorted(Path(local.root).rglob("*.parquet"))
    assert len(data) == len(local_data)


def test_crawl_state_on_gcs_resumes(gcs_emulator, crawled):
    rec, _, gs, _, _ = crawled
    state = gs.read_json("_polit", "state", "pol.json")
    assert state is not None and state["board"] == "pol" and state["threads_lm"]
    before = _relative(gcs_emulator, gs.url)

    import gcsfs

    gcsfs.GCSFileSystem.clear_instance_cache()  # like a new container: nothing in memory
    with ReplayServer(rec, stall_seconds=2) as srv:
        for _ in range(SNAPSHOTS - 1):
            srv.next()  # the snapshot the first crawl ended on
        settings = Settings(api_url=srv.url, lake=gs.url, max_rps=0)
        with ChanClient(settings, backoff=0.01) as client:
            crawler = BoardCrawler(client, Lake(settings.lake), "pol", min_thread_interval=0)
            report = crawler.cycle()
            assert crawler.flush() == []

    assert report.not_modified, report.summary()
    assert report.requests == 1 and not report.errors, report.summary()
    after = _relative(gcs_emulator, gs.url)
    assert after.keys() == before.keys()  # the state was rewritten, nothing was added
    assert gs.read_json("_polit", "state", "pol.json")["threads_lm"] == state["threads_lm"]
