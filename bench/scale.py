"""Section `scale`: the whole DuckDB path at 1M and 10M posts (`--quick`: 20k), on one machine.

Per size N, every step runs as its own process, with the real commands where there are:

1. `polit replay ndjson --posts 1.01N` writes the synthetic dataset (gzip): posts/s of the
   generator, and the .ndjson.gz's bytes per post (the baseline for the lake's). The file is
   then split (not timed with the steps) into the first ~N posts (the base) and the rest
   (~1%: threads that left the board later, the "next crawl"), both gzip level 1.
2. `polit import ndjson base` into a fresh lake (one worker per core): posts/s, CPU,
   lake bytes per post.
3. `polit load` into a fresh DuckDB file.
4. a full `dbt build --full-refresh` (every model: staging, posts/threads, the insight marts,
   data and unit tests) through `polit.transform.transform` with a kept workdir
   (`python -m bench.scale transform ...`), so dbt's run_results.json names the slowest nodes.
5. the increment: `polit import ndjson delta`, `polit load`, an incremental `dbt build`.

Each step's process (and its pool workers) is watched from here every 0.25 s: the summed PSS
of the process tree (shared pages counted once: the real footprint) and summed RSS, plus
`wait4`'s peak RSS of the largest single process, and the size of DuckDB's spill directory
(`<warehouse>.tmp`, where it writes when a query needs more than `memory_limit`). A step
that fails is recorded with the tail of its stderr; the size's remaining steps are skipped.

Two profiles explain the speeds: cProfile of a single-process `import_ndjson` of 50,000
posts, and the generator's stages (simulation, dataset additions, JSON, gzip).

Run alone: `python -m bench.run --only scale [--quick]`.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import math
import os
import pstats
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from bench import ROOT, loadavg, log, ratio, run_child
from bench.throughput import _descendants, _pss_kb, _status_kb

NAME = "scale"
TITLE = "Scale: the DuckDB path at 1M and 10M posts"
BOARD = "pol"
SEED = 1010
TARGETS = {"import_posts_per_s": 100_000, "full_build_s": 600, "full_build_posts": 10_000_000,
           "peak_memory_gb": 8.0}  # fmt: skip
FULL = {"sizes": [1_000_000, 10_000_000], "delta_share": 0.01, "profile_posts": 50_000,
        "generator_posts": 100_000}  # fmt: skip
QUICK = {"sizes": [20_000], "delta_share": 0.01, "profile_posts": 5_000,
         "generator_posts": 20_000}  # fmt: skip
POL_POSTS_PER_DAY = 150_000  # /pol/'s order of magnitude, for the extrapolation
SPLIT_LEVEL = 1  # gzip level of the base/delta copies (the generator writes level 6)
SAMPLE_S = 0.25
STEPS = ("generate", "import", "load", "full_build", "delta_import", "delta_load",
         "incremental_build")  # fmt: skip


class StepFailed(RuntimeError):
    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__(f"{result['step']} failed with exit {result['returncode']}")
        self.result = result


# -- the section (parent side) -----------------------------------------------------------------
def run(quick: bool, scratch: Path) -> dict[str, Any]:
    cfg = QUICK if quick else FULL
    sizes = []
    profile_input: Path | None = None
    for size in cfg["sizes"]:
        work = scratch / f"size-{size}"
        work.mkdir()
        sizes.append(measure_size(size, cfg, work))
        base = work / "base.ndjson.gz"
        if profile_input is None and base.exists():  # keep the smallest base for the profile
            profile_input = scratch / "profile-input.ndjson.gz"
            shutil.move(base, profile_input)
        shutil.rmtree(work, ignore_errors=True)
    profiles: dict[str, Any] = {}
    if profile_input is not None:
        log(f"{NAME}: profiling a single-process import of {cfg['profile_posts']:,} posts")
        profiles["import"] = _try(
            "profile-import", "--input", str(profile_input),
            "--posts", str(cfg["profile_posts"]), "--scratch", str(scratch),
        )  # fmt: skip
    log(f"{NAME}: profiling the generator on {cfg['generator_posts']:,} posts")
    profiles["generator"] = _try(
        "profile-generate", "--posts", str(cfg["generator_posts"]), "--scratch", str(scratch)
    )
    return summarize(cfg, sizes, profiles, quick)


def _try(*args: str) -> dict[str, Any]:
    try:
        return run_child("bench.scale", *args)
    except (RuntimeError, ValueError) as exc:
        return {"error": str(exc)}


def polit(*args: str) -> list[str]:
    return [sys.executable, "-m", "polit", *args]


def measure_size(size: int, cfg: dict[str, Any], work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"size": size, "steps": {}, "failed": None}
    steps = out["steps"]
    lake, wh = work / "lake", work / "warehouse.duckdb"
    spill = Path(f"{wh}.tmp")  # DuckDB's default temp_directory for a database file
    generated = work / "all.ndjson.gz"
    total = size + max(1, round(size * cfg["delta_share"]))
    try:
        log(f"{NAME}: {size:,}: generating {total:,} posts (polit replay ndjson)")
        gen = steps["generate"] = step(
            "generate", polit("replay", "ndjson", "--posts", str(total), "--seed", str(SEED),
                              "--out", str(generated)), work)  # fmt: skip
        gen_bytes = generated.stat().st_size
        log(f"{NAME}: splitting {gen_bytes / 1e6:,.0f} MB into base and delta")
        split = out["split"] = split_dataset(
            generated, size, work / "base.ndjson.gz", work / "delta.ndjson.gz"
        )
        gen["posts"] = split["posts"]
        gen["posts_per_s"] = round(split["posts"] / gen["wall_s"], 1)
        gen["gz_bytes"] = gen_bytes
        gen["gz_bytes_per_post"] = round(gen_bytes / split["posts"], 1)
        gen["json_bytes_per_post"] = round(split["json_bytes"] / split["posts"], 1)
        generated.unlink()
        log(f"{NAME}: generator {gen['posts_per_s']:,.0f} posts/s; {_brief(gen)}")

        log(f"{NAME}: {size:,}: polit import ndjson ({split['base_posts']:,} posts)")
        imp = steps["import"] = step(
            "import", polit("import", "ndjson", str(work / "base.ndjson.gz"), "-b", BOARD,
                            "--lake", str(lake), "--json"), work)  # fmt: skip
        _import_figures(imp, lake)
        log(f"{NAME}: import {imp['posts_per_s']:,.0f} posts/s; {_brief(imp)}")

        log(f"{NAME}: {size:,}: polit load")
        ld = steps["load"] = step(
            "load", polit("load", "--lake", str(lake), "--warehouse", str(wh), "--json"),
            work, watch={"spill": spill})  # fmt: skip
        log(f"{NAME}: load; {_brief(ld)}")

        log(f"{NAME}: {size:,}: full build (dbt build --full-refresh)")
        full = steps["full_build"] = step(
            "full_build", transform_cmd(wh, work / "dbt-full", full_refresh=True), work,
            watch={"spill": spill})  # fmt: skip
        log(f"{NAME}: full build; {_brief(full)}")

        log(f"{NAME}: {size:,}: the increment ({split['delta_posts']:,} new posts)")
        dimp = steps["delta_import"] = step(
            "delta_import", polit("import", "ndjson", str(work / "delta.ndjson.gz"), "-b", BOARD,
                                  "--lake", str(lake), "--json"), work)  # fmt: skip
        _import_figures(dimp, lake)
        steps["delta_load"] = step(
            "delta_load", polit("load", "--lake", str(lake), "--warehouse", str(wh), "--json"),
            work, watch={"spill": spill})  # fmt: skip
        inc = steps["incremental_build"] = step(
            "incremental_build", transform_cmd(wh, work / "dbt-incr", full_refresh=False), work,
            watch={"spill": spill})  # fmt: skip
        log(f"{NAME}: incremental build; {_brief(inc)}")
    except StepFailed as exc:
        steps[exc.result["step"]] = exc.result
        out["failed"] = exc.result["step"]
        log(f"{NAME}: {size:,}: {exc}: {exc.result.get('error', '')[-500:]}")
    except OSError as exc:  # a full disk, say
        out["failed"] = f"{type(exc).__name__}: {exc}"
        log(f"{NAME}: {size:,}: {out['failed']}")
    out["disk_bytes"] = _tree_bytes(work)
    return out


def _brief(s: dict[str, Any]) -> str:
    spill = s.get("spill_peak_mb")
    return (
        f"{s['wall_s']:.1f}s wall, {s['cpu_s']:.1f} CPU-s, peak PSS {s['peak_pss_tree_mb']:,.0f} "
        f"MB, max RSS {s['maxrss_mb']:,.0f} MB"
        + (f", spill peak {spill:,.0f} MB" if spill is not None else "")
        + f", load {s['load_before']}"
    )


def _import_figures(imp: dict[str, Any], lake: Path) -> None:
    report = imp["output"]
    imp["posts"] = report["posts"]
    imp["posts_per_s"] = round(report["posts"] / imp["wall_s"], 1)
    imp["posts_per_cpu_s"] = round(report["posts"] / imp["cpu_s"], 1) if imp["cpu_s"] else None
    imp["malformed"] = report["malformed"]
    files = list(lake.rglob("*.parquet"))
    imp["lake_files"] = len(files)
    imp["lake_bytes"] = sum(f.stat().st_size for f in files)


def transform_cmd(warehouse: Path, workdir: Path, full_refresh: bool) -> list[str]:
    cmd = [sys.executable, "-m", "bench.scale", "transform", "--warehouse", str(warehouse),
           "--workdir", str(workdir)]  # fmt: skip
    return [*cmd, "--full-refresh"] if full_refresh else cmd


def split_dataset(src: Path, base_posts: int, base: Path, delta: Path) -> dict[str, Any]:
    """The first bodies holding >= `base_posts` posts into `base`, the rest into `delta`."""
    t0 = time.perf_counter()
    posts = json_bytes = 0
    counts = {"base": [0, 0], "delta": [0, 0]}  # threads, posts
    nos = {"base": [math.inf, 0], "delta": [math.inf, 0]}  # min, max post number
    with (
        gzip.open(src, "rb") as f,
        gzip.open(base, "wb", compresslevel=SPLIT_LEVEL) as b,
        gzip.open(delta, "wb", compresslevel=SPLIT_LEVEL) as d,
    ):
        for line in f:
            n = [p["no"] for p in orjson.loads(line)["posts"]]
            part = "base" if posts < base_posts else "delta"
            (b if part == "base" else d).write(line)
            posts += len(n)
            json_bytes += len(line)
            counts[part][0] += 1
            counts[part][1] += len(n)
            nos[part] = [min(nos[part][0], min(n)), max(nos[part][1], max(n))]
    return {
        "posts": posts,
        "json_bytes": json_bytes,
        "base_threads": counts["base"][0],
        "base_posts": counts["base"][1],
        "delta_threads": counts["delta"][0],
        "delta_posts": counts["delta"][1],
        "base_no": [int(x) for x in nos["base"]] if counts["base"][1] else None,
        "delta_no": [int(x) for x in nos["delta"]] if counts["delta"][1] else None,
        "gzip_level": SPLIT_LEVEL,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def step(
    name: str, cmd: list[str], work: Path, watch: dict[str, Path] | None = None
) -> dict[str, Any]:
    """Run `cmd` as a child, watching its process tree (and `watch` directories) until it
    exits. Its stdout is parsed as JSON (whole, or the last line) when it is JSON."""
    env = {**os.environ, "COLUMNS": "400"}  # rich would wrap its --json output at 80
    out_path, err_path = work / f"{name}.stdout", work / f"{name}.stderr"
    before = loadavg()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=env)
        sampler = TreeSampler(proc.pid, watch or {})
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    shown = [Path(c).name if c == sys.executable else c for c in cmd]
    res: dict[str, Any] = {
        "step": name,
        "command": shlex.join(shown).replace(str(work), "$WORK"),
        "returncode": proc.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),  # with its reaped workers
        "maxrss_mb": round(usage.ru_maxrss / 1024, 1),  # the largest single process
        "peak_pss_tree_mb": round(sampler.peak_pss_kb / 1024, 1),
        "peak_rss_tree_mb": round(sampler.peak_rss_kb / 1024, 1),
        "peak_processes": sampler.peak_procs,
        "samples": sampler.samples,
        "load_before": before,
        "load_after": loadavg(),
    }
    for key, peak in sampler.dir_peak.items():
        res[f"{key}_peak_mb"] = round(peak / 1e6, 1)
    if proc.returncode != 0:
        res["error"] = err_path.read_text(errors="replace")[-3000:]
        raise StepFailed(res)
    text = out_path.read_text(errors="replace").strip()
    try:
        res["output"] = json.loads(text)
    except ValueError:
        try:
            res["output"] = json.loads(text.splitlines()[-1])
        except (ValueError, IndexError):
            res["output"] = text[-2000:]
    return res


class TreeSampler:
    """Peak summed PSS and RSS of a process tree, and peak sizes of directories."""

    def __init__(self, pid: int, dirs: dict[str, Path]) -> None:
        self.pid = pid
        self.dirs = dirs
        self.peak_pss_kb = self.peak_rss_kb = self.peak_procs = self.samples = 0
        self.dir_peak = dict.fromkeys(dirs, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            pids = [p for p in _descendants(self.pid) if os.path.exists(f"/proc/{p}")]
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(p) for p in pids))
            self.peak_rss_kb = max(self.peak_rss_kb, sum(_status_kb(p, "VmRSS") for p in pids))
            self.peak_procs = max(self.peak_procs, len(pids))
            for key, path in self.dirs.items():
                self.dir_peak[key] = max(self.dir_peak[key], _tree_bytes(path))
            self.samples += 1
            if self._stop.wait(SAMPLE_S):
                return


def _tree_bytes(path: Path) -> int:
    total = 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                total += _tree_bytes(Path(e.path))
            else:
                total += e.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total


# -- figures -------------------------------------------------------------------------------------
def summarize(
    cfg: dict[str, Any], sizes: list[dict[str, Any]], profiles: dict[str, Any], quick: bool
) -> dict[str, Any]:
    rows = [row_of(s) for s in sizes]
    done = [r for r in rows if r.get("full_build_s") is not None]
    imports = [r["import_posts_per_s"] for r in rows if r.get("import_posts_per_s")]
    peaks = [r["peak_memory_mb"] for r in rows if r.get("peak_memory_mb")]
    target_size = TARGETS["full_build_posts"]
    at_target = [r for r in done if r["size"] == target_size]
    build_row = at_target[0] if at_target else (done[-1] if done else None)
    targets = {
        "import": {
            "target_posts_per_s": TARGETS["import_posts_per_s"],
            "measured_posts_per_s": min(imports) if imports else None,  # the worst size
            "met": bool(imports) and min(imports) >= TARGETS["import_posts_per_s"],
        },
        "full_build": {
            "target_s": TARGETS["full_build_s"],
            "target_posts": target_size,
            "measured_posts": build_row["posts"] if build_row else None,
            "measured_s": build_row["full_build_s"] if build_row else None,
            # judged only at the target's size; a smaller (quick) run does not count
            "met": bool(at_target) and at_target[0]["full_build_s"] < TARGETS["full_build_s"],
        },
        "peak_memory": {
            "target_gb": TARGETS["peak_memory_gb"],
            "measured_gb": round(max(peaks) / 1024, 2) if peaks else None,
            "met": bool(peaks) and max(peaks) / 1024 < TARGETS["peak_memory_gb"],
        },
    }
    return {
        "title": TITLE,
        "quick": quick,
        "config": cfg,
        "duckdb_memory_limit": os.environ.get("POLIT_DUCKDB_MEMORY_LIMIT") or "4GB",
        "sizes": sizes,
        "rows": rows,
        "targets": targets,
        "profiles": profiles,
        "extrapolation": extrapolate(done),
    }


def row_of(s: dict[str, Any]) -> dict[str, Any]:
    """The table row of one size: None where a step did not run."""
    st = s["steps"]

    def get(step: str, key: str) -> Any:
        return st.get(step, {}).get(key) if "error" not in st.get(step, {}) else None

    imp, gen = st.get("import", {}), st.get("generate", {})
    posts = imp.get("posts")
    full = st.get("full_build", {}).get("output") or {}
    incr = st.get("incremental_build", {}).get("output") or {}
    measured = [v for v in st.values() if "peak_pss_tree_mb" in v]
    peak = max(measured, key=lambda v: v["peak_pss_tree_mb"]) if measured else None
    spills = [v.get("spill_peak_mb") or 0 for v in st.values()]
    return {
        "size": s["size"],
        "posts": posts,
        "failed": s["failed"],
        "generate_posts_per_s": gen.get("posts_per_s"),
        "gz_bytes_per_post": gen.get("gz_bytes_per_post"),
        "json_bytes_per_post": gen.get("json_bytes_per_post"),
        "import_posts_per_s": imp.get("posts_per_s"),
        "import_posts_per_cpu_s": imp.get("posts_per_cpu_s"),
        "lake_bytes_per_post": round(imp["lake_bytes"] / posts, 1) if posts else None,
        "lake_vs_gz": ratio(imp["lake_bytes"] / posts, gen["gz_bytes_per_post"])
        if posts and gen.get("gz_bytes_per_post")
        else None,
        "load_s": get("load", "wall_s"),
        "full_build_s": get("full_build", "wall_s"),
        "full_build_dbt_s": full.get("dbt_elapsed_s"),
        "delta_posts": st.get("delta_import", {}).get("posts"),
        "delta_import_s": get("delta_import", "wall_s"),
        "delta_load_s": get("delta_load", "wall_s"),
        "incremental_build_s": get("incremental_build", "wall_s"),
        "incremental_posts_after": incr.get("posts"),
        "peak_memory_mb": peak["peak_pss_tree_mb"] if peak else None,
        "peak_memory_step": peak["step"] if peak else None,
        "peak_maxrss_mb": max((v["maxrss_mb"] for v in measured), default=None),
        "spill_peak_mb": max(spills) if spills else None,
        "warehouse_bytes": (incr or full).get("warehouse_bytes"),
        "disk_bytes": s.get("disk_bytes"),
        "load_avg": [st[k]["load_before"] for k in STEPS if k in st],
    }


def extrapolate(done: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Where one machine stops being enough, from the largest size that built, projected to
    /pol/'s ~150k posts a day. A build's time grows as posts^k, k measured between the two
    sizes but at least 1 (never better than linear); spill and disk grow linearly."""
    if not done:
        return None
    big, small = done[-1], done[0]

    def exponent(key: str) -> float:
        if len(done) < 2 or not small[key] or not big[key] or small["posts"] == big["posts"]:
            return 1.0
        return math.log(big[key] / small[key]) / math.log(big["posts"] / small["posts"])

    k_full, k_incr = exponent("full_build_s"), exponent("incremental_build_s")

    def posts_within(seconds: float, key: str, k: float) -> int | None:
        return int(big["posts"] * (seconds / big[key]) ** (1 / max(1.0, k))) if big[key] else None

    def seconds_at(posts: float, key: str, k: float) -> float | None:
        return round(big[key] * (posts / big["posts"]) ** max(1.0, k)) if big[key] else None

    def days(posts: int | None) -> float | None:
        return round(posts / POL_POSTS_PER_DAY) if posts else None

    year = POL_POSTS_PER_DAY * 365
    wh_per_post = big["warehouse_bytes"] / big["posts"] if big.get("warehouse_bytes") else None
    lake_per_post = big["lake_bytes_per_post"] or 0
    full10 = posts_within(600, "full_build_s", k_full)
    incr10 = posts_within(600, "incremental_build_s", k_incr)
    incr60 = posts_within(3600, "incremental_build_s", k_incr)
    return {
        "from_posts": big["posts"],
        "full_build_exponent": round(k_full, 2),
        "incremental_build_exponent": round(k_incr, 2),
        "pol_posts_per_day": POL_POSTS_PER_DAY,
        "days_per_measured_size": round(big["posts"] / POL_POSTS_PER_DAY, 1),
        "full_build_10min_posts": full10,
        "full_build_10min_days": days(full10),
        "incremental_10min_posts": incr10,
        "incremental_10min_days": days(incr10),
        "incremental_60min_posts": incr60,
        "incremental_60min_days": days(incr60),
        "year_posts": year,
        "year_full_build_s": seconds_at(year, "full_build_s", k_full),
        "year_incremental_build_s": seconds_at(year, "incremental_build_s", k_incr),
        "year_spill_gb": round((big["spill_peak_mb"] or 0) / 1e3 * year / big["posts"], 1),
        "warehouse_bytes_per_post": round(wh_per_post, 1) if wh_per_post else None,
        "lake_bytes_per_post": lake_per_post,
        "year_disk_gb": round(year * ((wh_per_post or 0) + lake_per_post) / 1e9, 1),
        "peak_memory_mb": big["peak_memory_mb"],
    }


