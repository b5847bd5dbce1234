"""The `polit` command line: each command is a few lines over the library."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table
from typer.core import TyperGroup

from polit import __version__
from polit.config import BoardNameError, Settings, check_board
from polit.errors import FixableError


class _Commands(TyperGroup):
    """Every command: a FixableError from the library is one red line and its exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except FixableError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


if TYPE_CHECKING:
    from polit.chan.ratelimit import RateLimiter
    from polit.crawl.lease import Leases
    from polit.lake.store import Lake

app = typer.Typer(
    cls=_Commands,
    help="Collect a 4chan board into a Parquet lake (and, later, a warehouse and dashboard).",
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
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)  # one line, however long
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
    level = logging.ERROR if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    if verbose == 0 and not quiet:
        level = logging.WARNING
    logging.basicConfig(
        level=level,
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=err, show_path=False, markup=False)],
        force=True,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


@app.command()
def crawl(
    board: Boards = None,
    api_url: ApiUrl = None,
    lake: LakeUrl = None,
    max_rps: MaxRps = None,
    once: Annotated[bool, typer.Option("--once", help="One cycle, then exit (default).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """Run one crawl cycle per board and write the new rows to the lake.

    Exits 2 if another crawl or watch holds one of the boards of this lake.
    Example: polit crawl --once --board pol --lake ./data/lake
    """
    from polit.chan.client import ChanClient
    from polit.crawl.crawler import crawl_once
    from polit.lake.store import Lake

    s = _settings(api_url=api_url, lake=lake, max_rps=max_rps, boards=board)
    the_lake = Lake(s.lake)
    with (
        _lease(the_lake, s.boards, "polit crawl") as leases,
        ChanClient(s, limiter=_limiter(s)) as client,
        err.status(f"crawling {', '.join(s.boards)} …"),
    ):
        reports = crawl_once(client, the_lake, s.boards)
    if leases.lost.is_set():
        _fail("another crawler took this lake's lease over during the crawl; see the log")
    if as_json:
        out.print_json(json.dumps([r.__dict__ for r in reports]))
    else:
        for r in reports:
            out.print(r.summary())
    failed = [r.board for r in reports if r.failed]
    if failed:
        _fail(f"could not crawl {', '.join('/' + b + '/' for b in failed)}; see the log above")


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
                      limiter=_limiter(s))  # fmt: skip
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
        typer.Option(help="Exit 1 if the last heartbeat is older than this (health checks)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the heartbeat of `polit watch`: last cycle, requests, 304 share, posts/min, lag."""
    from polit.crawl.status import age_seconds, read_status
    from polit.lake.store import Lake

    s = _settings(lake=lake)
    doc = read_status(Lake(s.lake))
    if doc is None:
        _fail(f"no heartbeat in {s.lake}: is `polit watch` running against this lake?")
        return
    age = age_seconds(doc)
    if as_json:
        out.print_json(json.dumps(doc | {"age_seconds": round(age, 1)}))
    else:
        table = Table(title=f"polit watch (pid {doc['pid']})", show_header=False)
        client = doc.get("client", {})
        rows = [
            ("boards", ", ".join(doc["boards"])),
            ("started", doc["started_at"]),
            ("last cycle", f"{doc['last_cycle_at']} ({doc['lag_seconds']} s behind)"),
            ("heartbeat age", f"{age:.0f} s"),
            ("cycles", f"{doc['cycles']:,}"),
            ("requests", f"{client.get('requests', 0):,} (304 share {doc['share_304']})"),
            ("new posts", f"{doc['new_posts']:,} ({doc['posts_per_minute']}/min)"),
            ("deleted posts", f"{doc['deleted_posts']:,}"),
            ("errors", f"{doc['errors']:,}"),
        ]
        for k, v in rows:
            table.add_row(k, str(v))
        out.print(table)
    if max_age is not None and age > max_age:
        _fail(f"heartbeat is {age:.0f} s old (more than {max_age:g} s)")


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
