"""`polit crawl`, `watch` and `status`: collecting a board into the lake."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from polit.cli.base import (
    ApiUrl,
    Boards,
    LakeUrl,
    MaxRps,
    crawl_failed,
    err,
    fail,
    limiter,
    open_lake,
    out,
    settings,
    take_lease,
)

app = typer.Typer()


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

    s = settings(api_url=api_url, lake=lake, max_rps=max_rps, boards=board)
    the_lake = open_lake(s.lake)
    with (
        take_lease(the_lake, s.boards, "polit crawl") as leases,
        ChanClient(s, limiter=limiter(s)) as client,
        err.status(f"crawling {', '.join(s.boards)} …"),
    ):
        started_at = datetime.now(UTC)
        reports = crawl_once(client, the_lake, s.boards)
        write_scheduled(the_lake, "polit crawl --once", started_at, reports, client.stats.as_dict())
    if leases.lost.is_set():
        fail("another crawler took this lake's lease over during the crawl; see the log")
    if as_json:
        out.print_json(json.dumps([r.__dict__ for r in reports]))
    else:
        for r in reports:
            out.print(r.summary())
    crawl_failed(reports)


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

    s = settings(api_url=api_url, lake=lake, max_rps=max_rps, boards=board)
    watcher = Watcher(s, interval=interval, flush_minutes=flush_minutes, flush_posts=flush_posts,
                      heartbeat_seconds=heartbeat_seconds, limiter=limiter(s))  # fmt: skip
    with take_lease(
        open_lake(s.lake), s.boards, "polit watch", on_lost=watcher.stop_event.set
    ) as leases:
        watcher.install_signal_handlers()
        watcher.run(max_cycles=cycles, echo=lambda line: out.print(line))
    if leases.lost.is_set():
        fail("another crawler took this lake's lease over, so watch stopped; see the log")


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

    s = settings(lake=lake)
    the_lake = open_lake(s.lake)
    docs = {"watch": read_status(the_lake), "scheduled": read_status(the_lake, SCHEDULED_PATH)}
    found = {k: d | {"age_seconds": round(age_seconds(d), 1)} for k, d in docs.items() if d}
    if not found:
        fail(f"no heartbeat in {s.lake}: has `polit watch` or `polit crawl` run on this lake?")
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
        fail(f"the newest heartbeat is {age:.0f} s old (more than {max_age:g} s)")


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