# -- child side ----------------------------------------------------------------------------------
def transform_child(warehouse: Path, workdir: Path, full_refresh: bool) -> dict[str, Any]:
    """`dbt build` through polit's runner, then the slowest nodes from run_results.json."""
    import duckdb

    from polit.transform import transform

    t0 = time.perf_counter()
    report = transform(str(warehouse), full_refresh=full_refresh, workdir=workdir, quiet=True)
    seconds = time.perf_counter() - t0
    target = workdir / "target"
    results = json.loads((target / "run_results.json").read_text())
    nodes = json.loads((target / "manifest.json").read_text()).get("nodes", {})
    timed = []
    by_group: dict[str, float] = {}
    for r in results["results"]:
        uid = r["unique_id"]
        group = _group(uid, nodes.get(uid, {}).get("original_file_path", ""))
        by_group[group] = by_group.get(group, 0.0) + r["execution_time"]
        timed.append({"node": uid.split(".", 2)[-1] if uid.startswith("model.") else uid,
                      "kind": uid.split(".", 1)[0], "group": group, "status": r["status"],
                      "s": round(r["execution_time"], 2)})  # fmt: skip
    timed.sort(key=lambda t: -t["s"])
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        posts = con.execute("select count(*) from main.posts").fetchone()[0]  # type: ignore[index]
        threads = con.execute("select count(*) from main.threads").fetchone()[0]  # type: ignore[index]
        size = con.execute("select database_size from pragma_database_size()").fetchone()
    finally:
        con.close()
    statuses: dict[str, int] = {}
    for s in report.statuses.values():
        statuses[s] = statuses.get(s, 0) + 1
    return {
        "seconds": round(seconds, 2),
        "dbt_elapsed_s": round(results["elapsed_time"], 2),
        "statuses": statuses,
        "slowest": timed[:5],
        "slowest_models": [t for t in timed if t["kind"] == "model"][:5],
        "by_group_s": {k: round(v, 2) for k, v in sorted(by_group.items(), key=lambda kv: -kv[1])},
        "posts": posts,
        "threads": threads,
        "warehouse_bytes": warehouse.stat().st_size,
        "database_size": size[0] if size else None,
    }


