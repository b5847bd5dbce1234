"""`polit import ndjson|seed-parquet` and `polit backfill`: posts collected elsewhere, or
missed, into the lake."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from polit.cli.base import (
    ApiUrl,
    Boards,
    LakeUrl,
    MaxRps,
    board_option,
    err,
    fail,
    limiter,
    open_lake,
    out,
    settings,
    take_lease,
)

import_app = typer.Typer(
    help="Import post collections made by others into the lake.", no_args_is_help=True
)
app = typer.Typer()  # backfill

Files = Annotated[
    list[Path],
    typer.Argument(exists=True, dir_okay=False, readable=True, help="Files to import."),
]
Board = Annotated[
    str, typer.Option("--board", "-b", help="Board the posts belong to.", callback=board_option)
]
Workers = Annotated[
    int,
    typer.Option(min=0, help="Processes that parse and write; 0 = one per core, up to 2."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]


def _cores() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def _bar(unit: str) -> Progress:
    """A progress bar with a count and a rate of `unit` (posts, threads)."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[count]:,} " + unit),
        TextColumn("{task.fields[rate]:,.0f} " + unit + "/s"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


@import_app.command("ndjson")
def import_ndjson_cmd(
    files: Files,
    board: Board = "pol",
    lake: LakeUrl = None,
    workers: Workers = 0,
    as_json: AsJson = False,
) -> None:
    """Import NDJSON files, one thread per line ("Raiders of the Lost Kek").

    Plain, gzip and zstd files are told apart by their content. Perspective
    scores become the score columns (toxicity, severe_toxicity, ...);
    entities and every other unknown field go to `extra`. A malformed line
    is logged as file:line and skipped. Importing a file twice adds lake
    rows, but no post twice to the warehouse's `posts`.

    Example: polit import ndjson pol_0616-1119_labeled.ndjson.zst -b pol
    """
    from polit.importers.ndjson import import_ndjson

    s = settings(lake=lake)
    with _bar("posts") as bar:
        task = bar.add_task("importing", total=None, count=0, rate=0.0)
        t0 = time.perf_counter()

        def tick(done: int, total: int, posts: int) -> None:
            rate = posts / max(time.perf_counter() - t0, 1e-9)
            bar.update(task, completed=done, total=total, count=posts, rate=rate)

        report = import_ndjson(open_lake(s.lake), files, board, workers or _cores(), progress=tick)
    _print(report, as_json)


@import_app.command("seed-parquet")
def import_seed_cmd(
    files: Files,
    board: Board = "pol",
    lake: LakeUrl = None,
    workers: Workers = 1,
    as_json: AsJson = False,
) -> None:
    """Import the original project's Parquet exports (posts and threads).

    A post's thread comes from its url, not its thread_id (the original
    collector put many posts under the wrong thread); a differing thread_id
    is kept in `extra` as seed_thread_id. A file's rows are observed at the
    hour in its name (posts_20230327_09.parquet), else now.

    Example: polit import seed-parquet exports/*.parquet
    """
    from polit.importers.seed_parquet import import_seed_parquet

    s = settings(lake=lake)
    with _bar("posts") as bar:
        task = bar.add_task("importing", total=len(files), count=0, rate=0.0)
        t0 = time.perf_counter()

        def tick(done: int, total: int, posts: int) -> None:
            rate = posts / max(time.perf_counter() - t0, 1e-9)
            bar.update(task, completed=done, total=total, count=posts, rate=rate)

        report = import_seed_parquet(
            open_lake(s.lake), files, board, workers or _cores(), progress=tick
        )
    _print(report, as_json)


def _print(report: object, as_json: bool) -> None:
    from polit.importers.report import ImportReport

    assert isinstance(report, ImportReport)
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
    else:
        out.print(report.summary())
    if report.malformed:
        err.print(f"[yellow]{report.malformed:,} malformed lines or rows skipped; see the log[/]")


@app.command()
def backfill(
    board: Boards = None,
    api_url: ApiUrl = None,
    lake: LakeUrl = None,
    max_rps: MaxRps = None,
    limit: Annotated[
        int | None, typer.Option(min=0, help="Fetch at most N threads per board this run.")
    ] = None,
    batch: Annotated[
        int, typer.Option(min=1, help="Threads per lake write (what a kill can cost again).")
    ] = 25,
    as_json: AsJson = False,
) -> None:
    """Fetch every archived thread the lake has no final copy of.

    Reads archive.json, then fetches the missing threads oldest first at the
    API rate (--max-rps) and writes them like the crawler writes archived
    threads. Stop it at any moment: SIGINT/SIGTERM write what was fetched,
    SIGKILL loses at most the last --batch; a rerun fetches only the rest.
    It may run beside `polit watch` (they share the request budget); a
    second backfill of a board exits 2.

    Example: polit backfill --board pol --limit 500
    """
    from polit.chan.client import ChanClient, ChanError
    from polit.crawl.backfill import BackfillReport
    from polit.crawl.backfill import backfill as run_backfill

    s = settings(api_url=api_url, lake=lake, max_rps=max_rps, boards=board)
    reports: list[BackfillReport] = []
    failed: list[str] = []
    the_lake = open_lake(s.lake)
    with (
        _stop_signals() as stop,
        take_lease(
            the_lake, s.boards, "polit backfill", "backfill", lambda: stop.append(0)
        ) as leases,
        ChanClient(s, limiter=limiter(s)) as client,
        _bar("threads") as bar,
    ):
        for b in s.boards:
            task = bar.add_task(f"/{b}/ backfill", total=None, count=0, rate=0.0)
            t0 = time.monotonic()

            def tick(
                done: int, total: int, posts: int, task: TaskID = task, t0: float = t0
            ) -> None:
                rate = done / max(time.monotonic() - t0, 1e-9)
                bar.update(task, completed=done, total=total, count=done, rate=rate)

            try:
                report = run_backfill(client, the_lake, b, limit=limit, batch=batch,
                                      should_stop=lambda: bool(stop), progress=tick)  # fmt: skip
            except ChanError as exc:
                failed.append(f"/{b}/: {exc}")
                continue
            reports.append(report)
            if report.failed:
                failed.append(f"/{b}/: {report.failed} threads failed (a rerun retries them)")
            if stop:
                break
    if leases.lost.is_set():
        failed.append("another backfill took this lake's lease over, so this one stopped")
    if as_json:
        out.print_json(json.dumps([r.as_dict() for r in reports]))
    else:
        for r in reports:
            out.print(r.summary())
    if failed:
        fail("; ".join(failed))


@contextmanager
def _stop_signals() -> Iterator[list[int]]:
    """SIGINT and SIGTERM only ask to stop (the list gets the signal); handlers restored."""
    stop: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda signum, frame: stop.append(signum))
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            if handler is not None:  # None: set outside Python, nothing to restore
                signal.signal(sig, handler)
