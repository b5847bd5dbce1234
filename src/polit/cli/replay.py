"""`polit replay serve|simulate|ndjson`: recorded and synthetic boards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from polit.cli.base import err, fail, out

app = typer.Typer(help="Serve recorded boards and make synthetic ones.", no_args_is_help=True)


@app.command("serve")
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
    """Serve a recording over HTTP like the 4chan API. POST /_replay/next moves time.

    Example: polit replay serve data/recording --port 8765 --faults "500:0.05" --seed 1
    """
    from polit.replay.server import serve

    if not (recording / "recording.json").is_file():
        fail(f"{recording} is not a recording (no recording.json)")
    try:
        serve(recording, host=host, port=port, faults=faults, seed=seed, speed=speed)
    except ValueError as exc:
        fail(str(exc))


@app.command("simulate")
def replay_simulate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the recording to.")],
    hours: Annotated[float, typer.Option(help="Hours of board time to record.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same board).")] = 0,
    posts_per_hour: Annotated[int, typer.Option(help="Average posting rate.")] = 5000,
    cadence_minutes: Annotated[float, typer.Option(help="Minutes between snapshots.")] = 10.0,
    board: Annotated[str, typer.Option(help="Board name.")] = "pol",
) -> None:
    """Write a synthetic board recording (with archive files) for replays and benchmarks.

    Example: polit replay simulate --out data/recording --hours 2 --seed 1
    """
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


@app.command("ndjson")
def replay_ndjson(
    out_file: Annotated[
        Path, typer.Option("--out", help="File to write: .gz is gzip, .zst zstd, else plain.")
    ],
    posts: Annotated[int, typer.Option(min=1, help="About this many posts.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file).")] = 0,
    board: Annotated[str, typer.Option(help="Board name.")] = "pol",
) -> None:
    """Write a synthetic board as "Raiders of the Lost Kek" NDJSON.

    Final thread bodies of the synthetic board, one per line, with per-post
    entities and deterministic Perspective scores: input for
    `polit import ndjson`.

    Example: polit replay ndjson --posts 200000 --out data/pol.ndjson.gz
    """
    from polit.replay.ndjson import dataset_threads, write_ndjson

    if not out_file.parent.is_dir():
        fail(f"{out_file.parent} is not a directory")
    with err.status(f"writing {out_file} …"):
        threads, n = write_ndjson(dataset_threads(posts, seed, board), out_file)
    out.print(f"wrote {out_file}: {threads:,} threads, {n:,} posts")