def _group(uid: str, path: str) -> str:
    kind = uid.split(".", 1)[0]
    if kind == "test":
        return "data tests"
    if kind == "unit_test":
        return "unit tests"
    if kind == "seed":
        return "seeds"
    parts = Path(path).parts
    return parts[1] if len(parts) > 2 and parts[0] == "models" else kind


def profile_import(src: Path, n_posts: int, scratch: Path) -> dict[str, Any]:
    """A single-process `import_ndjson` (workers=1: everything in this process) of the first
    `n_posts` posts of `src`: a plain timed run, then one under cProfile."""
    import resource

    from polit.importers.ndjson import import_ndjson
    from polit.lake.store import Lake

    work = Path(tempfile.mkdtemp(prefix="profile-import-", dir=scratch))
    part = work / "part.ndjson.gz"
    posts = 0
    with gzip.open(src, "rb") as f, gzip.open(part, "wb", compresslevel=SPLIT_LEVEL) as out:
        for line in f:
            out.write(line)
            posts += len(orjson.loads(line)["posts"])
            if posts >= n_posts:
                break

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    import_ndjson(Lake(str(work / "warm")), [part], BOARD, workers=1)  # imports, first Arrow
    c0, t0 = cpu(), time.perf_counter()
    import_ndjson(Lake(str(work / "plain")), [part], BOARD, workers=1)
    wall, cpu_s = time.perf_counter() - t0, cpu() - c0
    prof = cProfile.Profile()
    prof.enable()
    import_ndjson(Lake(str(work / "profiled")), [part], BOARD, workers=1)
    prof.disable()
    shutil.rmtree(work)
    return {"posts": posts, "wall_s": round(wall, 2), "cpu_s": round(cpu_s, 2),
            "posts_per_cpu_s": round(posts / cpu_s, 1), **_top(prof, IMPORT_STAGES)}  # fmt: skip


