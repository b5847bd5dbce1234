"""`polit load`, `transform`, `run`, `rebuild` and `prune`: the warehouse commands."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

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

if TYPE_CHECKING:
    from polit.crawl.crawler import CycleReport
    from polit.lake.store import Lake
    from polit.pipeline import PipelineReport
    from polit.transform import TransformReport
    from polit.transform.runner import NodeDone
    from polit.warehouse.load import LoadReport

app = typer.Typer()
BatchSize = Annotated[int, typer.Option(help="Lake files per load statement or job.", min=1)]
FullRefresh = Annotated[
    bool, typer.Option("--full-refresh", help="Rebuild the incremental models from all raw rows.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def _load(s: Settings, batch_size: int, as_json: bool = False) -> None:
    from polit.pipeline import load
    from polit.warehouse.base import parse_url

    parse_url(s.warehouse)  # a bad warehouse URL is said first
    lake = existing_lake(s.lake)  # then a missing lake, before a warehouse is created
    with _load_bar() as bar:
        report = load(lake, s.warehouse, batch_size=batch_size, progress=bar)
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
    else:
        out.print(report.summary())


class _LoadBar:
    """A transient progress bar of the load on stderr, shown from its first tick until
    `stop` (so that no other live display, like the crawl's spinner, overlaps it)."""

    def __init__(self) -> None:
        from rich.progress import Progress

        self.progress = Progress(console=err, transient=True)
        self.task = self.progress.add_task("loading", total=None)
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.shown:
            self.progress.start()
            self.shown = True
        self.progress.update(self.task, completed=done, total=total)

    def stop(self) -> None:
        if self.shown:
            self.progress.stop()
            self.shown = False


@contextmanager
def _load_bar() -> Iterator[_LoadBar]:
    bar = _LoadBar()
    try:
        yield bar
    finally:
        bar.stop()


def _transform(
    s: Settings, full_refresh: bool, select: str | None = None, full_tests: bool = False
) -> None:
    """`dbt build` with one progress line per model (and per failed test) on stderr, the
    summary on stdout; dbt's own log goes to its file, and to the console with -v."""
    from polit.transform import transform as run_transform

    with _dbt_errors(s):
        report = run_transform(
            s.warehouse, full_refresh=full_refresh, select=select, full_tests=full_tests,
            quiet=verbosity() < 1, on_node=_node_line,
        )  # fmt: skip
    _built(s, report)


def _node_line(node: NodeDone) -> None:
    from polit.transform.runner import FAILED

    failed = node.status in FAILED
    if verbosity() >= 0 and (failed or node.resource_type in ("model", "seed", "snapshot")):
        line = f"{node.status:>7} {node.resource_type} {node.name} ({node.seconds:.1f}s)"
        err.print(f"[red]{escape(line)}[/]" if failed else escape(line), highlight=False)


def _built(s: Settings, report: TransformReport) -> None:
    """The build's summary line, then the search index catches up."""
    from polit.cli.data import update_search_index

    if verbosity() >= 0:
        out.print(f"{report.summary()}; dbt's log: {_dbt_log(s)}")
    update_search_index(s.warehouse)


def _dbt_log(s: Settings) -> str:
    from polit.transform.runner import build_dir, log_file

    return str(log_file(build_dir(s.warehouse)))


@contextmanager
def _dbt_errors(s: Settings) -> Iterator[None]:
    """A failed dbt build is one line naming dbt's log (its details with -v)."""
    from polit.transform import DbtError

    try:
        yield
    except DbtError as exc:
        if verbosity() >= 1:
            raise
        fail(f"{one_line(str(exc))}; dbt's log: {_dbt_log(s)} (-v shows it)")


def _pipeline(
    s: Settings, lake: Lake, crawl: Callable[[], list[CycleReport]] | None = None,
    reset: bool = False, batch_size: int = 500,
) -> PipelineReport:  # fmt: skip
    """`polit.pipeline.run_pipeline` with the CLI's lines: each step's summary, the load's
    progress bar, a line per dbt model."""
    from polit.pipeline import Hooks, run_pipeline

    def crawled(reports: list[CycleReport]) -> None:
        for r in reports:
            out.print(r.summary())

    def loaded(bar: _LoadBar, report: LoadReport) -> None:
        bar.stop()
        out.print(report.summary())

    with _dbt_errors(s), _load_bar() as bar:
        hooks = Hooks(
            crawled=crawled, load_progress=bar, loaded=lambda r: loaded(bar, r),
            on_node=_node_line, built=lambda r: _built(s, r),
        )  # fmt: skip
        return run_pipeline(
            lake, s.warehouse, crawl, reset=reset, batch_size=batch_size,
            quiet=verbosity() < 1, hooks=hooks,
        )  # fmt: skip


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

    def crawl() -> list[CycleReport]:
        with (
            take_lease(the_lake, s.boards, "polit run"),  # the crawl only: load may overlap
            ChanClient(s, limiter=limiter(s)) as client,
            err.status(f"crawling {', '.join(s.boards)} …"),
        ):
            started_at = datetime.now(UTC)
            reports = crawl_once(client, the_lake, s.boards)
            write_scheduled(the_lake, "polit run", started_at, reports, client.stats.as_dict())
        return reports

    with clear_errors():  # what was crawled is good data even if a board failed
        done = _pipeline(s, the_lake, crawl, batch_size=batch_size)
    crawl_failed(done.crawled)


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
    from polit.warehouse.base import parse_url

    s = settings(lake=lake, warehouse=warehouse)
    if not yes:
        typer.confirm(f"Drop the raw tables of {s.warehouse} and reload {s.lake}?", abort=True)
    with clear_errors():
        parse_url(s.warehouse)  # a bad warehouse URL, then a missing lake, before any drop
        _pipeline(s, existing_lake(s.lake), reset=True, batch_size=batch_size)


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
