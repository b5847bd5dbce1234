"""`polit load`, `transform`, `run`, `rebuild` and `prune`: the warehouse commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape

from polit.cli.base import (
    ApiUrl,
    Boards,
    LakeUrl,
    MaxRps,
    WarehouseUrl,
    clear_errors,
    crawl_failed,
    err,
    existing_lake,
    fail,
    limiter,
    open_lake,
    out,
    settings,
    take_lease,
    verbosity,
)
from polit.config import Settings
from polit.errors import one_line

app = typer.Typer()
BatchSize = Annotated[int, typer.Option(help="Lake files per load statement or job.", min=1)]
FullRefresh = Annotated[
    bool, typer.Option("--full-refresh", help="Rebuild the incremental models from all raw rows.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def _load(s: Settings, batch_size: int, as_json: bool = False) -> None:
    from rich.progress import Progress

    from polit.warehouse import load_lake, open_warehouse
    from polit.warehouse.base import parse_url

    parse_url(s.warehouse)  # a bad warehouse URL is said first
    lake = existing_lake(s.lake)  # then a missing lake, before a warehouse is created
    warehouse = open_warehouse(s.warehouse)
    try:
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("loading", total=None)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = load_lake(lake, warehouse, batch_size=batch_size, progress=tick)
    finally:
        warehouse.close()
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
    else:
        out.print(report.summary())


def _transform(
    s: Settings, full_refresh: bool, select: str | None = None, full_tests: bool = False
) -> None:
    """`dbt build` with one progress line per model (and per failed test) on stderr, the
    summary on stdout; dbt's own log goes to its file, and to the console with -v."""
    from polit.transform import DbtError
    from polit.transform import transform as run_transform
    from polit.transform.runner import FAILED, NodeDone, build_dir, log_file

    level = verbosity()

    def progress(node: NodeDone) -> None:
        failed = node.status in FAILED
        if level >= 0 and (failed or node.resource_type in ("model", "seed", "snapshot")):
            line = f"{node.status:>7} {node.resource_type} {node.name} ({node.seconds:.1f}s)"
            err.print(f"[red]{escape(line)}[/]" if failed else escape(line), highlight=False)

    log = log_file(build_dir(s.warehouse))
    try:
        report = run_transform(
            s.warehouse, full_refresh=full_refresh, select=select, full_tests=full_tests,
            quiet=level < 1, on_node=progress,
        )  # fmt: skip
    except DbtError as exc:
        if level >= 1:
            raise
        fail(f"{one_line(str(exc))}; dbt's log: {log} (-v shows it)")
    if level >= 0:
        out.print(f"{report.summary()}; dbt's log: {log}")
    from polit.cli.data import update_search_index

    update_search_index(s.warehouse)


@app.command()
def load(
    lake: LakeUrl = None,
    warehouse: WarehouseUrl = None,
    batch_size: BatchSize = 500,
    as_json: AsJson = False,
) -> None:
    """Copy the lake files not loaded yet into the warehouse's raw tables, exactly once.

    Safe to interrupt or kill at any moment: run it again and it copies what is missing.
    Example: polit load --lake ./data/lake --warehouse ./data/warehouse.duckdb
    """
    s = settings(lake=lake, warehouse=warehouse)
    with clear_errors():
        _load(s, batch_size, as_json)


@app.command()
def transform(
    warehouse: WarehouseUrl = None,
    full_refresh: FullRefresh = False,
    select: Annotated[str | None, typer.Option(help="dbt node selection.")] = None,
    full_tests: Annotated[
        bool,
        typer.Option(
            "--full-tests",
            help="Test every row (an incremental build tests the rows it changed; "
            "--full-refresh always tests everything).",
        ),
    ] = False,
) -> None:
    """Build the dbt models and run their tests on the warehouse (`dbt build`).

    An incremental build recomputes only what new rows touch, and tests those rows.
    Example: polit transform --warehouse ./data/warehouse.duckdb --full-tests
    """
    from polit.warehouse.read import nothing_loaded

    s = settings(warehouse=warehouse)
    with clear_errors():
        if nothing_loaded(s.warehouse):
            fail(f"nothing is loaded into {s.warehouse} yet: run `polit load` first", 2)
        _transform(s, full_refresh, select, full_tests)


@app.command("run")
def run_all(
    board: Boards = None,
    api_url: ApiUrl = None,
    lake: LakeUrl = None,
    max_rps: MaxRps = None,
    warehouse: WarehouseUrl = None,
    batch_size: BatchSize = 500,
) -> None:
    """One whole pipeline run: a crawl cycle per board, then load, then transform.

    Exits 2 (before crawling) if a crawl or watch holds one of the boards of this lake.
    Example: polit run --board pol --lake ./data/lake --warehouse ./data/warehouse.duckdb
    """
    from polit.chan.client import ChanClient
    from polit.crawl.crawler import crawl_once
    from polit.crawl.status import write_scheduled

    s = settings(api_url=api_url, lake=lake, max_rps=max_rps, boards=board, warehouse=warehouse)
    the_lake = open_lake(s.lake)
    with (
        take_lease(
            the_lake, s.boards, "polit run"
        ),  # the crawl only: load and transform may overlap
        ChanClient(s, limiter=limiter(s)) as client,
        err.status(f"crawling {', '.join(s.boards)} …"),
    ):
        started_at = datetime.now(UTC)
        reports = crawl_once(client, the_lake, s.boards)
        write_scheduled(the_lake, "polit run", started_at, reports, client.stats.as_dict())
    for r in reports:
        out.print(r.summary())
    with clear_errors():  # what was crawled is good data even if a board failed
        _load(s, batch_size)
        _transform(s, full_refresh=False)
    crawl_failed(reports)


@app.command()
def rebuild(
    lake: LakeUrl = None,
    warehouse: WarehouseUrl = None,
    batch_size: BatchSize = 500,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Recreate the warehouse from the lake: drop, reload, rebuild with --full-refresh.

    Drops the raw tables and the load manifest, loads every lake file again and rebuilds
    the dbt models from scratch. The lake is not touched.
    Example: polit rebuild --lake ./data/lake --warehouse ./data/warehouse.duckdb --yes
    """
    from polit.warehouse import open_warehouse

    s = settings(lake=lake, warehouse=warehouse)
    if not yes:
        typer.confirm(f"Drop the raw tables of {s.warehouse} and reload {s.lake}?", abort=True)
    with clear_errors():
        wh = open_warehouse(s.warehouse)
        try:
            wh.reset(open_lake(s.lake))
        finally:
            wh.close()
        _load(s, batch_size)
        _transform(s, full_refresh=True)


@app.command()
def prune(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Age to keep, like 30d, 12h or 90m.")
    ],
    lake: LakeUrl = None,
    warehouse: WarehouseUrl = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
    as_json: AsJson = False,
) -> None:
    """Remove raw lake files and raw warehouse rows older than an age, but only what is safe:
    a file once the warehouse has loaded it, a raw row once dbt has merged it.

    Example: polit prune --older-than 30d --dry-run
    """
    from polit.retention import parse_age
    from polit.retention import prune as run_prune
    from polit.warehouse import open_warehouse

    s = settings(lake=lake, warehouse=warehouse)
    try:
        age = parse_age(older_than)
    except ValueError as exc:
        fail(str(exc))
        return
    with clear_errors():
        wh = open_warehouse(s.warehouse)
        try:
            report = run_prune(open_lake(s.lake), wh, age, dry_run=dry_run)
        finally:
            wh.close()
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
    else:
        out.print(report.summary())
