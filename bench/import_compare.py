"""Part of section `throughput`: `import_ndjson` of this tree against a baseline commit's,
side by side in the same run.

The synthetic dataset (`polit.replay.ndjson.dataset_threads`: the API's fields plus the
dataset's `entities`, `perspectives` and `extracted_poster_id`) is written once, plain NDJSON,
before any timing. The baseline's `src/` is taken from git (`git archive BASELINE src`) into
the scratch directory. Each run is a fresh process (`python -m bench.import_compare measure`)
whose PYTHONPATH starts with one side's `src/`; the sides alternate (old, new, then new, old)
so drift in the machine's load hits both. CPU seconds (the process and its pool workers) are
the load-independent figure: on a shared machine wall time mostly measures the neighbours.

Run alone: `python -m bench.import_compare run --posts 200000 [--baseline REF]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

from bench import ROOT, log, ratio

# The commit before the single-decode bulk path: today's `import ndjson` when it was written.
BASELINE = "1eb84f4"
SEED = 2020
FULL = {"posts": 1_000_000, "repeats": 2, "workers": 2}
QUICK = {"posts": 20_000, "repeats": 1, "workers": 2}


def run(quick: bool, scratch: Path, baseline: str = BASELINE, posts: int | None = None) -> dict:
    cfg = dict(QUICK if quick else FULL)
    if posts:
        cfg["posts"] = posts
    src_old = baseline_src(baseline, scratch / "baseline")
    src_new = ROOT / "src"
    data = scratch / "import-compare.ndjson"
    log(f"import_compare: writing {cfg['posts']:,} dataset posts (not timed)")
    threads, n_posts = write_input(data, cfg["posts"])
    runs: list[dict[str, Any]] = []
    for rep in range(cfg["repeats"]):
        sides = (("baseline", src_old), ("this tree", src_new))
        for side, src in sides if rep % 2 == 0 else sides[::-1]:
            res = measure_child(src, data, cfg["workers"], scratch)
            res.update(side=side, repeat=rep + 1)
            runs.append(res)
            log(
                f"import_compare: {side}: {res['posts_per_s']:,.0f} posts/s, "
                f"{res['cpu_s']:.1f} CPU s, {res['posts_per_cpu_s']:,.0f} posts/CPU-s"
            )
    data.unlink()
    return summarize(cfg, baseline, threads, n_posts, runs)


def summarize(
    cfg: dict[str, int], baseline: str, threads: int, posts: int, runs: list[dict[str, Any]]
) -> dict:
    def best(side: str, key: str) -> float:
        return max(r[key] for r in runs if r["side"] == side)

    old_cpu = min(r["cpu_s"] for r in runs if r["side"] == "baseline")
    new_cpu = min(r["cpu_s"] for r in runs if r["side"] == "this tree")
    return {
        "config": cfg,
        "baseline": baseline,
        "threads": threads,
        "posts": posts,
        "runs": runs,
        "baseline_posts_per_cpu_s": best("baseline", "posts_per_cpu_s"),
        "new_posts_per_cpu_s": best("this tree", "posts_per_cpu_s"),
        "baseline_posts_per_s": best("baseline", "posts_per_s"),
        "new_posts_per_s": best("this tree", "posts_per_s"),
        "cpu_ratio_old_over_new": ratio(old_cpu, new_cpu),
        # posts/s if both cores did nothing else: posts per CPU-second times the cores
        "nproc": os.cpu_count() or 1,
    }


def baseline_src(ref: str, dest: Path) -> Path:
    """`src/` of commit `ref`, extracted under `dest` (replaced if there)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    blob = subprocess.run(
        ["git", "archive", ref, "src"], cwd=ROOT, stdout=subprocess.PIPE, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def write_input(path: Path, n_posts: int) -> tuple[int, int]:
    from polit.replay.ndjson import dataset_threads, write_ndjson

    return write_ndjson(dataset_threads(n_posts, SEED), path)


def measure_child(src: Path, data: Path, workers: int, scratch: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.import_compare", "measure", "--input", str(data),
         "--workers", str(workers), "--scratch", str(scratch)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"bench.import_compare measure failed with exit {proc.returncode}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def measure(data: Path, workers: int, scratch: Path) -> dict[str, Any]:
    """One `import_ndjson` into a fresh lake, in this process (and its pool workers)."""
    import polit
    from polit.importers.ndjson import import_ndjson
    from polit.lake.store import Lake

    lake_dir = Path(tempfile.mkdtemp(prefix="lake-cmp-", dir=scratch))
    cpu0 = _cpu()
    t0 = time.perf_counter()
    report = import_ndjson(Lake(str(lake_dir)), [data], "pol", workers=workers)
    wall = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    shutil.rmtree(lake_dir)
    return {
        "source": str(Path(polit.__file__).parent),
        "workers": workers,
        "posts": report.posts,
        "malformed": report.malformed,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "posts_per_s": round(report.posts / wall, 1),
        "posts_per_cpu_s": round(report.posts / cpu, 1) if cpu else 0.0,
    }


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def markdown(res: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"### `polit import ndjson`: this tree against `{res['baseline']}` (same run)",
        "",
        f"{res['posts']:,} synthetic dataset posts (with `entities`, `perspectives`) in "
        f"{res['threads']:,} lines, plain NDJSON, workers={res['config']['workers']}, each "
        "run a fresh process into a fresh local lake; the sides alternate.",
        "",
        "| side | run | posts/s | wall s | CPU s | posts/CPU-s |",
        "|---|---|---|---|---|---|",
    ]
    for r in res["runs"]:
        lines.append(
            f"| {r['side']} | {r['repeat']} | {r['posts_per_s']:,.0f} | {r['wall_s']:.1f} "
            f"| {r['cpu_s']:.1f} | {r['posts_per_cpu_s']:,.0f} |"
        )
    ceiling = res["new_posts_per_cpu_s"] * res["nproc"]
    lines += [
        "",
        f"- CPU: the baseline needed {res['cpu_ratio_old_over_new']}× the CPU seconds of this "
        f"tree (best runs). Posts per CPU-second: {res['baseline_posts_per_cpu_s']:,.0f} → "
        f"{res['new_posts_per_cpu_s']:,.0f}; on {res['nproc']} idle cores that bounds this "
        f"tree at {ceiling:,.0f} posts/s (the 100,000 posts/s goal needs "
        f"{100_000 / res['nproc']:,.0f} posts per CPU-second).",
    ]
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.import_compare")
    p.add_argument("mode", choices=("run", "measure"))
    p.add_argument("--input", type=Path)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--posts", type=int, default=None)
    p.add_argument("--baseline", default=BASELINE)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()))
    a = p.parse_args(argv)
    if a.mode == "measure":
        out = measure(a.input, a.workers, a.scratch)
        print(json.dumps(out), flush=True)
        return
    scratch = Path(tempfile.mkdtemp(prefix="import-compare-", dir=a.scratch))
    try:
        res = run(a.quick, scratch, a.baseline, a.posts)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n".join(markdown(res)))
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
