"""The line items of `polit cost`, service by service (the model is polit.cost's docstring)."""

from __future__ import annotations

import math

from polit.cost import (
    ACK_SHARE,
    DAYS_PER_MONTH,
    FREE_TIER_REGIONS,
    GIB,
    HOURLY_REQUESTS_PER_POST,
    HOURS_PER_MONTH,
    LIST_PAGE,
    MANIFEST_DOC_FILES,
    MIB,
    REQUEST_BYTES,
    RESPONSE_BYTES_PER_REQUEST,
    SECONDS_PER_DAY,
    TIB,
    WATCH_REQUESTS_PER_POST,
    Assumptions,
    LineItem,
    PriceTable,
    Volume,
)
from polit.cost_dbt import WarehouseMonth
from polit.crawl.lease import TTL as LEASE_TTL


class Bill:
    """Line items added one by one: quantity × unit price, after the free tier."""

    def __init__(self, prices: PriceTable, free_tier: bool = True) -> None:
        self.prices = prices
        self.free_tier = free_tier
        self.items: list[LineItem] = []

    def add(
        self,
        name: str,
        service: str,
        quantity: float,
        price: str,
        free: str | float = 0.0,
        note: str = "",
    ) -> None:
        pr = self.prices[price]
        free_q = self.prices[free].value if isinstance(free, str) else free
        item = LineItem(
            name,
            service,
            quantity,
            pr.unit,
            pr.unit_price,
            free_q if self.free_tier else 0.0,
            price=price,
            note=note,
        )
        item.usd_per_month = item.billable * item.unit_price
        self.items.append(item)

    # ---- Cloud Storage -------------------------------------------------------------------------
    def cloud_storage(self, volume: Volume, a: Assumptions) -> None:
        lake_day = volume.posts_per_day * volume.lake_bytes_per_post
        free_region = a.region in FREE_TIER_REGIONS
        standard_free = "gcs_free_standard_storage" if free_region else 0.0
        cold = a.cold_class.upper()
        if a.cold and a.cold_after_days is not None:
            min_days = self.prices[f"gcs_{cold.lower()}_min_days"].value
            billed_cold = max(a.retention_days + a.soft_delete_days, min_days) - a.cold_after_days
            self.add(
                "Cloud Storage: Standard (raw, first days)",
                "Cloud Storage",
                lake_day * a.cold_after_days / GIB,
                "gcs_standard_storage",
                standard_free,
                f"{a.cold_after_days} days of raw files",
            )
            self.add(
                f"Cloud Storage: {cold.title()} (raw, until deleted)",
                "Cloud Storage",
                lake_day * billed_cold / GIB,
                f"gcs_{cold.lower()}_storage",
                note=f"days {a.cold_after_days}-{a.retention_days} + {a.soft_delete_days} "
                f"soft-deleted: {billed_cold:g} days billed (minimum {min_days:g})",
            )
        else:
            self.add(
                "Cloud Storage: Standard (raw)",
                "Cloud Storage",
                lake_day * (a.retention_days + a.soft_delete_days) / GIB,
                "gcs_standard_storage",
                standard_free,
                f"{a.retention_days} days + {a.soft_delete_days} soft-deleted, never "
                "moved to a colder class",
            )
        writes, lists, reads, note_a, note_b = lake_operations(volume, a)
        self.add(
            "Cloud Storage: Class A (writes, listings)",
            "Cloud Storage",
            writes + lists,
            "gcs_class_a_standard",
            "gcs_free_class_a" if free_region else 0.0,
            note_a,
        )
        if a.cold:
            files = files_per_day(volume, a) * DAYS_PER_MONTH
            self.add(
                f"Cloud Storage: lifecycle to {cold.title()}",
                "Cloud Storage",
                files,
                f"gcs_class_a_{cold.lower()}",
                note="one Class A operation per object moved",
            )
        self.add(
            "Cloud Storage: Class B (reads)",
            "Cloud Storage",
            reads,
            "gcs_class_b_standard",
            "gcs_free_class_b" if free_region else 0.0,
            note_b,
        )

    # ---- BigQuery --------------------------------------------------------------------------
    def bigquery(self, volume: Volume, a: Assumptions, w: WarehouseMonth) -> None:
        total = sum(t.gib for t in w.storage)
        active = sum(t.active_gib for t in w.storage)
        self.add(
            "BigQuery: active storage",
            "BigQuery",
            active,
            "bigquery_active_storage",
            "bigquery_free_storage",
            f"{total:,.1f} GiB logical in {len(w.storage)} tables at {a.age_days} days "
            "of history; partitions untouched for 90 days are long-term",
        )
        self.add(
            "BigQuery: long-term storage",
            "BigQuery",
            total - active,
            "bigquery_long_term_storage",
            note="partitions untouched for 90 days",
        )
        per_run = w.billed_bytes / w.runs
        minimum = self.prices["bigquery_min_query_mib_per_table"].value * MIB
        inserts = load_insert_bytes(volume, a, minimum)
        self.add(
            "BigQuery: queries (dbt build, load inserts)",
            "BigQuery",
            (w.billed_bytes + inserts) / TIB,
            "bigquery_on_demand_query",
            "bigquery_free_query",
            f"{w.runs} runs × {per_run / GIB:,.2f} GiB billed ({w.table_refs_per_run} "
            "table references a run, each at least 10 MiB), runs at the history each "
            f"sees; + {inserts / GIB:,.1f} GiB of the loads' inserts (2 a load, each reading "
            "its batch's scratch table)",
        )
        self.add(
            "BigQuery: load jobs",
            "BigQuery",
            volume.posts_per_day * DAYS_PER_MONTH * volume.lake_bytes_per_post / GIB,
            "bigquery_batch_load",
            note="batch loads from Cloud Storage are free",
        )

    # ---- compute ---------------------------------------------------------------------------
    def compute_engine(self, volume: Volume, a: Assumptions) -> None:
        free_region = a.region in FREE_TIER_REGIONS
        self.add(
            "Compute Engine: e2-micro VM",
            "Compute Engine",
            HOURS_PER_MONTH,
            "compute_e2_micro",
            "compute_free_e2_micro_hours" if free_region else 0.0,
            f"polit watch, load every hour, transform every {a.transform_every_hours} h; "
            "always free in us-central1, us-east1, us-west1",
        )
        self.add(
            "Compute Engine: standard persistent disk",
            "Compute Engine",
            a.disk_gb,
            "compute_pd_standard",
            "compute_free_pd_standard" if free_region else 0.0,
            f"{a.disk_gb:g} GB boot disk",
        )
        if a.vm_network == "ipv6":
            self.add(
                "Compute Engine: external IPv6 address",
                "Compute Engine",
                HOURS_PER_MONTH,
                "network_external_ipv6",
                note="no IPv4 address: the API and Google's APIs over IPv6 (Google's "
                "APIs over IPv4 through Private Google Access)",
            )
        elif a.vm_network == "ipv4":
            self.add(
                "Compute Engine: external IPv4 address",
                "Compute Engine",
                HOURS_PER_MONTH,
                "network_external_ipv4",
                "network_free_external_ipv4",
                note="the one line an IPv4 VM cannot have free; --vm-network ipv6 avoids it",
            )
        else:
            gib = monthly_network_gib(volume, a)
            self.add(
                "Cloud NAT: gateway",
                "Cloud NAT",
                HOURS_PER_MONTH,
                "nat_gateway",
                note="one VM behind the gateway",
            )
            self.add(
                "Cloud NAT: IPv4 address",
                "Cloud NAT",
                HOURS_PER_MONTH,
                "network_external_ipv4",
                note="the gateway's address",
            )
            self.add(
                "Cloud NAT: data processed",
                "Cloud NAT",
                gib[0] + gib[1],
                "nat_data_processing",
                note="in and out",
            )

    def cloud_run(self, a: Assumptions) -> None:
        seconds = a.run_seconds * a.runs_per_month
        what = f"{a.runs_per_month} runs × {a.run_seconds:g} s"
        self.add(
            "Cloud Run: vCPU",
            "Cloud Run",
            a.vcpu * seconds,
            "cloud_run_cpu",
            "cloud_run_free_cpu",
            f"{what} × {a.vcpu:g} vCPU",
        )
        self.add(
            "Cloud Run: memory",
            "Cloud Run",
            a.memory_gib * seconds,
            "cloud_run_memory",
            "cloud_run_free_memory",
            f"{what} × {a.memory_gib:g} GiB",
        )
        self.add(
            "Cloud Scheduler: jobs",
            "Cloud Scheduler",
            a.scheduler_jobs,
            "scheduler_job",
            "scheduler_free_jobs",
        )

    # ---- registry and network ------------------------------------------------------------
    def registry_and_network(self, volume: Volume, a: Assumptions) -> None:
        self.add(
            "Artifact Registry: images",
            "Artifact Registry",
            a.registry_gib,
            "artifact_registry_storage",
            "artifact_registry_free_storage",
            "the image versions kept (estimate: no Docker on the build machine)",
        )
        ingress, egress = monthly_network_gib(volume, a)
        self.add(
            "Network: API responses in",
            "Network",
            ingress,
            "network_ingress",
            note="ingress is free",
        )
        requests = requests_per_month(volume, a)
        free = "compute_free_egress" if a.design == "vm" else "cloud_run_free_egress"
        self.add(
            "Network: internet egress",
            "Network",
            egress,
            "network_internet_egress",
            free,
            f"{requests:,.0f} API requests of ~{REQUEST_BYTES} B, and TCP "
            f"acknowledgements (~{ACK_SHARE:.0%} of the bytes received)",
        )


