"""The incremental models' cursors (table `polit_cursors`), read once before `dbt build`.

`polit transform` hands them to dbt as JSON in the environment variable POLIT_CURSORS (macro
cursor_of in dbt/macros/incremental.sql reads it while models run), so that no model queries
its own: model name -> {"loaded_at": literal or None, "previous": literal or None}, each
literal 'YYYY-MM-DD HH:MM:SS.ffffff+00' (UTC). No table yet: an empty mapping. Not a dbt var:
dbt parses the whole project again whenever a var changes, and these change every run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from polit.config import DBT_CURSORS_ENV
from polit.warehouse.base import parse_url

TABLE = "polit_cursors"
LITERAL = "%Y-%m-%d %H:%M:%S.%f+00"
ENV = DBT_CURSORS_ENV


@contextmanager
def cursors_in_env(cursors: dict[str, dict[str, str | None]]) -> Iterator[None]:
    """$POLIT_CURSORS set to `cursors` (JSON) for dbt run in this process, then as before."""
    before = os.environ.get(ENV)
    os.environ[ENV] = json.dumps(cursors)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


def read_cursors(warehouse_url: str) -> dict[str, dict[str, str | None]]:
    """One query of `polit_cursors` on the warehouse; {} when there is none."""
    target = parse_url(warehouse_url)
    if target.kind == "duckdb":
        rows = _duckdb_rows(target.path)
    else:
        rows = _bigquery_rows(target.project, target.dataset)
    return {model: {"loaded_at": loaded_at, "previous": previous}
            for model, loaded_at, previous in rows}  # fmt: skip


def _duckdb_rows(path: str) -> list[tuple[Any, ...]]:
    import duckdb

    file = Path(path).expanduser()
    if not file.exists():
        return []
    con = duckdb.connect(str(file))
    try:
        if not _has_table(con):
            return []
        fmt = f"'{LITERAL}'"
        return con.execute(
            f"select model, strftime(loaded_at at time zone 'UTC', {fmt}),"
            f" strftime(previous at time zone 'UTC', {fmt}) from main.{TABLE}"
        ).fetchall()
    finally:
        con.close()


def _has_table(con: Any) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables"
        " where table_schema = 'main' and table_name = ?", [TABLE]
    ).fetchall()  # fmt: skip
    return bool(found[0][0])


def _bigquery_rows(project: str, dataset: str) -> list[tuple[Any, ...]]:
    from google.api_core.exceptions import NotFound
    from google.cloud import bigquery

    fmt = '"%Y-%m-%d %H:%M:%E6S+00"'
    sql = (
        f"select model, format_timestamp({fmt}, loaded_at), format_timestamp({fmt}, previous)"
        f" from `{project}.{dataset}.{TABLE}`"
    )
    client = bigquery.Client(project=project)
    try:
        return [tuple(row.values()) for row in client.query(sql).result()]
    except NotFound:
        return []
    finally:
        client.close()
