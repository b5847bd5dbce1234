"""`polit cost`: line items from the price table, by hand where it matters, growth with volume
and retention, and volume measured from a small lake."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import polit.cli_cost  # noqa: F401  (registers `polit cost` until cli.py imports it)
from polit.cli import app
from polit.cost import (
    GIB,
    PRICES_PATH,
    Assumptions,
    Volume,
    bigquery_logical_bytes,
    estimate,
    measure_lake,
)
from polit.lake.batch import RowBuffer
from polit.lake.schema import POSTS, THREADS
from polit.lake.store import Lake

RAW_PRICES = tomllib.loads(PRICES_PATH.read_text())
PRICE = {name: p["value"] / p.get("per", 1) for name, p in RAW_PRICES["price"].items()}
EXPECTED_ITEMS = {
    "Cloud Storage: Standard (raw, first days)",
    "Cloud Storage: Nearline (raw, until deleted)",
    "Cloud Storage: Class A (writes, listings)",
    "Cloud Storage: lifecycle to Nearline",
    "Cloud Storage: Class B (reads)",
    "BigQuery: active storage",
    "BigQuery: long-term storage",
    "BigQuery: queries (hourly dbt build)",
    "BigQuery: load jobs",
    "Cloud Run: vCPU",
    "Cloud Run: memory",
    "Cloud Scheduler: jobs",
    "Artifact Registry: images",
    "Network: API responses in",
    "Network: internet egress",
}


def cost(*args: str) -> dict:
    result = CliRunner().invoke(app, ["cost", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def items(doc: dict) -> dict[str, dict]:
    return {i["name"]: i for i in doc["line_items"]}


# ---- the price table ------------------------------------------------------------------------
def test_every_price_is_dated_sourced_and_regional() -> None:
    assert date.fromisoformat(RAW_PRICES["as_of"])
    pages = set()
    for name, p in RAW_PRICES["price"].items():
        assert {"value", "unit", "region", "source", "as_of"} <= set(p), name
        assert p["value"] >= 0 and p["unit"] and p["region"], name
        assert re.fullmatch(r"https://cloud\.google\.com/[a-z-]+/pricing", p["source"]), name
        assert date.fromisoformat(p["as_of"]) <= date.today(), name
        pages.add(p["source"].split("/")[3])
    assert {"storage", "bigquery", "run", "scheduler", "artifact-registry"} <= pages
    assert RAW_PRICES["price"]["gcs_standard_storage"]["region"] == "us-central1"
    assert RAW_PRICES["price"]["bigquery_active_storage"]["region"].startswith("US")


# ---- the CLI and the line items -----------------------------------------------------------
def test_cost_json_has_a_total_and_every_line_item() -> None:
    doc = cost("--posts-per-day", "150000")
    assert set(items(doc)) == EXPECTED_ITEMS
    for item in doc["line_items"]:
        assert {"name", "quantity", "unit", "unit_price", "usd_per_month"} <= set(item)
        assert item["quantity"] >= 0 and item["usd_per_month"] >= 0
    total = sum(i["usd_per_month"] for i in doc["line_items"])
    assert doc["total_usd_per_month"] == pytest.approx(total, abs=0.006)
    assert doc["total_usd_per_month"] > 0
    assert doc["volume"]["posts_per_day"] == 150000
    assert doc["prices_as_of"] == RAW_PRICES["as_of"]


def test_two_line_items_by_hand_from_the_price_table() -> None:
    posts, bytes_per_post, cold_after = 150_000, 195.0, 7
    doc = cost(
        "--posts-per-day",
        str(posts),
        "--bytes-per-post",
        str(bytes_per_post),
        "--cold-after-days",
        str(cold_after),
        "--no-free-tier",
    )
    standard = items(doc)["Cloud Storage: Standard (raw, first days)"]
    gib_month = posts * bytes_per_post * cold_after / 2**30  # steady state: 7 days of files
    assert standard["quantity"] == pytest.approx(gib_month)
    assert standard["unit_price"] == PRICE["gcs_standard_storage"] == 0.020
    assert standard["usd_per_month"] == pytest.approx(gib_month * 0.020)

    doc = cost("--posts-per-day", str(posts), "--run-seconds", "600", "--vcpu", "1")
    vcpu = items(doc)["Cloud Run: vCPU"]
    seconds = 1 * 600 * 24 * 30  # 720 hourly runs of 10 minutes on one vCPU
    free = RAW_PRICES["price"]["cloud_run_free_cpu"]["value"]
    assert vcpu["quantity"] == seconds and vcpu["free_quantity"] == free == 240_000
    assert vcpu["usd_per_month"] == pytest.approx((seconds - free) * PRICE["cloud_run_cpu"])
    assert vcpu["usd_per_month"] == pytest.approx(3.456)


def test_estimate_grows_with_volume_retention_and_history() -> None:
    def total(**kw: float) -> float:
        posts = kw.pop("posts", 150_000)
        return estimate(Volume(posts_per_day=posts), Assumptions(**kw)).total_usd_per_month

    def gcs(**kw: float) -> float:
        e = estimate(Volume(posts_per_day=150_000), Assumptions(free_tier=False, **kw))
        return sum(i.usd_per_month for i in e.line_items if i.service == "Cloud Storage")

    assert total(posts=300_000) > total(posts=150_000) > total(posts=10_000)
    assert total(retention_days=90) > total(retention_days=30)
    assert gcs(retention_days=90) > gcs(retention_days=60) > gcs(retention_days=40)
    assert total(age_days=730) > total(age_days=365) > total(age_days=30)
    assert total(runs_per_day=48) > total(runs_per_day=24)
    assert total(watch=True) > total() + 40  # one always-on vCPU is ~$45/month
    # the models read all of `posts` every run; pruning them to 3 days caps the query bill
    assert total(age_days=365, dbt_scan_days=3) < total(age_days=365) / 5


def test_cold_class_minimum_duration_is_billed() -> None:
    def cold_gib(cls: str) -> float:
        e = estimate(
            Volume(posts_per_day=100_000),
            Assumptions(cold_class=cls, cold_after_days=7, retention_days=30, soft_delete_days=0),
        )
        return next(i.quantity for i in e.line_items if "until deleted" in i.name)

    day = 100_000 * 195.0 / GIB
    assert cold_gib("NEARLINE") == pytest.approx(day * (30 - 7))  # 30 >= Nearline's 30
    assert cold_gib("COLDLINE") == pytest.approx(day * (90 - 7))  # billed to Coldline's 90


def test_bad_input_is_one_clear_error() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["cost"])
    assert result.exit_code == 1 and "--posts-per-day" in result.output
    result = runner.invoke(app, ["cost", "--posts-per-day", "1000", "--cold-class", "ARCHIVE"])
    assert result.exit_code == 1 and "cold class" in result.output
    result = runner.invoke(app, ["cost", "--posts-per-day", "1000"])
    assert result.exit_code == 0 and "total" in result.output  # the table


# ---- measured from a lake -------------------------------------------------------------------
def build_lake(path: Path) -> tuple[Lake, int]:
    """Two hourly runs: the first sees 300 posts of the board's last day, the second the 250
    posts made in the hour after (6,000 a day)."""
    lake = Lake(str(path))
    t0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    start = int(t0.timestamp())
    runs = [
        ("run-1", t0, [start - 86_000 + i * 286 for i in range(300)]),
        ("run-2", t0 + timedelta(hours=1), [start + 1 + i * 14 for i in range(250)]),
    ]
    no = 1000
    for run_id, observed, times in runs:
        posts, threads = RowBuffer(POSTS), RowBuffer(THREADS)
        for t in times:
            no += 1
            posts.add(
                {
                    "board": "pol",
                    "no": no,
                    "thread_no": 1000,
                    "observed_at": observed,
                    "run_id": run_id,
                    "time": t,
                    "com": f"post number {no} " * 5,
                    "text": f"post number {no} " * 5,
                    "name": "Anonymous",
                    "quotes": [no - 1],
                }
            )
        threads.add(
            {
                "board": "pol",
                "no": 1000,
                "observed_at": observed,
                "run_id": run_id,
                "event": "fetched",
                "replies": no - 1000,
            }
        )
        lake.write_table("posts", "pol", posts.to_table(), observed, f"{run_id}-0")
        lake.write_table("threads", "pol", threads.to_table(), observed, f"{run_id}-0")
    return lake, 550


def test_measured_from_a_small_lake(tmp_path: Path) -> None:
    lake, distinct = build_lake(tmp_path / "lake")
    v = measure_lake(lake)
    # 250 posts in the (start, start + 1 + 249 * 14] window after the first run's newest post
    span = (1 + 249 * 14) - (-86_000 + 299 * 286)
    assert v.posts_per_day == pytest.approx(250 * 86_400 / span)
    assert v.measured["rate_from"] == "posts made after the first run"
    assert v.measured["distinct_posts"] == distinct and v.measured["runs"] == 2
    assert v.raw_rows_per_post == 1.0 and v.files_per_run == 2.0
    files = lake.files("posts") + lake.files("threads")
    assert v.lake_bytes_per_post == pytest.approx(sum(f.size for f in files) / distinct)
    assert 100 < v.raw_row_bytes < 300  # ~2 x 90 chars of text, a name, ints
    assert v.warehouse_bytes_per_post > v.raw_row_bytes

    doc = cost("--lake", str(tmp_path / "lake"))
    assert doc["volume"]["source"].startswith("lake ")
    assert doc["volume"]["posts_per_day"] == pytest.approx(v.posts_per_day)
    assert doc["total_usd_per_month"] > 0
    # a flag overrides what was measured
    doc = cost("--lake", str(tmp_path / "lake"), "--posts-per-day", "150000")
    assert doc["volume"]["posts_per_day"] == 150000
    assert doc["volume"]["lake_bytes_per_post"] == pytest.approx(v.lake_bytes_per_post)


def test_one_run_lake_uses_the_last_day(tmp_path: Path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    buf = RowBuffer(POSTS)
    for i in range(48):  # one post every 30 minutes over the last day: 48 a day
        buf.add(
            {
                "board": "pol",
                "no": i + 1,
                "thread_no": 1,
                "observed_at": now,
                "run_id": "r",
                "time": int(now.timestamp()) - 86_400 + 1800 * (i + 1),
            }
        )
    lake.write_table("posts", "pol", buf.to_table(), now, "r-0")
    v = measure_lake(lake)
    assert v.measured["rate_from"] == "posts of the last day seen"
    assert v.posts_per_day == pytest.approx(48 * 86_400 / (47 * 1800))


def test_bigquery_logical_bytes_follow_bigquerys_sizes() -> None:
    buf = RowBuffer(POSTS)
    now = datetime.now(UTC)
    buf.add(
        {
            "board": "pol",
            "no": 1,
            "thread_no": 1,
            "observed_at": now,
            "run_id": "abc",
            "quotes": [1, 2],
            "com": "héllo",
        }
    )
    # board 2+3, no 8, thread_no 8, observed_at 8, run_id 2+3, quotes 2x8, com 2+6; nulls 0
    assert bigquery_logical_bytes(buf.to_table()) == 5 + 8 + 8 + 8 + 5 + 16 + 8
