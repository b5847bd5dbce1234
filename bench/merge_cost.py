"""Section `merge_cost`: what an incremental `transform` costs as the warehouse grows.

For each size (100k, 1M, 5M posts; `--quick`: 20k, 100k) a lake is built with
`ingest_bodies` from `generate_threads(size)` (workers=2), then loaded and fully transformed
into a fresh DuckDB file in a child process (`python -m bench.merge_cost full ...`): the
full build's wall time, posts/s and peak RSS (`getrusage`, the child itself).

Then a batch of 10,000 new posts (another seed, post and thread numbers shifted above the
base's newest, so they are newer and distinct) and tombstones of a few of the base's
newest posts are written to the same lake. Each repeat copies the base warehouse file,
loads the new files and runs an incremental `transform` (`dbt build`) in a fresh child: the
time of the two models (`posts` + `threads`, as dbt reports them: the merge), and the whole
`dbt build` wall (parse, models, data tests). The issue's target: the merge of the same
10,000 posts into 5M posts costs at most 2x what it costs into 100k.

Run alone: `python -m bench.run --only merge_cost [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import log, ratio, run_child

NAME = "merge_cost"
TITLE = "Incremental merge cost vs warehouse size (dbt posts + threads)"
TARGET_RATIO = 2.0  # merge into 5M posts / merge into 100k posts
BOARD = "pol"
SEED = 4242
NEW_SEED = 4243
FULL = {"sizes": [100_000, 1_000_000, 5_000_000], "new_posts": 10_000, "tombstones": 50,
        "repeats": 3}  # fmt: skip
QUICK = {"sizes": [20_000, 100_000], "new_posts": 10_000, "tombstones": 50, "repeats": 1}
MODELS = ("posts", "threads")


# -- the section (parent side) -----------------------------------------------------------------
def run(quick: bool, scratch: Path) -> dict[str, Any]:
    cfg = QUICK if quick else FULL
    sizes: list[dict[str, Any]] = []
    for size in cfg["sizes"]:
        work = scratch / f"size-{size}"
        work.mkdir()
        sizes.append(measure_size(size, cfg, work))
        shutil.rmtree(work, ignore_errors=True)
    return summarize(cfg, sizes, quick)


def measure_size(size: int, cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    lake, base = work / "lake", work / "base.duckdb"
    log(f"{NAME}: {size:,} posts: building the lake (ingest_bodies, workers=2)")
    t0 = time.perf_counter()
    built = build_lake(lake, size, SEED)
    lake_s = time.perf_counter() - t0
    log(f"{NAME}: {built['posts']:,} posts in the lake in {lake_s:.0f}s; load + full transform")
    full = _child("full", "--lake", str(lake), "--warehouse", str(base))
    log(
        f"{NAME}: full build {full['wall_s']:.1f}s ({full['posts'] / full['wall_s']:,.0f} "
        f"posts/s), peak RSS {full['peak_rss_mb']:.0f} MB"
    )
    delta = add_new_batch(lake, built["max_no"], built["max_thread_no"], cfg)
    log(
        f"{NAME}: new batch: {delta['posts']:,} posts (no {delta['min_no']:,}..{delta['max_no']:,}"
        f" > base {built['max_no']:,}), {delta['tombstones']} tombstones"
    )
    runs = []
    for rep in range(cfg["repeats"]):
        copy = work / f"incr-{rep}.duckdb"
        shutil.copyfile(base, copy)
        res = _child("increment", "--lake", str(lake), "--warehouse", str(copy))
        copy.unlink()
        runs.append(res)
        log(
            f"{NAME}: incremental {rep + 1}/{cfg['repeats']}: models {res['models_s']:.2f}s "
            f"(posts {res['model_s']['posts']:.2f}s, threads {res['model_s']['threads']:.2f}s), "
            f"dbt build {res['transform_s']:.1f}s, load {res['load_s']:.1f}s"
        )
    return {
        "size": size,
        "base_posts": full["posts"],
        "lake": {**built, "seconds": round(lake_s, 1)},
        "full": full,
        "new_batch": delta,
        "incremental_runs": runs,
        "incremental": {
            "models_s": _median(runs, "models_s"),
            "posts_s": round(statistics.median(r["model_s"]["posts"] for r in runs), 3),
            "threads_s": round(statistics.median(r["model_s"]["threads"] for r in runs), 3),
            "transform_s": _median(runs, "transform_s"),
            "load_s": _median(runs, "load_s"),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "posts_after": runs[-1]["posts"],
        },
    }


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def summarize(cfg: dict[str, Any], sizes: list[dict[str, Any]], quick: bool) -> dict[str, Any]:
    smallest = sizes[0]["incremental"]
    ratios = {}
    for s in sizes[1:]:
        inc = s["incremental"]
        ratios[str(s["size"])] = {
            "models": ratio(inc["models_s"], smallest["models_s"]),
            "transform": ratio(inc["transform_s"], smallest["transform_s"]),
        }
    largest = str(sizes[-1]["size"])
    worst = ratios[largest]["models"] if len(sizes) > 1 else None
    return {
        "title": TITLE,
        "quick": quick,
        "config": cfg,
        "sizes": sizes,
        "ratios_vs_smallest": ratios,
        "target": {
            "ratio": TARGET_RATIO,
            "largest": int(largest),
            "smallest": sizes[0]["size"],
            "measured_models": worst,
            "measured_transform": ratios[largest]["transform"] if len(sizes) > 1 else None,
            "met": worst is not None and worst <= TARGET_RATIO,
        },
    }


def build_lake(lake_dir: Path, size: int, seed: int) -> dict[str, Any]:
    from polit.lake.ingest import ingest_bodies
    from polit.lake.store import Lake
    from polit.replay.simulate import generate_threads

    stats = {"max_no": 0, "max_thread_no": 0}

    def bodies() -> Iterator[dict[str, Any]]:  # watches the post numbers go by
        for body in generate_threads(size, seed=seed):
            posts = body["posts"]
            stats["max_no"] = max(stats["max_no"], max(p["no"] for p in posts))
            stats["max_thread_no"] = max(stats["max_thread_no"], posts[0]["no"])
            yield body

    report = ingest_bodies(Lake(str(lake_dir)), BOARD, bodies(), run_id="base", workers=2)
    return {"posts": report.posts, "threads": report.threads, **stats}


def add_new_batch(lake_dir: Path, base_max_no: int, base_max_thread: int, cfg: dict) -> dict:
    """`new_posts` posts from another seed, renumbered above the base, and tombstones of the
    base's newest posts: what the next crawl cycle brings."""
    import duckdb

    from polit.lake.batch import RowBuffer
    from polit.lake.ingest import ingest_bodies
    from polit.lake.schema import POSTS
    from polit.lake.store import Lake
    from polit.replay.simulate import generate_threads

    lake = Lake(str(lake_dir))
    con = duckdb.connect()
    newest = con.execute(
        "select no, thread_no from read_parquet(?) order by no desc limit ?",
        [str(lake_dir / "**" / "*.parquet"), cfg["tombstones"]],
    ).fetchall()
    con.close()

    bodies = list(generate_threads(cfg["new_posts"], seed=NEW_SEED))
    low = min(p["no"] for b in bodies for p in b["posts"])
    shift = max(base_max_no, base_max_thread) + 1 - low
    for body in bodies:
        for p in body["posts"]:
            p["no"] += shift
            if p.get("resto"):
                p["resto"] += shift
    nos = [p["no"] for b in bodies for p in b["posts"]]
    report = ingest_bodies(lake, BOARD, bodies, run_id="new", workers=1)

    now = datetime.now(UTC)
    buf = RowBuffer(POSTS)
    for no, thread_no in newest:
        buf.add({"board": BOARD, "no": no, "thread_no": thread_no, "run_id": "tombstones",
                 "observed_at": now, "deleted_at": now})  # fmt: skip
    if len(buf):
        lake.write_table("posts", BOARD, buf.to_table(), now, "bench-tombstones")
    return {
        "posts": report.posts,
        "threads": report.threads,
        "min_no": min(nos),
        "max_no": max(nos),
        "tombstones": len(newest),
    }


