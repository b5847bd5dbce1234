"""The BigQuery warehouse: the gs:// lake into `PROJECT.DATASET.raw_<table>`.

A batch of lake files reaches its raw table in two jobs, because a load job cannot add a
column and every raw row needs its load's stamp `_loaded_at` (the incremental models' cursor,
which must grow with every load whatever the clocks say):
1. a load job into a scratch table `raw_<table>__batch_<hash>` (replaced if it exists, and
   set to expire after a day, so a crash leaves nothing behind for long);
2. a query job `INSERT INTO raw_<table> (...) SELECT ..., TIMESTAMP '<stamp>' FROM` the
   scratch table, which is then deleted. The stamp is later than every earlier load's stamp
   (kept in the manifest), even when this machine's clock is behind.

BigQuery cannot join a job and a manifest write in one transaction, so the manifest lives
in the lake (`_polit/manifest/bigquery/<project>.<dataset>/<job>.json`, one document per
loaded batch) and is written AFTER the insert succeeds. Once it holds
`MANIFEST_COMPACT_DOCS` job documents, a load folds them into one `compact-<hash>.json`
(the files and the newest stamp), written before the documents it replaces are deleted;
the name is the hash of its content, so a crash in between leaves the same union and the
next load finishes the fold. A load thus reads at most that many documents plus one.
Both jobs have deterministic ids (table + the hash of the batch's URIs): a rerun of the
same batch after a crash between the insert and the manifest finds the finished insert (409
Already Exists) and only writes the manifest. When the batch differs (new files sorted in
between), the overlap is loaded twice; the dbt models are built to be duplicate-proof (they
aggregate by key), so a double load never changes `posts` or `threads`.

The raw tables are created by polit from the lake schema (src/polit/lake/schema.py; lists
are ARRAY through `enable_list_inference` in the scratch load), partitioned by day of
`_loaded_at` and clustered by board: an incremental dbt run reads the partitions loaded
since its cursor, a literal. A column the lake schema gains is added to the raw table.

Credentials: the client is created on first use with application-default credentials
(ADC), never at import; nothing here reads, stores or prints a credential.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from google.cloud import bigquery

from polit.lake.schema import TABLES
from polit.lake.store import Lake, LakeFile
from polit.warehouse.base import LoadResult, WarehouseError, lake_key, next_stamp

TABLE_PREFIX = "raw_"
SCRATCH_SUFFIX = "__batch"
LOADED_AT = "_loaded_at"
GCS_PROTOCOLS = {"gs", "gcs"}
log = logging.getLogger("polit.load")
MANIFEST_COMPACT_DOCS = 24  # job documents a load folds into one (polit cost assumes it)


def raw_table_name(table: str) -> str:
    """The BigQuery table a lake table loads into.

    >>> raw_table_name("posts")
    'raw_posts'
    """
    if table not in TABLES:
        raise ValueError(f"unknown raw table {table!r}")
    return TABLE_PREFIX + table


def load_job_config(table: str) -> bigquery.LoadJobConfig:
    """The exact configuration of the load job of a batch into its scratch table: a new
    table each time (the scratch is deleted first), its schema read from the Parquet files."""
    raw_table_name(table)
    parquet = bigquery.ParquetOptions()
    parquet.enable_list_inference = True  # list<int64> -> ARRAY<INT64>, not a nested record
    return bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        write_disposition=bigquery.WriteDisposition.WRITE_EMPTY,
        create_disposition=bigquery.CreateDisposition.CREATE_IF_NEEDED,
        parquet_options=parquet,
    )


def bq_type(t: pa.DataType) -> tuple[str, str]:
    """(BigQuery type, mode) of a lake column's Arrow type.

    >>> bq_type(pa.list_(pa.int64())), bq_type(pa.timestamp("us", tz="UTC"))
    (('INT64', 'REPEATED'), ('TIMESTAMP', 'NULLABLE'))
    """
    if pa.types.is_list(t):
        return bq_type(t.value_type)[0], "REPEATED"
    kinds = {"string": "STRING", "int64": "INT64", "double": "FLOAT64"}
    if str(t) in kinds:
        return kinds[str(t)], "NULLABLE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP", "NULLABLE"
    raise TypeError(f"no BigQuery type for {t}")


def raw_schema(table: str) -> list[bigquery.SchemaField]:
    """The raw table's columns: the lake schema exactly, plus `_loaded_at` (the load's stamp)."""
    fields = []
    for f in TABLES[table]:
        kind, mode = bq_type(f.type)
        fields.append(
            bigquery.SchemaField(f.name, kind, mode="REQUIRED" if not f.nullable else mode)
        )
    fields.append(bigquery.SchemaField(LOADED_AT, "TIMESTAMP", mode="REQUIRED"))
    return fields


def raw_table(table_id: str, table: str) -> bigquery.Table:
    """A raw table as polit creates it: day partitions of `_loaded_at`, clustered by board."""
    t = bigquery.Table(table_id, schema=raw_schema(table.removeprefix(TABLE_PREFIX)))
    t.time_partitioning = bigquery.TimePartitioning(
        type_=bigquery.TimePartitioningType.DAY, field=LOADED_AT
    )
    t.clustering_fields = ["board"]
    return t


def insert_sql(raw: str, scratch: str, columns: Sequence[str], stamp: datetime) -> str:
    """The query that copies a scratch table into its raw table with the load's stamp.

    >>> at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    >>> sql = insert_sql("p.d.raw_t", "p.d.raw_t__batch", ["board", "no"], at)
    >>> print(sql)  # doctest: +NORMALIZE_WHITESPACE
    INSERT INTO `p.d.raw_t` (`board`, `no`, `_loaded_at`)
    SELECT `board`, `no`, TIMESTAMP '2026-01-02 03:04:05.000006+00' FROM `p.d.raw_t__batch`
    """
    names = ", ".join(f"`{c}`" for c in columns)
    literal = stamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    return (
        f"INSERT INTO `{raw}` ({names}, `{LOADED_AT}`) "
        f"SELECT {names}, TIMESTAMP '{literal}' FROM `{scratch}`"
    )


def load_uris(lake: Lake, files: Sequence[LakeFile]) -> list[str]:
    """The gs:// URIs of a batch; BigQuery load jobs read only from Cloud Storage."""
    if lake.protocol not in GCS_PROTOCOLS:
        raise WarehouseError(f"BigQuery loads from a gs:// lake only, not {lake.url}")
    return [f"gs://{f.path.removeprefix('gs://')}" for f in files]


