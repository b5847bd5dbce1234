"""`polit demo`: the whole pipeline offline on a synthetic board."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from polit.chan.client import ChanClient
from polit.config import Settings
from polit.crawl.crawler import crawl_once
from polit.lake.stats import lake_stats
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from polit.replay.simulate import simulate


def run_demo(
    workdir: Path, hours: float = 2.0, seed: int = 1, console: Console | None = None
) -> None:
    console = console or Console()
    recording = workdir / "recording"
    if not (recording / "recording.json").exists():
        console.print(f"[bold]1/3[/] simulating {hours:g} h of a synthetic /pol/ into {recording}")
        summary = simulate(recording, hours=hours, seed=seed, posts_per_hour=3000)
        console.print(f"    {summary}")
    else:
        console.print(f"[bold]1/3[/] reusing the synthetic board in {recording}")
    lake_dir = workdir / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)  # the replay restarts at snapshot 0
    lake = Lake(str(lake_dir))
    with ReplayServer(recording) as server:
        snapshots = len(server.recording)
        console.print(
            f"[bold]2/3[/] replaying {snapshots} snapshots at {server.url}, crawling each"
        )
        settings = Settings(api_url=server.url, lake=str(lake_dir), max_rps=0)
        totals = {"requests": 0, "new_posts": 0, "deleted_posts": 0, "archived_threads": 0}
        with ChanClient(settings) as client, Progress(console=console, transient=True) as bar:
            task = bar.add_task("crawling", total=snapshots)
            for i in range(snapshots):
                for report in crawl_once(client, lake, settings.boards):
                    for key in totals:
                        totals[key] += getattr(report, key)
                bar.advance(task)
                if i + 1 < snapshots:
                    server.next()
        console.print("    " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in totals.items()))
    stats = lake_stats(lake)
    console.print(f"[bold]3/3[/] lake {lake_dir}:")
    console.print(
        f"    {stats.distinct_posts:,} posts ({stats.deleted_posts:,} deleted) in "
        f"{stats.distinct_threads:,} threads ({stats.archived_threads:,} archived, "
        f"{stats.deleted_threads:,} deleted); {stats.posts.files + stats.threads.files} files, "
        f"{stats.posts.bytes + stats.threads.bytes:,} bytes"
    )
    console.print(f"    inspect it with: polit lake stats --lake {lake_dir}")
