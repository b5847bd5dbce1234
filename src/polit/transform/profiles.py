"""dbt's profiles.yml, generated from the warehouse URL at run time (never committed).

>>> profile("duckdb:///tmp/w.duckdb")["polit"]["outputs"]["duckdb"]["path"]
'/tmp/w.duckdb'
>>> out = profile("bigquery://proj/ds", env={})["polit"]["outputs"]["bigquery"]
>>> out["method"], out["project"], out["dataset"]
('oauth', 'proj', 'ds')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from polit.config import Settings
from polit.warehouse.base import parse_url

PROFILE = "polit"  # dbt_project.yml `profile:`


def profile(warehouse_url: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The `polit` profile with one output, named after the warehouse kind.

    BigQuery authenticates with application-default credentials (`method: oauth`); the
    location, threads and DuckDB memory limit come from Settings (`env`, else os.environ)."""
    s = Settings.from_env(env)
    target = parse_url(warehouse_url)
    output: dict[str, Any]
    if target.kind == "bigquery":
        output = {
            "type": "bigquery",
            "method": "oauth",
            "project": target.project,
            "dataset": target.dataset,
            "threads": s.dbt_threads,
            "job_execution_timeout_seconds": 900,
            "job_retries": 1,
            "priority": "interactive",
        }
        if s.bigquery_location:
            output["location"] = s.bigquery_location
    else:
        output = {
            "type": "duckdb",
            "path": str(Path(target.path).expanduser().absolute()),
            "schema": "main",
            "threads": 1,  # one writer per DuckDB file
            # DuckDB takes 80% of RAM by default; a limit makes big builds spill to disk, to
            # `<warehouse>.tmp` (DuckDB's default; setting it again fails once it is in use)
            # UTC: the marts bucket timestamps by hour and day, which DuckDB does in the
            # session's time zone (the machine's by default)
            "settings": {
                "memory_limit": s.duckdb_memory_limit,
                "TimeZone": "UTC",
            },
        }
    return {PROFILE: {"target": target.kind, "outputs": {target.kind: output}}}


def write_profiles(
    directory: Path, warehouse_url: str, env: Mapping[str, str] | None = None
) -> Path:
    """Write `<directory>/profiles.yml` (JSON is YAML) and return its path."""
    path = directory / "profiles.yml"
    path.write_text(json.dumps(profile(warehouse_url, env), indent=2))
    return path
