"""`polit cost`: the monthly Google Cloud estimate."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from polit.cli.base import board_option, err, fail, open_lake, out

app = typer.Typer()


@app.command()
def cost(
    design: Annotated[
        str,
        typer.Option(
            help="vm: `polit watch` on an always-free e2-micro VM, load (hourly) and transform "
            "(--transform-every-hours) on it: the cheapest complete design. cloud_run: the "
            "hourly Cloud Run job (crawl --once, load, transform) from Cloud Scheduler."
        ),
    ] = "vm",
    lake: Annotated[
        str | None,
        typer.Option("--lake", help="Measure posts per day and bytes per post from this lake."),
    ] = None,
    board: Annotated[
        str | None,
        typer.Option("--board", "-b", help="Measure one board of the lake.", callback=board_option),
    ] = None,
    posts_per_day: Annotated[
        float | None,
        typer.Option(help="Posts per day, all boards (overrides the lake's measure).", min=1),
    ] = None,
    bytes_per_post: Annotated[
        float | None,
        typer.Option(
            help="Lake Parquet bytes per post (default: measured, or /pol/'s 195).", min=1
        ),
    ] = None,
    warehouse_bytes_per_post: Annotated[
        float | None,
        typer.Option(
            help="BigQuery logical bytes per post of raw_posts, raw_threads, posts and threads "
            "(default: measured); the marts scale with posts.",
            min=1,
        ),
    ] = None,
    age_days: Annotated[
        int,
        typer.Option(
            help="Days of history BigQuery holds at the end of the month estimated (365: the "
            "12th month, each run charged at the history it sees).",
            min=1,
        ),
    ] = 365,
    retention_days: Annotated[
        int, typer.Option(help="Raw lake objects deleted after.", min=1)
    ] = 30,
    cold_after_days: Annotated[
        int | None,
        typer.Option(help="Raw lake objects moved to --cold-class after (default: never).", min=0),
    ] = None,
    cold_class: Annotated[str, typer.Option(help="NEARLINE or COLDLINE.")] = "NEARLINE",
    soft_delete_days: Annotated[
        int, typer.Option(help="Cloud Storage soft-delete retention (0 = off).", min=0)
    ] = 7,
    runs_per_day: Annotated[
        int, typer.Option(help="Loads a day (cloud_run: crawl, load and transform).", min=1)
    ] = 24,
    transform_every_hours: Annotated[
        int,
        typer.Option(
            help="vm: `polit transform` every this many hours (after a load); 2 fits BigQuery's "
            "free TiB of queries a month."
        ),
    ] = 2,
    vm_network: Annotated[
        str,
        typer.Option(
            help="vm: ipv6 (an external IPv6 address, free), ipv4 (an external IPv4 address) "
            "or nat (no external address, Cloud NAT)."
        ),
    ] = "ipv6",
    flush_minutes: Annotated[
        float, typer.Option(help="vm: watch writes its files this often.", min=1)
    ] = 10,
    watch_interval: Annotated[
        float, typer.Option(help="vm: seconds between watch's cycles.", min=1)
    ] = 60,
    heartbeat_seconds: Annotated[
        float, typer.Option(help="vm: watch writes its heartbeat this often.", min=1)
    ] = 300,
    run_seconds: Annotated[
        float, typer.Option(help="cloud_run: seconds of one `polit run`.", min=1)
    ] = 600,
    vcpu: Annotated[float, typer.Option(help="cloud_run: vCPUs of the job.", min=0.08)] = 1.0,
    memory_gib: Annotated[
        float, typer.Option(help="cloud_run: memory of the job, GiB.", min=0.125)
    ] = 2.0,
    scheduler_jobs: Annotated[
        int, typer.Option(help="cloud_run: Cloud Scheduler jobs.", min=0)
    ] = 1,
    boards: Annotated[int, typer.Option(help="Boards crawled (with --posts-per-day).", min=1)] = 1,
    unbounded_manifest: Annotated[
        bool,
        typer.Option(
            "--unbounded-manifest",
            help="The load manifest as it is today: one document per load job, all read by "
            "every load (default: compacted).",
        ),
    ] = False,
    no_free_tier: Annotated[
        bool, typer.Option("--no-free-tier", help="Ignore free tiers (used by other projects).")
    ] = False,
    prices: Annotated[
        Path | None, typer.Option(help="Another price table (TOML, like polit/prices.toml).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
) -> None:
    """Estimate the monthly Google Cloud cost of polit, line by line, from measured volume.

    Every dbt model and test comes from the dbt project (cost entries: polit/cost_models.toml).
    Examples: polit cost --posts-per-day 150000 ;  polit cost --design cloud_run --json ;
    polit cost --lake gs://bucket/lake
    """
    from polit.cost import Assumptions, CostError, Volume, estimate, load_prices, measure_lake
    from polit.cost_dbt import CostModelError
    from polit.transform.runner import DbtError

    if lake is None and posts_per_day is None:
        fail("give --posts-per-day, or --lake to measure it")
    try:
        if lake is not None:
            with err.status(f"measuring {lake} …"):
                volume = measure_lake(open_lake(lake), board)
        else:
            volume = Volume(posts_per_day=float(posts_per_day or 0), files_per_run=2.0 * boards)
        if posts_per_day is not None:
            volume = replace(volume, posts_per_day=posts_per_day)
        if bytes_per_post is not None:
            volume = replace(volume, lake_bytes_per_post=bytes_per_post)
        if warehouse_bytes_per_post is not None:
            volume = volume.with_warehouse_bytes_per_post(warehouse_bytes_per_post)
        assumptions = Assumptions(
            design=design,
            runs_per_day=runs_per_day,
            transform_every_hours=transform_every_hours,
            retention_days=retention_days,
            cold_after_days=cold_after_days,
            cold_class=cold_class.upper(),
            soft_delete_days=soft_delete_days,
            age_days=age_days,
            boards=boards,
            manifest_compact_docs=None if unbounded_manifest else Assumptions.manifest_compact_docs,
            free_tier=not no_free_tier,
            run_seconds=run_seconds,
            vcpu=vcpu,
            memory_gib=memory_gib,
            scheduler_jobs=scheduler_jobs,
            vm_network=vm_network,
            flush_minutes=flush_minutes,
            watch_interval=watch_interval,
            heartbeat_seconds=heartbeat_seconds,
        )
        with err.status("reading the dbt project …"):
            result = estimate(volume, assumptions, load_prices(prices))
    except (CostError, CostModelError, DbtError, FileNotFoundError) as exc:
        fail(str(exc))
        return
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
        return
    _print(result)


def _print(result: object) -> None:
    from polit.cost import MIB, Estimate, describe

    assert isinstance(result, Estimate)
    v, a = result.volume, result.assumptions
    table = Table(
        title=f"Monthly Google Cloud estimate, design {a.design}: {describe(a.design, a)}; "
        f"{v.posts_per_day:,.0f} posts/day, BigQuery holding {a.age_days} days",
        caption=f"Volume: {v.source}; {v.lake_bytes_per_post:,.0f} lake B/post. Prices as of "
        f"{result.prices_as_of} ({result.currency}). Model: polit.cost, polit/cost_models.toml.",
    )
    for col in ("item", "quantity", "unit", "unit price", "free", "USD/month"):
        table.add_column(col, justify="left" if col in ("item", "unit") else "right")
    for i in result.line_items:
        table.add_row(
            i.name,
            _num(i.quantity),
            i.unit,
            _price(i.unit_price),
            _num(i.free_quantity) if i.free_quantity else "",
            f"{i.usd_per_month:,.2f}",
        )
    table.add_section()
    table.add_row("[bold]total[/]", "", "", "", "", f"[bold]{result.total_usd_per_month:,.2f}[/]")
    out.print(table)
    for name, total in result.designs.items():
        if name != a.design:
            out.print(f"design {name} ({describe(name, a)}): {total:,.2f} USD/month "
                      f"(polit cost --design {name})")  # fmt: skip
    for i in result.line_items:
        if i.note:
            out.print(f"[dim]{i.name}: {i.note}[/]", highlight=False)
    w = result.warehouse
    models = Table(title=f"BigQuery billed per run ({w.runs} runs; MiB, every query at least "
                         "10 MiB per table it references)")  # fmt: skip
    for col in ("dbt model or seed", "materialized", "build", "tests"):
        models.add_column(col, justify="right" if col in ("build", "tests") else "left")
    for n in sorted(w.nodes, key=lambda n: -n.billed()):
        d = n.as_dict(w.runs)
        models.add_row(
            n.name,
            " ".join(x for x in (n.materialized, n.strategy) if x),
            f"{d['build_billed_bytes'] / MIB:,.0f}",
            f"{d['tests_billed_bytes'] / MIB:,.0f}",
        )
    models.add_section()
    models.add_row("[bold]total[/]", "", "", f"[bold]{w.billed_bytes / w.runs / MIB:,.0f}[/]")
    out.print(models)
    stored = sum(t.gib for t in w.storage)
    out.print(f"[dim]BigQuery stores {stored:,.1f} GiB (logical) in {len(w.storage)} tables; "
              f"{w.unit_tests} unit tests bill nothing.[/]", highlight=False)  # fmt: skip


def _num(x: float) -> str:
    """A quantity, readable.

    >>> _num(12345.6), _num(3.14159), _num(0.01234)
    ('12,346', '3.14', '0.0123')
    """
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:,.2f}"
    return f"{x:.3g}"


def _price(x: float) -> str:
    """A unit price in plain decimals.

    >>> _price(0.000018), _price(6.25), _price(0.0)
    ('0.000018', '6.25', '0')
    """
    return f"{x:.9f}".rstrip("0").rstrip(".") or "0"