# The stages of the import path: the cumulative time of these functions (file, name).
IMPORT_STAGES = {
    "gzip.py:read": "gzip decompression",
    "ndjson.py:check_line": "reader: decode each line to check it (the parent, in a pool run)",
    "ingest.py:_ingest_chunk": "worker: parse, Arrow and Parquet of a chunk",
    "client.py:decode_json": "JSON decode (both: check_line's and the worker's)",
    "bulk.py:add": "bulk path: check each plain line, version hash, `extra`",
    "bulk.py:table": "bulk path: Arrow JSON read of the plain lines and comment kernels",
    "posts.py:parse_thread": "fallback lines: parse_thread (normalize, comment HTML, version)",
    "html.py:parse_com": "… of which comment HTML (parse_com)",
    "posts.py:version_of": "… of which the version hash (orjson + blake2b)",
    "posts.py:_lift_scores": "… of which the Perspective scores to columns",
    "posts.py:_dumps": "… of which `extra` as JSON (stdlib json, sorted keys)",
    "batch.py:to_table": "Arrow conversion (RowBuffer.to_table)",
    "store.py:write_table": "Parquet write (Lake.write_table)",
}


def _top(prof: cProfile.Profile, stages: dict[str, str]) -> dict[str, Any]:
    stats = pstats.Stats(prof)
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    top = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:12]
    cumulative = dict.fromkeys(stages, 0.0)
    for (fn, _, name), v in raw.items():
        key = f"{Path(fn).name}:{name}"
        if key in cumulative:
            cumulative[key] += v[3]
    return {
        "profiled_s": round(total, 2),
        "top_tottime": [
            {
                "function": f"{Path(fn).name}:{line}({name})",
                "tottime_s": round(v[2], 3),
                "share": round(v[2] / total, 3) if total else None,
                "calls": v[1],
            }
            for (fn, line, name), v in top
        ],
        "cumulative_s": {k: round(v, 2) for k, v in cumulative.items()},
        "cumulative_share": {
            k: round(v / total, 3) if total else None for k, v in cumulative.items()
        },
    }


