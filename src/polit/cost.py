"""`polit cost`: the monthly Google Cloud bill of the hourly pipeline, from measured volume.

Volume is posts per day plus a few per-post sizes, measured from a lake (`measure_lake`) or
given; prices come from `prices.toml` beside this file (dated, one public page per price).
Every line item is quantity × unit price after the free tier; `estimate` returns them all.

The model (a month is 30 days, GiB = 2^30 bytes):

- Cloud Storage. Raw Parquet files (`raw/`) stay Standard for `cold_after_days`, then sit
  in the colder class until `retention_days`, then are deleted; a deleted object stays
  billed for `soft_delete_days`, and a cold object deleted before its class's minimum
  storage duration (counted from creation) is billed up to it. Class A: object writes
  (data files, the crawl state, load manifests) and listings; every lifecycle transition
  is a Class A operation of the colder class. Class B: reads, among them the load
  manifest, which `polit load` reads whole on every run and which grows forever.
- BigQuery storage. Logical bytes of raw_posts, raw_threads, posts and threads; nothing
  expires, so storage grows with `age_days`. Partitions untouched for 90 days are
  long-term (half price).
- BigQuery queries, on demand. Each hourly `dbt build` on BigQuery (see `dbt_scans`): the
  `posts` model reads the raw_posts day partitions its cursor touches and, to merge, the
  `posts` rows it already has: its `existing` CTE joins on (board, post_id), which does not
  prune partitions, so that is the whole table, every run; the MERGE reads the keys of the
  whole table and rewrites the partitions it updates; `threads` reads a few columns of
  all of `posts` and all of raw_threads; the tests read their columns of whole tables.
  So this line grows with `age_days` unless `dbt_scan_days` bounds the reads (what
  incremental predicates and partition filters in the models would do).
- BigQuery load jobs: free. Cloud Run: vCPU-seconds and GiB-seconds per run × runs,
  minus the free tier; `watch` adds one always-on instance. Cloud Scheduler: jobs beyond
  the three free ones. Artifact Registry: stored image versions. Network: the API's
  responses are ingress (free); requests out are a few hundred bytes each.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from polit.lake.schema import TABLES
from polit.lake.stats import read_table
from polit.lake.store import Lake, LakeFile

PRICES_PATH = Path(__file__).with_name("prices.toml")
GIB = 2**30
TIB = 2**40
MIB = 2**20
DAYS_PER_MONTH = 30
SECONDS_PER_DAY = 86400
COLD_CLASSES = ("NEARLINE", "COLDLINE")
FREE_TIER_GCS_REGIONS = {"us-central1", "us-east1", "us-west1"}

# Measured on the recorded /pol/ board (shared fixture pol-2023-03-27, 11 snapshots about
# an hour apart, crawled by polit; `polit cost --lake` measures your own lake instead):
# 59,993 posts, 62,103 raw post rows, 3,056 raw thread rows, 1,186 threads; the board
# made 109,749 posts/day while it was recorded (a Monday in March 2023).
POL_LAKE_BYTES_PER_POST = 195.0  # Parquet (zstd), posts + threads files
POL_RAW_ROWS_PER_POST = 1.035  # versions and tombstones beside first sightings
POL_RAW_ROW_BYTES = 513.0  # BigQuery logical bytes of one raw_posts row
POL_POSTS_ROW_BYTES = 542.0  # ... of one `posts` row (same content, dbt's columns)
POL_RAW_THREADS_BYTES_PER_POST = 4.3  # raw_threads logical bytes per post
POL_THREADS_BYTES_PER_POST = 4.35  # `threads` logical bytes per post
POL_FILES_PER_RUN = 2.0  # one posts and one threads file per board per crawl
POL_REQUESTS_PER_RUN = 330  # per board per hourly cycle (bench/results.md: 315-331)
POL_RESPONSE_BYTES = 6_300_000  # the API's responses per board per cycle (bench: 5.7-6.6 MB)
REQUEST_BYTES = 500  # one GET with its headers, out to the API

# Logical bytes of a `posts` row beyond the raw columns it keeps: `url` (~58), five
# timestamps (40), five booleans (5), `board` (5).
POSTS_EXTRA_BYTES = 108
THREADS_ROW_BYTES = 220  # one `threads` row: ids, topic, url, counts, flags, 9 timestamps
KEY_BYTES = 13  # (board, post_id): STRING 'pol' (2 + 3) + INT64
CURSOR_BYTES = 8  # max(loaded_at): one TIMESTAMP column
THREADS_POSTS_COLUMNS_BYTES = 60  # columns of `posts` the threads model reads
POSTS_TESTS_BYTES = 78  # columns of `posts` its 10 tests read, summed over the tests
RAW_TESTS_BYTES = 29  # raw_posts columns the staging tests read (board, no, thread_no, observed_at)
# Day partitions of raw_posts the posts model scans per run, averaged over the 24 runs of
# a day: today's partition so far (12.5/24 of a day on average) plus all of yesterday's
# when the 6-hour lookback crosses midnight (6 runs of 24).
RAW_DAYS_PER_RUN = 12.5 / 24 + 6 / 24
MERGE_SOURCE_HOURS = 7  # touched posts per run: the cursor's 6-hour lookback + the new hour
MERGE_UPDATED_DAYS = 1.0  # post-hour partitions a merge rewrites (live threads' posts)


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
    """How the pipeline runs. Defaults: terraform/envs/dev and one board."""

    runs_per_day: int = 24
    retention_days: int = 30  # raw lake objects deleted after (lifecycle)
    cold_after_days: int = 7  # ... moved to `cold_class` after
    cold_class: str = "NEARLINE"
    soft_delete_days: int = 7  # Cloud Storage's default soft-delete retention
    age_days: int = 365  # days of history BigQuery holds in the month estimated
    run_seconds: float = 600.0  # one `polit run`: ~330 requests at 1/s, load, dbt build
    vcpu: float = 1.0
    memory_gib: float = 2.0
    boards: int = 1
    dbt_scan_days: float | None = None  # None: the models read all of `posts` every run
    watch: bool = False  # `polit watch` as an always-on Cloud Run service
    scheduler_jobs: int = 1
    image_gib: float = 0.4  # compressed image: Python, pyarrow, DuckDB, dbt, Google clients
    image_versions: int = 5  # the registry's cleanup policy keeps this many
    free_tier: bool = True
    region: str = "us-central1"

    def validate(self) -> None:
        if not 1 <= self.runs_per_day <= 24 * 60:
            raise CostError("runs per day must be between 1 and 1440")
        if self.retention_days < 1:
            raise CostError("retention days must be >= 1")
        if self.cold_after_days < 0:
            raise CostError("cold-after days must be >= 0")
        if self.cold_class.upper() not in COLD_CLASSES:
            raise CostError(f"cold class must be one of {', '.join(COLD_CLASSES)}")
        if self.age_days < 1:
            raise CostError("age days must be >= 1")
        if self.dbt_scan_days is not None and self.dbt_scan_days <= 0:
            raise CostError("dbt scan days must be > 0")
        for name in ("run_seconds", "vcpu", "memory_gib", "boards", "image_gib"):
            if getattr(self, name) <= 0:
                raise CostError(f"{name.replace('_', ' ')} must be > 0")

    @property
    def runs_per_month(self) -> int:
        return self.runs_per_day * DAYS_PER_MONTH

    @property
    def cold(self) -> bool:
        """Raw objects reach the colder class before they are deleted."""
        return self.cold_after_days < self.retention_days


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
    dbt_scans: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        volume = asdict(self.volume)
        volume["warehouse_bytes_per_post"] = round(self.volume.warehouse_bytes_per_post, 1)
        return {
            "total_usd_per_month": round(self.total_usd_per_month, 2),
            "currency": self.currency,
            "prices_as_of": self.prices_as_of,
            "volume": volume,
            "assumptions": asdict(self.assumptions),
            "line_items": [{**asdict(i), "billable_quantity": i.billable} for i in self.line_items],
            "bigquery_bytes_per_run": self.dbt_scans,
        }


def estimate(
    volume: Volume, assumptions: Assumptions | None = None, prices: PriceTable | None = None
) -> Estimate:
    """Every line item of the monthly bill, and their sum."""
    a = assumptions or Assumptions()
    p = prices or load_prices()
    volume.validate()
    a.validate()
    items: list[LineItem] = []

    def add(
        name: str,
        service: str,
        quantity: float,
        price: str,
        free: str | float = 0.0,
        unit: str | None = None,
        note: str = "",
    ) -> None:
        pr = p[price]
        free_q = (p[free].value if isinstance(free, str) else free) if a.free_tier else 0.0
        item = LineItem(
            name, service, quantity, unit or pr.unit, pr.unit_price, free_q, price=price, note=note
        )
        item.usd_per_month = item.billable * item.unit_price
        items.append(item)

    posts_day = volume.posts_per_day  # all boards together
    # ---- Cloud Storage
    lake_day = posts_day * volume.lake_bytes_per_post
    gcs_free = a.region in FREE_TIER_GCS_REGIONS
    cold = a.cold_class.upper()
    if a.cold:
        min_days = p[f"gcs_{cold.lower()}_min_days"].value
        billed_cold_days = max(a.retention_days + a.soft_delete_days, min_days) - a.cold_after_days
        add(
            "Cloud Storage: Standard (raw, first days)",
            "Cloud Storage",
            lake_day * a.cold_after_days / GIB,
            "gcs_standard_storage",
            "gcs_free_standard_storage" if gcs_free else 0.0,
            note=f"{a.cold_after_days} days of raw files",
        )
        add(
            f"Cloud Storage: {cold.title()} (raw, until deleted)",
            "Cloud Storage",
            lake_day * billed_cold_days / GIB,
            f"gcs_{cold.lower()}_storage",
            note=f"days {a.cold_after_days}-{a.retention_days} + {a.soft_delete_days} "
            f"soft-deleted: {billed_cold_days:g} days billed (minimum {min_days:g} from creation)",
        )
    else:
        add(
            "Cloud Storage: Standard (raw)",
            "Cloud Storage",
            lake_day * (a.retention_days + a.soft_delete_days) / GIB,
            "gcs_standard_storage",
            "gcs_free_standard_storage" if gcs_free else 0.0,
            note=f"{a.retention_days} days + {a.soft_delete_days} soft-deleted",
        )

    runs = a.runs_per_month
    files_run = volume.files_per_run
    manifests = 2 * a.runs_per_day * a.age_days  # one per table per load, never deleted
    files_kept = files_run * a.runs_per_day * a.retention_days
    writes = files_run + a.boards + 2  # data files, crawl state per board, 2 manifests
    listings = 2 * math.ceil(files_kept / 2 / 1000) + math.ceil(manifests / 1000)
    add(
        "Cloud Storage: Class A (writes, listings)",
        "Cloud Storage",
        (writes + listings) * runs,
        "gcs_class_a_standard",
        "gcs_free_class_a" if gcs_free else 0.0,
        note=f"{writes:g} writes + {listings} list pages per run",
    )
    if a.cold:
        add(
            f"Cloud Storage: lifecycle to {cold.title()}",
            "Cloud Storage",
            files_run * runs,
            f"gcs_class_a_{cold.lower()}",
            note="one Class A operation per object moved",
        )
    reads = a.boards + files_run + manifests + 4  # state, load job reads, manifest, metadata
    add(
        "Cloud Storage: Class B (reads)",
        "Cloud Storage",
        reads * runs,
        "gcs_class_b_standard",
        "gcs_free_class_b" if gcs_free else 0.0,
        note=f"{reads:,.0f} per run, of which {manifests:,} load-manifest documents "
        f"(`polit load` reads them all; they grow {2 * a.runs_per_day}/day)",
    )

    # ---- BigQuery storage
    bq_day = posts_day * volume.warehouse_bytes_per_post
    lt_after = p["bigquery_long_term_after_days"].value
    active_days = min(a.age_days, lt_after)
    add(
        "BigQuery: active storage",
        "BigQuery",
        bq_day * active_days / GIB,
        "bigquery_active_storage",
        "bigquery_free_storage",
        note=f"newest {active_days:g} days, {volume.warehouse_bytes_per_post:,.0f} B/post",
    )
    add(
        "BigQuery: long-term storage",
        "BigQuery",
        bq_day * max(0, a.age_days - lt_after) / GIB,
        "bigquery_long_term_storage",
        note="partitions untouched for 90 days",
    )
    # ---- BigQuery queries
    scans = dbt_scans(volume, a, posts_day, p["bigquery_min_query_mib_per_table"].value * MIB)
    per_run = sum(s["billed_bytes"] for s in scans)
    window = "all of `posts`" if a.dbt_scan_days is None else f"{a.dbt_scan_days:g} days"
    add(
        "BigQuery: queries (hourly dbt build)",
        "BigQuery",
        per_run * runs / TIB,
        "bigquery_on_demand_query",
        "bigquery_free_query",
        note=f"{per_run / GIB:,.2f} GiB per run, reading {window} ({a.age_days} days of history)",
    )
    add(
        "BigQuery: load jobs",
        "BigQuery",
        posts_day * DAYS_PER_MONTH * volume.lake_bytes_per_post / GIB,
        "bigquery_batch_load",
        note="batch loads from Cloud Storage are free",
    )

    # ---- Cloud Run
    seconds = a.run_seconds * runs
    watch_seconds = SECONDS_PER_DAY * DAYS_PER_MONTH if a.watch else 0
    what = f"{runs} runs × {a.run_seconds:g} s" + (" + watch service" if a.watch else "")
    add(
        "Cloud Run: vCPU",
        "Cloud Run",
        a.vcpu * (seconds + watch_seconds),
        "cloud_run_cpu",
        "cloud_run_free_cpu",
        note=f"{what} × {a.vcpu:g} vCPU",
    )
    add(
        "Cloud Run: memory",
        "Cloud Run",
        a.memory_gib * (seconds + watch_seconds),
        "cloud_run_memory",
        "cloud_run_free_memory",
        note=f"{what} × {a.memory_gib:g} GiB",
    )
    # ---- Scheduler, registry, network
    add(
        "Cloud Scheduler: jobs",
        "Cloud Scheduler",
        a.scheduler_jobs,
        "scheduler_job",
        "scheduler_free_jobs",
    )
    add(
        "Artifact Registry: images",
        "Artifact Registry",
        a.image_gib * a.image_versions,
        "artifact_registry_storage",
        "artifact_registry_free_storage",
        note=f"{a.image_versions} versions × {a.image_gib:g} GiB",
    )
    requests = POL_REQUESTS_PER_RUN * a.boards * runs
    add(
        "Network: API responses in",
        "Network",
        POL_RESPONSE_BYTES * a.boards * runs / GIB,
        "network_ingress",
        note="ingress is free",
    )
    add(
        "Network: internet egress",
        "Network",
        requests * REQUEST_BYTES / GIB,
        "network_internet_egress",
        "network_free_egress",
        note=f"{requests:,} API requests of ~{REQUEST_BYTES} B",
    )

    total = sum(i.usd_per_month for i in items)
    return Estimate(total, items, volume, a, p.as_of, p.currency, scans)


def dbt_scans(
    volume: Volume, a: Assumptions, posts_day: float, min_bytes: float
) -> list[dict[str, Any]]:
    """Bytes one hourly `dbt build` processes on BigQuery, by step (see the module doc).

    A step is billed at least `min_bytes` (10 MiB) per table it references."""
    history = posts_day * a.age_days  # rows of `posts`
    window = history if a.dbt_scan_days is None else posts_day * min(a.dbt_scan_days, a.age_days)
    raw_rows = window * volume.raw_rows_per_post
    recent_raw = posts_day * RAW_DAYS_PER_RUN * volume.raw_rows_per_post
    source_rows = posts_day * MERGE_SOURCE_HOURS / 24
    thread_bytes = posts_day * a.age_days * volume.raw_threads_bytes_per_post
    threads_model = posts_day * a.age_days * volume.threads_bytes_per_post
    steps = [
        ("posts: cursor max(loaded_at)", window * CURSOR_BYTES, 1),
        ("posts: new raw rows (day partitions)", recent_raw * volume.raw_row_bytes, 1),
        ("posts: existing rows (join on post_id)", window * volume.posts_row_bytes, 1),
        (
            "posts: merge keys + source",
            window * KEY_BYTES + source_rows * volume.posts_row_bytes,
            2,
        ),
        (
            "posts: merge rewrites updated partitions",
            posts_day * MERGE_UPDATED_DAYS * volume.posts_row_bytes,
            0,
        ),
        ("threads: cursors", 2 * CURSOR_BYTES * threads_model / THREADS_ROW_BYTES, 2),
        ("threads: posts columns", window * THREADS_POSTS_COLUMNS_BYTES, 2),
        ("threads: raw_threads", thread_bytes, 1),
        ("threads: merge (whole table)", 2 * threads_model, 2),
        ("tests: posts", window * POSTS_TESTS_BYTES, 11),
        ("tests: staging (raw_posts)", raw_rows * RAW_TESTS_BYTES, 4),
        ("tests: threads and raw_threads", threads_model * 0.2 + thread_bytes * 0.3, 8),
    ]
    return [
        {
            "step": name,
            "bytes": round(b),
            "table_refs": refs,
            "billed_bytes": round(max(b, refs * min_bytes)),
        }
        for name, b, refs in steps
    ]
