"""`polit cost`: the monthly Google Cloud bill of polit, line by line, from measured volume.

Volume is posts per day plus a few per-post sizes, measured from a lake (`measure_lake`) or
given; prices come from `prices.toml` beside this file (dated, one public page per price).
Every line item is quantity × unit price after the free tier; `estimate` returns them all
for one design, `estimate_designs` for each of them.

Two designs (a month is 30 days, GiB = 2^30 bytes):

- `vm` (the default: complete and the cheapest): `polit watch` on one always-free e2-micro
  VM writing the gs:// lake, and on the same VM `polit load` every hour and `polit
  transform` every `transform_every_hours` (2: what fits BigQuery's free TiB of queries)
  into BigQuery. The VM reaches the API and Google's APIs over its external IPv6 address,
  which is not charged; an external IPv4 address is (`vm_network`, see prices.toml).
- `cloud_run`: the hourly Cloud Run job (`polit run`: crawl --once, load, transform) started
  by Cloud Scheduler. It misses posts made and deleted within the hour.

What each line counts:

- Cloud Storage. Raw Parquet files (`raw/`) stay Standard until `cold_after_days` (never by
  default: a year of /pol/'s raw files, 30 days kept, is ~1 GiB, inside the free 5 GiB), then
  the colder class until `retention_days`, then are deleted; a deleted object stays billed for
  `soft_delete_days`, and a cold object deleted before its class's minimum duration is billed
  up to it. Class A: object writes (data files, crawl state, watch's heartbeat every
  `heartbeat_seconds`, the crawl lease rewritten every 75 s while a crawler runs, load
  manifests) and listings (1,000 objects a page); each lifecycle transition is a
  Class A operation of the colder class. Class B: reads (the load manifest, each file a load
  job reads, the crawl state, the lease when a crawl takes it, health checks). Deletes are
  free. The load manifest is bounded: a load folds it into one document once it holds
  `manifest_compact_docs` job documents (polit.warehouse.bigquery.MANIFEST_COMPACT_DOCS;
  `None`: a manifest never folded, one document per load job forever, every one read by
  every load).
- BigQuery: see polit.cost_dbt (every dbt model and test from the dbt project, each run at the
  history it sees; storage per table). Load jobs are free.
- Compute Engine (vm): the e2-micro instance and its standard persistent disk (free tier);
  the external address (IPv6: free; IPv4 or Cloud NAT: charged).
- Cloud Run (cloud_run): vCPU-seconds and GiB-seconds per run, minus the free tier; Cloud
  Scheduler: jobs beyond the three free ones.
- Artifact Registry: the image versions kept. Network: the API's responses are ingress (free);
  out go the requests (~500 B each) and TCP acknowledgements (~2% of the bytes received).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from polit.cost_dbt import CostModels, DbtProject, Sizes, WarehouseMonth, load_cost_models
from polit.lake.schema import TABLES
from polit.lake.stats import read_table
from polit.lake.store import Lake, LakeFile

PRICES_PATH = Path(__file__).with_name("prices.toml")
GIB = 2**30
TIB = 2**40
MIB = 2**20
DAYS_PER_MONTH = 30
HOURS_PER_MONTH = 24 * DAYS_PER_MONTH
SECONDS_PER_DAY = 86400
COLD_CLASSES = ("NEARLINE", "COLDLINE")
DESIGNS = {
    "vm": "polit watch on an always-free e2-micro VM; on it, load hourly, transform every {h} h",
    "cloud_run": "hourly Cloud Run job (crawl --once, load, transform) from Cloud Scheduler",
}


def describe(design: str, a: Assumptions) -> str:
    """One line on a design as assumed."""
    return DESIGNS[design].format(h=a.transform_every_hours)


VM_NETWORKS = ("ipv6", "ipv4", "nat")
FREE_TIER_REGIONS = {"us-central1", "us-east1", "us-west1"}  # GCS 5 GiB, the e2-micro

# The base sizes of the four tables `polit cost --lake` can measure (the rest scale with posts):
# cost_models.toml, measured on the recorded /pol/ board (shared fixture pol-2023-03-27, 11
# snapshots about an hour apart, crawled by polit): 59,993 posts, 62,103 raw post rows,
# 3,056 raw thread rows, 1,186 threads; the board made 109,749 posts/day then.
_BASE = load_cost_models().tables
POL_RAW_ROWS_PER_POST = _BASE["raw_posts"].rows_per_post
POL_RAW_ROW_BYTES = _BASE["raw_posts"].row_bytes
POL_POSTS_ROW_BYTES = _BASE["posts"].row_bytes
POL_RAW_THREADS_BYTES_PER_POST = _BASE["raw_threads"].rows_per_post * _BASE["raw_threads"].row_bytes
POL_THREADS_BYTES_PER_POST = _BASE["threads"].rows_per_post * _BASE["threads"].row_bytes
POL_LAKE_BYTES_PER_POST = 195.0  # Parquet (zstd), posts + threads files
POL_FILES_PER_RUN = 2.0  # one posts and one threads file per board per crawl (or flush)
THREADS_ROW_BYTES = _BASE["threads"].row_bytes
# Logical bytes of a `posts` row beyond the raw columns it keeps: `url` (~58), five
# timestamps (40), five booleans (5), `board` (5).
POSTS_EXTRA_BYTES = 108
# API requests per post the board makes, and what one answers: the coverage bench (bench/
# results.md: 12 h of synthetic /pol/, 69,696 posts: watch 8,842 requests, hourly crawls
# 4,263) and the recording (hourly cycles of ~330 requests answering ~6.3 MB).
WATCH_REQUESTS_PER_POST = 8842 / 69696
HOURLY_REQUESTS_PER_POST = 4263 / 69696
RESPONSE_BYTES_PER_REQUEST = 6_300_000 / 330
REQUEST_BYTES = 500  # one GET with its headers, out to the API
ACK_SHARE = 0.02  # TCP acknowledgements sent per byte received (one ~60 B ACK per 2 segments)
MANIFEST_DOC_FILES = 2  # job documents per load: one per table (batches of 500 files)
LIST_PAGE = 1000  # objects per Cloud Storage list call


class CostError(ValueError):
    """Bad inputs for an estimate; the message says which."""


# ---- prices -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Price:
    name: str
    value: float
    unit: str
    region: str
    source: str
    as_of: str
    per: float = 1.0
    note: str = ""

    @property
    def unit_price(self) -> float:
        """USD per one `unit`."""
        return self.value / self.per


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    currency: str
    prices: dict[str, Price]

    def __getitem__(self, name: str) -> Price:
        try:
            return self.prices[name]
        except KeyError:
            raise CostError(f"the price table has no {name!r}") from None


def load_prices(path: Path | None = None) -> PriceTable:
    """Read the price table (default: prices.toml beside this module).

    >>> load_prices()["gcs_standard_storage"].source
    'https://cloud.google.com/storage/pricing'
    """
    path = path or PRICES_PATH
    with path.open("rb") as f:
        raw = tomllib.load(f)
    prices = {}
    for name, p in raw.get("price", {}).items():
        missing = {"value", "unit", "region", "source", "as_of"} - set(p)
        if missing:
            raise CostError(f"{path}: price {name} lacks {', '.join(sorted(missing))}")
        prices[name] = Price(
            name=name,
            value=float(p["value"]),
            unit=str(p["unit"]),
            region=str(p["region"]),
            source=str(p["source"]),
            as_of=str(p["as_of"]),
            per=float(p.get("per", 1)),
            note=str(p.get("note", "")),
        )
    return PriceTable(as_of=str(raw["as_of"]), currency=str(raw["currency"]), prices=prices)


# ---- volume ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Volume:
    """How much the board makes: posts per day and what a post costs in bytes."""

    posts_per_day: float
    lake_bytes_per_post: float = POL_LAKE_BYTES_PER_POST
    raw_rows_per_post: float = POL_RAW_ROWS_PER_POST
    raw_row_bytes: float = POL_RAW_ROW_BYTES
    posts_row_bytes: float = POL_POSTS_ROW_BYTES
    raw_threads_bytes_per_post: float = POL_RAW_THREADS_BYTES_PER_POST
    threads_bytes_per_post: float = POL_THREADS_BYTES_PER_POST
    files_per_run: float = POL_FILES_PER_RUN  # lake data files per run, all boards
    source: str = "given"
    measured: dict[str, Any] = field(default_factory=dict)

    @property
    def warehouse_bytes_per_post(self) -> float:
        """BigQuery logical bytes per post over the four tables."""
        return (
            self.raw_rows_per_post * self.raw_row_bytes
            + self.posts_row_bytes
            + self.raw_threads_bytes_per_post
            + self.threads_bytes_per_post
        )

    def with_warehouse_bytes_per_post(self, total: float) -> Volume:
        """Scale every BigQuery size so that they add up to `total` bytes per post."""
        factor = total / self.warehouse_bytes_per_post
        return replace(
            self,
            raw_row_bytes=self.raw_row_bytes * factor,
            posts_row_bytes=self.posts_row_bytes * factor,
            raw_threads_bytes_per_post=self.raw_threads_bytes_per_post * factor,
            threads_bytes_per_post=self.threads_bytes_per_post * factor,
        )

    def validate(self) -> None:
        if self.posts_per_day <= 0:
            raise CostError("posts per day must be > 0")
        for name in (
            "lake_bytes_per_post",
            "raw_rows_per_post",
            "raw_row_bytes",
            "posts_row_bytes",
            "files_per_run",
        ):
            if getattr(self, name) <= 0:
                raise CostError(f"{name.replace('_', ' ')} must be > 0")


def bigquery_logical_bytes(table: pa.Table) -> int:
    """What BigQuery bills for these rows: STRING 2 + UTF-8 bytes, INT64 and TIMESTAMP 8,
    BOOL 1, an ARRAY the sum of its elements, NULL nothing.

    >>> bigquery_logical_bytes(pa.table({"s": ["ab", None], "n": [1, None]}))
    12
    """
    return sum(_column_bytes(table.column(i)) for i in range(table.num_columns))


def _column_bytes(col: pa.ChunkedArray) -> int:
    t = col.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _column_bytes(pc.list_flatten(col))
    valid = len(col) - col.null_count
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t):
        lengths = pc.sum(pc.binary_length(col)).as_py() or 0
        return int(lengths) + 2 * valid
    if pa.types.is_boolean(t):
        return valid
    return 8 * valid


# raw columns the `posts` model keeps (stg_chan__posts renames them)
POSTS_KEPT = (
    "no",
    "thread_no",
    "id",
    "version",
    "name",
    "trip",
    "email",
    "sub",
    "text",
    "com",
    "filename",
    "ext",
    "md5",
    "capcode",
    "country",
    "country_name",
    "board_flag",
    "flag_name",
    "troll_country",
    "fsize",
    "w",
    "h",
    "quotes",
    "urls",
)
SAMPLE_ROWS = 200_000


def measure_lake(lake: Lake, board: str | None = None) -> Volume:
    """Posts per day and bytes per post, measured from a lake.

    Posts per day: distinct posts whose `time` is after the newest post of the first crawl
    run (everything the board made while polit watched), over that span. With one run, or
    under an hour watched: the posts of the last day before the newest one. Sizes: the
    Parquet bytes of the table files per distinct post, and BigQuery's logical bytes
    measured on the newest files (up to 200,000 rows).
    """
    post_files = lake.files("posts", board)
    thread_files = lake.files("threads", board)
    if not post_files:
        raise CostError(f"no post files in {lake.url}" + (f" for /{board}/" if board else ""))
    keys = read_table(lake, "posts", ["board", "no", "time", "observed_at", "run_id"], board)
    distinct = keys.group_by(["board", "no"]).aggregate([("time", "max")]).num_rows
    posts_per_day, window, how = _posts_per_day(keys)

    raw = _sample(lake, "posts", post_files)
    raw_row_bytes = bigquery_logical_bytes(raw) / max(raw.num_rows, 1)
    kept = raw.select([c for c in POSTS_KEPT if c in raw.column_names])
    posts_row_bytes = bigquery_logical_bytes(kept) / max(kept.num_rows, 1) + POSTS_EXTRA_BYTES
    threads = read_table(lake, "threads", board=board)
    distinct_threads = threads.group_by(["board", "no"]).aggregate([]).num_rows
    lake_bytes = sum(f.size for f in post_files) + sum(f.size for f in thread_files)
    runs = len(set(keys["run_id"].to_pylist()))
    return Volume(
        posts_per_day=posts_per_day,
        lake_bytes_per_post=lake_bytes / distinct,
        raw_rows_per_post=keys.num_rows / distinct,
        raw_row_bytes=raw_row_bytes,
        posts_row_bytes=posts_row_bytes,
        raw_threads_bytes_per_post=bigquery_logical_bytes(threads) / distinct,
        threads_bytes_per_post=distinct_threads * THREADS_ROW_BYTES / distinct,
        files_per_run=(len(post_files) + len(thread_files)) / max(runs, 1),
        source=f"lake {lake.url}" + (f" /{board}/" if board else ""),
        measured={
            "distinct_posts": distinct,
            "raw_post_rows": keys.num_rows,
            "distinct_threads": distinct_threads,
            "lake_bytes": lake_bytes,
            "files": len(post_files) + len(thread_files),
            "runs": runs,
            "rate_window_hours": round(window / 3600, 2),
            "rate_from": how,
        },
    )


def _posts_per_day(keys: pa.Table) -> tuple[float, float, str]:
    """(posts per day, seconds of board time counted, how)."""
    posts = keys.filter(pc.is_valid(keys["time"]))
    if posts.num_rows == 0:
        raise CostError("no post in the lake has a `time`")
    per_post = posts.group_by(["board", "no"]).aggregate([("time", "min")])
    times = per_post["time_min"]
    newest = int(pc.max(times).as_py())
    first_run = posts.sort_by([("observed_at", "ascending")])["run_id"][0].as_py()
    in_first = posts.filter(pc.equal(posts["run_id"], first_run))
    start = int(pc.max(in_first["time"]).as_py())
    if newest - start >= 3600:
        new = pc.sum(pc.greater(times, start)).as_py() or 0
        span = newest - start
        return new * SECONDS_PER_DAY / span, float(span), "posts made after the first run"
    since = max(newest - SECONDS_PER_DAY, int(pc.min(times).as_py()))
    span = max(newest - since, 3600)
    recent = pc.sum(pc.greater_equal(times, since)).as_py() or 0
    return recent * SECONDS_PER_DAY / span, float(span), "posts of the last day seen"


def _sample(lake: Lake, table: str, files: Sequence[LakeFile]) -> pa.Table:
    """The newest files of a table, up to about SAMPLE_ROWS rows."""
    chosen: list[str] = []
    rows = 0
    for f in reversed(files):  # files are sorted oldest partition first
        dataset = ds.dataset(f.path, schema=TABLES[table], format="parquet", filesystem=lake.fs)
        chosen.append(f.path)
        rows += dataset.count_rows()
        if rows >= SAMPLE_ROWS:
            break
    dataset = ds.dataset(chosen, schema=TABLES[table], format="parquet", filesystem=lake.fs)
    return dataset.to_table()


# ---- assumptions and the estimate -------------------------------------------------------------
@dataclass(frozen=True)
class Assumptions:
    """How polit runs. Defaults: terraform/envs/dev, one board, the `vm` design."""

    design: str = "vm"
    runs_per_day: int = 24  # loads (and crawls + transforms, for cloud_run)
    # vm: `polit transform` after every 3rd load: an hourly `dbt build` bills 3.4 GiB (1.8 GiB
    # of it BigQuery's 10 MiB minimum per table of each query), 2.4 TiB a month, beyond the
    # free TiB; every 3 hours fits in it
    transform_every_hours: int = 2
    retention_days: int = 30  # raw lake objects deleted after (lifecycle)
    cold_after_days: int | None = None  # ... moved to `cold_class` after; None: never
    cold_class: str = "NEARLINE"
    soft_delete_days: int = 7  # Cloud Storage's default soft-delete retention
    age_days: int = 365  # days of history BigQuery holds at the end of the month estimated
    boards: int = 1
    manifest_compact_docs: int | None = 24  # None: the manifest as it is today, unbounded
    registry_gib: float = 1.0  # two versions of the ~0.7 GiB image, base layers shared
    free_tier: bool = True
    region: str = "us-central1"
    # cloud_run
    run_seconds: float = 600.0  # one `polit run`: crawl at 1 request/s, load, dbt build
    vcpu: float = 1.0
    memory_gib: float = 2.0
    scheduler_jobs: int = 1
    # vm
    vm_network: str = "ipv6"
    disk_gb: float = 10.0  # the boot disk (Container-Optimized OS needs 10 GB)
    watch_interval: float = 60.0  # seconds between watch's cycles
    heartbeat_seconds: float = 300.0  # `polit watch --heartbeat-seconds`: one write this often
    flush_minutes: float = 10.0  # watch writes its files (and state) this often
    health_check_minutes: float = 5.0  # the image's HEALTHCHECK reads the heartbeat

    def validate(self) -> None:
        if self.design not in DESIGNS:
            raise CostError(f"design must be one of {', '.join(DESIGNS)}")
        if self.vm_network not in VM_NETWORKS:
            raise CostError(f"vm network must be one of {', '.join(VM_NETWORKS)}")
        if not 1 <= self.runs_per_day <= 24 * 60:
            raise CostError("runs per day must be between 1 and 1440")
        if self.transform_every_hours not in (1, 2, 3, 4, 6, 8, 12, 24):
            raise CostError("transform every hours must divide 24 (1, 2, 3, 4, 6, 8, 12 or 24)")
        if self.retention_days < 1:
            raise CostError("retention days must be >= 1")
        if self.cold_after_days is not None and self.cold_after_days < 0:
            raise CostError("cold-after days must be >= 0")
        if self.cold_class.upper() not in COLD_CLASSES:
            raise CostError(f"cold class must be one of {', '.join(COLD_CLASSES)}")
        if self.age_days < 1:
            raise CostError("age days must be >= 1")
        if self.manifest_compact_docs is not None and self.manifest_compact_docs < 1:
            raise CostError("manifest compaction needs at least 1 document")
        for name in ("run_seconds", "vcpu", "memory_gib", "boards", "watch_interval",
                     "heartbeat_seconds", "flush_minutes", "health_check_minutes",
                     "disk_gb"):  # fmt: skip
            if getattr(self, name) <= 0:
                raise CostError(f"{name.replace('_', ' ')} must be > 0")

    @property
    def runs_per_month(self) -> int:
        return self.runs_per_day * DAYS_PER_MONTH

    @property
    def transforms_per_day(self) -> int:
        """`polit transform` runs a day: each `polit run` on Cloud Run; on the VM, every
        `transform_every_hours` (each after a load)."""
        if self.design == "cloud_run":
            return self.runs_per_day
        return min(self.runs_per_day, 24 // self.transform_every_hours)

    @property
    def cold(self) -> bool:
        """Raw objects reach the colder class before they are deleted."""
        return self.cold_after_days is not None and self.cold_after_days < self.retention_days


@dataclass
class LineItem:
    name: str
    service: str
    quantity: float
    unit: str
    unit_price: float  # USD per unit
    free_quantity: float = 0.0
    usd_per_month: float = 0.0
    price: str = ""  # key in the price table
    note: str = ""

    @property
    def billable(self) -> float:
        return max(0.0, self.quantity - self.free_quantity)


@dataclass
class Estimate:
    total_usd_per_month: float
    line_items: list[LineItem]
    volume: Volume
    assumptions: Assumptions
    prices_as_of: str
    currency: str
    warehouse: WarehouseMonth
    designs: dict[str, float] = field(default_factory=dict)  # design -> total, every design

    def as_dict(self) -> dict[str, Any]:
        volume = asdict(self.volume)
        volume["warehouse_bytes_per_post"] = round(self.volume.warehouse_bytes_per_post, 1)
        w = self.warehouse
        return {
            "design": self.assumptions.design,
            "total_usd_per_month": round(self.total_usd_per_month, 2),
            "designs": {
                name: {
                    "total_usd_per_month": round(total, 2),
                    "description": describe(name, self.assumptions),
                }
                for name, total in self.designs.items()
            },
            "currency": self.currency,
            "prices_as_of": self.prices_as_of,
            "volume": volume,
            "assumptions": asdict(self.assumptions),
            "line_items": [{**asdict(i), "billable_quantity": i.billable} for i in self.line_items],
            "bigquery": {
                "transform_runs": w.runs,
                "billed_tib": round(w.billed_bytes / TIB, 4),
                "billed_gib_per_run": round(w.billed_bytes / w.runs / GIB, 4),
                "table_references_per_run": w.table_refs_per_run,
                "unit_tests": w.unit_tests,
            },
            "bigquery_bytes_per_run": [n.as_dict(w.runs) for n in w.nodes],
            "bigquery_storage": [t.as_dict() for t in w.storage],
        }


def estimate(
    volume: Volume,
    assumptions: Assumptions | None = None,
    prices: PriceTable | None = None,
    project: DbtProject | None = None,
) -> Estimate:
    """Every line item of the monthly bill of the chosen design, and their sum; `designs`
    holds the total of every design."""
    from polit.cost_dbt import dbt_project

    a = assumptions or Assumptions()
    p = prices or load_prices()
    volume.validate()
    a.validate()
    project = project or dbt_project()
    months: dict[int, WarehouseMonth] = {}  # by transforms a day
    items: dict[str, list[LineItem]] = {}
    for design in DESIGNS:
        one = replace(a, design=design)
        runs = one.transforms_per_day
        if runs not in months:
            months[runs] = warehouse_month(volume, one, p, project)
        items[design] = line_items(volume, one, p, months[runs])
    totals = {d: sum(i.usd_per_month for i in lines) for d, lines in items.items()}
    return Estimate(
        totals[a.design], items[a.design], volume, a, p.as_of, p.currency,
        months[a.transforms_per_day], totals,
    )  # fmt: skip


def warehouse_month(
    volume: Volume, a: Assumptions, p: PriceTable, project: DbtProject
) -> WarehouseMonth:
    """BigQuery's month: the dbt project's queries and storage at this volume."""
    from polit.cost_dbt import project_costs, window_days

    models = load_cost_models()
    runs = a.transforms_per_day

    def sizes_for(tables: dict[str, Any], dbt_vars: dict[str, Any]) -> Sizes:
        return volume_sizes(volume, replace(models, tables=tables), dbt_vars,
                            window_days(dbt_vars, runs))  # fmt: skip

    return project_costs(
        project,
        models,
        sizes_for,
        runs,
        a.age_days,
        p["bigquery_min_query_mib_per_table"].value * MIB,
        DAYS_PER_MONTH,
    )


def volume_sizes(
    volume: Volume, models: CostModels, dbt_vars: dict[str, Any], days: dict[str, float]
) -> Sizes:
    """The cost tables scaled to the volume (measured or given)."""
    t = models.tables
    factors = {
        "raw_posts": volume.raw_row_bytes / t["raw_posts"].row_bytes,
        "posts": volume.posts_row_bytes / t["posts"].row_bytes,
        "raw_threads": volume.raw_threads_bytes_per_post / POL_RAW_THREADS_BYTES_PER_POST,
        "threads": volume.threads_bytes_per_post / POL_THREADS_BYTES_PER_POST,
    }
    rows = {"raw_posts": volume.raw_rows_per_post / t["raw_posts"].rows_per_post}
    return Sizes(t, volume.posts_per_day, factors, rows, days)


def line_items(
    volume: Volume, a: Assumptions, p: PriceTable, warehouse: WarehouseMonth
) -> list[LineItem]:
    from polit.cost_lines import Bill

    bill = Bill(p, a.free_tier)
    bill.cloud_storage(volume, a)
    bill.bigquery(volume, a, warehouse)
    if a.design == "vm":
        bill.compute_engine(volume, a)
    else:
        bill.cloud_run(a)
    bill.registry_and_network(volume, a)
    return bill.items
