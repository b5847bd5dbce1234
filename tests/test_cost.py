"""`polit cost`: line items from the price table, by hand where it matters; every dbt model and
test of the real dbt project priced from cost_models.toml; growth with volume, retention and
history; and volume measured from a small lake."""

from __future__ import annotations

import inspect
import json
import re
import tomllib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from polit.cli import app
from polit.cost import (
    GIB,
    MIB,
    PRICES_PATH,
    Assumptions,
    Volume,
    bigquery_logical_bytes,
    estimate,
    load_prices,
    measure_lake,
    volume_sizes,
)
from polit.cost_dbt import (
    MODELS_PATH,
    RUN_NODE,
    CostModelError,
    DbtModel,
    dbt_project,
    load_cost_models,
    model_queries,
    project_costs,
    query_bytes,
    run_queries,
    run_tests,
    window_days,
)
from polit.lake.batch import RowBuffer
from polit.lake.schema import POSTS, THREADS
from polit.lake.store import Lake
from polit.transform.runner import FOLDED_TESTS

RAW_PRICES = tomllib.loads(PRICES_PATH.read_text())
PRICE = {name: p["value"] / p.get("per", 1) for name, p in RAW_PRICES["price"].items()}
COMMON_ITEMS = {
    "Cloud Storage: Standard (raw)",
    "Cloud Storage: Class A (writes, listings)",
    "Cloud Storage: Class B (reads)",
    "BigQuery: active storage",
    "BigQuery: long-term storage",
    "BigQuery: queries (dbt build, load inserts)",
    "BigQuery: load jobs",
    "Artifact Registry: images",
    "Network: API responses in",
    "Network: internet egress",
}
VM_ITEMS = {
    "Compute Engine: e2-micro VM",
    "Compute Engine: standard persistent disk",
    "Compute Engine: external IPv6 address",
}
CLOUD_RUN_ITEMS = {"Cloud Run: vCPU", "Cloud Run: memory", "Cloud Scheduler: jobs"}
PAGES = re.compile(r"https://cloud\.google\.com/(?:[a-z-]+/)+[a-z-]+")


