"""The dbt project: DuckDB end to end on the replayed recording, checked against the
recording's own truth; BigQuery parsed and compiled without any connection."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import duckdb
import pytest
import sqlglot
from typer.testing import CliRunner

from polit.cli import app
from polit.lake.schema import TABLES
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from polit.transform import DbtError, run_dbt, transform
from polit.transform.profiles import profile
from tests.helpers.bigquery import partition_filter_violations
from tests.helpers.paths import ROOT
from tests.helpers.replay_helpers import recording_truth, trimmed_recording
from tests.helpers.warehouse import digest, digests, load, query, replayed_lake

MODELS = ("posts", "threads")
INSIGHTS = tuple(sorted(p.stem for p in (ROOT / "dbt" / "models" / "insights").glob("*.sql")))


@pytest.fixture(scope="module")
def built(recording, tmp_path_factory) -> SimpleNamespace:
    lake = replayed_lake(recording, tmp_path_factory)
    work = tmp_path_factory.mktemp("dbt")
    path = work / "warehouse.duckdb"
    load(lake, path)
    report = transform(str(path), workdir=work / "dbt", quiet=True)
    return SimpleNamespace(
        lake=lake, path=path, work=work / "dbt", report=report, truth=recording_truth(recording)
    )


# -- DuckDB, end to end ----------------------------------------------------------------------
def test_build_runs_models_tests_and_unit_tests(built):
    statuses = built.report.statuses
    assert {s for s in statuses.values()} <= {"success", "pass"}  # exposures left out
    kinds = {uid.split(".")[0] for uid in statuses}
    assert kinds == {"model", "seed", "test", "unit_test", "operation"}  # on-run-end: cursors
    assert sum(uid.startswith("operation.") for uid in statuses) == 1
    assert sum(uid.startswith("unit_test.") for uid in statuses) >= 2
    assert {f"model.polit.{m}" for m in (*MODELS, *INSIGHTS)} <= set(statuses)
    assert {"seed.polit.vader_lexicon", "seed.polit.stopwords"} <= set(statuses)


def test_posts_are_the_recordings_posts(built):
    truth = built.truth
    n, distinct, deleted = query(
        built.path,
        "SELECT count(*), count(DISTINCT (board, post_id)), count(deleted_at) FROM posts",
    )[0]
    assert n == distinct == len(truth.post_thread) == 59_993
    assert dict(query(built.path, "SELECT post_id, thread_id FROM posts")) == truth.post_thread
    gone = {
        r[0] for r in query(built.path, "SELECT post_id FROM posts WHERE deleted_at IS NOT NULL")
    }
    assert deleted == len(gone) == 123 and gone == truth.deleted
    inconsistent = (
        "SELECT count(*) FROM posts WHERE is_deleted <> (deleted_at IS NOT NULL) OR "
        "post_datetime IS NULL OR first_seen_at > last_seen_at OR "
        "url NOT LIKE 'https://boards.4chan.org/pol/thread/%#p%'"
    )
    assert query(built.path, inconsistent)[0][0] == 0


def test_threads_hold_every_thread_with_its_last_copy_size(built):
    truth = built.truth
    sizes = dict(query(built.path, "SELECT thread_id, number_of_posts FROM threads"))
    assert query(built.path, "SELECT count(*) FROM posts p ANTI JOIN threads t "
                 "USING (board, thread_id)")[0][0] == 0  # fmt: skip
    assert sizes == {t: len(posts) for t, posts in truth.last_copy.items()}
    ops = query(built.path, "SELECT count(*), count(created_at), count(*) FILTER (WHERE "
                "archived_at IS NOT NULL) FROM threads")[0]  # fmt: skip
    assert ops[0] == ops[1] == len(truth.last_copy)  # every thread has its OP
    assert ops[2] > 0  # threads that left the board were archived in this replay


def test_three_more_loads_and_transforms_change_no_row(built):
    before = {t: digest(built.path, t) for t in MODELS}
    raw = {t: query(built.path, f"SELECT count(*) FROM raw.{t}")[0][0] for t in TABLES}
    for _ in range(3):
        assert load(built.lake, built.path) == 0  # nothing new in the lake
        transform(str(built.path), workdir=built.work, quiet=True)
        assert {t: digest(built.path, t) for t in MODELS} == before
    assert {t: query(built.path, f"SELECT count(*) FROM raw.{t}")[0][0] for t in TABLES} == raw


def test_incremental_runs_equal_a_full_refresh_despite_duplicates(built, tmp_path):
    """From an empty warehouse, in two loads with a transform after each, with one lake
    file duplicated (the lake is at-least-once): every model has the rows of a full build."""
    lake = tmp_path / "lake"
    shutil.copytree(built.lake, lake)
    posts_file = Path(Lake(str(lake)).files("posts")[4].path)  # its copy sorts 5th: next load
    shutil.copy(posts_file, posts_file.with_name(posts_file.stem + "-again.parquet"))
    path, work = tmp_path / "w.duckdb", tmp_path / "dbt"
    load(lake, path, {t: slice(0, 0) for t in TABLES})  # raw tables exist, still empty
    transform(str(path), workdir=work, quiet=True)
    assert digest(path, "posts")[0] == 0
    for part in (slice(0, 5), slice(5, None)):
        assert load(lake, path, {t: part for t in TABLES}) > 0
        transform(str(path), workdir=work, quiet=True)
    raw = "SELECT count(*) FROM raw.posts"
    assert query(path, raw)[0][0] > query(built.path, raw)[0][0]  # the copy was loaded
    incremental = digests(path)
    assert set(incremental) == {*MODELS, *INSIGHTS}
    transform(str(path), full_refresh=True, workdir=work, quiet=True)
    assert digests(path) == incremental
    # and, load times aside, the same as the clean single load
    same = {t: digest(path, t, exclude=("loaded_at",)) for t in MODELS}
    assert same == {t: digest(built.path, t, exclude=("loaded_at",)) for t in MODELS}


def test_cli_transform_run_and_rebuild(recording, tmp_path):
    runner = CliRunner()
    warehouse = tmp_path / "w.duckdb"
    env = {"POLIT_WAREHOUSE": str(warehouse), "POLIT_LAKE": str(tmp_path / "lake"),
           "POLIT_MAX_RPS": "0", "COLUMNS": "200"}  # fmt: skip

    failed = runner.invoke(app, ["transform"], env=env)  # nothing loaded: dbt never starts
    assert failed.exit_code == 2, (failed.output, failed.exception)
    assert "run `polit load` first" in failed.output, failed.output

    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=2)
    with ReplayServer(rec) as srv:
        ran = runner.invoke(app, ["run", "--api-url", srv.url, "--board", "pol"], env=env)
    assert ran.exit_code == 0, ran.output
    assert "posts: 1 files" in ran.output and "dbt build:" in ran.output
    posts = digest(warehouse, "posts", exclude=("loaded_at",))
    assert posts[0] > 10_000

    rebuilt = runner.invoke(app, ["rebuild", "--yes"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert digest(warehouse, "posts", exclude=("loaded_at",)) == posts


# -- profiles --------------------------------------------------------------------------------
def test_profiles_are_generated_from_the_warehouse_url(tmp_path):
    duck = profile(str(tmp_path / "w.duckdb"))["polit"]
    assert duck["target"] == "duckdb"
    assert duck["outputs"]["duckdb"]["path"] == str(tmp_path / "w.duckdb")
    bq = profile("bigquery://my-proj/polit", env={"POLIT_BIGQUERY_LOCATION": "EU"})["polit"]
    out = bq["outputs"]["bigquery"]
    assert (bq["target"], out["method"], out["project"], out["dataset"], out["location"]) == (
        "bigquery", "oauth", "my-proj", "polit", "EU"
    )  # fmt: skip
    assert not {"keyfile", "keyfile_json", "token", "refresh_token"} & set(out)  # ADC only


# -- BigQuery, without a connection ----------------------------------------------------------
BQ_URL = "bigquery://fake-project/polit"


@pytest.fixture(scope="module")
def bq_work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dbt-bigquery")


def _no_google(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("tried to reach Google")


def test_bigquery_parse_needs_no_connection(bq_work):
    import dbt.adapters.bigquery.connections as bqc
    import google.auth

    with (
        mock.patch.object(google.auth, "default", _no_google),
        mock.patch.object(bqc, "create_bigquery_client", _no_google),
    ):
        run_dbt(["parse"], BQ_URL, workdir=bq_work, quiet=True)
    manifest = json.loads((bq_work / "target" / "manifest.json").read_text())
    nodes = manifest["nodes"]
    posts = nodes["model.polit.posts"]["config"]
    # day partitions: 10,000 of them last 27 years (hourly ones, 417 days)
    assert posts["partition_by"] == {
        "field": "post_datetime", "data_type": "timestamp", "granularity": "day"
    }  # fmt: skip
    assert posts["cluster_by"] == ["board", "thread_id", "post_id"]
    for model in MODELS:
        config = nodes[f"model.polit.{model}"]["config"]
        assert config["materialized"] == "incremental" and config["incremental_strategy"] == "merge"
    assert "partition_by" not in nodes["model.polit.threads"]["config"] or (
        nodes["model.polit.threads"]["config"]["partition_by"] is None
    )
    # the two intermediate token tables expire day partitions (intermediate_keep_days); the
    # raw tables' copies, posts, threads and every mart keep all of them
    expiring = {
        n["name"]: n["config"]["partition_expiration_days"]
        for n in nodes.values()
        if n["resource_type"] == "model" and n["config"].get("partition_expiration_days")
    }
    assert expiring == {"int_post_tokens": 7, "int_term_hours": 7}
    tokens = nodes["model.polit.int_post_tokens"]["config"]
    assert tokens["partition_by"]["field"] == "post_datetime"  # expiry is by the posting day
    sources = {s["name"]: s for s in manifest["sources"].values()}
    for table in TABLES:
        src = sources[table]
        assert (src["database"], src["schema"], src["identifier"]) == (
            "fake-project", "polit", f"raw_{table}"
        )  # fmt: skip
        assert src["loaded_at_field"] == "observed_at"
        assert src["freshness"]["warn_after"] == {"count": 2, "period": "hour"}
        assert src["freshness"]["error_after"] == {"count": 6, "period": "hour"}


class FakeBigQueryClient:
    """Answers dbt's introspection: which tables exist. Anything else is a failure."""

    def __init__(self, existing: tuple[str, ...]) -> None:
        self.existing = existing

    def list_tables(self, dataset: Any, max_results: int | None = None) -> list[Any]:
        return [
            SimpleNamespace(project="fake-project", dataset_id="polit", table_id=t,
                            table_type="TABLE", reference=None)
            for t in self.existing
        ]  # fmt: skip

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected BigQuery call: {name}")


