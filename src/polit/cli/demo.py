"""`polit demo`: the whole pipeline offline, for people trying polit."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from polit.cli.base import fail, out

app = typer.Typer()


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where the demo keeps its data.")] = Path(
        "data/demo"
    ),
    hours: Annotated[float, typer.Option(help="Hours of synthetic board time.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic board.")] = 1,
) -> None:
    """Run everything offline: simulate a board, serve it, crawl every snapshot, show stats.

    Example: polit demo --workdir data/demo --hours 2 --seed 1
    """
    from polit.demo import run_demo

    try:
        run_demo(workdir, hours=hours, seed=seed, console=out)
    except Exception as exc:  # the demo is for people: one clear line, full trace with -vv
        logging.getLogger("polit").debug("demo failed", exc_info=True)
        fail(f"demo failed: {exc}")
