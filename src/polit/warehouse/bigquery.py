"""The BigQuery warehouse: load jobs from the gs:// lake into `PROJECT.DATASET.raw_<table>`.

BigQuery cannot join a load job and a manifest write in one transaction, so the manifest
lives in the lake (`_polit/manifest/bigquery/<project>.<dataset>/<job>.json`, one
document per successful job) and is written AFTER the job succeeds. Each job has a
deterministic id (table + the hash of its URIs): a rerun of the same batch after a crash
between job and manifest finds the finished job (409 Already Exists) and only writes the
manifest. When the batch differs (new files sorted in between), the overlap is loaded
twice; the dbt models are built to be duplicate-proof (they aggregate by key), so a
double load never changes `posts` or `threads`.

The raw tables are created by the first load job from the Parquet schema (lists become
ARRAY through `enable_list_inference`) and are partitioned by day of `observed_at`, so
the incremental dbt models scan only recent partitions.

Credentials: the client is created on first use with application-default credentials
(ADC), never at import; nothing here reads, stores or prints a credential.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from google.cloud import bigquery

from polit.lake.schema import TABLES
from polit.lake.store import Lake, LakeFile
from polit.warehouse.base import LoadResult, WarehouseError, lake_key

TABLE_PREFIX = "raw_"
GCS_PROTOCOLS = {"gs", "gcs"}


def raw_table_name(table: str) -> str:
    """The BigQuery table a lake table loads into.

    >>> raw_table_name("posts")
    'raw_posts'
    """
    if table not in TABLES:
        raise ValueError(f"unknown raw table {table!r}")
    return TABLE_PREFIX + table


def load_job_config(table: str) -> bigquery.LoadJobConfig:
    """The exact configuration of a load job into `raw_<table>` (appends, never replaces)."""
    raw_table_name(table)
    parquet = bigquery.ParquetOptions()
    parquet.enable_list_inference = True  # list<int64> -> ARRAY<INT64>, not a nested record
    return bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
        create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
        # The lake schema only ever gains nullable columns (polit.lake.schema): a file with a
        # new column may add it to the table; older files leave it null.
        schema_update_options=[bigquery.SchemaUpdateOption.ALLOW_FIELD_ADDITION],
        parquet_options=parquet,
        time_partitioning=bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field="observed_at"
        ),
        clustering_fields=["board"],
    )


def load_uris(lake: Lake, files: Sequence[LakeFile]) -> list[str]:
    """The gs:// URIs of a batch; BigQuery load jobs read only from Cloud Storage."""
    if lake.protocol not in GCS_PROTOCOLS:
        raise WarehouseError(f"BigQuery loads from a gs:// lake only, not {lake.url}")
    return [f"gs://{f.path.removeprefix('gs://')}" for f in files]


def job_id(table: str, uris: Sequence[str]) -> str:
    """Deterministic: the same batch always gets the same id.

    >>> job_id("posts", ["gs://b/a.parquet"])
    'polit_load_posts_fcbabeeab511f1f6ab1e97d94ac45608705d9718'
    """
    digest = hashlib.sha1("\n".join(sorted(uris)).encode()).hexdigest()
    return f"polit_load_{table}_{digest}"


class BigQueryWarehouse:
    def __init__(self, project: str, dataset: str, location: str | None = None) -> None:
        self.project = project
        self.dataset = dataset
        self.location = location
        self.url = f"bigquery://{project}/{dataset}"
        self._client: bigquery.Client | None = None

    @property
    def client(self) -> bigquery.Client:
        if self._client is None:  # ADC, at first use only
            from google.auth.exceptions import DefaultCredentialsError

            try:
                self._client = bigquery.Client(project=self.project, location=self.location)
            except DefaultCredentialsError as exc:
                raise WarehouseError(
                    "no Google application-default credentials: run `gcloud auth "
                    "application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
                ) from exc
        return self._client

    def table_id(self, table: str) -> str:
        return f"{self.project}.{self.dataset}.{raw_table_name(table)}"

    def manifest_dir(self) -> tuple[str, ...]:
        return ("_polit", "manifest", "bigquery", f"{self.project}.{self.dataset}")

    def loaded_files(self, lake: Lake) -> set[str]:
        base = lake.path(*self.manifest_dir())
        if not lake.fs.exists(base):
            return set()
        done: set[str] = set()
        for path in sorted(lake.fs.find(base)):
            if path.endswith(".json"):
                with lake.fs.open(path, "rb") as f:
                    done.update(json.loads(f.read())["files"])
        return done

    def load(self, lake: Lake, files: Sequence[LakeFile]) -> LoadResult:
        if not files:
            return LoadResult("", 0, 0)
        tables = {f.table for f in files}
        if len(tables) != 1:
            raise ValueError(f"one table per load call, got {sorted(tables)}")
        table = tables.pop()
        uris = load_uris(lake, files)
        job = self._run_job(table, uris)
        rows = int(job.output_rows or 0)
        doc: dict[str, Any] = {
            "job_id": job.job_id,
            "table": self.table_id(table),
            "files": [lake_key(lake, f.path) for f in files],
            "rows": rows,
            "loaded_at": datetime.now(UTC).isoformat(),
        }
        # After the job: a crash right here reloads this batch next time (see module doc).
        lake.write_json(doc, *self.manifest_dir(), f"{job.job_id}.json")
        return LoadResult(table, len(files), rows)

    def _run_job(self, table: str, uris: list[str]) -> Any:
        from google.api_core.exceptions import GoogleAPIError

        destination = self.table_id(table)
        try:
            job = self._start_job(table, uris)
            job.result()  # waits; raises on a failed job
        except GoogleAPIError as exc:
            raise WarehouseError(f"BigQuery load into {destination} failed: {exc}") from exc
        return job

    def _start_job(self, table: str, uris: list[str]) -> Any:
        from google.api_core.exceptions import Conflict

        jid, config = job_id(table, uris), load_job_config(table)
        try:
            return self.client.load_table_from_uri(
                uris, self.table_id(table), job_id=jid, job_config=config
            )
        except Conflict:  # this batch ran before (a crash before its manifest was written)
            job = self.client.get_job(jid)
            if job.state == "DONE" and job.error_result:  # it failed then: run it, new id
                return self.client.load_table_from_uri(
                    uris, self.table_id(table), job_id_prefix=jid + "_retry_", job_config=config
                )
            return job  # done (or still running: `result()` waits for it)

    def count(self, table: str) -> int:
        return int(self.client.get_table(self.table_id(table)).num_rows or 0)

    def reset(self, lake: Lake) -> None:
        for table in TABLES:
            self.client.delete_table(self.table_id(table), not_found_ok=True)
        base = lake.path(*self.manifest_dir())
        if lake.fs.exists(base):
            lake.fs.rm(base, recursive=True)

    def prune_raw(self, before: datetime, dry_run: bool = False) -> dict[str, int]:
        raise WarehouseError(
            "polit prune does not delete BigQuery raw rows (not verifiable here); set a "
            "partition expiration on the raw tables (day partitions on observed_at) instead"
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def __repr__(self) -> str:
        return f"BigQueryWarehouse({self.url!r})"
