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

from polit.config import DBT_CURSORS_ENV
from polit.warehouse.base import parse_url
from polit.warehouse.read import open_reader

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
    """One query of `polit_cursors`, through the read layer (read-only; BigQuery in
    POLIT_BIGQUERY_LOCATION); {} when there is no warehouse file or no such table yet."""
    target = parse_url(warehouse_url)
    if target.kind == "duckdb" and not Path(target.path).expanduser().is_file():
        return {}
    reader = open_reader(warehouse_url)
    try:
        if TABLE not in reader.tables():
            return {}
        if target.kind == "duckdb":
            fmt = f"'{LITERAL}'"
            literal = "strftime({} at time zone 'UTC', " + fmt + ")"
            table = f"main.{TABLE}"
        else:
            literal = 'format_timestamp("%Y-%m-%d %H:%M:%E6S+00", {})'
            table = f"`{target.project}.{target.dataset}.{TABLE}`"
        sql = (f"select model, {literal.format('loaded_at')} as loaded_at,"
               f" {literal.format('previous')} as previous from {table}")  # fmt: skip
        rows = reader.arrow(sql).to_pylist()
    finally:
        reader.close()
    return {r["model"]: {"loaded_at": r["loaded_at"], "previous": r["previous"]} for r in rows}