@pytest.fixture
def bigquery_compile(bq_work) -> Iterator[Any]:
    import dbt.adapters.bigquery.connections as bqc
    from dbt_common.clients import agate_helper

    queries: list[str] = []

    def execute(self: Any, sql: str, auto_begin: bool = False, fetch: Any = None,
                limit: Any = None) -> Any:  # fmt: skip
        queries.append(sql)
        row, names = ["2026-01-02 03:04:05.000000+00"], ["since"]
        if "previous is not null" in sql:  # a test's read of the previous cursor and its bound
            row, names = [*row, "2025-12-31 00:00:00+00"], ["previous", "bound"]
        table = agate_helper.table_from_rows([row], names)
        return bqc.BigQueryAdapterResponse(_message="OK"), table

    def compile_(existing: tuple[str, ...], dbt_vars: dict[str, Any] | None = None,
                 select: str = "resource_type:model",
                 ) -> tuple[dict[str, str], list[str]]:  # fmt: skip
        queries.clear()
        args = ["compile", "--select", select]
        args += ["--vars", json.dumps(dbt_vars)] if dbt_vars else []
        with (
            mock.patch.object(
                bqc, "create_bigquery_client", lambda c: FakeBigQueryClient(existing)
            ),
            mock.patch.object(bqc.BigQueryConnectionManager, "execute", execute),
        ):
            result = run_dbt(args, BQ_URL, workdir=bq_work, quiet=True)
        kind = "model" if select == "resource_type:model" else "test"  # and their tests
        compiled = {r.node.name: r.node.compiled_code for r in result.result.results
                    if r.node.resource_type == kind}  # fmt: skip
        return compiled, list(queries)

    yield compile_


