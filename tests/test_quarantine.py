"""Unreadable lake files never stop `polit load`: each is moved to `_polit/quarantine/`,
logged with its path and error, and the rest is loaded; `polit lake stats` counts them.

The lake is a real crawl of the shared recording; the broken files are made from its own
files (truncated, footer overwritten, pages corrupted) or are plain junk. Which corrupted
copy each reader rejects is decided by pyarrow and DuckDB themselves, outside polit."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from polit.lake.store import Lake
from polit.warehouse import WarehouseError, load_lake
from polit.warehouse.bigquery import BigQueryWarehouse
from tests.helpers.bigquery import FakeBigQuery
from tests.helpers.replay_helpers import replay_crawl, trimmed_recording

POLIT = [sys.executable, "-m", "polit"]


def polit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([*POLIT, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "300", **(env or {})})  # fmt: skip
    if proc.returncode != 0:
        raise AssertionError(f"polit {' '.join(args)}: {proc.returncode}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def crawled(recording, tmp_path_factory) -> Path:
    """Two snapshots of the shared recording, crawled: 2 posts and 2 threads files."""
    tmp = tmp_path_factory.mktemp("quarantine")
    rec = trimmed_recording(recording, tmp / "rec", snapshots=2)
    replay_crawl(rec, tmp / "lake")
    return tmp / "lake"


def pyarrow_reads(data: bytes) -> bool:
    try:
        pq.read_table(pa.BufferReader(data)).validate(full=True)
    except Exception:
        return False
    return True


def duckdb_reads(data: bytes, tmp: Path) -> bool:
    path = tmp / "probe.parquet"
    path.write_bytes(data)
    try:
        duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()
    except duckdb.Error:
        return False
    return True


def corrupt_pages(data: bytes, tmp: Path, accept: Callable[[bytes], bool]) -> bytes:
    """A copy of a Parquet file with 16 random bytes somewhere in its data pages (the footer
    intact) that `accept` likes; seeded, so always the same copy."""
    footer = pq.read_metadata(pa.BufferReader(data)).serialized_size + 8
    rng = random.Random(13)
    for _ in range(500):
        copy = bytearray(data)
        at = rng.randrange(4, len(data) - footer - 16)
        copy[at : at + 16] = rng.randbytes(16)
        if accept(bytes(copy)):
            return bytes(copy)
    raise AssertionError("no such corruption found")


def broken_files(lake: Path, tmp: Path) -> dict[str, bytes]:
    """Relative path -> bytes of a broken file, one per way a file can be unreadable."""
    posts = sorted((lake / "raw/posts").rglob("*.parquet"))[0]
    threads = sorted((lake / "raw/threads").rglob("*.parquet"))[0]
    good, part = posts.read_bytes(), posts.parent.relative_to(lake)
    footer_len = int.from_bytes(good[-8:-4], "little")
    wrong_type = pq.read_table(posts).set_column(
        1, "no", pa.array(["x"] * pq.read_metadata(posts).num_rows)
    )
    buf = pa.BufferOutputStream()
    pq.write_table(wrong_type, buf)
    both_reject = corrupt_pages(
        good, tmp, lambda d: not pyarrow_reads(d) and not duckdb_reads(d, tmp)
    )
    return {
        f"{part}/zero.parquet": b"",
        f"{part}/junk.parquet": b"this is not a parquet file\n" * 100,
        f"{part}/truncated.parquet": good[: len(good) // 2],
        f"{part}/footer.parquet": good[: -8 - footer_len] + bytes(footer_len) + good[-8:],
        f"{part}/threads-file.parquet": threads.read_bytes(),  # a threads file among posts
        f"{part}/wrong-type.parquet": buf.getvalue().to_pybytes(),  # `no` as strings
        f"{part}/pages.parquet": both_reject,  # only a full read finds it
    }


def raw_files(warehouse: Path) -> dict[str, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute('SELECT "table", count(*), sum(rows) FROM raw._manifest GROUP BY 1')
        manifest = {t: (n, r) for t, n, r in rows.fetchall()}
        counts = {t: con.execute(f"SELECT count(*) FROM raw.{t}").fetchall()[0][0]
                  for t in ("posts", "threads")}  # fmt: skip
        return {"manifest": manifest, "rows": counts}  # type: ignore[dict-item]
    finally:
        con.close()


def test_load_moves_unreadable_files_aside_and_loads_the_rest(crawled, tmp_path):
    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    shutil.copytree(crawled, lake)
    good = {
        t: {str(p.relative_to(lake)): pq.read_metadata(p).num_rows
            for p in (lake / "raw" / t).rglob("*.parquet")}
        for t in ("posts", "threads")
    }  # fmt: skip
    broken = broken_files(lake, tmp_path)
    for rel, data in broken.items():
        (lake / rel).write_bytes(data)
    args = ["--lake", str(lake)]

    # Stats read footers and a few columns, and never crash. Only a full read finds every
    # broken page, so the file with a sound footer counts when its broken page is elsewhere.
    stats = json.loads(polit("lake", "stats", *args, "--json").stdout)
    pages = pq.read_metadata(pa.BufferReader(broken[next(r for r in broken if "pages" in r)]))
    assert stats["unreadable_files"] in (len(broken) - 1, len(broken))
    missed = pages.num_rows if stats["unreadable_files"] < len(broken) else 0
    assert stats["posts"]["rows"] == sum(good["posts"].values()) + missed

    proc = polit("load", *args, "--warehouse", str(warehouse), "--json", "--batch-size", "3")
    report = json.loads(proc.stdout)
    moved = {q["path"]: q for q in report["quarantined"]}
    assert set(moved) == set(broken)
    log = " ".join(proc.stderr.split())
    for rel, data in broken.items():
        assert not (lake / rel).exists()
        assert (lake / "_polit/quarantine" / rel).read_bytes() == data  # moved, untouched
        assert moved[rel]["moved_to"] == f"_polit/quarantine/{rel}"
        assert f"unreadable lake file {lake / rel} ({moved[rel]['error']})" in log
    errors = {Path(rel).stem: q["error"] for rel, q in moved.items()}
    assert errors["zero"] == "zero bytes"
    assert errors["junk"].startswith("not a Parquet file")
    assert errors["footer"].startswith("corrupt footer")
    assert errors["threads-file"] == "required column 'thread_no' is missing"
    assert errors["wrong-type"].startswith("column 'no' is string")
    assert errors["pages"].startswith("corrupt data")
    assert report["files"] == {t: len(good[t]) for t in good}
    assert raw_files(warehouse) == {
        "manifest": {t: (len(good[t]), sum(good[t].values())) for t in good},
        "rows": {t: sum(good[t].values()) for t in good},
    }

    again = json.loads(polit("load", *args, "--warehouse", str(warehouse), "--json").stdout)
    assert again["quarantined"] == [] and sum(again["files"].values()) == 0
    stats = json.loads(polit("lake", "stats", *args, "--json").stdout)
    assert (stats["unreadable_files"], stats["quarantined_files"]) == (0, len(broken))
    assert {f.path for f in Lake(str(lake)).files("posts")} == {
        str(lake / p) for p in good["posts"]
    }  # readers never see the quarantine


def test_a_file_only_the_warehouse_rejects_is_found_by_bisecting(crawled, tmp_path):
    lake, warehouse = tmp_path / "lake", tmp_path / "w.duckdb"
    shutil.copytree(crawled, lake)
    posts = sorted((lake / "raw/posts").rglob("*.parquet"))
    # Copies of a good file, so there is something to bisect among.
    for i in range(5):
        shutil.copy(posts[0], posts[0].with_name(f"copy-{i}.parquet"))
    # Sound Parquet in a fitting schema, but `time` is unsigned and one value is above the
    # int64 range: pyarrow reads it whole, the warehouse cannot store it.
    table = pq.read_table(posts[0])
    times = table["time"].to_pylist()
    times[7] = 2**63 + 5
    i = table.schema.get_field_index("time")
    table = table.set_column(i, "time", pa.array(times, pa.uint64()))
    rel = str(posts[0].with_name("copy-2.parquet").relative_to(lake))
    pq.write_table(table, lake / rel)
    bad = (lake / rel).read_bytes()
    assert pyarrow_reads(bad)
    proc = polit("load", "--lake", str(lake), "--warehouse", str(warehouse), "--json")
    report = json.loads(proc.stdout)
    assert [q["path"] for q in report["quarantined"]] == [rel]
    assert report["quarantined"][0]["error"].startswith("the warehouse rejects it")
    assert (lake / "_polit/quarantine" / rel).read_bytes() == bad
    rows = pq.read_metadata(posts[0]).num_rows
    expected = sum(pq.read_metadata(p).num_rows for p in posts) + 4 * rows
    assert report["files"]["posts"] == len(posts) + 4
    assert raw_files(warehouse)["rows"]["posts"] == expected


class RejectingBigQuery(FakeBigQuery):
    """A load job fails when it includes a rejected URI."""

    def __init__(self, lake: Lake, rejected: set[str]) -> None:
        super().__init__(lake)
        self.rejected = rejected

    def load_table_from_uri(self, uris, destination, **kwargs):
        self.fail = bool(self.rejected & set(uris))
        return super().load_table_from_uri(uris, destination, **kwargs)


def _gs_lake(gcs_emulator, crawled: Path) -> Lake:
    lake = Lake(gcs_emulator.prefix())
    for p in sorted((crawled / "raw").rglob("*.parquet")):
        lake.fs.pipe_file(lake.path(str(p.relative_to(crawled))), p.read_bytes())
    return lake


def test_bigquery_bisects_to_the_rejected_file_and_quarantines_it_on_gs(gcs_emulator, crawled):
    lake = _gs_lake(gcs_emulator, crawled)
    posts = lake.files("posts")
    junk = lake.path("raw/posts/board=pol/date=2023-03-27/hour=09/junk.parquet")
    lake.fs.pipe_file(junk, b"junk")
    rejected = f"gs://{posts[1].path}"
    wh = BigQueryWarehouse("proj", "ds")
    wh._client = RejectingBigQuery(lake, {rejected})  # type: ignore[assignment]
    report = load_lake(lake, wh)
    quarantined = {q.path: q.error for q in report.quarantined}
    rel = posts[1].path.removeprefix(lake.root + "/")
    assert quarantined.keys() == {rel, junk.removeprefix(lake.root + "/")}
    assert quarantined[rel].startswith("the warehouse rejects it")
    objects = gcs_emulator.objects(lake.url)
    assert f"{lake.root}/_polit/quarantine/{rel}" in {f"{gcs_emulator.bucket}/{o}" for o in objects}
    assert not lake.fs.exists(posts[1].path) and not lake.fs.exists(junk)
    assert report.files == {"posts": len(posts) - 1, "threads": len(lake.files("threads"))}
    assert len(wh.loaded_files(lake)) == len(posts) - 1 + len(lake.files("threads"))


def test_a_failing_warehouse_quarantines_nothing(gcs_emulator, crawled):
    lake = _gs_lake(gcs_emulator, crawled)
    before = gcs_emulator.objects(lake.url)
    wh = BigQueryWarehouse("proj", "ds")
    fake = FakeBigQuery(lake)
    fake.fail = True  # every job fails: the warehouse, not a file
    wh._client = fake  # type: ignore[assignment]
    with pytest.raises(WarehouseError, match="failed"):
        load_lake(lake, wh)
    assert gcs_emulator.objects(lake.url) == before  # nothing moved, nothing written


def test_polit_load_quarantines_on_a_gs_lake(gcs_emulator, crawled, tmp_path):
    lake = _gs_lake(gcs_emulator, crawled)
    rel = "raw/threads/board=pol/date=2023-03-27/hour=09/zero.parquet"
    lake.fs.pipe_file(lake.path(rel), b"")
    env = {"STORAGE_EMULATOR_HOST": gcs_emulator.url, "FSSPEC_GS_TOKEN": "anon",
           "FSSPEC_GS_PROJECT": "polit-test"}  # fmt: skip
    warehouse = tmp_path / "w.duckdb"
    out = polit("load", "--lake", lake.url, "--warehouse", str(warehouse), env=env)
    assert "1 unreadable file moved to _polit/quarantine/" in " ".join(out.stdout.split())
    assert f"unreadable lake file {lake.url}/{rel} (zero bytes)" in " ".join(out.stderr.split())
    objects = gcs_emulator.objects(lake.url)
    prefix = lake.root.removeprefix(gcs_emulator.bucket + "/")
    assert objects[f"{prefix}/_polit/quarantine/{rel}"] == 0
    assert f"{prefix}/{rel}" not in objects
    stats = json.loads(polit("lake", "stats", "--lake", lake.url, "--json", env=env).stdout)
    assert stats["quarantined_files"] == 1
    assert raw_files(warehouse)["rows"]["threads"] == stats["threads"]["rows"]


def test_what_schema_fits_a_table():
    from polit.lake.quarantine import schema_problem
    from polit.lake.schema import POSTS

    assert schema_problem("posts", POSTS) is None
    newer = POSTS.append(pa.field("added_later", pa.string()))  # a newer polit's file
    assert schema_problem("posts", newer) is None  # the warehouse decides
    narrow = POSTS.set(POSTS.get_field_index("no"), pa.field("no", pa.int32(), nullable=False))
    assert schema_problem("posts", narrow) is None  # an int is an int
    text = POSTS.set(POSTS.get_field_index("no"), pa.field("no", pa.string()))
    assert schema_problem("posts", text) == "column 'no' is string, the posts schema has int64"
    assert schema_problem("posts", POSTS.remove(POSTS.get_field_index("run_id"))) == (
        "required column 'run_id' is missing"
    )
