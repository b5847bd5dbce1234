"""The loader: lake files into the warehouse's raw tables, exactly once.

DuckDB runs for real on a lake replayed from the shared recording. BigQuery is tested up to
the wire: the exact load job configuration, URIs and job ids, and the manifest in a gs://
lake (on the GCS emulator) with a fake client standing in for the BigQuery API.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from google.cloud import bigquery

from polit.lake.batch import RowBuffer
from polit.lake.schema import POSTS, TABLES
from polit.lake.store import Lake
from polit.warehouse import WarehouseError, load_lake, open_warehouse
from polit.warehouse.base import lake_key, next_stamp, parse_url
from polit.warehouse.bigquery import (
    BigQueryWarehouse,
    job_id,
    load_job_config,
    load_uris,
    raw_schema,
    raw_table,
)
from polit.warehouse.duck import DuckWarehouse
from tests.helpers.bigquery import FakeBigQuery
from tests.helpers.warehouse import replayed_lake

POLIT = [sys.executable, "-m", "polit"]


@pytest.fixture(scope="module")
def lake_dir(recording, tmp_path_factory) -> Path:
    return replayed_lake(recording, tmp_path_factory)


def raw_counts(path: Path) -> dict[str, Any]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        q = "SELECT (SELECT count(*) FROM raw.{0}), (SELECT coalesce(sum(rows), 0) FROM "
        q += "raw._manifest WHERE \"table\" = '{0}'), (SELECT count(*) FROM raw._manifest "
        q += "WHERE \"table\" = '{0}')"
        return {t: con.execute(q.format(t)).fetchall()[0] for t in TABLES}
    finally:
        con.close()


# -- DuckDB ----------------------------------------------------------------------------------
def test_load_copies_every_row_once_and_a_second_load_nothing(lake_dir, tmp_path):
    lake = Lake(str(lake_dir))
    expected = {t: sum(pq.ParquetFile(f.path).metadata.num_rows for f in lake.files(t))
                for t in TABLES}  # fmt: skip
    files = {t: len(lake.files(t)) for t in TABLES}
    seen: list[tuple[int, int]] = []
    wh = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    try:
        first = load_lake(lake, wh, batch_size=3, progress=lambda d, n: seen.append((d, n)))
        assert first.files == files and first.rows == expected
        assert {t: wh.count(t) for t in TABLES} == expected
        assert seen[0] == (0, sum(files.values())) and seen[-1][0] == seen[-1][1]
        second = load_lake(lake, wh)
        assert second.total_files == 0 and second.already_loaded == sum(files.values())
        assert {t: wh.count(t) for t in TABLES} == expected
    finally:
        wh.close()
    counts = raw_counts(tmp_path / "w.duckdb")
    assert {t: c[:2] for t, c in counts.items()} == {t: (n, n) for t, n in expected.items()}


def test_raw_tables_match_the_lake_schema(tmp_path, lake_dir):
    lake = Lake(str(lake_dir))
    wh = DuckWarehouse(str(tmp_path / "w.duckdb"))
    try:
        for table, schema in TABLES.items():
            described = wh.con.execute(f"DESCRIBE raw.{table}").fetchall()
            assert [r[0] for r in described] == [*schema.names, "_file", "_loaded_at"]
            in_lake = wh.con.execute(
                "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = false)",
                [lake.files(table)[0].path],
            ).fetchall()
            assert [r[:2] for r in described[:-2]] == [r[:2] for r in in_lake]
            required = {r[0] for r in described if r[2] == "NO"}
            assert required == {f.name for f in schema if not f.nullable} | {"_file", "_loaded_at"}
        load_lake(lake, wh)
        row = wh.con.execute("SELECT _file, quotes FROM raw.posts LIMIT 1").fetchall()[0]
        assert row[0].startswith("raw/posts/board=pol/date=") and isinstance(row[1], list)
        assert (lake_dir / row[0]).is_file()  # `_file` is relative to the lake root
    finally:
        wh.close()


def test_a_file_cannot_be_loaded_twice(lake_dir, tmp_path):
    lake = Lake(str(lake_dir))
    wh = DuckWarehouse(str(tmp_path / "w.duckdb"))
    try:
        one = lake.files("threads")[:1]
        assert wh.load(lake, one).rows > 0
        before = wh.count("threads")
        with pytest.raises(WarehouseError, match="already loaded"):  # manifest primary key
            wh.load(lake, one)
        assert wh.count("threads") == before  # the whole batch rolled back
        with pytest.raises(ValueError, match="one table"):
            wh.load(lake, [*one, *lake.files("posts")[:1]])
    finally:
        wh.close()


def test_reset_forgets_everything(lake_dir, tmp_path):
    lake = Lake(str(lake_dir))
    wh = DuckWarehouse(str(tmp_path / "w.duckdb"))
    try:
        load_lake(lake, wh)
        wh.reset(lake)
        assert wh.count("posts") == 0 and wh.loaded_files(lake) == set()
        assert load_lake(lake, wh).total_files == len(lake.files("posts")) * 2
    finally:
        wh.close()


def _polit_load(lake: Path, warehouse: Path) -> subprocess.Popen:
    env = {**os.environ, "POLIT_LAKE": str(lake), "POLIT_WAREHOUSE": str(warehouse)}
    return subprocess.Popen([*POLIT, "load", "--batch-size", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


def test_killed_load_then_rerun_gives_the_clean_result(lake_dir, tmp_path):
    started = time.monotonic()
    clean = _polit_load(lake_dir, tmp_path / "clean.duckdb")
    assert clean.wait(timeout=120) == 0, clean.stderr.read() if clean.stderr else ""
    took = time.monotonic() - started
    expected = raw_counts(tmp_path / "clean.duckdb")
    rng = random.Random(7)
    mid_load = 0
    for trial in range(3):
        warehouse = tmp_path / f"killed-{trial}.duckdb"
        proc = _polit_load(lake_dir, warehouse)
        time.sleep(rng.uniform(0.45, 0.95) * took)  # after start-up, mostly while loading
        running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if not warehouse.exists():
            continue  # killed before it opened the warehouse: nothing to check
        partial = raw_counts(warehouse)
        for table, (rows, manifest_rows, _) in partial.items():
            assert rows == manifest_rows, f"trial {trial}: {table} rows without manifest"
        mid_load += running and partial != expected
        wh = DuckWarehouse(str(warehouse))
        try:
            load_lake(Lake(str(lake_dir)), wh)
        finally:
            wh.close()
        assert raw_counts(warehouse) == expected, f"trial {trial}"
    assert mid_load >= 1, "no trial killed the load half-way; widen the window"


def test_a_busy_warehouse_is_a_clear_error(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys; c=duckdb.connect({str(path)!r}); "
         "print('ok', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "ok"
        with pytest.raises(WarehouseError, match="in use"):
            DuckWarehouse(str(path))
    finally:
        holder.kill()
        holder.wait()


def test_duckdb_loads_a_gs_lake_through_its_filesystem(gcs_emulator, tmp_path):
    lake = Lake(gcs_emulator.prefix())
    _write_posts(lake, files=2)
    wh = DuckWarehouse(str(tmp_path / "w.duckdb"))
    try:
        assert load_lake(lake, wh).rows["posts"] == 2
        got = wh.con.execute("SELECT _file, quotes FROM raw.posts ORDER BY _file").fetchall()
        assert got == [(f"raw/posts/board=pol/date=2023-03-27/hour=09/run-{i}.parquet", [1, 2])
                       for i in range(2)]  # fmt: skip
        assert load_lake(lake, wh).total_files == 0
    finally:
        wh.close()


def _write_posts(lake: Lake, files: int, prefix: str = "run") -> None:
    rows = RowBuffer(POSTS)
    when = datetime(2023, 3, 27, 9, tzinfo=UTC)
    rows.add({"board": "pol", "no": 1, "thread_no": 1, "observed_at": when, "run_id": "r",
              "quotes": [1, 2]})  # fmt: skip
    for i in range(files):
        lake.write_table("posts", "pol", rows.to_table(), when, f"{prefix}-{i}")


# -- URLs ------------------------------------------------------------------------------------
def test_warehouse_urls():
    assert parse_url("./data/warehouse.duckdb").kind == "duckdb"
    assert parse_url("duckdb://./x.duckdb").path == "./x.duckdb"
    assert parse_url("bigquery://p/d").dataset == "d"
    for bad in ("bigquery://p", "bigquery://p/d/x", "postgres://h/db"):
        with pytest.raises(WarehouseError):
            parse_url(bad)
    assert isinstance(open_warehouse("bigquery://p/d"), BigQueryWarehouse)  # no client yet


# -- BigQuery, up to the wire ----------------------------------------------------------------
def test_bigquery_load_job_config():
    cfg = load_job_config("posts")
    assert cfg.source_format == bigquery.SourceFormat.PARQUET == "PARQUET"
    assert cfg.write_disposition == bigquery.WriteDisposition.WRITE_EMPTY  # a fresh scratch
    assert cfg.create_disposition == bigquery.CreateDisposition.CREATE_IF_NEEDED
    assert cfg.parquet_options.enable_list_inference is True
    api = cfg.to_api_repr()["load"]
    assert api["sourceFormat"] == "PARQUET" and api["writeDisposition"] == "WRITE_EMPTY"
    assert api["parquetOptions"] == {"enableListInference": True}
    assert "autodetect" not in api and "schema" not in api  # Parquet describes itself
    with pytest.raises(ValueError):
        load_job_config("nope")


def test_bigquery_raw_tables_are_the_lake_schema_partitioned_by_load():
    for table, schema in TABLES.items():
        t = raw_table(f"p.d.raw_{table}", f"raw_{table}").to_api_repr()
        fields = {f["name"]: (f["type"], f["mode"]) for f in t["schema"]["fields"]}
        assert list(fields) == [*schema.names, "_loaded_at"]
        assert fields["_loaded_at"] == ("TIMESTAMP", "REQUIRED")
        assert fields["board"] == ("STRING", "REQUIRED") and fields["deleted_at"][1] == "NULLABLE"
        assert t["timePartitioning"] == {"type": "DAY", "field": "_loaded_at"}
        assert t["clustering"] == {"fields": ["board"]}
    posts = {f.name: f for f in raw_schema("posts")}
    assert (posts["quotes"].field_type, posts["quotes"].mode) == ("INT64", "REPEATED")


def test_a_load_stamp_is_later_than_every_earlier_one_whatever_the_clock():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert next_stamp(now, None) == now
    assert next_stamp(now, now - timedelta(hours=1)) == now
    ahead = now + timedelta(hours=3)  # an earlier load ran on a clock 3 h ahead
    assert next_stamp(now, ahead) == ahead + timedelta(microseconds=1)


def test_bigquery_load_uris_jobs_and_manifest(gcs_emulator, tmp_path):
    lake = Lake(gcs_emulator.prefix())
    _write_posts(lake, files=3)
    files = lake.files("posts")
    uris = load_uris(lake, files)
    assert uris == sorted(uris) and all(u.startswith(f"gs://{gcs_emulator.bucket}/") for u in uris)
    assert all("/raw/posts/board=pol/date=2023-03-27/hour=09/run-" in u for u in uris)

    wh = BigQueryWarehouse("proj", "ds")
    fake = FakeBigQuery(lake)
    wh._client = fake  # type: ignore[assignment]
    report = load_lake(lake, wh, batch_size=2)
    written = sum(pq.read_metadata(lake.fs.open(f.path, "rb")).num_rows for f in files)
    assert report.files == {"posts": 3, "threads": 0} and report.rows["posts"] == written
    loads = [c for c in fake.calls if "uris" in c]
    assert [c["destination"] for c in loads] == ["proj.ds.raw_posts__batch"] * 2
    assert [u for c in loads for u in c["uris"]] == uris
    assert all(c["config"] == load_job_config("posts").to_api_repr() for c in loads)
    inserts = [c for c in fake.calls if "sql" in c]
    assert [c["job_id"] for c in inserts] == [job_id("posts", uris[:2]), job_id("posts", uris[2:])]
    raw = fake.tables["proj.ds.raw_posts"]["rows"]
    assert len(raw) == written and "proj.ds.raw_posts__batch" not in fake.tables  # scratch gone
    stamps = sorted({r["_loaded_at"] for r in raw})
    assert len(stamps) == 2  # one stamp per batch
    assert load_lake(lake, wh).total_files == 0  # the manifest in the lake says so
    assert len(fake.calls) == len(loads) + len(inserts) + 1  # + the one create_table

    # A crash between an insert and its manifest: the rerun finds the insert and only
    # writes the manifest.
    lake.fs.rm(lake.path(*wh.manifest_dir()), recursive=True)
    calls = len(fake.calls)
    again = load_lake(lake, wh, batch_size=2)
    assert again.total_files == 3 and len(fake.calls) == calls  # found, done: no new job
    assert len(wh.loaded_files(lake)) == 3 and len(raw) == written


def test_bigquery_stamps_grow_when_the_clock_goes_back(gcs_emulator, monkeypatch):
    lake = Lake(gcs_emulator.prefix())
    _write_posts(lake, files=2)
    wh = BigQueryWarehouse("proj", "ds")
    fake = FakeBigQuery(lake)
    wh._client = fake  # type: ignore[assignment]
    load_lake(lake, wh, batch_size=1)
    first = max(r["_loaded_at"] for r in fake.tables["proj.ds.raw_posts"]["rows"])
    _write_posts(lake, files=1, prefix="later")

    class Behind(datetime):  # the loader's clock, now 3 hours behind the first load
        @classmethod
        def now(cls, tz=None):
            return first - timedelta(hours=3)

    monkeypatch.setattr("polit.warehouse.bigquery.datetime", Behind)
    fresh = BigQueryWarehouse("proj", "ds")  # a new process: the stamp comes from the manifest
    fresh._client = fake  # type: ignore[assignment]
    load_lake(lake, fresh)
    stamps = [r["_loaded_at"] for r in fake.tables["proj.ds.raw_posts"]["rows"]]
    assert max(stamps) == first + timedelta(microseconds=1)


def test_bigquery_needs_a_gs_lake(tmp_path):
    with pytest.raises(WarehouseError, match="gs://"):
        load_uris(Lake(str(tmp_path)), [])


def test_bigquery_failed_job_is_an_error_and_is_retried(gcs_emulator):
    lake = Lake(gcs_emulator.prefix())
    _write_posts(lake, files=1)
    wh = BigQueryWarehouse("proj", "ds")
    fake = FakeBigQuery(lake)
    wh._client = fake  # type: ignore[assignment]
    fake.fail = True
    with pytest.raises(WarehouseError, match=r"proj\.ds\.raw_posts failed: .*reading data"):
        load_lake(lake, wh)
    assert wh.loaded_files(lake) == set()  # no manifest for a failed job
    assert fake.tables["proj.ds.raw_posts"]["rows"] == []  # nothing inserted
    fake.fail = False
    assert load_lake(lake, wh).total_files == 1  # the scratch is loaded again, then inserted
    assert len(fake.tables["proj.ds.raw_posts"]["rows"]) > 0


def test_bigquery_manifest_is_folded_into_one_document(gcs_emulator, monkeypatch):
    """A load reads every manifest document, so a manifest of one document per job grows
    reads without end; past MANIFEST_COMPACT_DOCS jobs it is folded into one, and a crash
    in the middle of the fold loses nothing."""
    from polit.cost import Assumptions
    from polit.warehouse import bigquery as bq

    assert Assumptions().manifest_compact_docs == bq.MANIFEST_COMPACT_DOCS  # what cost prices
    monkeypatch.setattr(bq, "MANIFEST_COMPACT_DOCS", 4)
    lake = Lake(gcs_emulator.prefix())
    _write_posts(lake, files=5)
    wh = BigQueryWarehouse("proj", "ds")
    fake = FakeBigQuery(lake)
    wh._client = fake  # type: ignore[assignment]
    load_lake(lake, wh, batch_size=1)  # 5 jobs, 5 documents
    base = lake.path(*wh.manifest_dir())
    assert len(lake.fs.find(base)) == 5
    keys = {lake_key(lake, f.path) for f in lake.files("posts")}
    stamp = max(r["_loaded_at"] for r in fake.tables["proj.ds.raw_posts"]["rows"])

    real_rm = lake.fs.rm
    monkeypatch.setattr(lake.fs, "rm", lambda *a, **k: (_ for _ in ()).throw(OSError("down")))
    assert wh.loaded_files(lake) == keys  # the folded document written, no delete went through
    assert len(lake.fs.find(base)) == 6
    monkeypatch.setattr(lake.fs, "rm", real_rm)
    assert wh.loaded_files(lake) == keys  # the same union; the fold finishes
    (left,) = lake.fs.find(base)
    assert left.rsplit("/", 1)[1].startswith("compact-")

    fresh = BigQueryWarehouse("proj", "ds")  # a new process: stamp and files from one document
    fresh._client = fake  # type: ignore[assignment]
    assert load_lake(lake, fresh).total_files == 0
    _write_posts(lake, files=1, prefix="later")
    load_lake(lake, fresh)
    newest = max(r["_loaded_at"] for r in fake.tables["proj.ds.raw_posts"]["rows"])
    assert newest > stamp and len(lake.fs.find(base)) == 2