DUCKDB_ONLY = re.compile(
    r"printf\(|to_timestamp\(|::|\"no\"|\binterval '|exclude \(|lambda |list_transform\("
    r"|isodow\(|\bepoch\(|date_trunc\(|\blen\(|, 'g'\)|_values\(",
    re.I,
)


@pytest.mark.parametrize(
    "existing", [(), (*MODELS, "polit_cursors")], ids=["first-run", "incremental"]
)
def test_bigquery_models_compile_to_bigquery_sql(bigquery_compile, existing):
    compiled, queries = bigquery_compile(existing)
    assert set(compiled) == {"stg_chan__posts", "stg_chan__threads", *MODELS, *INSIGHTS}
    assert len(INSIGHTS) >= 16
    for name, sql in compiled.items():
        sqlglot.parse_one(sql, read="bigquery")  # raises on a syntax error
        assert not DUCKDB_ONLY.search(sql), f"{name}: DuckDB SQL in the BigQuery build"
    stg = compiled["stg_chan__posts"]
    assert "from `fake-project`.`polit`.`raw_posts`" in stg
    assert "`no` as post_id" in stg and "timestamp_seconds(time)" in stg
    assert "format('https://boards.4chan.org/%s/thread/%d#p%d'" in stg
    assert "_loaded_at as loaded_at" in stg  # the load's stamp, from the insert
    if existing:  # incremental: a literal cursor (prunes partitions), exact: stamps only grow
        since = "loaded_at > timestamp('2026-01-02 03:04:05.000000+00')"
        assert since in compiled["posts"] and since in compiled["threads"]
        assert "from `fake-project`.`polit`.`posts` as target" in compiled["posts"]
        # plain dbt: the cursors read per model; threads' bounds (late_change_days), trend window
        read = re.compile("`polit_cursors` where model|interval 2 day|newest_hour")
        assert queries and all(read.search(q) for q in queries)
    else:  # nothing is read before a first run but the trend window (terms_trending)
        assert "loaded_at >" not in compiled["posts"]
        assert queries and all("newest_hour" in q for q in queries)


