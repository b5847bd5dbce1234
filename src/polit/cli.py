"""The `polit` command line: each command is a few lines over the library."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup
from typer.exceptions import TyperException

from polit import __version__
from polit.config import BoardNameError, Settings, check_board
from polit.errors import FixableError, describe

VERBOSITY = {"level": 0}  # -1 with -q, 0, 1 with -v, 2 with -vv; set by `main`


def verbosity() -> int:
    return VERBOSITY["level"]


class _Commands(TyperGroup):
    """Every command: a FixableError from the library is one red line and its exit code;
    any other error is one red line and exit 1, its traceback only with -vv."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except FixableError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except Exception as exc:
            if verbosity() >= 2:
                raise
            line = f"{describe(exc)} (-vv shows the traceback)"
            err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None


class _NoTraceback(logging.Filter):
    """Log records keep their message but lose their traceback unless -vv."""

    def filter(self, record: logging.LogRecord) -> bool:
        if verbosity() < 2:
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


if TYPE_CHECKING:
    from polit.chan.ratelimit import RateLimiter
    from polit.crawl.crawler import CycleReport
    from polit.crawl.lease import Leases
    from polit.lake.store import Lake

app = typer.Typer(
    cls=_Commands,
    help="Collect 4chan boards into a Parquet lake, load a warehouse, and report on it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
lake_app = typer.Typer(help="Inspect the Parquet lake and repair its state.", no_args_is_help=True)
replay_app = typer.Typer(
    help="Serve recorded boards and make synthetic ones.", no_args_is_help=True
)
app.add_typer(lake_app, name="lake")
app.add_typer(replay_app, name="replay")

out = Console()
err = Console(stderr=True)

ApiUrl = Annotated[
    str | None, typer.Option("--api-url", envvar="POLIT_API_URL", help="4chan API base URL.")
]
LakeUrl = Annotated[
    str | None,
    typer.Option("--lake", envvar="POLIT_LAKE", help="Lake URL: a path, file://… or gs://…"),
]
MaxRps = Annotated[
    float | None,
    typer.Option("--max-rps", envvar="POLIT_MAX_RPS", help="Requests per second, 0 = unlimited."),
]
Boards = Annotated[
    list[str] | None,
    typer.Option("--board", "-b", envvar="POLIT_BOARDS", help="Board to crawl; repeatable."),
]


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except BoardNameError as exc:
        _fail(str(exc), 2)
        raise  # unreachable
    except ValueError as exc:
        _fail(str(exc))
        raise  # unreachable


def board_option(value: str | None) -> str | None:
    """Typer callback of a single `--board`: a bad name exits 2 with one line, before any I/O."""
    if value is None:
        return None
    try:
        return check_board(value)
    except BoardNameError as exc:
        _fail(str(exc), 2)
        raise  # unreachable


def _existing_lake(url: str) -> Lake:
    """The lake at `url` for a command that reads one: a local lake that does not exist is
    a one-line error (a typo), not an empty lake. A bucket prefix cannot be told apart."""
    from polit.lake.store import Lake

    lake = Lake(url)
    if lake.local and not lake.fs.isdir(lake.root):
        _fail(f"no lake at {url}: check --lake (or POLIT_LAKE), or crawl into it first", 2)
    return lake


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)  # one line, however long
    raise typer.Exit(code)


def _lease(
    lake: Lake, boards: Iterable[str], command: str, role: str = "crawl",
    on_lost: Callable[[], None] = lambda: None,
) -> Leases:  # fmt: skip
    """Take the lease of every board, or exit 2 naming the process that holds one."""
    from polit.crawl.lease import LeaseHeld, take

    try:
        return take(lake, boards, command, role=role, on_lost=on_lost)
    except LeaseHeld as exc:
        _fail(str(exc), code=2)
        raise  # unreachable
    except OSError as exc:
        _fail(f"cannot take the lease in {lake.url}: {exc}")
        raise  # unreachable


def _limiter(s: Settings) -> RateLimiter:
    """The request budget every polit process on this machine shares."""
    from polit.chan.ratelimit import machine_limiter

    return machine_limiter(s.max_rps, s.api_url)


