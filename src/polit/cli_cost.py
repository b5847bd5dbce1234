"""`polit cost`: the monthly Google Cloud estimate, registered on the main app by the import at
the end of cli.py."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from polit.cli import _fail, app, err, out


@app.command()
def cost(
    lake: Annotated[
        str | None,
        typer.Option("--lake", help="Measure posts per day and bytes per post from this lake."),
    ] = None,
    board: Annotated[
        str | None, typer.Option("--board", "-b", help="Measure one board of the lake.")
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
            help="BigQuery logical bytes per post over all tables (default: measured).", min=1
        ),
    ] = None,
    retention_days: Annotated[
        int, typer.Option(help="Raw lake objects deleted after.", min=1)
    ] = 30,
    cold_after_days: Annotated[
        int, typer.Option(help="Raw lake objects moved to --cold-class after.", min=0)
    ] = 7,
    cold_class: Annotated[str, typer.Option(help="NEARLINE or COLDLINE.")] = "NEARLINE",
    soft_delete_days: Annotated[
        int, typer.Option(help="Cloud Storage soft-delete retention (0 = off).", min=0)
    ] = 7,
    age_days: Annotated[
        int,
        typer.Option(
            help="Days of history BigQuery holds in the month estimated (it keeps all).", min=1
        ),
    ] = 365,
    runs_per_day: Annotated[int, typer.Option(help="Scheduled runs per day.", min=1)] = 24,
    run_seconds: Annotated[float, typer.Option(help="Seconds of one `polit run`.", min=1)] = 600,
    vcpu: Annotated[float, typer.Option(help="vCPUs of the job.", min=0.08)] = 1.0,
    memory_gib: Annotated[float, typer.Option(help="Memory of the job, GiB.", min=0.125)] = 2.0,
    boards: Annotated[int, typer.Option(help="Boards crawled (with --posts-per-day).", min=1)] = 1,
    dbt_scan_days: Annotated[
        float | None,
        typer.Option(
            help="Days of `posts` each dbt run reads if the models pruned partitions "
            "(default: all of it, as the models do today)."
        ),
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Add `polit watch` as an always-on Cloud Run service.")
    ] = False,
    scheduler_jobs: Annotated[int, typer.Option(help="Cloud Scheduler jobs.", min=0)] = 1,
    no_free_tier: Annotated[
        bool, typer.Option("--no-free-tier", help="Ignore free tiers (used by other projects).")
    ] = False,
    prices: Annotated[
        Path | None, typer.Option(help="Another price table (TOML, like polit/prices.toml).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON.")] = False,
) -> None:
    """Estimate the monthly Google Cloud cost of the hourly pipeline from measured volume.

    Examples: polit cost --posts-per-day 150000 ;  polit cost --lake gs://bucket/lake
    """
    from polit.cost import Assumptions, CostError, Volume, estimate, load_prices, measure_lake
    from polit.lake.store import Lake

    if lake is None and posts_per_day is None:
        _fail("give --posts-per-day, or --lake to measure it")
    try:
        if lake is not None:
            with err.status(f"measuring {lake} …"):
                volume = measure_lake(Lake(lake), board)
        else:
            volume = Volume(posts_per_day=float(posts_per_day or 0), files_per_run=2.0 * boards)
        if posts_per_day is not None:
            volume = replace(volume, posts_per_day=posts_per_day)
        if bytes_per_post is not None:
            volume = replace(volume, lake_bytes_per_post=bytes_per_post)
        if warehouse_bytes_per_post is not None:
            volume = volume.with_warehouse_bytes_per_post(warehouse_bytes_per_post)
        assumptions = Assumptions(
            runs_per_day=runs_per_day,
            retention_days=retention_days,
            cold_after_days=cold_after_days,
            cold_class=cold_class.upper(),
            soft_delete_days=soft_delete_days,
            age_days=age_days,
            run_seconds=run_seconds,
            vcpu=vcpu,
            memory_gib=memory_gib,
            boards=boards,
            dbt_scan_days=dbt_scan_days,
            watch=watch,
            scheduler_jobs=scheduler_jobs,
            free_tier=not no_free_tier,
        )
        result = estimate(volume, assumptions, load_prices(prices))
    except (CostError, FileNotFoundError) as exc:
        _fail(str(exc))
        return
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
        return
    v = result.volume
    table = Table(
        title=f"Monthly Google Cloud estimate: {v.posts_per_day:,.0f} posts/day, raw kept "
        f"{retention_days} days, BigQuery holding {age_days} days",
        caption=f"Volume: {v.source}; {v.lake_bytes_per_post:,.0f} lake B/post, "
        f"{v.warehouse_bytes_per_post:,.0f} BigQuery B/post. Prices as of "
        f"{result.prices_as_of} ({result.currency}). Model: polit.cost.",
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
    for i in result.line_items:
        if i.note:
            out.print(f"[dim]{i.name}: {i.note}[/]", highlight=False)


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
