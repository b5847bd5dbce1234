"""Hourly data tests in one query per incremental model: `changed_rows_valid` folds in the
model's tests over the rows the build changed and names the check that fails; the tests it
cannot fold in still run on their own; `--full-tests` runs every test itself, on every row."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from polit.transform import DbtError, run_dbt, transform
from polit.transform.runner import excluded_tests
from tests.helpers.paths import ROOT
from tests.helpers.replay_helpers import post, replay_crawl, write_recording
from tests.helpers.warehouse import load

CHECKS = (  # thread_activity's tests, one of each kind the combined test folds in
    "not_null_thread_activity_end_state",
    "accepted_values_thread_activity_end_state__archived__deleted__live",
    "unique_combination_of_columns_thread_activity_board__thread_id",
)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> SimpleNamespace:
    """A small board built twice: the second build is incremental, so that its models have a
    previous cursor and the next build's tests read only the rows it changed."""
    tmp = tmp_path_factory.mktemp("hourly-tests")
    a = [post(100, sub="thread a"), post(101, 100), post(102, 100)]
    b = [post(200, sub="thread b"), post(201, 200, com='<a href="#p200">&gt;&gt;200</a>')]
    recording = write_recording(tmp / "rec", [{100: a}, {100: a, 200: b}])
    replay_crawl(recording, tmp / "lake")
    path = tmp / "w.duckdb"
    load(tmp / "lake", path)
    transform(str(path), workdir=tmp / "dbt", quiet=True)
    transform(str(path), workdir=tmp / "dbt", quiet=True)
    manifest = json.loads((tmp / "dbt" / "target" / "manifest.json").read_text())
    return SimpleNamespace(path=path, manifest=manifest)


def _copy(base: SimpleNamespace, tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    shutil.copy(base.path, path)
    return path


def _bad_thread_activity(path: Path, shift: str) -> None:
    """Three rows of thread_activity, `shift` from its newest loaded_at: a null end_state, an
    end_state not accepted, a duplicate key."""
    con = duckdb.connect(str(path))
    newest = f"(SELECT max(loaded_at) FROM thread_activity) + INTERVAL '{shift}'"
    row = "SELECT * REPLACE ({} AS thread_id, {} AS end_state, " + newest + " AS loaded_at)"
    for thread_id, end_state in (("-1", "NULL"), ("-2", "'bogus'"), ("-3", "end_state")):
        bad = row.format(thread_id, end_state)
        con.execute(f"INSERT INTO thread_activity {bad} FROM thread_activity LIMIT 1")
    con.execute("INSERT INTO thread_activity SELECT * FROM thread_activity WHERE thread_id = -3")
    con.close()


def _tests_run(report) -> set[str]:
    return {u.split(".")[2] for u in report.statuses if u.startswith("test.")}


def _near_incremental(manifest: dict) -> set[str]:
    """Incremental models and the models reading one: their tests are folded in hourly."""
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    incremental = {n["unique_id"] for n in models if n["config"]["materialized"] == "incremental"}
    return {
        n["unique_id"] for n in models if incremental & {n["unique_id"], *n["depends_on"]["nodes"]}
    }


def test_hourly_run_tests_once_per_model_and_names_the_failed_checks(base, tmp_path):
    path, work = _copy(base, tmp_path), tmp_path / "dbt"
    report = transform(str(path), workdir=work, quiet=True)
    near = _near_incremental(base.manifest)
    tests = [n for n in base.manifest["nodes"].values() if n["resource_type"] == "test"]
    names = {n["name"] for n in tests}
    combined = {n["name"] for n in tests if n["test_metadata"]["name"] == "changed_rows_valid"}
    run = _tests_run(report)
    on_their_own = run - combined
    # every test runs hourly exactly once: on its own or folded into one combined test
    folded: dict[str, int] = {}
    for sql in (work / "target" / "run").rglob("changed_rows_valid_*.sql"):
        for name in names - combined:
            if f"'{name}' as failed_check" in sql.read_text():
                folded[name] = folded.get(name, 0) + 1
    assert combined <= run and set(folded) | on_their_own == names - combined
    assert not set(folded) & on_their_own and set(folded.values()) == {1}
    # one combined test per incremental model (or model reading one) with tests, plus the
    # tests it cannot fold in (relationships_on_columns: its parent, threads, is built after
    # posts' tests)
    assert len(combined) == len({n["attached_node"] for n in tests} & near) >= 17
    of_near = {n["name"] for n in tests if n["attached_node"] in near}
    assert {n.split("_posts_")[0] for n in on_their_own & of_near} == {"relationships_on_columns"}
    assert len(run & of_near) == len(combined) + 1
    assert set(CHECKS) <= set(folded)

    _bad_thread_activity(path, "1 hour")  # rows past the cursor: what a build changed
    with pytest.raises(DbtError) as failed:
        transform(str(path), workdir=work, quiet=True)
    message = str(failed.value)
    assert "test.polit.changed_rows_valid_thread_activity_." in message
    assert all(f"{check} (1 rows)" in message for check in CHECKS), message


def test_old_bad_rows_are_not_tested_hourly_but_by_full_tests(base, tmp_path):
    path, work = _copy(base, tmp_path), tmp_path / "dbt"
    _bad_thread_activity(path, "-1 day")  # rows no build changed lately
    report = transform(str(path), workdir=work, quiet=True)
    assert "changed_rows_valid_thread_activity_" in _tests_run(report)
    with pytest.raises(DbtError) as failed:
        transform(str(path), workdir=work, quiet=True, full_tests=True)
    message = str(failed.value)
    assert all(f"test.polit.{check}." in message for check in CHECKS), message
    assert "changed_rows_valid" not in message


def test_a_test_the_combined_one_cannot_fold_in_runs_on_its_own(tmp_path, monkeypatch):
    """A test of a kind it does not know, or with severity warn, still runs hourly."""
    project = tmp_path / "dbt"
    shutil.copytree(ROOT / "dbt", project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "tests" / "generic" / "positive.sql").write_text(
        "{% test positive(model, column_name) %}"
        "select * from {{ model }} where {{ column_name }} <= 0{% endtest %}"
    )
    marts = project / "models" / "marts" / "_models.yml"
    text = marts.read_text()
    anchor = "        description: The thread's number (its OP's post_id); with board, the key.\n"
    assert anchor + "        data_tests: [not_null]\n" in text
    tests = ("        data_tests:\n          - positive\n"
             "          - not_null: {config: {severity: warn}}\n")  # fmt: skip
    marts.write_text(text.replace(anchor + "        data_tests: [not_null]\n", anchor + tests, 1))
    monkeypatch.setenv("POLIT_DBT_PROJECT", str(project))
    url = "duckdb:///" + str(tmp_path / "w.duckdb")

    def listed(hourly: bool) -> set[str]:
        args = ["ls", "--resource-type", "test", "--output", "name",
                "--exclude", *excluded_tests(hourly)]  # fmt: skip
        return set(run_dbt(args, url, workdir=tmp_path / "work").result)

    hourly, full = listed(True), listed(False)
    assert {"positive_threads_thread_id", "not_null_threads_thread_id"} <= hourly
    assert "not_null_threads_board" not in hourly and "not_null_threads_board" in full
    assert "changed_rows_valid_threads_" in hourly and "changed_rows_valid_threads_" not in full