def _child(*args: str) -> dict[str, Any]:
    return run_child("bench.merge_cost", *args)


# -- measurement (child side) ------------------------------------------------------------------
def load_and_transform(lake_dir: Path, warehouse: Path, full_refresh: bool) -> dict[str, Any]:
    import duckdb

    from polit.lake.store import Lake
    from polit.transform import run_dbt
    from polit.warehouse import load_lake
    from polit.warehouse.duck import DuckWarehouse

    t0 = time.perf_counter()
    wh = DuckWarehouse(str(warehouse))
    try:
        loaded = load_lake(Lake(str(lake_dir)), wh)
    finally:
        wh.close()
    t1 = time.perf_counter()
    args = ["build", "--full-refresh"] if full_refresh else ["build"]
    result = run_dbt(args, str(warehouse), quiet=True)
    t2 = time.perf_counter()
    model_s = dict.fromkeys(MODELS, 0.0)
    for r in result.result.results:
        name = r.node.unique_id.rsplit(".", 1)[-1]
        if r.node.resource_type == "model" and name in model_s:
            model_s[name] = round(r.execution_time, 3)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        posts = con.execute("select count(*) from main.posts").fetchone()[0]
        threads = con.execute("select count(*) from main.threads").fetchone()[0]
    finally:
        con.close()
    return {
        "files_loaded": loaded.total_files,
        "rows_loaded": loaded.rows,
        "load_s": round(t1 - t0, 3),
        "transform_s": round(t2 - t1, 3),
        "wall_s": round(t2 - t0, 3),
        "model_s": model_s,
        "models_s": round(sum(model_s.values()), 3),
        "posts": posts,
        "threads": threads,
        "warehouse_mb": round(warehouse.stat().st_size / 1e6, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


# -- markdown ------------------------------------------------------------------------------------
def markdown(res: dict[str, Any]) -> str:
    cfg, target = res["config"], res["target"]
    lines = [
        f"## {res['title']}",
        "",
        f"Per size: a lake from `generate_threads` (`ingest_bodies`, workers=2), then `polit load` "
        f"+ a full `transform` into a fresh DuckDB file (one child process: wall, posts/s, "
        f"peak RSS). Then {cfg['new_posts']:,} new posts (numbered above the base) and "
        f"{cfg['tombstones']} tombstones of the base's newest posts are loaded into a copy of "
        f"the base file and merged by an incremental `transform` (median of "
        f"{cfg['repeats']}, each on a fresh copy). *models s* is what dbt reports for `posts` "
        "+ `threads` (the merge); *dbt build s* adds parse and the data tests, which read "
        f"whole tables.{' Quick sizes.' if res['quick'] else ''}",
        "",
        "| base posts | full build s | full posts/s | full peak RSS MB | warehouse MB "
        "| incr. models s | posts s | threads s | incr. dbt build s | incr. load s "
        "| incr. peak RSS MB | models vs smallest | dbt build vs smallest |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in res["sizes"]:
        full, inc = s["full"], s["incremental"]
        r = res["ratios_vs_smallest"].get(str(s["size"]), {"models": 1.0, "transform": 1.0})
        rate = s["base_posts"] / full["wall_s"]
        lines.append(
            f"| {s['base_posts']:,} | {full['wall_s']:.1f} | {rate:,.0f}"
            f" | {full['peak_rss_mb']:.0f} | {full['warehouse_mb']:.0f} | {inc['models_s']:.2f}"
            f" | {inc['posts_s']:.2f} | {inc['threads_s']:.2f} | {inc['transform_s']:.1f}"
            f" | {inc['load_s']:.2f} | {inc['peak_rss_mb']:.0f} | {r['models']}× "
            f"| {r['transform']}× |"
        )
    verdict = "met" if target["met"] else "not met"
    lines += [
        "",
        f"- Target: merging the same batch into {target['largest']:,} posts costs at most "
        f"{target['ratio']:g}× what it costs into {target['smallest']:,}: **{verdict}** "
        f"(models {target['measured_models']}×; whole `dbt build` "
        f"{target['measured_transform']}×).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.merge_cost")
    p.add_argument("mode", choices=["full", "increment"])
    p.add_argument("--lake", type=Path, required=True)
    p.add_argument("--warehouse", type=Path, required=True)
    args = p.parse_args(argv)
    res = load_and_transform(args.lake, args.warehouse, full_refresh=args.mode == "full")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