def test_killed_transform_then_rerun_reaches_the_same_tables(built, tmp_path):
    """SIGKILL `polit transform` at random moments of an incremental build; a rerun gives
    the tables of an uninterrupted build (load times aside)."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    lake = tmp_path / "lake"
    shutil.copytree(built.lake, lake)
    want = {t: digest(built.path, t, exclude=("loaded_at",)) for t in MODELS}
    rng = random.Random(11)
    cmd = [sys.executable, "-m", "polit", "-q", "transform"]
    killed_mid_build = 0
    for trial in range(4):
        path = tmp_path / f"w{trial}.duckdb"
        load(lake, path, {t: slice(0, 5) for t in TABLES})
        transform(str(path), workdir=tmp_path / "dbt", quiet=True)
        load(lake, path)  # the rest: the next build is incremental
        env = {**os.environ, "POLIT_WAREHOUSE": str(path)}
        started = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(rng.uniform(4.0, 14.0))  # start-up takes a few seconds, a build ~10
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_mid_build += time.monotonic() - started > 4.0 and proc.returncode == -9
        transform(str(path), workdir=tmp_path / "dbt", quiet=True)
        assert {t: digest(path, t, exclude=("loaded_at",)) for t in MODELS} == want, trial
    assert killed_mid_build >= 2


def test_bigquery_incremental_reads_carry_literal_partition_filters(bigquery_compile, bq_work):
    """Every read of a partitioned table (raw tables, the staging views over them, `posts`
    and every mart) in an incremental build has a literal bound on its partition column:
    BigQuery prunes on a literal, never on a subquery's result."""
    compiled, queries = bigquery_compile((*MODELS, *INSIGHTS, "polit_cursors"))
    manifest = json.loads((bq_work / "target" / "manifest.json").read_text())
    partitioned = {"raw_posts": "_loaded_at", "raw_threads": "_loaded_at",
                   "stg_chan__posts": "loaded_at", "stg_chan__threads": "loaded_at"}  # fmt: skip
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["config"].get("partition_by"):
            partitioned[node["alias"]] = node["config"]["partition_by"]["field"]
    assert {"posts", *INSIGHTS} - {"terms_trending"} <= set(partitioned)
    nodes = manifest["nodes"].values()
    models = [n for n in nodes if n["resource_type"] == "model"]  # not the on-run-end hook
    views = {n["name"] for n in models if n["config"].get("materialized") == "view"}
    assert views == {"stg_chan__posts", "stg_chan__threads"}  # inlined: their readers bound them
    found = {name: partition_filter_violations(sql, partitioned)
             for name, sql in compiled.items() if name not in views}  # fmt: skip
    assert {name: v for name, v in found.items() if v} == {}
    # the literals were read before the build: one cursor query per incremental model, and
    # none reads a whole model (a max over a model's column scans all its partitions)
    cursor_reads = [q for q in queries if "polit_cursors" in q]
    assert len(cursor_reads) == len({*MODELS, *INSIGHTS} - {"terms_trending"})
    assert all("polit_cursors" in q or "newest_hour" in q or "with touched" in q for q in queries)