def _print_version(value: bool) -> None:
    """`polit --version`: eager, so that it needs no command."""
    if value:
        out.print(f"polit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More logs.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    VERBOSITY["level"] = -1 if quiet else min(verbose, 2)
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    if verbose == 0 and not quiet:
        level = logging.WARNING
    handler = RichHandler(console=err, show_path=False, markup=False)
    handler.addFilter(_NoTraceback())
    logging.basicConfig(level=level, format="%(name)s: %(message)s", handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # gcsfs logs each failed request (with a traceback) before raising it: the one-line
    # error says it; -v shows gcsfs's own lines
    logging.getLogger("gcsfs").setLevel(logging.CRITICAL if verbose == 0 else level)


@app.command()
def crawl(
    board: Boards = None,
    api_url: ApiUrl = None,
    lake: LakeUrl = None,
    max_rps: MaxRps = None,
    # Never read: crawl always runs exactly one cycle (`polit watch` loops). The flag stays
    # accepted because Mage, Terraform, the tests and the README pass it.
    once: Annotated[
        bool,
        typer.Option("--once", help="One cycle, then exit: the only mode (watch loops)."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """Run one crawl cycle per board and write the new rows to the lake.

    Exits 2 if another crawl or watch holds one of the boards of this lake.
    Example: polit crawl --once --board pol --lake ./data/lake
    """
    from polit.chan.client import ChanClient
    from polit.crawl.crawler import crawl_once
    from polit.crawl.status import write_scheduled
    from polit.lake.store import Lake

    s = _settings(api_url=api_url, lake=lake, max_rps=max_rps, boards=board)
    the_lake = Lake(s.lake)
    with (
        _lease(the_lake, s.boards, "polit crawl") as leases,
        ChanClient(s, limiter=_limiter(s)) as client,
        err.status(f"crawling {', '.join(s.boards)} …"),
    ):
        started_at = datetime.now(UTC)
        reports = crawl_once(client, the_lake, s.boards)
        write_scheduled(the_lake, "polit crawl --once", started_at, reports, client.stats.as_dict())
    if leases.lost.is_set():
        _fail("another crawler took this lake's lease over during the crawl; see the log")
    if as_json:
        out.print_json(json.dumps([r.__dict__ for r in reports]))
    else:
        for r in reports:
            out.print(r.summary())
    _crawl_failed(reports)


def _crawl_failed(reports: Iterable[CycleReport]) -> None:
    """Exit 1 if a board's cycle failed: with the reason when the API never answered (the
    crawler logged nothing then), else pointing at the log."""
    failed = [r for r in reports if r.failed]
    if not failed:
        return
    boards = ", ".join(f"/{r.board}/" for r in failed)
    if all(r.unreachable for r in failed):
        _fail(f"could not crawl {boards}: {failed[0].errors[-1]}")
    _fail(f"could not crawl {boards}; see the log above")


@app.command()
def watch(
    board: Boards = None,
    api_url: ApiUrl = None,
    lake: LakeUrl = None,
    max_rps: MaxRps = None,
    interval: Annotated[float, typer.Option(help="Seconds between cycle starts.")] = 60.0,
    flush_minutes: Annotated[float, typer.Option(help="Write files at least this often.")] = 10.0,
    flush_posts: Annotated[
        int, typer.Option(help="…or once this many rows are buffered.")
    ] = 50_000,
    heartbeat_seconds: Annotated[
        float,
        typer.Option(
            help="Write the heartbeat (`polit status`) after the first cycle and then at most "
            "this often: one Cloud Storage write each on a gs:// lake.",
            min=0,
        ),
    ] = 300.0,
    cycles: Annotated[int, typer.Option(help="Stop after N cycles (0 = run forever).")] = 0,
) -> None:
    """Poll continuously until interrupted (SIGINT/SIGTERM finish the files, then exit 0).

    Exits 2 if another watch or crawl holds one of the boards of this lake.
    Example: polit watch --board pol --board int --lake ./data/lake
    """
    from polit.crawl.watch import Watcher
    from polit.lake.store import Lake

    s = _settings(api_url=api_url, lake=lake, max_rps=max_rps, boards=board)
    watcher = Watcher(s, interval=interval, flush_minutes=flush_minutes, flush_posts=flush_posts,
                      heartbeat_seconds=heartbeat_seconds, limiter=_limiter(s))  # fmt: skip
    with _lease(Lake(s.lake), s.boards, "polit watch", on_lost=watcher.stop_event.set) as leases:
        watcher.install_signal_handlers()
        watcher.run(max_cycles=cycles, echo=lambda line: out.print(line))
    if leases.lost.is_set():
        _fail("another crawler took this lake's lease over, so watch stopped; see the log")


@app.command()
def status(
    lake: LakeUrl = None,
    max_age: Annotated[
        float | None,
        typer.Option(help="Exit 1 if the newest heartbeat is older than this (health checks)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the heartbeats in the lake: `polit watch`'s (running or since when stopped), and
    the last scheduled run's (`crawl --once`, `run`): cycles, requests, 304 share, rate, lag.

    Example: polit status --lake ./data/lake --max-age 900
    """
    from polit.crawl.status import SCHEDULED_PATH, age_seconds, read_status, stopped
    from polit.lake.store import Lake

    s = _settings(lake=lake)
    the_lake = Lake(s.lake)
    docs = {"watch": read_status(the_lake), "scheduled": read_status(the_lake, SCHEDULED_PATH)}
    found = {k: d | {"age_seconds": round(age_seconds(d), 1)} for k, d in docs.items() if d}
    if not found:
        _fail(f"no heartbeat in {s.lake}: has `polit watch` or `polit crawl` run on this lake?")
        return
    if "watch" in found:
        found["watch"]["running"] = stopped(found["watch"]) is None
    newest = min(found.values(), key=lambda d: d["age_seconds"])
    if as_json:  # the newest heartbeat, and the other one under "other"
        other = [d for d in found.values() if d is not newest]
        out.print_json(json.dumps(newest | ({"other": other[0]} if other else {})))
    else:
        for kind, doc in found.items():
            title, table = _status_table(kind, doc)
            out.print(title, soft_wrap=True, highlight=False)
            out.print(table)
    age = newest["age_seconds"]
    if max_age is not None and age > max_age:
        _fail(f"the newest heartbeat is {age:.0f} s old (more than {max_age:g} s)")


def _status_table(kind: str, doc: dict[str, Any]) -> tuple[str, Table]:
    from polit.crawl.status import duration, rate, stopped

    client = doc.get("client", {})
    age = doc["age_seconds"]
    if kind == "watch":
        why = stopped(doc)
        title = f"polit watch (pid {doc['pid']}): " + (why or "running")
    else:
        title = f"last scheduled run: {doc.get('command', 'polit crawl --once')}"
    share = doc["share_304"]
    rows = [
        ("boards", ", ".join(doc["boards"])),
        ("started", doc["started_at"]),
        ("finished", f"{doc.get('stopped_at')} (took {duration(doc['lag_seconds'] or 0)})")
        if kind == "scheduled" else
        ("last cycle", f"{doc['last_cycle_at']} ({duration(doc['lag_seconds'] or 0)} behind)"),
        ("heartbeat age", f"{duration(age)} ({doc['updated_at']})"),
        ("cycles", f"{doc['cycles']:,}"),
        ("requests", f"{client.get('requests', 0):,}"
                     + (f" ({share:.0%} answered 304)" if share is not None else "")),
        ("new posts", f"{doc['new_posts']:,} ({rate(doc['posts_per_minute'])})"),
        ("deleted posts", f"{doc['deleted_posts']:,}"),
        ("errors", f"{doc['errors']:,}"),
    ]  # fmt: skip
    table = Table(show_header=False)
    for k, v in rows:
        table.add_row(k, escape(str(v)))
    return escape(title), table


@replay_app.command("serve")
def replay_serve(
    recording: Annotated[Path, typer.Argument(help="Recording directory (has recording.json).")],
    port: Annotated[int, typer.Option(help="TCP port (0 = any free port).")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    faults: Annotated[
        str | None, typer.Option(help='Fault mix, e.g. "500:0.05,429:0.05,timeout:0.02".')
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for the fault draws.")] = 0,
    speed: Annotated[
        float | None, typer.Option(help="Advance snapshots by the clock, this many times faster.")
    ] = None,
) -> None:
    """Serve a recording over HTTP like the 4chan API. POST /_replay/next moves time."""
    from polit.replay.server import serve

    if not (recording / "recording.json").is_file():
        _fail(f"{recording} is not a recording (no recording.json)")
    try:
        serve(recording, host=host, port=port, faults=faults, seed=seed, speed=speed)
    except ValueError as exc:
        _fail(str(exc))


@replay_app.command("simulate")
def replay_simulate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the recording to.")],
    hours: Annotated[float, typer.Option(help="Hours of board time to record.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same board).")] = 0,
    posts_per_hour: Annotated[int, typer.Option(help="Average posting rate.")] = 5000,
    cadence_minutes: Annotated[float, typer.Option(help="Minutes between snapshots.")] = 10.0,
    board: Annotated[str, typer.Option(help="Board name.")] = "pol",
) -> None:
    """Write a synthetic board recording (with archive files) for replays and benchmarks."""
    from rich.progress import Progress

    from polit.replay.simulate import simulate

    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("simulating", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = simulate(
            out_dir,
            hours=hours,
            seed=seed,
            posts_per_hour=posts_per_hour,
            board=board,
            cadence_minutes=cadence_minutes,
            progress=tick,
        )
    out.print(f"wrote {out_dir}: {summary}")


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where the demo keeps its data.")] = Path(
        "data/demo"
    ),
    hours: Annotated[float, typer.Option(help="Hours of synthetic board time.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic board.")] = 1,
) -> None:
    """Run everything offline: simulate a board, serve it, crawl every snapshot, show stats."""
    from polit.demo import run_demo

    try:
        run_demo(workdir, hours=hours, seed=seed, console=out)
    except Exception as exc:  # the demo is for people: one clear line, full trace with -vv
        logging.getLogger("polit").debug("demo failed", exc_info=True)
        _fail(f"demo failed: {exc}")


def run() -> None:  # pragma: no cover
    sys.exit(app())


from polit import (  # noqa: E402,F401
    cli_cost,
    cli_data,
    cli_import,
    cli_insights,
    cli_lake,
    cli_serve,
    cli_warehouse,
)
