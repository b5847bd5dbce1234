"""`polit demo`: the whole pipeline offline on a synthetic board: simulate, serve, crawl,
load into DuckDB, build the dbt models, and print headline counts."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from polit.chan.client import ChanClient
from polit.config import Settings
from polit.crawl.crawler import CycleReport, crawl_once
from polit.lake.stats import lake_stats
from polit.lake.store import Lake
from polit.pipeline import Hooks, run_pipeline
from polit.replay.server import ReplayServer
from polit.replay.simulate import simulate
from polit.replay.visible import visible


def run_demo(
    workdir: Path, hours: float = 2.0, seed: int = 1, console: Console | None = None
) -> None:
    console = console or Console()
    recording = workdir / "recording"
    if not (recording / "recording.json").exists():
        console.print(f"[bold]1/4[/] simulating {hours:g} h of a synthetic /pol/ into {recording}")
        summary = simulate(recording, hours=hours, seed=seed, posts_per_hour=3000)
        console.print(f"    {summary}")
    else:
        console.print(f"[bold]1/4[/] reusing the synthetic board in {recording}")
    lake_dir = workdir / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)  # the replay restarts at snapshot 0
    lake = Lake(str(lake_dir))
    warehouse_path = workdir / "warehouse.duckdb"
    warehouse_path.unlink(missing_ok=True)  # rebuilt with the lake

    def crawl() -> list[CycleReport]:
        """Every snapshot of the replayed board, crawled in turn."""
        with ReplayServer(recording) as server:
            snapshots = len(server.recording)
            console.print(
                f"[bold]2/4[/] replaying {snapshots} snapshots at {server.url}, crawling each"
            )
            settings = Settings(api_url=server.url, lake=str(lake_dir), max_rps=0)
            reports: list[CycleReport] = []
            with ChanClient(settings) as client, Progress(console=console, transient=True) as bar:
                task = bar.add_task("crawling", total=snapshots)
                for i in range(snapshots):
                    reports += crawl_once(client, lake, settings.boards)
                    bar.advance(task)
                    if i + 1 < snapshots:
                        server.next()
        return reports

    def crawled(reports: list[CycleReport]) -> None:
        totals = {k: sum(getattr(r, k) for r in reports) for k in TOTALS}
        console.print("    " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in totals.items()))
        describe_lake(lake, lake_dir, console)
        console.print(f"[bold]4/4[/] loading and transforming into {warehouse_path} (dbt build)")

    hooks = Hooks(
        crawled=crawled,
        loaded=lambda report: console.print(f"    {report.summary()}"),
        built=lambda report: console.print(f"    {report.summary()}"),
    )
    # a short board: trending compares its last hour with the four before
    trend = {"trend_recent_hours": 1, "trend_baseline_hours": 4}
    run_pipeline(lake, str(warehouse_path), crawl, dbt_vars=trend, hooks=hooks)
    for line in headline_counts(warehouse_path):
        console.print(f"    {line}")
    for line in completeness(recording, warehouse_path):
        console.print(f"    {line}")
    console.print(
        f'    query it with: polit sql "select * from posts limit 5" --warehouse {warehouse_path}'
    )
    report_path = write_demo_report(warehouse_path, workdir / "report.html")
    console.print(f"[bold]report[/] {report_path}: one HTML file, open it in any browser")
    console.print(
        f"[bold]dashboard[/] polit dashboard --warehouse {warehouse_path}  "
        "(then http://127.0.0.1:8501)"
    )


TOTALS = ("requests", "new_posts", "deleted_posts", "archived_threads")


def describe_lake(lake: Lake, lake_dir: Path, console: Console) -> None:
    stats = lake_stats(lake)
    console.print(f"[bold]3/4[/] lake {lake_dir}:")
    console.print(
        f"    {stats.distinct_posts:,} posts ({stats.deleted_posts:,} deleted) in "
        f"{stats.distinct_threads:,} threads ({stats.archived_threads:,} archived, "
        f"{stats.deleted_threads:,} deleted); {stats.posts.files + stats.threads.files} files, "
        f"{stats.posts.bytes + stats.threads.bytes:,} bytes"
    )
    console.print(f"    inspect it with: polit lake stats --lake {lake_dir}")


def write_demo_report(warehouse_path: Path, out: Path) -> Path:
    """`polit report` of the demo board (its last 7 days, like `polit report`)."""
    from polit.insights import marts
    from polit.insights.report import write_report
    from polit.insights.sources import open_source

    source = open_source(str(warehouse_path))
    try:
        board = marts.boards(source)[0]
        data = marts.load_insights(source, board.last(7))
    finally:
        source.close()
    write_report(data, out, str(warehouse_path))
    return out


def completeness(recording: Path, warehouse_path: Path) -> list[str]:
    """What the snapshots showed (read from the recording's files) against what the
    warehouse holds: the simulation's own totals also count posts born and deleted between
    two snapshots, which no snapshot showed and no crawler can capture."""
    import duckdb

    shown = visible(recording)
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        rows = con.execute("select post_id, deleted_at is not null from posts").fetchall()
    finally:
        con.close()
    posts = {no for no, _ in rows}
    deleted = {no for no, gone in rows if gone}

    def share(got: set[int], want: set[int]) -> str:
        n = len(got & want)
        return f"{n:,} of {len(want):,} ({n / len(want):.0%})" if want else "0 of 0"

    return [
        f"visible in the snapshots: {len(shown.posts):,} posts, {len(shown.deleted):,} of "
        "them deleted later (the simulation's totals add those no snapshot showed)",
        f"captured: {share(posts, shown.posts)} visible posts, "
        f"{share(deleted, shown.deleted)} visible deletions",
    ]


def headline_counts(warehouse_path: Path) -> list[str]:
    """A few numbers from the built `posts` and `threads` tables."""
    import duckdb

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        posts, deleted, posters, threads_n = con.execute(
            "select count(*), count(deleted_at), count(distinct poster_id), "
            "count(distinct thread_id) from posts"
        ).fetchall()[0]
        archived, gone, biggest = con.execute(
            "select count(archived_at), count(deleted_at), max(number_of_posts) from threads"
        ).fetchall()[0]
        top = con.execute(
            "select country, count(*) as n from posts where country is not null "
            "group by country order by n desc limit 3"
        ).fetchall()
    finally:
        con.close()
    return [
        f"posts: {posts:,} ({deleted:,} deleted) by {posters:,} poster ids "
        f"in {threads_n:,} threads",
        f"threads: {archived:,} archived, {gone:,} deleted, the biggest has {biggest:,} posts",
        "top countries: " + ", ".join(f"{c} {n:,}" for c, n in top),
    ]
