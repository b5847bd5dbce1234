"""The gs:// path end to end on gcp-storage-emulator: crawl into a gs:// lake, load and
transform from it into DuckDB, and the BigQuery load jobs those same files would get."""

from __future__ import annotations

import duckdb
import pyarrow.compute as pc

from polit.lake.stats import latest_posts
from polit.lake.store import Lake
from polit.transform import transform
from polit.warehouse import load_lake, open_warehouse
from polit.warehouse.bigquery import load_job_config, load_uris
from tests.helpers.replay_helpers import replay_crawl, trimmed_recording


def test_crawl_to_gs_then_load_and_transform_into_duckdb(gcs_emulator, recording, tmp_path):
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=2)
    url = gcs_emulator.prefix()
    replay_crawl(rec, url)
    lake = Lake(url)
    expected = latest_posts(lake)
    assert expected.num_rows > 15_000

    warehouse_path = str(tmp_path / "w.duckdb")
    wh = open_warehouse(warehouse_path)
    try:
        report = load_lake(lake, wh)
    finally:
        wh.close()
    assert report.rows["posts"] > 0 and report.files["threads"] > 0
    transform(warehouse_path, quiet=True)

    con = duckdb.connect(warehouse_path, read_only=True)
    try:
        got = con.execute("select post_id, thread_id, deleted_at is not null from posts").fetchall()
    finally:
        con.close()
    want = zip(
        expected["no"].to_pylist(),
        expected["thread_no"].to_pylist(),
        pc.is_valid(expected["deleted_at"]).to_pylist(),
        strict=True,
    )
    assert set(got) == set(want)

    # the same gs:// files, as BigQuery load jobs would take them
    for table in ("posts", "threads"):
        files = lake.files(table)
        uris = load_uris(lake, files)
        assert len(uris) == len(files) and all(u.startswith(f"{url}/raw/{table}/") for u in uris)
        api = load_job_config(table).to_api_repr()["load"]
        assert api["sourceFormat"] == "PARQUET" and api["writeDisposition"] == "WRITE_EMPTY"
