"""A stand-in for the BigQuery API client: what BigQuery cannot run here is tested up to the
wire, with the jobs' configurations and SQL recorded and checked."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from google.cloud import bigquery

from polit.lake.store import Lake


class FakeBigQuery:
    """Records what would go over the wire and keeps the tables' rows in memory: a load job
    reads its Parquet files (from the GCS emulator), an insert job is parsed with sqlglot's
    BigQuery dialect and copies the scratch rows with its stamp. Jobs can be made to fail."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.calls: list[dict[str, Any]] = []
        self.jobs: dict[str, SimpleNamespace] = {}
        self.tables: dict[str, dict[str, Any]] = {}  # id -> {"schema": [...], "rows": [...]}
        self.fail = False

    def _job(self, jid: str, rows: int, failed: bool) -> SimpleNamespace:
        from google.api_core.exceptions import BadRequest

        def result() -> None:
            if failed:
                raise BadRequest("Error while reading data")

        job = SimpleNamespace(job_id=jid, num_dml_affected_rows=0 if failed else rows,
                              state="DONE", error_result={"reason": "invalid"} if failed else None,
                              result=result)  # fmt: skip
        self.jobs[jid] = job
        return job

    def create_table(self, table, exists_ok=False):
        self.calls.append({"create": table.to_api_repr()})
        full = f"{table.project}.{table.dataset_id}.{table.table_id}"
        self.tables.setdefault(full, {"schema": list(table.schema), "rows": []})
        return SimpleNamespace(schema=self.tables[full]["schema"])

    def get_table(self, table_id):
        return SimpleNamespace(schema=self.tables[table_id]["schema"])

    def delete_table(self, table_id, not_found_ok=False):
        self.tables.pop(table_id, None)

    def load_table_from_uri(self, uris, destination, job_id_prefix=None, job_config=None):
        jid = f"{job_id_prefix}{len(self.calls)}"
        self.calls.append({"uris": list(uris), "destination": destination, "job_id": jid,
                           "config": job_config.to_api_repr()})  # fmt: skip
        assert destination not in self.tables  # WRITE_EMPTY: the scratch was deleted first
        data = pa.concat_tables(
            [pq.read_table(self.lake.fs.open(u.removeprefix("gs://"), "rb")) for u in uris],
            promote_options="default",
        )
        fields = [bigquery.SchemaField(n, "STRING") for n in data.schema.names]
        self.tables[destination] = {"schema": fields, "rows": data.to_pylist()}
        return self._job(jid, data.num_rows, self.fail)

    def query(self, sql, job_id=None, job_id_prefix=None):
        from google.api_core.exceptions import Conflict

        jid = job_id or f"{job_id_prefix}{len(self.calls)}"
        if jid in self.jobs:
            raise Conflict(f"Already Exists: Job {jid}")
        self.calls.append({"sql": sql, "job_id": jid})
        tree = sqlglot.parse_one(sql, read="bigquery")
        assert isinstance(tree, sqlglot.exp.Insert)
        target = tree.this.this.sql("bigquery").strip("`")
        select = tree.expression
        source = select.args["from_"].this.sql("bigquery").strip("`")
        stamp = select.expressions[-1]
        assert isinstance(stamp, sqlglot.exp.Cast)
        assert stamp.to.this.name == "TIMESTAMPTZ"  # sqlglot's name of BigQuery's TIMESTAMP
        at = datetime.fromisoformat(stamp.this.name)
        columns = [c.name for c in tree.this.expressions]
        assert columns[-1] == "_loaded_at"
        assert [c.name for c in select.expressions[:-1]] == columns[:-1]
        rows = [{**{c: r.get(c) for c in columns[:-1]}, "_loaded_at": at}
                for r in self.tables[source]["rows"]]  # fmt: skip
        self.tables[target]["rows"].extend(rows)
        return self._job(jid, len(rows), False)

    def get_job(self, jid):
        from google.api_core.exceptions import NotFound

        if jid not in self.jobs:
            raise NotFound(f"Not found: Job {jid}")
        return self.jobs[jid]

    def update_table(self, table, fields):
        self.calls.append({"update": fields})

    def close(self) -> None:
        pass


def partition_filter_violations(sql: str, partitioned: dict[str, str]) -> list[str]:
    """Every read of a partitioned table (name -> partition column) in `sql` whose SELECT
    has no filter `<partition column> >= <literal>` (or > or =) in its WHERE or JOIN ON."""
    violations = []
    for table in sqlglot.parse_one(sql, read="bigquery").find_all(sqlglot.exp.Table):
        column = partitioned.get(table.name)
        if column is None or not table.db:  # not partitioned, or a CTE of the same name
            continue
        select = table.find_ancestor(sqlglot.exp.Select)
        alias = table.alias_or_name
        joins = select.args.get("joins") or []
        conditions = [select.args.get("where"), *(j.args.get("on") for j in joins)]
        ok = False
        for cond in filter(None, conditions):
            for cmp in cond.find_all(sqlglot.exp.GTE, sqlglot.exp.GT, sqlglot.exp.EQ):
                left, right = cmp.left, cmp.right
                literal = not list(right.find_all(sqlglot.exp.Column, sqlglot.exp.Select))
                ok = ok or (isinstance(left, sqlglot.exp.Column) and left.name == column
                            and left.table in ("", alias) and literal)  # fmt: skip
        if not ok:
            violations.append(f"{table.name} as {alias}")
    return violations