def test_bigquery_hourly_tests_compile_with_literal_partition_filters(bigquery_compile, bq_work):
    """The hourly combined tests (changed_rows_valid, one per incremental model with tests)
    are BigQuery SQL, and every read of a partitioned model in them has a literal bound on
    its partition column: the changed rows, within the partitions a build may change."""
    compiled, queries = bigquery_compile(
        (*MODELS, *INSIGHTS, "polit_cursors"),
        {"test_changed_rows": True},
        "test_name:changed_rows_valid",
    )
    manifest = json.loads((bq_work / "target" / "manifest.json").read_text())
    nodes = manifest["nodes"].values()
    models = [n for n in nodes if n["resource_type"] == "model"]
    partitioned = {n["alias"]: n["config"]["partition_by"]["field"] for n in models
                   if n["config"].get("partition_by")}  # fmt: skip
    incremental = {n["name"] for n in models if n["config"]["materialized"] == "incremental"}
    of_incremental = {f"changed_rows_valid_{m}_" for m in incremental} & set(compiled)
    assert len(of_incremental) >= 16 and "changed_rows_valid_terms_trending_" in compiled
    assert {"changed_rows_valid_posts_", "changed_rows_valid_threads_"} <= set(compiled)
    fail_calc = {n["config"]["fail_calc"] for n in nodes if n["name"] in compiled}
    assert len(fail_calc) == 1
    for name, sql in compiled.items():
        # as dbt's test materialization runs it: the fail_calc over the test's rows
        sqlglot.parse_one(
            f"select {next(iter(fail_calc))} as failures from ({sql}) as t", read="bigquery"
        )
        assert not DUCKDB_ONLY.search(sql), f"{name}: DuckDB SQL in the BigQuery build"
        if name in of_incremental:  # the changed rows (terms_trending is a table: every row)
            assert "loaded_at > timestamp('2026-01-02 03:04:05.000000+00')" in sql, name
    found = {name: partition_filter_violations(sql, partitioned) for name, sql in compiled.items()}
    assert {name: v for name, v in found.items() if v} == {}
    assert (
        "post_datetime >= timestamp('2025-12-31 00:00:00+00')"
        in compiled["changed_rows_valid_posts_"]
    )
    # one read of the previous cursor per combined test of an incremental model, nothing else
    assert len([q for q in queries if "polit_cursors" in q]) == len(of_incremental)
    assert len(queries) == len(of_incremental)


def test_bigquery_cursors_come_from_what_polit_transform_read(bigquery_compile, monkeypatch):
    """`polit transform` reads polit_cursors once and passes it in $POLIT_CURSORS: no model
    queries its cursor, and its literals (less the lookback; the partition bound
    late_change_days before) are the ones passed."""
    incremental = {*MODELS, *INSIGHTS} - {"terms_trending"}
    cursors = {m: {"loaded_at": "2026-03-04 05:06:07.080900+00", "previous": None}
               for m in incremental}  # fmt: skip
    monkeypatch.setenv("POLIT_CURSORS", json.dumps(cursors))
    existing = (*MODELS, *INSIGHTS, "polit_cursors")
    compiled, queries = bigquery_compile(existing, {"lookback_hours": 2})
    assert not [q for q in queries if "polit_cursors" in q]
    assert "loaded_at >= timestamp('2026-03-04 03:06:07.080900+00')" in compiled["posts"]
    assert ">= timestamp('2026-03-02 00:00:00+00')" in compiled["activity_hourly"]
    assert "2026-01-02" not in compiled["activity_hourly"]  # nothing from the fake query


