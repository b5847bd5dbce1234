"""What every command module of the CLI shares: the consoles, the common options, settings
from flags and env, and the one-line failure. It imports no command module (no cycle)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from polit.config import BoardNameError, Settings, check_board

if TYPE_CHECKING:
    from polit.chan.ratelimit import RateLimiter
    from polit.crawl.crawler import CycleReport
    from polit.crawl.lease import Leases
    from polit.lake.store import Lake

VERBOSITY = {"level": 0}  # -1 with -q, 0, 1 with -v, 2 with -vv; set by `polit.cli.main`


def verbosity() -> int:
    return VERBOSITY["level"]


out = Console()
err = Console(stderr=True)

ApiUrl = Annotated[
    str | None, typer.Option("--api-url", help="4chan API base URL (env POLIT_API_URL).")
]
LakeUrl = Annotated[
    str | None,
    typer.Option("--lake", help="Lake URL: a path, file://… or gs://… (env POLIT_LAKE)."),
]
MaxRps = Annotated[
    float | None,
    typer.Option("--max-rps", help="Requests per second, 0 = unlimited (env POLIT_MAX_RPS)."),
]
Boards = Annotated[
    list[str] | None,
    typer.Option(
        "--board", "-b", help="Board to crawl; repeatable or comma-separated (env POLIT_BOARDS)."
    ),
]


WarehouseUrl = Annotated[
    str | None,
    typer.Option(
        "--warehouse",
        help="Warehouse: a DuckDB file (default ./data/warehouse.duckdb), duckdb:///… or "
        "bigquery://PROJECT/DATASET (env POLIT_WAREHOUSE).",
    ),
]


def settings(**overrides: Any) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except BoardNameError as exc:
        fail(str(exc), 2)
        raise  # unreachable
    except ValueError as exc:
        fail(str(exc))
        raise  # unreachable


def board_option(value: str | None) -> str | None:
    """Typer callback of a single `--board`: a bad name exits 2 with one line, before any I/O."""
    if value is None:
        return None
    try:
        return check_board(value)
    except BoardNameError as exc:
        fail(str(exc), 2)
        raise  # unreachable


def open_lake(url: str) -> Lake:
    """The lake at `url`. An object store that cannot be reached is one line and exit 1
    within PROBE_SECONDS (a TCP connect to its endpoint), not after gcsfs's ~35 s of
    retries on the first call."""
    from polit.lake.store import Lake

    lake = Lake(url)
    endpoint = None if lake.local else store_endpoint(lake)
    if endpoint is not None:
        problem = unreachable(*endpoint)
        if problem:
            fail(
                f"cannot reach Google Cloud Storage at {endpoint[0]}:{endpoint[1]} ({problem}); "
                "check the network, and --lake (or POLIT_LAKE; STORAGE_EMULATOR_HOST for an "
                "emulator)"
            )
    return lake


PROBE_SECONDS = 4.0


def store_endpoint(lake: Lake) -> tuple[str, int] | None:
    """Host and port of the lake's object store (gcsfs's endpoint, or the emulator's)."""
    from urllib.parse import urlsplit

    location = getattr(lake.fs, "_location", None)  # gcsfs: https://storage.googleapis.com
    if not isinstance(location, str) or "://" not in location:
        return None  # another fsspec store: its own errors
    parts = urlsplit(location)
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def unreachable(host: str, port: int, seconds: float = PROBE_SECONDS) -> str | None:
    """Why a TCP connection to host:port fails within `seconds` (name lookup included),
    or None when it opens."""
    import socket
    import threading

    outcome: list[str | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=seconds).close()
            outcome.append(None)
        except OSError as exc:
            outcome.append(str(exc) or type(exc).__name__)

    probe = threading.Thread(target=connect, daemon=True)
    probe.start()
    probe.join(seconds)
    return outcome[0] if outcome else f"no answer in {seconds:g} s"


def existing_lake(url: str) -> Lake:
    """The lake at `url` for a command that reads one: a local lake that does not exist is
    a one-line error (a typo), not an empty lake. A bucket prefix cannot be told apart."""
    lake = open_lake(url)
    if lake.local and not lake.fs.isdir(lake.root):
        fail(f"no lake at {url}: check --lake (or POLIT_LAKE), or crawl into it first", 2)
    return lake


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)  # one line, however long
    raise typer.Exit(code)


def take_lease(
    lake: Lake, boards: Iterable[str], command: str, role: str = "crawl",
    on_lost: Callable[[], None] = lambda: None,
) -> Leases:  # fmt: skip
    """Take the lease of every board, or exit 2 naming the process that holds one."""
    from polit.crawl.lease import LeaseHeld, take

    try:
        return take(lake, boards, command, role=role, on_lost=on_lost)
    except LeaseHeld as exc:
        fail(str(exc), code=2)
        raise  # unreachable
    except OSError as exc:
        fail(f"cannot take the lease in {lake.url}: {exc}")
        raise  # unreachable


def limiter(s: Settings) -> RateLimiter:
    """The request budget every polit process on this machine shares."""
    from polit.chan.ratelimit import machine_limiter

    return machine_limiter(s.max_rps, s.api_url)


def crawl_failed(reports: Iterable[CycleReport]) -> None:
    """Exit 1 if a board's cycle failed: with the reason when the API never answered (the
    crawler logged nothing then), else pointing at the log."""
    failed = [r for r in reports if r.failed]
    if not failed:
        return
    boards = ", ".join(f"/{r.board}/" for r in failed)
    if all(r.unreachable for r in failed):
        fail(f"could not crawl {boards}: {failed[0].errors[-1]}")
    fail(f"could not crawl {boards}; see the log above")


@contextmanager
def clear_errors() -> Iterator[None]:
    """Warehouse and dbt errors become one red line and exit code 1."""
    from polit.transform import DbtError
    from polit.warehouse import WarehouseError

    try:
        yield
    except (WarehouseError, DbtError) as exc:
        fail(str(exc))


@contextmanager
def read_errors() -> Iterator[None]:
    """Read-layer errors become one red line (their text escaped: never markup) and exit 1."""
    from polit.warehouse.base import WarehouseError

    try:
        yield
    except WarehouseError as exc:
        fail(str(exc))
