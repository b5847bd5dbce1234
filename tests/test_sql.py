"""`polit sql` and the read layer (polit.warehouse.read): read-only, one statement, the
three outputs, clear errors, and post text kept as text."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from polit.cli import app
from polit.warehouse.read import DuckReader, ReadError, open_reader
from tests.helpers.built import recording_warehouse
from tests.helpers.warehouse import query

runner = CliRunner()
POLIT = str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "polit")


@pytest.fixture(scope="module")
def warehouse(recording, tmp_path_factory) -> Path:
    return recording_warehouse(recording, tmp_path_factory)


def polit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([POLIT, *args], capture_output=True, text=True, timeout=120)


def test_sql_prints_the_count(warehouse: Path) -> None:
    (n,) = query(warehouse, "SELECT count(*) FROM main.posts")[0]
    result = polit("sql", "select count(*) as n from posts", "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stderr
    assert f"{n}" in result.stdout and "1 row" in result.stdout
    as_json = polit("sql", "select count(*) as n from posts", "--json", "--warehouse",
                    str(warehouse))  # fmt: skip
    assert json.loads(as_json.stdout) == {"n": n}


def test_csv_and_json_are_every_row(warehouse: Path) -> None:
    sql = "select board, post_id, post_datetime, quotes, comment from posts order by post_id"
    csv = runner.invoke(app, ["sql", sql, "--csv", "--warehouse", str(warehouse)])
    lines = runner.invoke(app, ["sql", sql, "--json", "--warehouse", str(warehouse)])
    assert csv.exit_code == 0 and lines.exit_code == 0
    truth = duckdb.connect(str(warehouse), read_only=True).sql(sql).df()
    from_csv = pd.read_csv(io.StringIO(csv.stdout), keep_default_na=False)
    from_json = pd.read_json(io.StringIO(lines.stdout), lines=True, dtype=False)
    for df in (from_csv, from_json):
        assert list(df["post_id"]) == list(truth["post_id"])
    assert list(from_json["comment"].fillna("")) == list(truth["comment"].fillna(""))
    assert [json.loads(q) for q in from_csv["quotes"]] == [list(q) for q in truth["quotes"]]


@pytest.mark.parametrize(
    "statement",
    ["delete from posts", "drop table posts", "create table x as select 1",
     "attach '/tmp/polit-other.duckdb' as other", "copy posts to '/tmp/polit-x.csv'",
     "insert into posts select * from posts", "set threads = 1", "select 1; delete from posts"],
)  # fmt: skip
def test_writes_are_refused(warehouse: Path, statement: str) -> None:
    before = query(warehouse, "SELECT count(*) FROM main.posts")
    result = polit("sql", statement, "--warehouse", str(warehouse))
    assert result.returncode == 1
    assert result.stderr.startswith("error:") and len(result.stderr.strip().splitlines()) == 1
    assert "only queries" in result.stderr or "one statement" in result.stderr
    assert query(warehouse, "SELECT count(*) FROM main.posts") == before
    assert not Path("/tmp/polit-x.csv").exists()


def test_the_connection_itself_is_read_only(warehouse: Path) -> None:
    reader = DuckReader(str(warehouse))
    try:
        with pytest.raises(ReadError, match="read-only"):
            reader.query("DELETE FROM main.posts")  # even without the statement check
    finally:
        reader.close()


def test_clear_errors(tmp_path: Path, warehouse: Path) -> None:
    missing = polit("sql", "select 1", "--warehouse", str(tmp_path / "none.duckdb"))
    assert missing.returncode == 1
    assert "no warehouse at" in missing.stderr and "polit load" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    bad = polit("sql", "select nope from posts", "--warehouse", str(warehouse))
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "nope" in bad.stderr
    with pytest.raises(ReadError, match="bigquery://PROJECT/DATASET"):
        open_reader("bigquery://only-a-project")


def test_post_text_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    text = "[bold red]not markup[/] <b>nor html</b> [link=http://x]y[/link]"
    con.execute("CREATE TABLE posts AS SELECT ? AS comment", [text])
    con.close()
    result = polit("sql", "select comment from posts", "--warehouse", str(path))
    assert result.returncode == 0, result.stderr
    assert "[bold red]not markup[/]" in result.stdout and "<b>nor html</b>" in result.stdout


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["sql", "--help"])
    assert result.exit_code == 0 and "Example: polit sql" in " ".join(result.output.split())


# -- BigQuery, without BigQuery ----------------------------------------------------------------
class FakeBigQuery:
    """Records each job's SQL and parameters; a dry run reports the statement type BigQuery
    would (SELECT for queries)."""

    def __init__(self, project: str | None = None) -> None:
        self.jobs: list[tuple[str, Any]] = []

    def query(self, sql: str, job_config: Any) -> Any:
        self.jobs.append((sql, job_config))
        kind = "SELECT" if sql.lstrip().upper().startswith(("SELECT", "WITH")) else "DELETE"
        return SimpleNamespace(statement_type=kind if job_config.dry_run else None)

    def close(self) -> None:
        pass


def test_bigquery_refuses_writes_by_a_dry_run_and_binds_typed_parameters(monkeypatch) -> None:
    import sqlglot

    from polit.warehouse.filters import POST_COLUMNS, Filters, parse_time

    monkeypatch.setattr("google.cloud.bigquery.Client", FakeBigQuery)
    reader = open_reader("bigquery://proj/ds")
    client: FakeBigQuery = reader.client  # type: ignore[attr-defined]
    reader.check_read_only("SELECT count(*) FROM `proj.ds.posts`")
    with pytest.raises(ReadError, match="only queries"):
        reader.check_read_only("DELETE FROM `proj.ds.posts` WHERE TRUE")
    assert all(config.dry_run for _, config in client.jobs)  # nothing ran for real
    filters = Filters(boards=("pol", "int"), threads=(1, 2), start=parse_time("2023-03-27"),
                      deleted="only", op=False)  # fmt: skip
    where, params = filters.where(reader.dialect, POST_COLUMNS)
    sql = reader.dialect.params(f"SELECT * FROM {reader.dialect.table('posts')} WHERE {where}")
    sqlglot.parse_one(sql, dialect="bigquery")
    config = reader._config(sql, params)  # type: ignore[attr-defined]
    bound = {p.name: p for p in config.query_parameters}
    assert (bound["boards"].array_type, bound["boards"].values) == ("STRING", ["pol", "int"])
    assert (bound["threads"].array_type, bound["threads"].values) == ("INT64", [1, 2])
    assert bound["start"].type_ == "TIMESTAMP"
    assert "@boards" in sql and "$" not in sql
