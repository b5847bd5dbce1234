"""The Mage project (mage/): each pipeline run headless with `.venv-mage/bin/mage run`,
against a replay of the shared recording, creates the lake and warehouse rows that polit
itself creates; a failing polit call fails the run with polit's message; the triggers are
the documented schedules, as Mage itself reads them.

Mage lives in its own virtualenv (`make mage`, which `make test` builds first).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest
import yaml
from mage.utils.polit_cli import PolitCommandError, polit_executable, run_polit

from polit.replay.server import ReplayServer
from tests.helpers.paths import ROOT
from tests.helpers.replay_helpers import trimmed_recording

PROJECT = ROOT / "mage"
MAGE_VENV = ROOT / ".venv-mage"
POLIT_BIN = Path(sys.executable).parent / "polit"
PIPELINES = ("pol_to_lake", "lake_to_warehouse", "transform", "polit_hourly")


@pytest.fixture(scope="module")
def mage_bin() -> Path:
    mage = MAGE_VENV / "bin" / "mage"
    if not os.access(mage, os.X_OK):
        pytest.fail(f"{mage} not found: run `make mage` (make test builds it first)")
    return mage


@pytest.fixture(scope="module")
def server(recording, tmp_path_factory):
    """One snapshot of the shared recording, served like the API."""
    rec = trimmed_recording(recording, tmp_path_factory.mktemp("mage") / "rec", snapshots=1)
    with ReplayServer(rec) as srv:
        yield srv


def polit_env(server: ReplayServer, work: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "POLIT_BIN": str(POLIT_BIN),
        "POLIT_API_URL": server.url,
        "POLIT_LAKE": str(work / "lake"),
        "POLIT_WAREHOUSE": str(work / "warehouse.duckdb"),
        "POLIT_MAX_RPS": "0",
        "MAGE_DATA_DIR": str(work / "mage-data"),  # Mage's logs, block outputs, database
        "COLUMNS": "200",  # Mage prints tracebacks with rich: do not wrap messages at 80
        **extra,
    }


def mage_run(mage_bin: Path, pipeline: str, env: dict[str, str], cwd: Path):
    return subprocess.run(
        [str(mage_bin), "run", str(PROJECT), pipeline],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_ran(proc: subprocess.CompletedProcess) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "Pipeline run completed." in output


def lake_rows(lake: Path) -> dict[str, int]:
    return {t: ds.dataset(lake / "raw" / t, format="parquet").count_rows()
            for t in ("posts", "threads")}  # fmt: skip


def distinct_posts(lake: Path) -> int:
    posts = ds.dataset(lake / "raw" / "posts", format="parquet").to_table(["board", "no"])
    return len(set(zip(*(c.to_pylist() for c in posts.columns), strict=True)))


def warehouse_counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {"posts": "raw.posts", "threads": "raw.threads", "main.posts": "main.posts"}
        listed = con.execute("SELECT table_schema, table_name FROM information_schema.tables")
        present = {f"{schema}.{name}" for schema, name in listed.fetchall()}
        return {k: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for k, t in tables.items() if t in present}  # fmt: skip
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(server, tmp_path_factory) -> Path:
    """The lake of a direct `polit crawl --once` on the same snapshot."""
    lake = tmp_path_factory.mktemp("mage-reference") / "lake"
    env = polit_env(server, lake.parent)
    subprocess.run([str(POLIT_BIN), "-q", "crawl", "--once"], env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    return lake


# -- the pipelines, run by Mage ---------------------------------------------------------------
def test_pipelines_one_by_one_crawl_load_and_transform(mage_bin, server, reference, tmp_path):
    env = polit_env(server, tmp_path)
    expected = lake_rows(reference)
    assert expected["posts"] > 10_000

    assert_ran(mage_run(mage_bin, "pol_to_lake", env, tmp_path))
    assert lake_rows(tmp_path / "lake") == expected
    assert distinct_posts(tmp_path / "lake") == distinct_posts(reference)

    assert_ran(mage_run(mage_bin, "lake_to_warehouse", env, tmp_path))
    counts = warehouse_counts(tmp_path / "warehouse.duckdb")
    assert counts == {"posts": expected["posts"], "threads": expected["threads"]}

    assert_ran(mage_run(mage_bin, "transform", env, tmp_path))
    counts = warehouse_counts(tmp_path / "warehouse.duckdb")
    assert counts["main.posts"] == distinct_posts(reference)


def test_polit_hourly_crawls_loads_and_transforms_in_one_run(mage_bin, server, reference, tmp_path):
    env = polit_env(server, tmp_path)
    proc = mage_run(mage_bin, "polit_hourly", env, tmp_path)
    assert_ran(proc)
    output = proc.stdout + proc.stderr
    # the blocks ran in order: crawl's summary, then load's, then dbt's
    crawled, loaded, built = (output.index(s) for s in ("new posts", "loaded ", "dbt build:"))
    assert crawled < loaded < built
    expected = lake_rows(reference)
    assert lake_rows(tmp_path / "lake") == expected
    assert warehouse_counts(tmp_path / "warehouse.duckdb") == {
        "posts": expected["posts"],
        "threads": expected["threads"],
        "main.posts": distinct_posts(reference),
    }


def test_a_failing_polit_call_fails_the_run_with_polits_message(mage_bin, server, tmp_path):
    env = polit_env(server, tmp_path, POLIT_WAREHOUSE="postgres://nowhere/x")
    proc = mage_run(mage_bin, "lake_to_warehouse", env, tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Pipeline run completed." not in output
    error = output[output.index("PolitCommandError: `polit load` exited with code 1") :]
    assert "unknown warehouse 'postgres://nowhere/x'" in error  # in the exception itself


# -- the triggers -----------------------------------------------------------------------------
def triggers(pipeline: str) -> list[dict]:
    path = PROJECT / "pipelines" / pipeline / "triggers.yaml"
    return yaml.safe_load(path.read_text())["triggers"]


def test_triggers_crawl_at_25_load_at_35_transform_after_the_load():
    active = {p: [(t["schedule_type"], t["schedule_interval"]) for t in triggers(p)
                  if t["status"] == "active"] for p in PIPELINES}  # fmt: skip
    assert active == {
        "pol_to_lake": [("time", "25 * * * *")],
        "lake_to_warehouse": [("time", "35 * * * *")],
        "transform": [("time", "45 * * * *")],  # after the :35 load
        "polit_hourly": [],  # the alternative to the three: inactive, so nothing crawls twice
    }
    assert [t["schedule_interval"] for t in triggers("polit_hourly")] == ["25 * * * *"]


# The watch set-up (README, Mage): the crawl pipeline's trigger inactive, nothing else changed.
WATCH_SETUP = (
    "sed -i 's/^  status: active$/  status: inactive/' mage/pipelines/pol_to_lake/triggers.yaml"
)


def watch_setup(project: Path) -> Path:
    """A copy of the Mage project with the README's watch set-up applied."""
    copy = project.parent / "mage-watch" / "mage"
    shutil.copytree(PROJECT, copy)
    path = copy / "pipelines" / "pol_to_lake" / "triggers.yaml"
    path.write_text(re.sub(r"(?m)^  status: active$", "  status: inactive", path.read_text()))
    return copy