def requests_per_month(volume: Volume, a: Assumptions) -> float:
    per_post = WATCH_REQUESTS_PER_POST if a.design == "vm" else HOURLY_REQUESTS_PER_POST
    return volume.posts_per_day * DAYS_PER_MONTH * per_post


def monthly_network_gib(volume: Volume, a: Assumptions) -> tuple[float, float]:
    """(GiB in, GiB out) to and from the API in a month."""
    requests = requests_per_month(volume, a)
    ingress = requests * RESPONSE_BYTES_PER_REQUEST
    return ingress / GIB, (requests * REQUEST_BYTES + ingress * ACK_SHARE) / GIB


def files_per_day(volume: Volume, a: Assumptions) -> float:
    """Lake data files written a day, all boards: one posts and one threads file per crawl
    (cloud_run) or per flush of watch (vm)."""
    writes = 24 * 60 / a.flush_minutes if a.design == "vm" else a.runs_per_day
    return writes * volume.files_per_run


def lake_operations(volume: Volume, a: Assumptions) -> tuple[float, float, float, str, str]:
    """(Class A writes, Class A listings, Class B reads) in a month, and notes on them."""
    files_day = files_per_day(volume, a)
    runs = a.runs_per_month
    flushes = 24 * 60 / a.flush_minutes * DAYS_PER_MONTH
    crawls = flushes if a.design == "vm" else runs
    beat = max(a.heartbeat_seconds, a.watch_interval)  # written after the first cycle past it
    heartbeats = SECONDS_PER_DAY / beat * DAYS_PER_MONTH if a.design == "vm" else 0
    leases, lease_reads = lease_operations(a)
    state = a.boards * crawls
    docs_per_run = MANIFEST_DOC_FILES
    k = a.manifest_compact_docs
    compactions = runs * docs_per_run / k if k else 0.0
    writes = (
        files_day * DAYS_PER_MONTH + state + heartbeats + leases + runs * docs_per_run + compactions
    )
    # a load lists each table's files (kept `retention_days`) and the manifest's documents
    per_table = files_day / 2 * a.retention_days
    if k:
        manifest_docs = 1 + k / 2  # the compacted document and the job documents since
    else:  # every job document ever written, at the month's average history
        manifest_docs = docs_per_run * a.runs_per_day * max(a.age_days - DAYS_PER_MONTH / 2, 1)
    lists_per_run = (
        2 * (1 + math.ceil(per_table / LIST_PAGE)) + 1 + math.ceil(manifest_docs / LIST_PAGE)
    )
    lists = lists_per_run * runs
    health = 24 * 60 / a.health_check_minutes * DAYS_PER_MONTH if a.design == "vm" else 0
    crawl_reads = a.boards * runs if a.design == "cloud_run" else 0  # the state, each crawl
    reads = runs * manifest_docs + files_day * DAYS_PER_MONTH + health + crawl_reads + lease_reads
    how = "files and state every flush" if a.design == "vm" else ("files and state every crawl")
    note_a = (
        f"{writes:,.0f} writes ({how}; {heartbeats:,.0f} heartbeats, {leases:,.0f} crawl-lease "
        f"writes: renewed every {LEASE_TTL / 4:g} s while crawling) + {lists:,.0f} list calls "
        f"({lists_per_run} a load); deletes are free"
    )
    manifest = (
        f"the manifest, compacted at {k} documents"
        if k
        else "the manifest: every job document ever written, read by every load"
    )
    note_b = (
        f"{manifest_docs:,.0f} manifest documents a load ({manifest}), every file a load job "
        "reads" + (", the health check" if health else ", the crawl state")
    )
    return writes, lists, reads, note_a, note_b


def lease_operations(a: Assumptions) -> tuple[float, float]:
    """(Class A writes, Class B reads) of the gs:// crawl leases in a month (polit.crawl.lease):
    each crawling process creates its board's lease (one read, one write), rewrites it every
    TTL / 4 seconds while it runs, and deletes it at the end (free). `watch` runs all month;
    each `polit run` holds it for its crawl (`run_seconds` at most)."""
    every = LEASE_TTL / 4
    if a.design == "vm":
        return a.boards * SECONDS_PER_DAY * DAYS_PER_MONTH / every, 0.0
    per_run = 1 + math.floor(a.run_seconds / every)
    return a.boards * a.runs_per_month * per_run, float(a.boards * a.runs_per_month)


def load_insert_bytes(volume: Volume, a: Assumptions, minimum: float) -> float:
    """A month of the loads' INSERT queries: each load copies its batch of raw_posts and of
    raw_threads from a scratch table, billed the batch's bytes but at least `minimum`."""
    per_load = volume.posts_per_day / a.runs_per_day
    posts = per_load * volume.raw_rows_per_post * volume.raw_row_bytes
    threads = per_load * volume.raw_threads_bytes_per_post
    return a.runs_per_month * (max(posts, minimum) + max(threads, minimum))