def cost(*args: str) -> dict:
    result = CliRunner().invoke(app, ["cost", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def items(doc: dict) -> dict[str, dict]:
    return {i["name"]: i for i in doc["line_items"]}


@pytest.fixture(scope="module")
def project():
    """The real dbt project (dbt parse, cached by its files)."""
    return dbt_project()


# ---- the price table ------------------------------------------------------------------------
def test_every_price_is_dated_sourced_and_regional() -> None:
    assert date.fromisoformat(RAW_PRICES["as_of"])
    pages = set()
    for name, p in RAW_PRICES["price"].items():
        assert {"value", "unit", "region", "source", "as_of"} <= set(p), name
        assert p["value"] >= 0 and p["unit"] and p["region"], name
        assert PAGES.fullmatch(p["source"]), name
        assert date.fromisoformat(p["as_of"]) <= date.today(), name
        pages.add(p["source"].removeprefix("https://cloud.google.com/"))
    assert {
        "storage/pricing", "bigquery/pricing", "run/pricing", "scheduler/pricing",
        "artifact-registry/pricing", "compute/vm-instance-pricing", "vpc/network-pricing",
        "free/docs/free-cloud-features", "nat/pricing", "compute/disks-image-pricing",
    } <= pages  # fmt: skip
    assert RAW_PRICES["price"]["gcs_standard_storage"]["region"] == "us-central1"
    assert RAW_PRICES["price"]["bigquery_active_storage"]["region"].startswith("US")
    # the line a VM cannot have free names its page; the IPv6 one says what it rests on
    assert PRICE["network_external_ipv4"] > 0 and PRICE["network_external_ipv6"] == 0
    assert "quoted" in RAW_PRICES["price"]["network_external_ipv6"]["note"]


# ---- the CLI, the designs and the line items ------------------------------------------------
def test_cost_json_has_both_designs_and_every_line_item() -> None:
    doc = cost("--posts-per-day", "150000")
    assert doc["design"] == "vm"  # the default: watch on the free VM
    assert set(items(doc)) == COMMON_ITEMS | VM_ITEMS
    for item in doc["line_items"]:
        assert {"name", "quantity", "unit", "unit_price", "usd_per_month"} <= set(item)
        assert item["quantity"] >= 0 and item["usd_per_month"] >= 0
    total = sum(i["usd_per_month"] for i in doc["line_items"])
    assert doc["total_usd_per_month"] == pytest.approx(total, abs=0.006)
    assert doc["volume"]["posts_per_day"] == 150000
    assert doc["prices_as_of"] == RAW_PRICES["as_of"]
    assert doc["assumptions"]["age_days"] == 365

    run = cost("--posts-per-day", "150000", "--design", "cloud_run")
    assert set(items(run)) == COMMON_ITEMS | CLOUD_RUN_ITEMS
    # each document carries the total of every design; the chosen one is its total
    assert doc["designs"] == run["designs"]
    assert doc["designs"]["vm"]["total_usd_per_month"] == doc["total_usd_per_month"]
    assert run["designs"]["cloud_run"]["total_usd_per_month"] == run["total_usd_per_month"]
    assert run["total_usd_per_month"] > doc["total_usd_per_month"]
    # the issue's target: the default design, in month 12 at /pol/'s volume, within $1
    assert doc["total_usd_per_month"] <= 1.00
    queries = "BigQuery: queries (dbt build, load inserts)"
    assert items(doc)[queries]["billable_quantity"] == 0  # inside the free TiB
    assert items(run)[queries]["billable_quantity"] > 0  # 720 builds: beyond it
    # transforming hourly on the VM bills the job's queries: the same warehouse
    hourly = cost("--posts-per-day", "150000", "--transform-every-hours", "1")
    assert items(hourly)[queries] == items(run)[queries]
    assert hourly["total_usd_per_month"] > 5 * doc["total_usd_per_month"]


def test_two_line_items_by_hand_from_the_price_table() -> None:
    posts, bytes_per_post, cold_after = 150_000, 195.0, 7
    doc = cost(
        "--posts-per-day", str(posts), "--bytes-per-post", str(bytes_per_post),
        "--cold-after-days", str(cold_after), "--no-free-tier",
    )  # fmt: skip
    standard = items(doc)["Cloud Storage: Standard (raw, first days)"]
    gib_month = posts * bytes_per_post * cold_after / 2**30  # steady state: 7 days of files
    assert standard["quantity"] == pytest.approx(gib_month)
    assert standard["unit_price"] == PRICE["gcs_standard_storage"] == 0.020
    assert standard["usd_per_month"] == pytest.approx(gib_month * 0.020)

    doc = cost("--posts-per-day", str(posts), "--design", "cloud_run", "--run-seconds", "600")
    vcpu = items(doc)["Cloud Run: vCPU"]
    seconds = 1 * 600 * 24 * 30  # 720 hourly runs of 10 minutes on one vCPU
    free = RAW_PRICES["price"]["cloud_run_free_cpu"]["value"]
    assert vcpu["quantity"] == seconds and vcpu["free_quantity"] == free == 240_000
    assert vcpu["usd_per_month"] == pytest.approx((seconds - free) * PRICE["cloud_run_cpu"])
    assert vcpu["usd_per_month"] == pytest.approx(3.456)


def test_the_vm_is_free_and_its_ipv4_address_is_not() -> None:
    doc = cost("--posts-per-day", "150000")
    vm = items(doc)
    assert vm["Compute Engine: e2-micro VM"]["usd_per_month"] == 0  # 720 h, 720 h free
    assert vm["Compute Engine: e2-micro VM"]["free_quantity"] == 720
    assert vm["Compute Engine: standard persistent disk"]["usd_per_month"] == 0  # 10 of 30 GB
    assert vm["Compute Engine: external IPv6 address"]["usd_per_month"] == 0
    assert vm["Network: internet egress"]["usd_per_month"] == 0  # under the free GiB

    ipv4 = cost("--posts-per-day", "150000", "--vm-network", "ipv4")
    line = items(ipv4)["Compute Engine: external IPv4 address"]
    assert line["usd_per_month"] == pytest.approx((720 - 1) * PRICE["network_external_ipv4"])
    assert ipv4["total_usd_per_month"] == pytest.approx(
        doc["total_usd_per_month"] + line["usd_per_month"], abs=0.011
    )
    nat = cost("--posts-per-day", "150000", "--vm-network", "nat")
    nat_lines = [i for i in nat["line_items"] if i["service"] == "Cloud NAT"]
    assert len(nat_lines) == 3  # the gateway, its address, the data: dearer than the address
    assert nat["total_usd_per_month"] > ipv4["total_usd_per_month"]


def test_estimate_grows_with_volume_retention_and_history(project) -> None:
    def total(**kw: float) -> float:
        posts = kw.pop("posts", 150_000)
        a = Assumptions(**kw)  # type: ignore[arg-type]
        return estimate(Volume(posts_per_day=posts), a, project=project).total_usd_per_month

    def gcs(**kw: float) -> float:
        a = Assumptions(free_tier=False, **kw)  # type: ignore[arg-type]
        e = estimate(Volume(posts_per_day=150_000), a, project=project)
        return sum(i.usd_per_month for i in e.line_items if i.service == "Cloud Storage")

    assert total(posts=300_000) > total(posts=150_000) > total(posts=10_000)
    assert gcs(retention_days=90) > gcs(retention_days=60) > gcs(retention_days=40)
    assert total(age_days=730) > total(age_days=365) > total(age_days=30)
    assert total(transform_every_hours=1) > total() > total(transform_every_hours=6) - 0.01
    assert gcs(heartbeat_seconds=60) > gcs() > gcs(heartbeat_seconds=600)
    assert gcs(flush_minutes=5) > gcs(flush_minutes=10) > gcs(flush_minutes=60)


def test_lease_renewals_and_heartbeats_are_counted_by_hand(project) -> None:
    """Class A writes of a month, by hand: watch's files and state every flush, its heartbeat
    every 5 minutes and the crawl lease rewritten every TTL / 4 (75 s) all month; a `polit
    run` takes the lease (a read and a write) and renews it while it runs."""
    from polit.crawl.lease import TTL
    from polit.crawl.watch import Watcher

    assert TTL / 4 == 75  # what the note on the line says
    a = Assumptions(boards=2)
    month = 30 * 86400
    flushes = month / (a.flush_minutes * 60)
    writes = (
        flushes * 2 * 2  # a posts and a threads file per board
        + flushes * 2  # each board's state
        + month / 300  # heartbeats: polit watch's default --heartbeat-seconds
        + 2 * month / 75  # leases: 34,560 a board
        + 720 * 2  # load manifest documents
        + 720 * 2 / 24  # and their compactions
    )
    watch_default = inspect.signature(Watcher.__init__).parameters["heartbeat_seconds"].default
    assert a.heartbeat_seconds == watch_default == 300
    e = estimate(Volume(posts_per_day=150_000, files_per_run=4), a, project=project)
    line = next(i for i in e.line_items if i.name.startswith("Cloud Storage: Class A"))
    listed = re.search(r"\+ ([\d,]+) list calls \((\d+) a load\)", line.note)
    assert listed is not None, line.note
    lists = int(listed[1].replace(",", ""))
    assert lists == 720 * int(listed[2])
    assert line.quantity == pytest.approx(writes + lists)
    assert "69,120 crawl-lease writes" in line.note and "8,640 heartbeats" in line.note  # one watch

    run = replace(a, design="cloud_run", run_seconds=600)
    e = estimate(Volume(posts_per_day=150_000), run, project=project)
    line = next(i for i in e.line_items if i.name.startswith("Cloud Storage: Class A"))
    assert f"{720 * 2 * (1 + 600 // 75):,} crawl-lease writes" in line.note
    assert "0 heartbeats" in line.note


def test_intermediate_partitions_expire_as_the_dbt_project_says(project) -> None:
    """int_post_tokens and int_term_hours keep `intermediate_keep_days` of partitions on
    BigQuery (partition_expiration_days, read from dbt parse); the marts keep everything."""
    import yaml  # type: ignore[import-untyped]

    from polit.cost_dbt import summarize_manifest
    from polit.transform.runner import project_dir

    keep = yaml.safe_load((project_dir() / "dbt_project.yml").read_text())["vars"][
        "intermediate_keep_days"
    ]
    kept = {n: m.keep_days for n, m in project.models.items() if m.keep_days}
    assert kept == {"int_post_tokens": keep, "int_term_hours": keep}
    doc = estimate(Volume(posts_per_day=150_000), project=project).as_dict()
    stored = {t["table"]: t for t in doc["bigquery_storage"]}
    tokens = load_cost_models().tables["int_post_tokens"]
    assert stored["int_post_tokens"]["gib"] == pytest.approx(
        150_000 * keep * tokens.row_bytes / GIB, rel=0.01
    )
    # the summary takes it from a model's config, nothing else
    manifest = {"nodes": {"model.p.m": {"resource_type": "model", "name": "m",
                                        "depends_on": {"nodes": []},
                                        "config": {"partition_expiration_days": 3}}}}  # fmt: skip
    assert summarize_manifest(manifest, {})["models"]["m"]["keep_days"] == 3
    # without the expiry the year holds ~50 times more of them
    full = replace(
        project, models={n: replace(m, keep_days=None) for n, m in project.models.items()}
    )
    doc = estimate(Volume(posts_per_day=150_000), project=full).as_dict()
    assert {t["table"]: t for t in doc["bigquery_storage"]}["int_post_tokens"]["gib"] > 40 * (
        stored["int_post_tokens"]["gib"]
    )


def test_cold_class_minimum_duration_is_billed(project) -> None:
    def cold_gib(cls: str) -> float:
        a = Assumptions(cold_class=cls, cold_after_days=7, retention_days=30, soft_delete_days=0)
        e = estimate(Volume(posts_per_day=100_000), a, project=project)
        return next(i.quantity for i in e.line_items if "until deleted" in i.name)

    day = 100_000 * 195.0 / GIB
    assert cold_gib("NEARLINE") == pytest.approx(day * (30 - 7))  # 30 >= Nearline's 30
    assert cold_gib("COLDLINE") == pytest.approx(day * (90 - 7))  # billed to Coldline's 90


def test_the_load_manifest_is_bounded_unless_asked_not_to_be(project) -> None:
    def reads(age: int, **kw: object) -> float:
        a = Assumptions(age_days=age, **kw)  # type: ignore[arg-type]
        e = estimate(Volume(posts_per_day=150_000), a, project=project)
        return next(i.quantity for i in e.line_items if i.name.endswith("Class B (reads)"))

    assert reads(365) == reads(60)  # compacted: the same documents at any age
    unbounded = {age: reads(age, manifest_compact_docs=None) for age in (60, 365)}
    # today's manifest: every load reads every job document ever written (two a load)
    assert unbounded[365] - unbounded[60] == pytest.approx(2 * 24 * (365 - 60) * 720)


def test_bad_input_is_one_clear_error() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["cost"])
    assert result.exit_code == 1 and "--posts-per-day" in result.output
    result = runner.invoke(app, ["cost", "--posts-per-day", "1000", "--cold-class", "ARCHIVE"])
    assert result.exit_code == 1 and "cold class" in result.output
    result = runner.invoke(app, ["cost", "--posts-per-day", "1000", "--design", "lambda"])
    assert result.exit_code == 1 and "design must be one of vm, cloud_run" in result.output
    result = runner.invoke(app, ["cost", "--posts-per-day", "1000", "--watch"])
    assert result.exit_code == 2 and "No such option: --watch" in result.output  # use --design
    result = runner.invoke(app, ["cost", "--posts-per-day", "1000"])
    assert result.exit_code == 0 and "total" in result.output and "cloud_run" in result.output


# ---- every dbt model and test, from the dbt project ------------------------------------------
def test_every_model_of_the_dbt_project_has_a_cost_entry(project) -> None:
    entries = load_cost_models().entries
    missing = sorted(set(project.models) - set(entries))
    assert not missing, f"add them to {MODELS_PATH.name}: {missing}"
    assert len(project.models) >= 15 and len(project.tests) >= 30

    doc = cost("--posts-per-day", "150000")
    per_model = {e["model"]: e for e in doc["bigquery_bytes_per_run"]}
    assert set(per_model) == set(project.models) | set(project.seeds) | {RUN_NODE}
    # the cursors: read once before the build and saved once after it, not per model
    assert [q["query"] for q in per_model[RUN_NODE]["queries"]] == [
        "cursors: read before the build", "cursors: on-run-end merge"
    ]  # fmt: skip
    assert not [q for e in per_model.values() for q in e["queries"] if "cursor" in q["query"]
                and e["model"] != RUN_NODE]  # fmt: skip
    tests = [t for e in doc["bigquery_bytes_per_run"] for t in e["tests"]]
    assert sorted(t["test"] for t in tests if t["query"] == "test") == sorted(
        t.name for t in run_tests(project)
    )
    for entry in doc["bigquery_bytes_per_run"]:
        billed = entry["build_billed_bytes"] + entry["tests_billed_bytes"]
        assert entry["billed_bytes"] == pytest.approx(billed, abs=len(entry["queries"]) + 50)
        if entry["materialized"] in ("view", "ephemeral"):
            assert entry["queries"] == []  # inlined into the models that select them
        for q in (*entry["queries"], *entry["tests"]):
            # BigQuery's minimum: 10 MiB for every table a query references
            assert q["billed_bytes"] >= 10 * MIB * len(q["tables"]) - 1
    runs = doc["bigquery"]["transform_runs"]
    billed = sum(e["billed_bytes"] for e in doc["bigquery_bytes_per_run"]) * runs
    assert doc["bigquery"]["billed_tib"] == pytest.approx(billed / 2**40, abs=1e-3)


def test_a_model_without_a_cost_entry_fails_the_estimate(project) -> None:
    extra = DbtModel("shiny_new_mart", "incremental", "insert_overwrite")
    grown = replace(project, models={**project.models, extra.name: extra})
    with pytest.raises(CostModelError, match=r"no entry for the dbt model.*shiny_new_mart"):
        estimate(Volume(posts_per_day=150_000), project=grown)


def _sizes(runs: int = 24, **volume: float):
    models = load_cost_models()
    dbt_vars = {**models.vars, "late_change_days": 2, "lookback_hours": 6}
    days = window_days(dbt_vars, runs)
    return volume_sizes(Volume(posts_per_day=150_000, **volume), models, dbt_vars, days), models


def test_posts_new_rows_by_hand_from_the_cost_table(project) -> None:
    sizes, models = _sizes()
    posts = DbtModel("posts", "incremental", "merge", unique_key=("board", "post_id"))
    queries = {q.name: q for q in model_queries(posts, models.entries["posts"])}
    raw, table = models.tables["raw_posts"], models.tables["posts"]
    # today's partition so far (25/48 of a day on average over 24 runs), and yesterday's whole
    # in the 6 runs whose 6-hour lookback crosses midnight
    raw_days = 25 / 48 + 6 / 24
    recent_days = 2 + 25 / 48  # late_change_days whole days and today's
    expected = (
        150_000 * raw_days * raw.rows_per_post * raw.row_bytes
        + 150_000 * recent_days * table.row_bytes
    )
    read, billed = query_bytes(queries["new rows into a temp table"], sizes, 365, 10 * MIB)
    assert read == pytest.approx(expected) and billed == pytest.approx(expected)
    # a month in, a year in: the same bytes (the windows are days, not history)
    assert query_bytes(queries["new rows into a temp table"], sizes, 30, 10 * MIB)[0] == read
    # the cursors: one read of polit_cursors a run, billed at BigQuery's 10 MiB minimum, at
    # any history (a max over posts' loaded_at would grow with it); none of posts' own
    assert not [q for q in model_queries(posts, models.entries["posts"]) if "cursor" in q.name]
    read = next(q for q in run_queries(project, models) if q.name.startswith("cursors: read"))
    for age in (5, 365):
        assert query_bytes(read, sizes, age, 10 * MIB)[1] == 10 * MIB


def test_runs_are_charged_at_the_history_they_see(project) -> None:
    def month(age: int) -> dict:
        a = Assumptions(age_days=age)
        doc = estimate(Volume(posts_per_day=150_000), a, project=project).as_dict()
        return {e["model"]: {q["query"]: q for q in e["queries"]} | {"": e}
                for e in doc["bigquery_bytes_per_run"]}  # fmt: skip

    young, old = month(40), month(365)
    # the windowed reads of posts and its cursor stay flat; what reads all of a table grows
    # with history: threads, which is not partitioned
    for query in ("new rows into a temp table", "merge"):
        assert old["posts"][query]["bytes"] == pytest.approx(young["posts"][query]["bytes"])
    assert old["threads"]["merge"]["bytes"] > 9 * young["threads"]["merge"]["bytes"]
    # and a model built as a table reads all of its inputs, so it grows too
    table = {**project.models, "activity_hourly": DbtModel("activity_hourly", "table", None)}
    as_table = replace(project, models=table)
    doc = estimate(Volume(posts_per_day=150_000), project=as_table).as_dict()
    rebuilt = next(e for e in doc["bigquery_bytes_per_run"] if e["model"] == "activity_hourly")
    assert [q["query"] for q in rebuilt["queries"]] == ["create table as select"]
    incremental = old["activity_hourly"]["touched days into a temp table"]["bytes"]
    assert rebuilt["queries"][0]["bytes"] > 50 * incremental


def test_hourly_tests_read_the_recent_window_or_everything(project) -> None:
    """The project's get_where_subquery override bounds every test of a model with loaded_at
    (after a lookup of its newest loaded_at); without it, or a `where`, a test reads it all."""
    models = load_cost_models()

    def tests_bytes(p: object, lookup: str = "all") -> float:
        m = replace(models, tests={**models.tests, "lookup": {"window": lookup}})
        a = Assumptions()
        sizes = lambda tables, v: volume_sizes(Volume(150_000), m, v, window_days(v, 24))  # noqa: E731
        w = project_costs(p, m, sizes, 24, a.age_days, 10 * MIB)  # type: ignore[arg-type]
        return sum(q.billed_bytes for n in w.nodes for q in n.tests) / w.runs

    assert project.where_override  # dbt/macros/tests.sql
    bare = replace(project, where_override=False)
    with_where = replace(bare, tests=tuple(replace(t, windowed=True) for t in project.tests))
    assert tests_bytes(bare) > 5 * tests_bytes(with_where)
    # bounded by the override: the test reads the window, its lookup (as written) all of it
    assert tests_bytes(project) > tests_bytes(project, lookup="recent")
    # with the lookup bounded too, each query is billed ~10 MiB per table it references
    bounded = [t for t in project.tests if "loaded_at" in models.tables[t.node].columns]
    refs = sum(1 + bool(t.parent) for t in project.tests) + len(bounded)
    assert tests_bytes(project, lookup="recent") < refs * 10 * MIB * 1.5


def test_hourly_runs_test_each_incremental_model_in_one_query(project) -> None:
    """Hourly: one changed_rows_valid query (and its cursor lookup) per incremental model with
    tests, plus the tests it does not fold in; full-test runs: every other test on its own."""
    models = load_cost_models()
    a = Assumptions()
    sizes = lambda tables, v: volume_sizes(Volume(150_000), models, v, window_days(v, 24))  # noqa: E731

    def run(full_tests: bool) -> tuple[list[str], float]:
        w = project_costs(project, models, sizes, 24, a.age_days, 10 * MIB,  # type: ignore[arg-type]
                          full_tests=full_tests)  # fmt: skip
        tests = [q for n in w.nodes for q in n.tests if q.part == ""]
        return [q.name for q in tests], sum(
            q.billed_bytes for n in w.nodes for q in n.tests
        ) / w.runs

    incremental = {m for m, d in project.models.items() if d.materialized == "incremental"}
    near = {m for m, d in project.models.items() if incremental & {m, *d.depends_on}}
    combined = {t.node for t in project.tests if t.kind == "changed_rows_valid"}
    assert combined == {t.node for t in project.tests if t.kind in FOLDED_TESTS} & near
    hourly, hourly_bytes = run(False)
    full, full_bytes = run(True)
    on_their_own = [t.name for t in project.tests if t.node not in combined
                    or t.kind not in ("changed_rows_valid", *FOLDED_TESTS)]  # fmt: skip
    assert sorted(hourly) == sorted([f"changed_rows_valid_{m}_" for m in combined] + on_their_own)
    assert len(hourly) < len(full) == len(project.tests) - len(combined)
    assert not any(name.startswith("changed_rows_valid") for name in full)
    assert full_bytes > 10 * hourly_bytes  # every row, each test reading its own columns
    # the combined test reads the columns its folded tests read
    posts = next(t for t in run_tests(project) if t.name == "changed_rows_valid_posts_")
    assert set(posts.columns or ()) == {"board", "post_id", "thread_id", "first_seen_at",
                                        "last_observed_at", "is_deleted", "loaded_at"}  # fmt: skip


def test_storage_counts_every_table_the_warehouse_holds(project) -> None:
    doc = estimate(Volume(posts_per_day=150_000), project=project).as_dict()
    stored = {t["table"]: t for t in doc["bigquery_storage"]}
    views = {m for m, d in project.models.items() if d.materialized == "view"}
    assert {"raw_posts", "raw_threads", *project.seeds} <= set(stored)
    assert set(project.models) - views <= set(stored) and not views & set(stored)
    # a year of /pol/: raw and posts ~26 GiB each; day partitions turn long-term after 90 days
    posts = stored["posts"]
    assert posts["gib"] == pytest.approx(150_000 * 350 * 539.8 / GIB, rel=0.02)
    assert posts["active_gib"] == pytest.approx(150_000 * 90 * 539.8 / GIB, rel=0.02)
    assert stored["threads"]["active_gib"] == stored["threads"]["gib"]  # merged whole
    lines = items(doc)
    total = sum(t["gib"] for t in doc["bigquery_storage"])
    active = sum(t["active_gib"] for t in doc["bigquery_storage"])
    assert lines["BigQuery: active storage"]["quantity"] == pytest.approx(active, abs=1e-3)
    assert lines["BigQuery: long-term storage"]["quantity"] == pytest.approx(
        total - active, abs=0.01
    )
    prices = load_prices()
    assert lines["BigQuery: active storage"]["usd_per_month"] == pytest.approx(
        (active - prices["bigquery_free_storage"].value) * 0.02, abs=1e-3
    )


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
