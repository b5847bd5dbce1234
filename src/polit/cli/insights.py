"""`polit dashboard` and `polit report`: the insight marts for people."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from polit.cli.base import WarehouseUrl, board_option, err, fail, out, settings

app = typer.Typer()

if TYPE_CHECKING:  # pandas and friends load only when a command runs
    from polit.insights.marts import Board
    from polit.insights.sources import Source


def _open_checked(url: str) -> Source:
    """The marts' source, or one red line: no warehouse, or marts not built."""
    from polit.insights.marts import check_marts
    from polit.insights.sources import InsightsError, open_source

    try:
        source = open_source(url)
    except InsightsError as exc:
        fail(str(exc))
        raise
    try:
        check_marts(source)
    except InsightsError as exc:
        source.close()
        fail(str(exc))
    return source


@app.command()
def dashboard(
    warehouse: WarehouseUrl = None,
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 shares it with your network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8501,
) -> None:
    """Serve the insights dashboard (Streamlit) at http://HOST:PORT until Ctrl-C.

    One tile per insight mart (activity, hour of week, flags, terms, threads, replies,
    links, images, moderation, tone), by board and days. It reads the marts only, so run
    `polit transform` first. The default view draws charts as images on the server (fast to
    open); add ?charts=interactive to the URL for live charts with tooltips.
    Example: polit dashboard --warehouse ./data/warehouse.duckdb
    """
    from polit.insights.dashboard import serve

    s = settings(warehouse=warehouse)
    _check_port(host, port)
    _open_checked(s.warehouse).close()
    err.print(f"drawing the default view of {s.warehouse} …")

    def ready(seconds: float) -> None:
        err.print(f"drawn in {seconds:.1f}s; dashboard at http://{host}:{port} (Ctrl-C stops it)")

    serve(s.warehouse, host=host, port=port, on_ready=ready)


def _check_port(host: str, port: int) -> None:
    """One line, before anything is drawn or printed, if the server could not listen."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            sock.bind((host, port))
        except OSError as exc:
            fail(f"cannot listen on {host}:{port} ({exc.strerror or exc}): is a dashboard "
                  "already running there? choose another with --port", 2)  # fmt: skip


@app.command()
def report(
    out_path: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    warehouse: WarehouseUrl = None,
    board: Annotated[
        str | None,
        typer.Option(
            "--board", "-b", help="Board (default: the first configured).", callback=board_option
        ),
    ] = None,
    days: Annotated[
        int, typer.Option(help="The last N days collected; 0 = all of them.", min=0)
    ] = 7,
    first_day: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (UTC); instead of --days.")
    ] = None,
    last_day: Annotated[
        str | None,
        typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), included; instead of --days."),
    ] = None,
    dashboard_url: Annotated[
        str | None,
        typer.Option(
            "--dashboard-url",
            help="Where thread numbers link to: the `polit dashboard` serving this warehouse "
            "(env POLIT_DASHBOARD_URL; default http://127.0.0.1:8501/).",
        ),
    ] = None,
) -> None:
    """Write the dashboard's tiles as ONE self-contained HTML file, to share without a server.

    Charts are inline SVG images, tables are escaped text; no JavaScript and nothing
    loaded from anywhere. Example: polit report --out report.html --board pol --days 7
    """
    from polit.insights import marts
    from polit.insights.report import write_report
    from polit.insights.sources import InsightsError

    s = settings(warehouse=warehouse, dashboard_url=dashboard_url)
    t0 = time.perf_counter()
    source = _open_checked(s.warehouse)
    try:
        found = marts.boards(source)
        chosen = _board(found, board, s.boards)
        filters = chosen.last(days or None)
        if first_day or last_day:
            first = _day(first_day, chosen.first_day)
            last = _day(last_day, chosen.last_day)
            filters = marts.Filters(chosen.name, min(first, last), max(first, last))
        err.print(
            f"reading the marts of /{filters.board}/ from {filters.first_day} to "
            f"{filters.last_day} in {s.warehouse}"
        )
        data = marts.load_insights(source, filters)
    except InsightsError as exc:
        fail(str(exc))
        return
    finally:
        source.close()
    err.print("rendering the charts (vl-convert)")
    with err.status("rendering …") as status:
        size = write_report(data, out_path, s.warehouse, status.update, s.dashboard_url)
    out.print(
        f"wrote {out_path} ({size / 1024:,.0f} KB) in {time.perf_counter() - t0:.1f}s; "
        "open it in any browser"
    )


def _board(found: list[Board], wanted: str | None, configured: tuple[str, ...]) -> Board:
    by_name = {b.name: b for b in found}
    if not found:
        fail("the marts are empty: crawl, then run `polit load` and `polit transform`")
    if wanted is not None:
        if wanted.strip("/") not in by_name:
            fail(f"no /{wanted.strip('/')}/ in the marts; boards: {', '.join(by_name)}")
        return by_name[wanted.strip("/")]
    return next((by_name[b] for b in configured if b in by_name), found[0])


def _day(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{text!r} is not a day (YYYY-MM-DD)")
        raise