@pytest.mark.parametrize("setup", ["hourly", "watch"])
def test_mage_reads_the_triggers_as_written(mage_bin, tmp_path, setup):
    """Mage's own parser accepts every triggers.yaml, with a valid cron, in both set-ups: Mage
    crawls, loads and transforms; or `polit watch` crawls and Mage only loads and transforms."""
    script = """
import json, sys
from mage_ai.data_preparation.models.triggers import load_trigger_configs
out = {}
for uuid in sys.argv[2:]:
    content = open(f"{sys.argv[1]}/pipelines/{uuid}/triggers.yaml").read()
    found = load_trigger_configs(content, pipeline_uuid=uuid, repo_path=sys.argv[1],
                                 raise_exception=True)
    out[uuid] = [[t.schedule_type.value, t.schedule_interval, t.status.value,
                  t.has_valid_schedule_interval] for t in found]
print(json.dumps(out))
"""
    project = PROJECT if setup == "hourly" else watch_setup(tmp_path / "work")
    assert WATCH_SETUP in (ROOT / "README.md").read_text()  # the README shows this set-up
    proc = subprocess.run(
        [str(MAGE_VENV / "bin" / "python"), "-c", script, str(project), *PIPELINES],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "MAGE_DATA_DIR": str(tmp_path / "mage-data")},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    crawl = "active" if setup == "hourly" else "inactive"
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "pol_to_lake": [["time", "25 * * * *", crawl, True]],
        "lake_to_warehouse": [["time", "35 * * * *", "active", True]],
        "transform": [["time", "45 * * * *", "active", True]],
        "polit_hourly": [["time", "25 * * * *", "inactive", True]],
    }


