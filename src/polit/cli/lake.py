"""`polit lake stats` and `polit lake rebuild-state`: the lake commands."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from polit.cli.base import LakeUrl, existing_lake, open_lake, out, settings

app = typer.Typer(help="Inspect the Parquet lake and repair its state.", no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
StateBoards = Annotated[
    list[str] | None,
    typer.Option(
        "--board", "-b", help="Board whose state to rebuild; repeatable (env POLIT_BOARDS)."
    ),
]


@app.command("stats")
def lake_stats_cmd(lake: LakeUrl = None, as_json: AsJson = False) -> None:
    """Files, bytes, rows, and distinct posts and threads in the lake; unreadable and
    quarantined files.

    Example: polit lake stats --lake ./data/lake --json
    """
    from polit.lake.stats import lake_stats

    s = settings(lake=lake)
    stats = lake_stats(existing_lake(s.lake))
    if as_json:
        out.print_json(json.dumps(stats.as_dict()))
        return
    table = Table(title=f"lake {stats.lake}", show_header=False)
    for name, t in (("posts", stats.posts), ("threads", stats.threads)):
        table.add_row(f"raw/{name}", f"{t.files:,} files, {t.bytes:,} bytes, {t.rows:,} rows")
    table.add_row("boards", ", ".join(stats.boards) or "-")
    table.add_row("distinct posts", f"{stats.distinct_posts:,}")
    table.add_row("deleted posts", f"{stats.deleted_posts:,}")
    table.add_row("distinct threads", f"{stats.distinct_threads:,}")
    table.add_row("archived threads", f"{stats.archived_threads:,}")
    table.add_row("deleted threads", f"{stats.deleted_threads:,}")
    if stats.unreadable_files:
        table.add_row("unreadable files", f"{stats.unreadable_files:,} (`polit load` moves them)")
    table.add_row("quarantined files", f"{stats.quarantined_files:,} (in _polit/quarantine/)")
    out.print(table)


@app.command("rebuild-state")
def rebuild_state_cmd(
    board: StateBoards = None, lake: LakeUrl = None, as_json: AsJson = False
) -> None:
    """Rebuild a board's crawl state from the lake's own rows (when the state file is
    corrupt). The old file is kept beside it; the next crawl costs one fetch of each live
    thread, and writes no duplicate rows.

    Example: polit lake rebuild-state -b pol --lake ./data/lake
    """
    from polit.crawl.rebuild import rebuild_state

    s = settings(lake=lake, boards=board)
    reports = [rebuild_state(open_lake(s.lake), b) for b in s.boards]
    if as_json:
        out.print_json(json.dumps([r.as_dict() for r in reports]))
        return
    for r in reports:
        out.print(r.summary())