def profile_generator(n_posts: int, scratch: Path) -> dict[str, Any]:
    """The generator's stages, each timed by running the pipeline up to it; then cProfile."""
    from polit.replay.ndjson import dataset_threads, write_ndjson
    from polit.replay.simulate import generate_threads

    work = Path(tempfile.mkdtemp(prefix="profile-gen-", dir=scratch))
    clock = time.perf_counter
    t0 = clock()
    posts = sum(len(b["posts"]) for b in generate_threads(n_posts, SEED))
    t1 = clock()
    sum(len(b["posts"]) for b in dataset_threads(n_posts, SEED))
    t2 = clock()
    write_ndjson(dataset_threads(n_posts, SEED), work / "plain.ndjson")
    t3 = clock()
    write_ndjson(dataset_threads(n_posts, SEED), work / "gz.ndjson.gz")
    t4 = clock()
    prof = cProfile.Profile()
    prof.enable()
    write_ndjson(dataset_threads(n_posts, SEED), work / "profiled.ndjson.gz")
    prof.disable()
    shutil.rmtree(work)
    # each run is the whole pipeline up to a stage: a stage costs the difference
    sim, ds, plain, gz = t1 - t0, t2 - t1, t3 - t2, t4 - t3
    stages = {"simulation": sim, "dataset_additions": ds - sim, "json_and_write": plain - ds,
              "gzip": gz - plain}  # fmt: skip
    return {
        "posts": posts,
        "total_s": round(gz, 2),
        "posts_per_s": round(posts / gz, 1),
        "stages_s": {k: round(v, 2) for k, v in stages.items()},
        "stage_share": {k: round(v / gz, 3) for k, v in stages.items()},
        **_top(prof, {}),
    }