def test_polit_hourly_chains_the_three_blocks():
    meta = yaml.safe_load((PROJECT / "pipelines" / "polit_hourly" / "metadata.yaml").read_text())
    assert [(b["uuid"], b["type"], b["upstream_blocks"]) for b in meta["blocks"]] == [
        ("polit_crawl", "custom", []),
        ("polit_load", "custom", ["polit_crawl"]),
        ("polit_transform", "custom", ["polit_load"]),
    ]
    for single, block in (("pol_to_lake", "polit_crawl"), ("lake_to_warehouse", "polit_load"),
                          ("transform", "polit_transform")):  # fmt: skip
        meta = yaml.safe_load((PROJECT / "pipelines" / single / "metadata.yaml").read_text())
        assert [b["uuid"] for b in meta["blocks"]] == [block]


# -- the one helper the blocks share ----------------------------------------------------------
def test_every_block_calls_polit_through_the_shared_helper():
    blocks = sorted((PROJECT / "custom").glob("polit_*.py"))
    assert [b.stem for b in blocks] == ["polit_crawl", "polit_load", "polit_transform"]
    for block in blocks:
        text = block.read_text()
        assert "from mage.utils.polit_cli import run_polit" in text, block
        assert "subprocess" not in text, block


def test_polit_bin_unset_or_not_executable_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("POLIT_BIN", raising=False)
    with pytest.raises(PolitCommandError, match="POLIT_BIN is not set"):
        polit_executable()
    monkeypatch.setenv("POLIT_BIN", "")
    with pytest.raises(PolitCommandError, match="POLIT_BIN is not set"):
        run_polit("load")
    not_executable = tmp_path / "polit"
    not_executable.write_text("#!/bin/sh\n")
    monkeypatch.setenv("POLIT_BIN", str(not_executable))
    with pytest.raises(PolitCommandError, match="is not an executable file"):
        run_polit("load")


def test_a_non_zero_exit_raises_with_the_tail_of_polits_output(monkeypatch, tmp_path):
    fake = tmp_path / "polit"
    fake.write_text(
        "#!/bin/sh\n"
        'for i in $(seq 1 100); do echo "stdout line $i"; done\n'
        'echo "error: $POLIT_WAREHOUSE is not a warehouse ($*)" >&2\n'
        "exit 3\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("POLIT_BIN", str(fake))
    monkeypatch.setenv("POLIT_WAREHOUSE", "nowhere")
    with pytest.raises(PolitCommandError) as info:
        run_polit("load", "--json")
    message = str(info.value)
    assert message.startswith("`polit load --json` exited with code 3:")
    assert "error: nowhere is not a warehouse (load --json)" in message  # env passes through
    assert "stdout line 100" in message and "stdout line 50" not in message  # only the tail