def job_id(table: str, uris: Sequence[str]) -> str:
    """The insert job's id. Deterministic: the same batch always gets the same id.

    >>> job_id("posts", ["gs://b/a.parquet"])
    'polit_insert_posts_fcbabeeab511f1f6ab1e97d94ac45608705d9718'
    """
    digest = hashlib.sha1("\n".join(sorted(uris)).encode()).hexdigest()
    return f"polit_insert_{table}_{digest}"


class BigQueryWarehouse:
    def __init__(self, project: str, dataset: str, location: str | None = None) -> None:
        self.project = project
        self.dataset = dataset
        self.location = location
        self.url = f"bigquery://{project}/{dataset}"
        self._client: bigquery.Client | None = None
        self._newest_stamp: datetime | None = None  # the last load's stamp (manifest)
        self._ready: set[str] = set()  # raw tables created or checked by this process

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
        done: set[str] = set()
        docs = self._manifest_docs(lake)
        for _, doc in docs:
            done.update(doc["files"])
        if sum(not doc.get("compacted") for _, doc in docs) >= MANIFEST_COMPACT_DOCS:
            self._compact(lake, docs, done)
        return done

    def _compact(self, lake: Lake, docs: list[tuple[str, dict[str, Any]]], files: set[str]) -> None:
        """Fold every manifest document into one (see the module doc)."""
        doc = {
            "compacted": True,
            "files": sorted(files),
            "loaded_at": max(d["loaded_at"] for _, d in docs),
        }
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
        name = f"compact-{digest}.json"
        try:
            lake.write_json(doc, *self.manifest_dir(), name)
            for path, _ in docs:
                if not path.endswith("/" + name):
                    lake.fs.rm(path)
        except Exception as exc:  # the union holds either way: the next load folds again
            log.warning("could not fold the load manifest (%s); the next load tries again", exc)

    def _manifest(self, lake: Lake) -> list[dict[str, Any]]:
        return [doc for _, doc in self._manifest_docs(lake)]

    def _manifest_docs(self, lake: Lake) -> list[tuple[str, dict[str, Any]]]:
        base = lake.path(*self.manifest_dir())
        if not lake.fs.exists(base):
            return []
        docs = []
        for path in sorted(lake.fs.find(base)):
            if path.endswith(".json"):
                with lake.fs.open(path, "rb") as f:
                    docs.append((path, json.loads(f.read())))
        return docs

    def load(self, lake: Lake, files: Sequence[LakeFile]) -> LoadResult:
        if not files:
            return LoadResult("", 0, 0)
        tables = {f.table for f in files}
        if len(tables) != 1:
            raise ValueError(f"one table per load call, got {sorted(tables)}")
        table = tables.pop()
        uris = load_uris(lake, files)
        if self._newest_stamp is None:
            stamps = [datetime.fromisoformat(d["loaded_at"]) for d in self._manifest(lake)]
            self._newest_stamp = max(stamps, default=None)
        stamp = next_stamp(datetime.now(UTC), self._newest_stamp)
        job = self._copy(table, uris, stamp)
        rows = int(job.num_dml_affected_rows or 0)
        doc: dict[str, Any] = {
            "job_id": job.job_id,
            "table": self.table_id(table),
            "files": [lake_key(lake, f.path) for f in files],
            "rows": rows,
            "loaded_at": stamp.isoformat(),
        }
        # After the insert: a crash right here reloads this batch next time (module doc).
        lake.write_json(doc, *self.manifest_dir(), f"{job.job_id}.json")
        self._newest_stamp = stamp
        return LoadResult(table, len(files), rows)

    def _copy(self, table: str, uris: list[str], stamp: datetime) -> Any:
        """Scratch load, then the insert with `stamp`; the finished insert job."""
        from google.api_core.exceptions import GoogleAPIError, NotFound

        destination = self.table_id(table)
        jid = job_id(table, uris)
        try:
            try:
                done = self.client.get_job(
                    jid
                )  # this batch ran before: a crash before its manifest
                if done.state == "DONE" and not done.error_result:
                    return done
            except NotFound:
                pass
            self._ensure_raw_table(table)
            scratch = destination + SCRATCH_SUFFIX
            self.client.delete_table(scratch, not_found_ok=True)
            self.client.load_table_from_uri(
                uris,
                scratch,
                job_id_prefix=f"polit_load_{table}_",
                job_config=load_job_config(table),
            ).result()
            columns = [f.name for f in self.client.get_table(scratch).schema]
            unknown = set(columns) - {f.name for f in raw_schema(table)}
            if unknown:
                raise WarehouseError(
                    f"lake files of {table} have columns polit does not know: {sorted(unknown)}"
                )
            job = self._insert(jid, insert_sql(destination, scratch, columns, stamp))
            self.client.delete_table(scratch, not_found_ok=True)
        except GoogleAPIError as exc:
            raise WarehouseError(f"BigQuery load into {destination} failed: {exc}") from exc
        return job

    def _insert(self, jid: str, sql: str) -> Any:
        from google.api_core.exceptions import Conflict

        try:
            job = self.client.query(sql, job_id=jid)
        except Conflict:  # the id exists and failed (a finished one returned before): new id
            job = self.client.query(sql, job_id_prefix=jid + "_retry_")
        job.result()
        return job

    def _ensure_raw_table(self, table: str) -> None:
        """Create the raw table, or add the columns the lake schema gained (once a process)."""
        if table in self._ready:
            return
        wanted = raw_table(self.table_id(table), raw_table_name(table))
        have = self.client.create_table(wanted, exists_ok=True)
        names = {f.name for f in have.schema}
        missing = [f for f in wanted.schema if f.name not in names]
        if missing:  # new lake columns are nullable: old rows read as null
            have.schema = [*have.schema, *missing]
            self.client.update_table(have, ["schema"])
        self._ready.add(table)

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
            "partition expiration on the raw tables (day partitions on _loaded_at) instead"
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def __repr__(self) -> str:
        return f"BigQueryWarehouse({self.url!r})"