RENDER_SAVE = """
{% macro polit_render_save_cursors() %}
    {%- set results = [] -%}
    {%- for node_id in graph.nodes if node_id.startswith('model.') -%}
        {%- do results.append({'node': graph.nodes[node_id], 'status': 'success'}) -%}
    {%- endfor -%}
    {%- do log('SAVE<<' ~ save_cursors(results) ~ '>>SAVE', info=true) -%}
{% endmacro %}
"""


def test_bigquery_cursors_saved_in_one_merge_with_literal_partition_filters(tmp_path, monkeypatch):
    """The on-run-end hook: one MERGE of every built incremental model's cursor, valid
    BigQuery, whose reads of the raw tables carry the literal cursors (so they prune)."""
    from polit.transform.runner import log_file, project_dir

    project = tmp_path / "dbt"
    shutil.copytree(project_dir(), project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "macros" / "render_save.sql").write_text(RENDER_SAVE)
    monkeypatch.setenv("POLIT_DBT_PROJECT", str(project))
    incremental = {*MODELS, *INSIGHTS} - {"terms_trending"}
    cursors = {m: {"loaded_at": "2026-03-04 05:06:07.080900+00", "previous": None}
               for m in incremental}  # fmt: skip
    monkeypatch.setenv("POLIT_CURSORS", json.dumps(cursors))
    work = tmp_path / "work"
    import dbt.adapters.bigquery.connections as bqc

    with mock.patch.object(bqc, "create_bigquery_client", lambda c: FakeBigQueryClient(())):
        run_dbt(["run-operation", "polit_render_save_cursors"], BQ_URL, workdir=work)
    log = log_file(work).read_text()
    sql = log[log.index("SAVE<<") + 6 : log.index(">>SAVE")]
    statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    assert [type(s).__name__ for s in statements][-1] == "Merge"
    merge = statements[-1].sql("bigquery")
    assert sorted(set(re.findall(r"SELECT '(\w+)' AS model", merge))) == sorted(incremental)
    raw = {"raw_posts": "_loaded_at", "raw_threads": "_loaded_at"}
    assert partition_filter_violations(sql.split(";")[-1], raw) == []
    assert merge.count("FOR SYSTEM_TIME AS OF") == 2  # raw posts (posts), raw threads (threads)


def test_exposures_name_exactly_the_marts_the_dashboard_reads(bq_work):
    from polit.insights.marts import MARTS

    run_dbt(["parse"], "duckdb:///" + str(bq_work / "x.duckdb"), workdir=bq_work, quiet=True)
    manifest = json.loads((bq_work / "target" / "manifest.json").read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == {"dashboard", "report"}
    for exposure in exposures.values():
        assert {n.removeprefix("model.polit.") for n in exposure["depends_on"]["nodes"]} == set(
            MARTS
        )


def test_hourly_builds_test_recent_rows_and_full_tests_every_row(built, tmp_path):
    """An old duplicate row in `posts`: the hourly build's tests (the rows it changed) do
    not read it, `--full-tests` does and fails, naming the test."""
    path = tmp_path / "w.duckdb"
    shutil.copy(built.path, path)
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO posts SELECT * REPLACE (loaded_at - INTERVAL 1 DAY AS loaded_at)"
                " FROM posts ORDER BY post_id LIMIT 1")  # fmt: skip
    con.close()
    work = tmp_path / "dbt"
    transform(str(path), workdir=work, quiet=True)
    hourly_sql = next((work / "target" / "run").rglob("changed_rows_valid_posts_*.sql"))
    hourly = hourly_sql.read_text()
    assert "loaded_at > timestamptz '" in hourly  # what this build changed
    assert "'unique_combination_of_columns_posts_board__post_id' as failed_check" in hourly
    assert not list((work / "target" / "run").rglob("unique_combination_of_columns_posts_*.sql"))
    with pytest.raises(DbtError, match="unique_combination_of_columns_posts"):
        transform(str(path), workdir=work, quiet=True, full_tests=True)
    test_sql = next((work / "target" / "run").rglob("unique_combination_of_columns_posts_*.sql"))
    assert "loaded_at > timestamptz '" not in test_sql.read_text()