# -- markdown ------------------------------------------------------------------------------------
def _n(v: Any, fmt: str = ",.0f", suffix: str = "") -> str:
    return "-" if v is None else f"{v:{fmt}}{suffix}"


def markdown(res: dict[str, Any]) -> str:
    t = res["targets"]
    lines = [
        f"## {res['title']}",
        "",
        "Per size, each step in its own process: `polit replay ndjson` (1% more posts, split "
        "after generation into the base and a later 1%), `polit import ndjson` of the base "
        "into a fresh lake, `polit load` into a fresh DuckDB file, a full `dbt build "
        "--full-refresh` (every model incl. the insight marts, plus tests), then the 1% "
        "(import, load, incremental `dbt build`). Memory = peak summed PSS of the step's "
        "process tree, the largest of all steps; DuckDB `memory_limit` "
        f"{res['duckdb_memory_limit']}; spill = peak size of `<warehouse>.tmp`."
        + (" Quick sizes." if res["quick"] else ""),
        "",
        "| posts | generate posts/s | gz B/post | import posts/s | posts/CPU-s | lake B/post "
        "| lake / gz | load s | full build s | incr. (+posts) s: import / load / build "
        "| peak memory MB (step) | max RSS MB | spill peak MB | warehouse MB | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---|",
    ]
    for r in res["rows"]:
        load = r["load_avg"][0] if r["load_avg"] else None
        lines.append(
            f"| {_n(r['posts'] or r['size'])} | {_n(r['generate_posts_per_s'])} "
            f"| {_n(r['gz_bytes_per_post'], 'g')} | {_n(r['import_posts_per_s'])} "
            f"| {_n(r['import_posts_per_cpu_s'])} | {_n(r['lake_bytes_per_post'], 'g')} "
            f"| {_n(r['lake_vs_gz'], 'g', '×')} | {_n(r['load_s'], '.1f')} "
            f"| {_n(r['full_build_s'], '.1f')} | (+{_n(r['delta_posts'])}) "
            f"{_n(r['delta_import_s'], '.1f')} / {_n(r['delta_load_s'], '.1f')} / "
            f"{_n(r['incremental_build_s'], '.1f')} | {_n(r['peak_memory_mb'])} "
            f"({r['peak_memory_step'] or '-'}) | {_n(r['peak_maxrss_mb'])} "
            f"| {_n(r['spill_peak_mb'])} "
            f"| {_n(r['warehouse_bytes'] / 1e6 if r['warehouse_bytes'] else None)} "
            f"| {' / '.join(f'{x:.1f}' for x in load) if load else '-'} |"
        )
        if r["failed"]:
            lines.append(f"| | **failed at {r['failed']}** | | | | | | | | | | | | | |")
    verdict = {True: "**met**", False: "**not met**"}
    imp, fb, mem = t["import"], t["full_build"], t["peak_memory"]
    lines += [
        "",
        f"- Import ≥ {imp['target_posts_per_s']:,} posts/s: {verdict[imp['met']]} "
        f"({_n(imp['measured_posts_per_s'])} posts/s at the slowest size).",
        f"- Full build of {fb['target_posts']:,} posts < {fb['target_s']} s: "
        + (
            f"{verdict[fb['met']]} ({_n(fb['measured_s'], '.0f')} s)"
            if fb["measured_posts"] and fb["measured_posts"] >= fb["target_posts"]
            else f"not measured at that size (largest: {_n(fb['measured_posts'])} posts in "
            f"{_n(fb['measured_s'], '.1f')} s)"
        )
        + ".",
        f"- Peak memory < {mem['target_gb']:g} GB: {verdict[mem['met']]} "
        f"({_n(mem['measured_gb'], '.2f')} GB).",
    ]
    for s in res["sizes"]:
        st = s["steps"]
        for key in ("full_build", "incremental_build"):
            o = st.get(key, {}).get("output")
            if isinstance(o, dict) and o.get("slowest_models"):
                groups = ", ".join(f"{g} {v:.0f} s" for g, v in o["by_group_s"].items())
                slow = ", ".join(f"`{m['node']}` {m['s']:.1f} s" for m in o["slowest_models"])
                lines.append(
                    f"- {s['size']:,}, {key.replace('_', ' ')}: dbt {o['dbt_elapsed_s']:.0f} s "
                    f"({groups}); slowest models: {slow}."
                )
    ex = res.get("extrapolation")
    if ex:
        lines.append(
            f"- Extrapolated from {ex['from_posts']:,} posts ({ex['days_per_measured_size']:g} "
            f"days of /pol/ at {ex['pol_posts_per_day']:,} posts/day; build time ∝ posts^k, "
            f"k = {ex['full_build_exponent']:g} full, {ex['incremental_build_exponent']:g} "
            "incremental, never below 1): a full build stays under 10 min up to "
            f"~{_n(ex['full_build_10min_posts'])} posts ({_n(ex['full_build_10min_days'])} days); "
            "an incremental build (the insight marts are rebuilt whole) under 10 min up to "
            f"~{_n(ex['incremental_10min_posts'])} ({_n(ex['incremental_10min_days'])} days) and "
            f"under an hour up to ~{_n(ex['incremental_60min_posts'])} "
            f"({_n(ex['incremental_60min_days'])} days). A year ({ex['year_posts']:,} posts): "
            f"full build ~{_n(ex['year_full_build_s'])} s, incremental "
            f"~{_n(ex['year_incremental_build_s'])} s, ~{ex['year_spill_gb']:g} GB of spill, "
            f"~{ex['year_disk_gb']:g} GB of lake + warehouse."
        )
    probe = res.get("memory_limit_probe")
    if probe:
        lines.append(
            f"- {probe['what']} `POLIT_DUCKDB_MEMORY_LIMIT={probe['memory_limit']}`: full build "
            f"{probe['full_build_s']:.0f} s (`posts` {probe['posts_model_s']:.0f} s), peak "
            f"memory {probe['peak_memory_mb']:,.0f} MB, spill peak {probe['spill_peak_mb']:,.0f} "
            f"MB, load average {' / '.join(f'{x:.1f}' for x in probe['load_before'])}."
        )
    prof = res["profiles"]
    gen = prof.get("generator") or {}
    if "stages_s" in gen:
        lines += [
            "",
            f"Generator ({gen['posts']:,} posts, {gen['posts_per_s']:,.0f} posts/s, one "
            "process): "
            + ", ".join(f"{k.replace('_', ' ')} {v:.0%}" for k, v in gen["stage_share"].items())
            + ". Hottest: "
            + ", ".join(f"`{f['function']}` {f['share']:.0%}" for f in gen["top_tottime"][:5])
            + ".",
        ]
    imp_p = prof.get("import") or {}
    if "cumulative_s" in imp_p:
        lines += [
            "",
            f"Import profile (`import_ndjson`, workers=1, {imp_p['posts']:,} posts, "
            f"{imp_p['posts_per_cpu_s']:,.0f} posts/CPU-s without the profiler); cumulative "
            "share of the profiled time:",
            "",
            "| stage | function | share |",
            "|---|---|---:|",
        ]
        for fn, what in IMPORT_STAGES.items():
            lines.append(f"| {what} | `{fn}` | {imp_p['cumulative_share'][fn]:.0%} |")
        lines += ["", "| hottest functions (own time) | share | calls |", "|---|---:|---:|"]
        for f in imp_p["top_tottime"][:8]:
            lines.append(f"| `{f['function']}` | {f['share']:.0%} | {f['calls']:,} |")
    return "\n".join(lines)


# -- subprocess entry point ------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.scale")
    p.add_argument("mode", choices=("transform", "profile-import", "profile-generate"))
    p.add_argument("--warehouse", type=Path)
    p.add_argument("--workdir", type=Path)
    p.add_argument("--full-refresh", action="store_true")
    p.add_argument("--input", type=Path)
    p.add_argument("--posts", type=int, default=50_000)
    p.add_argument("--scratch", type=Path, default=Path(tempfile.gettempdir()))
    a = p.parse_args(argv)
    if a.mode == "transform":
        out = transform_child(a.warehouse, a.workdir, a.full_refresh)
    elif a.mode == "profile-import":
        out = profile_import(a.input, a.posts, a.scratch)
    else:
        out = profile_generator(a.posts, a.scratch)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
