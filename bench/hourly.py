"""Section `hourly`: what the hourly job costs as history grows (1M and 10M posts;
`--quick`: one size, 20k, so the smoke test stays short).

Per size N, a base warehouse is built the way a user's would be:

1. A synthetic /pol/ (`polit.replay`'s event-driven `Board`, `POSTS_PER_HOUR` posts an
   hour) runs until it holds at least N posts, to the next hh:25 (when the hourly job
   crawls): that is T. The threads that left the board by then go into the
   lake as final bodies through `ingest_bodies` (the bulk path of `polit import ndjson`,
   with the dataset's scores and entities, 2 workers), observed at the board's time T.
   The board then goes on running, and a recording (`polit replay`'s format) is written of
   its state at T and every hour after, for `RECORDED_HOURS` hours. The real crawler
   (`crawl_once` against a `ReplayServer`, the board's clock) crawls the snapshot at T: the
   live threads, and `archive.json` as its baseline.
2. `polit load` into a fresh DuckDB file, then a full `polit transform`.

Then, on a copy of that base (the warehouse copied, the lake hard-linked: both are only
ever appended to, so the cached base stays pristine), successive hours: the crawler crawls
the next hourly snapshot into the lake (what an hourly `polit crawl --once` writes: the new
posts of live threads and new threads, changed posts, tombstones of deleted posts, the
final copies of threads archived in the hour, deleted threads; replies quote earlier posts,
also the base's), then `polit load` (timed on its own), then `polit transform`, the whole
hourly `dbt build` with its tests. Each is a child process (`polit` through its real CLI);
wall and CPU seconds (the child's `wait4` rusage, its workers included). dbt's
run_results.json gives every node's time: per model, its own time plus its tests'.
Figures are the median over `hours` successive hours (5; `--quick`: 1). The sizes take
turns hour by hour (1M's first hour, 10M's first hour, 1M's second, …), so that a ratio
compares hours measured under the same load from other jobs.

The transform runs `polit.cli` unchanged, with $XDG_CACHE_HOME in the size's scratch (polit
keeps dbt's workdir per warehouse there, so the first hour parses the whole project and the
next ones what changed), except that the workdir it used is noted, to read run_results.json
(where an older polit would use a temporary directory, one is kept for the bench):
`python -m bench.hourly polit --workdir-file F --cache-home D -- transform …`.

Base builds take long at 10M (~40 min), so they can be cached across runs: set
`POLIT_BENCH_CACHE=DIR` (default: the run's scratch directory, removed at the end). A lake
entry is keyed by size, seed, rate and the code that writes the lake (`src/polit/{replay,
chan,crawl,lake}` and `FORMAT`); a base entry by its lake entry, the dbt project's files,
the loader (`src/polit/warehouse`) and the duckdb/dbt versions, so a model change rebuilds
the warehouse (not the lake). The three most recently used base entries per size are kept
(a 10M one is ~4 GB); delete an entry's directory to force a rebuild.
`POLIT_BENCH_HOURLY_SIZES=1000000,10000000` picks the sizes and `POLIT_BENCH_HOURLY_HOURS`
the number of hours.

Run alone: `python -m bench.run --only hourly [--quick]`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import ROOT, log, ratio, run_child
from bench.scale import StepFailed, _group, _tree_bytes, polit, step

NAME = "hourly"
TITLE = "Hourly: one hour of new posts into warehouses of 1M and 10M posts"
BOARD = "pol"
SEED = 1212
POSTS_PER_HOUR = 6_250  # /pol/'s ~150,000 posts a day
RECORDED_HOURS = 6  # hourly snapshots recorded after the base (at most this many trials)
CRAWL_AT_S = 25 * 60  # the hourly crawl runs at :25 (Mage's schedule)
STEP_S = 600  # the board runs in steps of this many seconds, as in generate_threads
FORMAT = 1  # bump when what the generator writes changes: it is part of the cache key
TARGETS: dict[str, Any] = {
    "ratio": 1.3,
    "largest_s": 30.0,
    "smallest": 1_000_000,
    "largest": 10_000_000,
}
FULL: dict[str, Any] = {"sizes": [1_000_000, 10_000_000], "hours": 5}
QUICK: dict[str, Any] = {"sizes": [20_000], "hours": 1}
CACHE_ENV = "POLIT_BENCH_CACHE"
SIZES_ENV = "POLIT_BENCH_HOURLY_SIZES"
HOURS_ENV = "POLIT_BENCH_HOURLY_HOURS"
KEEP_BASES = 3  # base entries kept per size, the most recently used (before, after, next)
SLOWEST = 12  # nodes listed per run, slowest first
LAKE_CODE = ("replay", "chan", "crawl", "lake")  # src/polit/… that shapes the lake
BASE_CODE = ("warehouse",)  # … and the raw tables loaded from it (dbt does the rest)
GENERATED = {"target", "logs", "dbt_packages", ".user.yml", "__pycache__"}


# -- the section (parent side) -----------------------------------------------------------------
def run(quick: bool, scratch: Path) -> dict[str, Any]:
    cfg = config(quick)
    cache = Path(os.environ[CACHE_ENV]).resolve() if os.environ.get(CACHE_ENV) else None
    root = cache or scratch / "cache"
    root.mkdir(parents=True, exist_ok=True)
    project = project_note()  # before the run: the tree may change while it goes on
    log(f"{NAME}: sizes {cfg['sizes']}, {cfg['hours']} hours each, cache {root}; dbt project "
        f"{project['note']}")  # fmt: skip
    sizes = [prepare_size(size, cfg, root, scratch / f"size-{size}") for size in cfg["sizes"]]
    # The sizes take turns, hour by hour, so that both see the same (shared, noisy) machine.
    for hour in range(1, cfg["hours"] + 1):
        for s in sizes:
            if not s["failed"]:
                _attempt(s, lambda s=s, h=hour: s["hours"].append(measure_hour(h, **s["paths"])))
    for s in sizes:
        if not s["failed"]:
            _attempt(s, lambda s=s: s.update(after=count_child(s["paths"]["wh"])))
        shutil.rmtree(scratch / f"size-{s['size']}", ignore_errors=True)
        s["median"] = medians(s["hours"])
        del s["paths"]  # scratch, gone
    return summarize(cfg, sizes, quick, cached=cache is not None, project=project)


def config(quick: bool) -> dict[str, Any]:
    cfg = {**(QUICK if quick else FULL), "posts_per_hour": POSTS_PER_HOUR, "seed": SEED}
    if os.environ.get(SIZES_ENV):
        cfg["sizes"] = [int(s) for s in os.environ[SIZES_ENV].replace("_", "").split(",")]
    if os.environ.get(HOURS_ENV):
        cfg["hours"] = int(os.environ[HOURS_ENV])
    if not 1 <= cfg["hours"] <= RECORDED_HOURS:
        raise ValueError(f"{HOURS_ENV} must be 1..{RECORDED_HOURS}")
    return cfg


def prepare_size(size: int, cfg: dict[str, Any], root: Path, work: Path) -> dict[str, Any]:
    """The base of a size (from the cache, or built into it), copied into `work`."""
    out: dict[str, Any] = {"size": size, "failed": None, "hours": [], "paths": {}}

    def prepare() -> None:
        lake_entry, lake_cached = ensure_lake(size, cfg, root)
        base_entry, base_cached = ensure_base(size, lake_entry, root)
        lake_meta = json.loads((lake_entry / "meta.json").read_text())
        base_meta = json.loads((base_entry / "meta.json").read_text())
        # the build's figures come from the run that built it (this one, or an earlier one)
        out["lake_build"] = {**lake_meta["built"], "cached": lake_cached}
        out["base_build"] = {**base_meta.pop("built"), "cached": base_cached}
        out["base"] = {**lake_meta["base"], **base_meta}
        out["cache_entries"] = [lake_entry.name, base_entry.name]
        work.mkdir()
        lake, wh = work / "lake", work / "warehouse.duckdb"
        t0 = time.perf_counter()
        shutil.copyfile(base_entry / "warehouse.duckdb", wh)
        shutil.copytree(lake_entry / "lake", lake, copy_function=os.link)
        out["copy_s"] = round(time.perf_counter() - t0, 1)
        log(f"{NAME}: {size:,}: base copied in {out['copy_s']:.0f}s ({_mb(wh)} MB warehouse)")
        out["paths"] = {"recording": lake_entry / "recording", "lake": lake, "wh": wh,
                        "work": work}  # fmt: skip

    _attempt(out, prepare)
    return out


def _attempt(out: dict[str, Any], action: Any) -> None:
    """Run a step of a size; a failure is recorded and ends that size's measurements."""
    try:
        action()
    except StepFailed as exc:
        out["failed"] = exc.result["step"]
        out["error"] = exc.result.get("error", "")[-3000:]
        log(f"{NAME}: {out['size']:,}: {exc}: {out['error'][-500:]}")
    except (OSError, RuntimeError, ValueError) as exc:  # a full disk, a failed child
        out["failed"] = f"{type(exc).__name__}: {exc}"
        log(f"{NAME}: {out['size']:,}: {out['failed']}")


def count_child(warehouse: Path) -> dict[str, Any]:
    return run_child("bench.hourly", "count", "--warehouse", str(warehouse))


def measure_hour(hour: int, recording: Path, lake: Path, wh: Path, work: Path) -> dict[str, Any]:
    """Crawl the hour's snapshot, then `polit load` and `polit transform`, each timed."""
    crawl = run_child(
        "bench.hourly", "crawl", "--recording", str(recording), "--lake", str(lake),
        "--index", str(hour),
    )  # fmt: skip
    spill = {"spill": Path(f"{wh}.tmp")}
    load = step(f"load-{hour}", polit("load", "--lake", str(lake), "--warehouse", str(wh),
                                      "--json"), work, watch=spill)  # fmt: skip
    tf = transform_step(f"transform-{hour}", wh, work)
    res: dict[str, Any] = {
        "hour": hour,
        "crawl": crawl,
        "load": _figures(load),
        "transform": _figures(tf),
    }
    loaded = load.get("output")
    res["load"]["rows"] = loaded.get("rows") if isinstance(loaded, dict) else None
    res["transform"]["dbt"] = tf["dbt"]
    top = sorted(tf["dbt"]["per_model"].items(), key=lambda kv: -kv[1]["total_s"])[:3]
    log(
        f"{NAME}: hour {hour} ({crawl['board_time']}): {crawl['new_posts']:,} new posts, "
        f"{crawl['deleted_posts']} tombstones; load {load['wall_s']:.1f}s; transform "
        f"{tf['wall_s']:.1f}s wall, {tf['cpu_s']:.1f} CPU-s (dbt nodes "
        f"{tf['dbt']['nodes_s']:.1f}s; "
        + ", ".join(f"{m} {v['total_s']:.1f}s" for m, v in top)
        + f"), load avg {tf['load_before']}"
    )
    return res


def _figures(s: dict[str, Any]) -> dict[str, Any]:
    keys = ("command", "wall_s", "cpu_s", "maxrss_mb", "peak_pss_tree_mb", "spill_peak_mb",
            "load_before", "load_after")  # fmt: skip
    return {k: s[k] for k in keys if k in s}


def transform_cmd(warehouse: Path, record: Path, cache_home: Path) -> list[str]:
    """`polit transform` through its real CLI, recording where dbt's workdir is (see
    `cli_recording_workdir`), with `cache_home` as $XDG_CACHE_HOME. On a fresh warehouse that
    is the full build, then the hourly (incremental) one."""
    return [sys.executable, "-m", "bench.hourly", "polit", "--workdir-file", str(record),
            "--cache-home", str(cache_home), "--", "transform", "--warehouse",
            str(warehouse)]  # fmt: skip


def transform_step(name: str, warehouse: Path, work: Path) -> dict[str, Any]:
    """A `polit transform` step (scale.step: wall, CPU, memory, spill) and dbt's timings.
    polit keeps its dbt workdir per warehouse in `work/cache-home`, as in a user's cache
    directory: the first run parses the whole project, the next ones only what changed."""
    record = work / f"{name}.workdir"
    spill = {"spill": Path(f"{warehouse}.tmp")}
    res = step(name, transform_cmd(warehouse, record, work / "cache-home"), work, watch=spill)
    used = Path(record.read_text())
    res["dbt"] = dbt_timings(used)
    res["dbt"]["workdir_kept_by_polit"] = used != fallback_workdir(record)
    shutil.rmtree(fallback_workdir(record), ignore_errors=True)
    return res


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:,.0f}"


# -- the cache -----------------------------------------------------------------------------------
def tree_hash(paths: list[Path], h: Any = None) -> Any:
    """sha256 over the files under `paths` (names and bytes), generated files left out."""
    h = h or hashlib.sha256()
    for top in paths:
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for f in files:
            rel = f.relative_to(top.parent)
            if GENERATED & set(rel.parts):
                continue
            h.update(str(rel).encode() + b"\0" + f.read_bytes() + b"\0")
    return h


def dbt_project() -> Path:
    configured = os.environ.get("POLIT_DBT_PROJECT")
    return Path(configured).resolve() if configured else ROOT / "dbt"


def project_note() -> dict[str, Any]:
    """Which dbt project is measured: its hash, and the commit whose `dbt/` it is, if any
    (HEAD, or the last commit before `dbt/` changed: `POLIT_DBT_PROJECT` may hold an
    export of older models, to measure them against the new ones)."""
    path = dbt_project()
    info: dict[str, Any] = {"path": str(path), "hash": tree_hash([path]).hexdigest()[:12]}
    where = f"`POLIT_DBT_PROJECT={path}`" if os.environ.get("POLIT_DBT_PROJECT") else "`dbt/`"
    try:
        head = _git("rev-parse", "--short", "HEAD").strip()
        info["head"], info["as_of"] = head, None
        newer = None  # the commit after which `dbt/` no longer was what `rev` made it
        for rev in _git("log", "--format=%h", "-n", "30", "--", "dbt").split():
            if _committed_dbt_hash(rev) == info["hash"]:
                info["as_of"] = _git("rev-parse", "--short", f"{newer}^").strip() if newer else head
                break
            newer = rev
    except (OSError, subprocess.SubprocessError, tarfile.TarError):
        info["note"] = f"{where} (hash {info['hash']})"
        return info
    info["note"] = (
        f"{where}, the models as committed at {info['as_of']}"
        if info["as_of"]
        else f"{where}, changed since {head}"
    ) + f" (hash {info['hash']})"
    return info


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=60).stdout  # fmt: skip


def _committed_dbt_hash(rev: str) -> str:
    """tree_hash of `dbt/` as committed at `rev`."""
    archive = subprocess.run(["git", "archive", rev, "dbt"], cwd=ROOT, capture_output=True,
                             check=True, timeout=60)  # fmt: skip
    with (
        tempfile.TemporaryDirectory() as tmp,
        tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar,
    ):
        tar.extractall(tmp, filter="data")
        return str(tree_hash([Path(tmp) / "dbt"]).hexdigest()[:12])


def lake_key(size: int, cfg: dict[str, Any]) -> str:
    h = hashlib.sha256(json.dumps([FORMAT, size, BOARD, cfg["seed"], cfg["posts_per_hour"],
                                   RECORDED_HOURS]).encode())  # fmt: skip
    tree_hash([ROOT / "src" / "polit" / d for d in LAKE_CODE], h)
    return f"lake-{size}-{h.hexdigest()[:12]}"


def base_key(size: int, lake_entry: str) -> str:
    versions = [metadata.version(p) for p in ("duckdb", "dbt-core", "dbt-duckdb")]
    h = hashlib.sha256(json.dumps([lake_entry, versions]).encode())
    tree_hash([dbt_project(), *(ROOT / "src" / "polit" / d for d in BASE_CODE)], h)
    return f"base-{size}-{h.hexdigest()[:12]}"


@contextmanager
def building(root: Path, key: str) -> Iterator[Path]:
    """A scratch directory that becomes `root/key` only once the block completes."""
    tmp = root / f".building-{key}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        try:
            tmp.rename(root / key)
        except OSError:  # built meanwhile by another run: keep that one
            if not (root / key / "meta.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ensure_lake(size: int, cfg: dict[str, Any], root: Path) -> tuple[Path, bool]:
    """The cached lake + recording of this size, generated (and crawled at T) if missing."""
    key = lake_key(size, cfg)
    entry = root / key
    if (entry / "meta.json").exists():
        log(f"{NAME}: {size:,}: lake from the cache ({entry})")
        return entry, True
    log(f"{NAME}: {size:,}: generating the base lake and {RECORDED_HOURS} hours of board")
    with building(root, key) as tmp:
        gen = step("generate", [sys.executable, "-m", "bench.hourly", "generate",
                                "--posts", str(size), "--seed", str(cfg["seed"]),
                                "--posts-per-hour", str(cfg["posts_per_hour"]),
                                "--lake", str(tmp / "lake"), "--recording",
                                str(tmp / "recording")], tmp)  # fmt: skip
        base = gen.pop("output")
        built = {"generate": gen}
        log(f"{NAME}: {size:,}: {base['posts']:,} posts in the lake in {gen['wall_s']:.0f}s "
            f"({gen['cpu_s']:.0f} CPU-s), board time {base['board_time']}")  # fmt: skip
        for f in (tmp / "lake").rglob("*"):  # the trials hard-link these: keep them intact
            if f.is_file():
                f.chmod(0o444)
        (tmp / "meta.json").write_text(json.dumps({"base": base, "built": built}, indent=1))
    return entry, False


def ensure_base(size: int, lake_entry: Path, root: Path) -> tuple[Path, bool]:
    """The cached base warehouse: `polit load` + a full `polit transform` of the lake."""
    key = base_key(size, lake_entry.name)
    entry = root / key
    if (entry / "meta.json").exists():
        log(f"{NAME}: {size:,}: base warehouse from the cache ({entry})")
        os.utime(entry / "meta.json")  # most recently used
        return entry, True
    with building(root, key) as tmp:
        wh = tmp / "warehouse.duckdb"
        spill = {"spill": Path(f"{wh}.tmp")}
        log(f"{NAME}: {size:,}: polit load of the base")
        load = step("load", polit("load", "--lake", str(lake_entry / "lake"), "--warehouse",
                                  str(wh), "--json"), tmp, watch=spill)  # fmt: skip
        log(f"{NAME}: {size:,}: load {load['wall_s']:.0f}s; full polit transform")
        full = transform_step("full_build", wh, tmp)
        log(f"{NAME}: {size:,}: full build {full['wall_s']:.0f}s ({full['cpu_s']:.0f} CPU-s)")
        built = {"load": _figures(load), "full_build": _figures(full)}
        built["full_build"]["dbt"] = full["dbt"]
        counts = count_child(wh)
        for extra in (tmp / "cache-home", Path(f"{wh}.tmp")):
            shutil.rmtree(extra, ignore_errors=True)
        meta = {"warehouse": counts, "warehouse_bytes": wh.stat().st_size, "built": built,
                "built_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "dbt_project": str(dbt_project()),
                "dbt_hash": tree_hash([dbt_project()]).hexdigest()[:12]}  # fmt: skip
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    prune_bases(root, size)
    return entry, False


def prune_bases(root: Path, size: int) -> None:
    """Keep the KEEP_BASES most recently used base entries of a size (a 10M one is GBs)."""
    entries = sorted(root.glob(f"base-{size}-*/meta.json"), key=lambda p: -p.stat().st_mtime)
    for meta in entries[KEEP_BASES:]:
        log(f"{NAME}: removing the old cache entry {meta.parent}")
        shutil.rmtree(meta.parent, ignore_errors=True)


# -- figures -------------------------------------------------------------------------------------
def dbt_timings(workdir: Path) -> dict[str, Any]:
    """Every node's time from run_results.json, and per model: its own time plus its tests'
    (data tests by the model they are attached to, unit tests by the model they test)."""
    target = workdir / "target"
    results = json.loads((target / "run_results.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    nodes = {**manifest.get("nodes", {}), **manifest.get("unit_tests", {})}
    per_model: dict[str, dict[str, Any]] = {}
    by_group: dict[str, float] = {}
    statuses: dict[str, int] = {}
    timed = []
    for r in results["results"]:
        uid, s = r["unique_id"], float(r["execution_time"])
        node = nodes.get(uid, {})
        kind = uid.split(".", 1)[0]
        if kind == "exposure":  # the dashboard and report: dbt builds nothing for them
            continue
        owner = _owner(uid, node, manifest)
        entry = per_model.setdefault(
            owner, {"model_s": 0.0, "tests_s": 0.0, "tests": 0, "total_s": 0.0, "folder": None}
        )
        if kind in ("model", "seed"):
            entry["model_s"] += s
            entry["folder"] = _group(uid, node.get("original_file_path", ""))
        else:
            entry["tests_s"] += s
            entry["tests"] += 1
        entry["total_s"] += s
        group = _group(uid, node.get("original_file_path", ""))
        by_group[group] = by_group.get(group, 0.0) + s
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        timed.append({"node": uid.split(".")[2] if kind == "model" else uid.split(".", 2)[-1],
                      "kind": kind, "model": owner, "s": round(s, 3)})  # fmt: skip
    for entry in per_model.values():
        for k in ("model_s", "tests_s", "total_s"):
            entry[k] = round(entry[k], 3)
    return {
        "dbt_elapsed_s": round(results["elapsed_time"], 2),
        "nodes": len(results["results"]),
        "nodes_s": round(sum(r["execution_time"] for r in results["results"]), 2),
        "statuses": statuses,
        "by_group_s": {k: round(v, 2) for k, v in sorted(by_group.items(), key=lambda kv: -kv[1])},
        "per_model": dict(sorted(per_model.items(), key=lambda kv: -kv[1]["total_s"])),
        "slowest": sorted(timed, key=lambda t: -t["s"])[:SLOWEST],
        **dbt_phases(workdir / "logs" / "dbt.log", results["metadata"].get("invocation_id")),
    }


# Lines of dbt.log that start and end its phases: "Running with dbt=…" (dbt starts),
# "Registered adapter" (parse starts), "Found 23 models, …" (parse done), the last line.
PHASES = {"start": "Running with dbt=", "adapter": "Registered adapter:", "parsed": "Found "}
FULL_PARSE = "Unable to do partial parsing"


def dbt_phases(log_path: Path, invocation: str | None) -> dict[str, Any]:
    """Seconds of dbt's start-up phases, from the timestamps of the invocation's lines in
    dbt.log (which a kept workdir appends to): `parse_s`, whether it was a full parse (no
    usable manifest from an earlier run), and `log_span_s` (first to last line: the
    transform's wall minus it is Python, polit and dbt imports before dbt logs anything)."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return {}
    if invocation and invocation in text:  # its section starts with a banner naming it
        text = text[text.index(invocation) :].split("\n=====", 1)[0]
    seen: dict[str, float] = {}
    last = None
    for line in text.splitlines():
        stamp, _, rest = line.partition(" ")
        try:
            hh, mm, ss = stamp.split(":")
            t = int(hh) * 3600 + int(mm) * 60 + float(ss)
        except ValueError:
            continue
        if last is not None and t < last - 43200:  # past midnight
            t += 86400
        last = t
        message = rest.split("]: ", 1)[-1]
        for phase, prefix in PHASES.items():
            if phase not in seen and message.startswith(prefix):
                seen[phase] = t
    if len(seen) < len(PHASES) or last is None:
        return {}
    return {
        "parse_s": round(seen["parsed"] - seen["adapter"], 2),
        "full_parse": FULL_PARSE in text,
        "log_span_s": round(last - seen["start"], 2),
    }


def _owner(uid: str, node: dict[str, Any], manifest: dict[str, Any]) -> str:
    """The model (or seed) a node belongs to: itself, or the model its test is about."""
    kind = uid.split(".", 1)[0]
    if kind in ("model", "seed"):
        return node.get("name") or uid.rsplit(".", 1)[-1]
    if kind == "unit_test":
        return node.get("model") or "(unit tests)"
    attached = node.get("attached_node")
    if not attached:
        models = [n for n in node.get("depends_on", {}).get("nodes", []) if n.startswith("model.")]
        attached = models[0] if len(models) == 1 else None
    if attached:
        return manifest.get("nodes", {}).get(attached, {}).get("name") or attached.split(".")[-1]
    return "(other tests)"


def medians(hours: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Medians over the hours: the crawl's counts, load and transform seconds, per model."""
    if not hours:
        return None

    def med(*path: str) -> float:
        values = []
        for h in hours:
            v: Any = h
            for key in path:
                v = v.get(key, 0.0) if isinstance(v, dict) else 0.0
            values.append(v)
        return round(statistics.median(values), 3)

    models = {m for h in hours for m in h["transform"]["dbt"]["per_model"]}
    per_model = {m: med("transform", "dbt", "per_model", m, "total_s") for m in models}
    startup = [h["transform"]["wall_s"] - h["transform"]["dbt"]["dbt_elapsed_s"] for h in hours]
    rows = [h["crawl"]["post_rows"] + h["crawl"]["thread_rows"] for h in hours]
    return {
        "new_posts": med("crawl", "new_posts"),
        "changed_posts": med("crawl", "changed_posts"),
        "tombstones": med("crawl", "deleted_posts"),
        "archived_threads": med("crawl", "archived_threads"),
        "lake_rows": statistics.median(rows),
        "load_wall_s": med("load", "wall_s"),
        "load_cpu_s": med("load", "cpu_s"),
        "transform_wall_s": med("transform", "wall_s"),
        "transform_cpu_s": med("transform", "cpu_s"),
        "dbt_elapsed_s": med("transform", "dbt", "dbt_elapsed_s"),
        "nodes_s": med("transform", "dbt", "nodes_s"),
        "startup_s": round(statistics.median(startup), 3),
        "parse_s": med("transform", "dbt", "parse_s"),
        "full_parses": sum(bool(h["transform"]["dbt"].get("full_parse")) for h in hours),
        "per_model_s": dict(sorted(per_model.items(), key=lambda kv: -kv[1])),
    }


def summarize(
    cfg: dict[str, Any],
    sizes: list[dict[str, Any]],
    quick: bool,
    cached: bool,
    project: dict[str, Any],
) -> dict[str, Any]:
    done = [s for s in sizes if s["median"]]
    smallest = done[0] if done else None
    for s in done:
        m, base = s["median"], smallest["median"]  # type: ignore[index]
        s["vs_smallest"] = {
            "transform_wall": ratio(m["transform_wall_s"], base["transform_wall_s"]),
            "transform_cpu": ratio(m["transform_cpu_s"], base["transform_cpu_s"]),
            "load_wall": ratio(m["load_wall_s"], base["load_wall_s"]),
        }
    by_size = {s["size"]: s for s in done}
    small, large = by_size.get(TARGETS["smallest"]), by_size.get(TARGETS["largest"])
    measured_ratio = cpu_ratio = None
    if small is not None and large is not None:  # judged only between the target's sizes
        measured_ratio = ratio(
            large["median"]["transform_wall_s"], small["median"]["transform_wall_s"]
        )
        cpu_ratio = ratio(large["median"]["transform_cpu_s"], small["median"]["transform_cpu_s"])
    largest_s = large["median"]["transform_wall_s"] if large else None
    targets = {
        "ratio": {
            "target": TARGETS["ratio"],
            "sizes": [TARGETS["largest"], TARGETS["smallest"]],
            "measured": measured_ratio,
            "measured_cpu": cpu_ratio,
            "met": measured_ratio is not None and measured_ratio <= TARGETS["ratio"],
        },
        "largest": {
            "target_s": TARGETS["largest_s"],
            "size": TARGETS["largest"],
            "measured_s": largest_s,
            "met": largest_s is not None and largest_s <= TARGETS["largest_s"],
        },
    }  # fmt: skip
    return {
        "title": TITLE,
        "quick": quick,
        "config": cfg,
        "cache": "POLIT_BENCH_CACHE" if cached else "scratch (removed)",
        "dbt_project": project,
        "duckdb_memory_limit": os.environ.get("POLIT_DUCKDB_MEMORY_LIMIT") or "4GB",
        "sizes": sizes,
        "targets": targets,
    }


# -- markdown ------------------------------------------------------------------------------------
def _n(v: Any, fmt: str = ",.0f", suffix: str = "") -> str:
    return "-" if v is None else f"{v:{fmt}}{suffix}"


def markdown(res: dict[str, Any]) -> str:
    cfg, t = res["config"], res["targets"]
    sizes = res["sizes"]
    lines = [
        f"## {res['title']}",
        "",
        "Per size, a base built as a user's would be: a synthetic /pol/ "
        f"({cfg['posts_per_hour']:,} posts/h) run until the size is reached, its finished "
        "threads into the lake (`ingest_bodies`, the bulk path of `polit import ndjson`), its "
        "live threads crawled by the real crawler from a replay, then `polit load` and a full "
        "`polit transform`. On a copy of the base, "
        f"{cfg['hours']} successive hours of the same board: the crawler crawls the next hourly "
        "snapshot (new posts in live and new threads, quotes of earlier posts, tombstones, "
        "archived and deleted threads), `polit load`, then the hourly `polit transform` (the "
        "whole `dbt build`, tests included), each a child process; medians over the hours. "
        "CPU = the child's user + system seconds, its workers included. *start-up* = "
        "transform wall minus dbt's own elapsed time of its run phase: Python, polit and dbt "
        "imports, and dbt's parse of the project (from dbt.log's timestamps; in full where "
        "dbt found no manifest of an earlier run to parse partially: *full parses* of the "
        "hours); *dbt nodes* = "
        f"the sum of the node times. dbt project: {res['dbt_project']['note']}. DuckDB "
        f"`memory_limit` {res['duckdb_memory_limit']}." + (" Quick sizes." if res["quick"] else ""),
        "",
        "| base posts | the hour: new posts / changed / tombstones / archived threads (lake rows) "
        "| `polit load` s (CPU) | transform wall s | transform CPU s "
        "| start-up s (parse; full parses) | dbt nodes s | wall vs smallest | CPU vs smallest "
        "| each hour: transform wall s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in sizes:
        m = s["median"]
        posts = (s.get("base") or {}).get("warehouse", {}).get("posts") or s["size"]
        if not m:
            lines.append(f"| {posts:,} | **failed at {s['failed']}** | | | | | | | | |")
            continue
        v = s["vs_smallest"]
        each = ", ".join(f"{h['transform']['wall_s']:.1f}" for h in s["hours"])
        lines.append(
            f"| {posts:,} | {_n(m['new_posts'])} / {_n(m['changed_posts'])} / "
            f"{_n(m['tombstones'])} / {_n(m['archived_threads'])} ({_n(m['lake_rows'])}) "
            f"| {m['load_wall_s']:.1f} ({m['load_cpu_s']:.1f}) | {m['transform_wall_s']:.1f} "
            f"| {m['transform_cpu_s']:.1f} | {m['startup_s']:.1f} ({_n(m.get('parse_s'), '.1f')}; "
            f"{_n(m.get('full_parses'))} of {len(s['hours'])}) "
            f"| {m['nodes_s']:.1f} "
            f"| {_n(v['transform_wall'], 'g', '×')} | {_n(v['transform_cpu'], 'g', '×')} "
            f"| {each}{' (then failed)' if s['failed'] else ''} |"
        )
    verdict = {True: "**met**", False: "**not met**"}
    r, big = t["ratio"], t["largest"]
    lines += [
        "",
        f"- {r['sizes'][0]:,} / {r['sizes'][1]:,} posts, hourly transform wall ≤ "
        f"{r['target']:g}×: "
        + (
            f"{verdict[r['met']]} ({r['measured']:g}×; CPU {_n(r['measured_cpu'], 'g')}×)"
            if r["measured"] is not None
            else "not measured at those sizes in this run"
        )
        + ".",
        f"- The hourly transform at {big['size']:,} posts ≤ {big['target_s']:g} s: "
        + (
            f"{verdict[big['met']]} ({big['measured_s']:.1f} s)"
            if big["measured_s"] is not None
            else "not measured at that size in this run"
        )
        + ".",
    ]
    for s in sizes:
        b, built = s.get("base") or {}, s.get("base_build") or {}
        gen = (s.get("lake_build") or {}).get("generate") or {}
        full, load = built.get("full_build") or {}, built.get("load") or {}
        wh = b.get("warehouse") or {}
        when = "built in this run" if built.get("cached") is False else "from the cache, built"
        slow = ", ".join(
            f"`{m}` {v['total_s']:.0f} s"
            for m, v in list((full.get("dbt") or {}).get("per_model", {}).items())[:3]
        )
        lines.append(
            f"- Base {s['size']:,}: {_n(wh.get('posts'))} posts in {_n(wh.get('threads'))} "
            f"threads up to {b.get('board_time', '?')} (board time), "
            f"{_n((b.get('warehouse_bytes') or 0) / 1e6)} MB; {when} {b.get('built_at', '?')}: "
            f"lake {_n(gen.get('wall_s'))} s ({_n(gen.get('cpu_s'))} CPU-s), load "
            f"{_n(load.get('wall_s'))} s, full transform {_n(full.get('wall_s'))} s "
            f"({_n(full.get('cpu_s'))} CPU-s; {slow or '-'})."
        )
    for s in sizes:
        if s["median"]:
            hour = _median_hour(s["hours"])
            slow = ", ".join(
                f"`{t['node']}` {t['s']:.2f} s"
                for t in hour["transform"]["dbt"].get("slowest", [])[:6]
            )
            if slow:
                lines.append(f"- Slowest nodes at {s['size']:,} (hour {hour['hour']}): {slow}.")
    models = _model_order(sizes)
    done = [s for s in sizes if s["median"]]
    if models and done:
        head = " | ".join(f"{s['size']:,}" for s in done)
        lines += [
            "",
            "Per model, median seconds of the model plus its tests (data tests by the model "
            "they are attached to, unit tests by the model they test):",
            "",
            f"| model | {head} |" + (" largest / smallest |" if len(done) > 1 else ""),
            "|---|" + "---:|" * (len(done) + (len(done) > 1)),
        ]
        for model in models:
            vals = [s["median"]["per_model_s"].get(model) for s in done]
            row = f"| `{model}` | " + " | ".join(_n(v, ".2f") for v in vals) + " |"
            if len(done) > 1:
                row += f" {_n(ratio(vals[-1] or 0, vals[0] or 0), 'g', '×')} |"
            lines.append(row)
    return "\n".join(lines)


def _median_hour(hours: list[dict[str, Any]]) -> dict[str, Any]:
    """The hour whose transform took the median wall time (the lower one of an even count)."""
    ranked = sorted(hours, key=lambda h: h["transform"]["wall_s"])
    return ranked[(len(ranked) - 1) // 2]


def _model_order(sizes: list[dict[str, Any]]) -> list[str]:
    """Models by their time at the largest measured size, slowest first."""
    done = [s for s in sizes if s["median"]]
    if not done:
        return []
    last = done[-1]["median"]["per_model_s"]
    names = {m for s in done for m in s["median"]["per_model_s"]}
    return sorted(names, key=lambda m: (-last.get(m, 0.0), m))


# -- child side ----------------------------------------------------------------------------------
def generate(
    n_posts: int, seed: int, posts_per_hour: int, lake_dir: Path, recording: Path
) -> dict[str, Any]:
    """The base lake (finished threads, then a crawl of the live board at T) and the
    recording of the board at T and every hour after."""
    from polit.importers.ndjson import BODIES_PER_FILE
    from polit.lake.ingest import ingest_bodies
    from polit.lake.store import Lake
    from polit.replay.ndjson import entities, scores
    from polit.replay.simulate import DEFAULT_START, ORIGIN, SnapshotWriter
    from polit.replay.synth_thread import op_body

    t0 = time.perf_counter()
    t_end = end_time(n_posts, seed, posts_per_hour)
    find_s = time.perf_counter() - t0
    sim = _board(seed, posts_per_hour)
    rng = random.Random(f"{seed}-perspectives")
    stats = {"posts": 0, "max_no": 0}

    def finished() -> Iterator[dict[str, Any]]:  # generate_threads, stopping at T
        while sim.clock < t_end:
            sim.progress = min(1.0, sim.created_posts / n_posts)
            sim.run_until(min(sim.clock + STEP_S, t_end))
            for thread in sim.drain_left():
                posts = thread.posts  # off the board: its list can be handed out
                posts[0] = op_body(thread, archived=True)
                for post in posts:  # what the dataset adds (as polit.replay.ndjson does)
                    com = post.get("com")
                    post["entities"] = entities(com)
                    if com:
                        post["perspectives"] = scores(rng)
                stats["posts"] += len(posts)
                stats["max_no"] = max(stats["max_no"], posts[-1]["no"])
                yield {"posts": posts, "extracted_poster_id": posts[0].get("id")}

    t1 = time.perf_counter()
    lake = Lake(str(lake_dir))
    at = datetime.fromtimestamp(t_end, UTC)  # imported at T, as the board stood then
    report = ingest_bodies(lake, BOARD, finished(), f"import-{at:%Y%m%dT%H%M%SZ}",
                           observed_at=at, bodies_per_file=BODIES_PER_FILE,
                           workers=2)  # fmt: skip
    ingest_s = time.perf_counter() - t1
    sim.keep_archive_list = True  # archive.json lists what is archived from T on
    sim.progress = 1.0
    recording.mkdir(parents=True)
    writer = SnapshotWriter(recording, random.Random(f"{seed}-glitch"))
    created = []
    for k in range(RECORDED_HOURS + 1):
        before = sim.created_posts
        sim.run_until(t_end + k * 3600)
        created.append(sim.created_posts - before)
        writer.write(sim, t_end + k * 3600, k)
    index = {"board": BOARD, "origin": f"{ORIGIN}, seed={seed} (bench.hourly)",
             "snapshots": writer.index}  # fmt: skip
    writer.put(recording / "recording.json", json.dumps(index, indent=1).encode())
    crawl = crawl_snapshot(recording, lake_dir, 0)
    return {
        "posts": report.posts + crawl["new_posts"],
        "imported_posts": report.posts,
        "imported_threads": report.threads,
        "import_files": len(report.files),
        "find_end_s": round(find_s, 1),
        "import_s": round(ingest_s, 1),
        "live_posts_at_t": crawl["new_posts"],
        "max_imported_no": stats["max_no"],
        "board_start": _iso(DEFAULT_START.timestamp()),
        "board_time": _iso(t_end),
        "created_per_recorded_hour": created[1:],
        "crawl_at_t": crawl,
        "lake_bytes": _tree_bytes(lake_dir),
        "recording_bytes": writer.bytes,
    }


def _board(seed: int, posts_per_hour: int) -> Any:
    from polit.replay.simulate import DEFAULT_START, new_board

    sim = new_board(seed, BOARD, DEFAULT_START.timestamp(), posts_per_hour)
    sim.keep_archive_list = False  # archive.json starts empty at T: the crawler's baseline
    return sim


def end_time(n_posts: int, seed: int, posts_per_hour: int) -> int:
    """T: the first hh:25 (when the hourly job crawls) at which the board has made at least
    `n_posts` posts still there (finished threads' and live ones'). A dry run of the board
    (same seed, same board), without the dataset's additions and without output."""
    sim = _board(seed, posts_per_hour)
    stored = 0
    while stored + sum(len(th.posts) for th in sim.listing()) < n_posts:
        sim.progress = min(1.0, sim.created_posts / n_posts)
        sim.run_until(sim.clock + STEP_S)
        stored += sum(len(th.posts) for th in sim.drain_left())
    t = int(sim.clock)
    return t + (CRAWL_AT_S - t) % 3600


def _iso(t: float) -> str:
    return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def crawl_snapshot(recording: Path, lake_dir: Path, index: int) -> dict[str, Any]:
    """One `crawl_once` of snapshot `index` of the recording into the lake, on the board's
    clock, as `polit demo` crawls (what `polit crawl --once` writes at that hour)."""
    import pyarrow.parquet as pq

    from polit.chan.client import ChanClient
    from polit.config import Settings
    from polit.crawl.crawler import crawl_once
    from polit.lake.store import Lake
    from polit.replay.server import ReplayServer

    lake = Lake(str(lake_dir))
    before = {f.path for table in ("posts", "threads") for f in lake.files(table)}
    t0 = time.perf_counter()
    with ReplayServer(recording) as server:
        for _ in range(index):
            server.next()
        settings = Settings(api_url=server.url, lake=str(lake_dir), max_rps=0)
        with ChanClient(settings) as client:
            (report,) = crawl_once(client, lake, [BOARD])
        at = server.board_time()
    seconds = time.perf_counter() - t0
    rows = {"posts": 0, "threads": 0}
    for table in rows:
        for f in lake.files(table):
            if f.path not in before:
                rows[table] += pq.ParquetFile(f.path).metadata.num_rows
    if report.failed or report.errors:
        raise RuntimeError(f"crawl of snapshot {index} failed: {report.errors[:3]}")
    return {
        "index": index,
        "board_time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds": round(seconds, 2),
        **{k: getattr(report, k) for k in (
            "requests", "threads_fetched", "new_posts", "changed_posts", "deleted_posts",
            "restored_posts", "archived_threads", "deleted_threads")},
        "post_rows": rows["posts"],
        "thread_rows": rows["threads"],
    }  # fmt: skip


def count(warehouse: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        posts, deleted, newest = con.execute(
            "select count(*), count(deleted_at), max(post_datetime) from main.posts"
        ).fetchone()  # type: ignore[misc]
        threads = con.execute("select count(*) from main.threads").fetchone()[0]  # type: ignore[index]
    finally:
        con.close()
    return {"posts": posts, "deleted_posts": deleted, "threads": threads,
            "newest_post": newest.strftime("%Y-%m-%dT%H:%M:%SZ") if newest else None}  # fmt: skip


def cli_recording_workdir(record: Path, argv: list[str]) -> None:
    """Run the `polit` CLI (`polit.cli.app`) with `argv` and write into `record` the dbt
    workdir it used, where run_results.json lands: the one polit chose (polit keeps one per
    warehouse between runs, under $XDG_CACHE_HOME), or `fallback_workdir(record)` where polit
    would have used a temporary directory, removed at the end (older polit)."""
    from polit.transform import runner

    if not hasattr(runner, "_workdir"):
        raise SystemExit("polit.transform.runner._workdir is gone: update bench/hourly.py")
    chosen = runner._workdir

    @contextmanager
    def recorded(given: Path | None) -> Iterator[Path]:
        with chosen(given if given is not None else fallback_workdir(record)) as used:
            record.write_text(str(used))
            yield used

    runner._workdir = recorded  # type: ignore[assignment]
    from polit.cli import app

    app(args=argv, prog_name="polit")


def fallback_workdir(record: Path) -> Path:
    return record.with_name(record.name + ".dbt")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["polit"]:
        p = argparse.ArgumentParser(prog="python -m bench.hourly polit")
        p.add_argument("--workdir-file", type=Path, required=True)
        p.add_argument("--cache-home", type=Path, required=True)
        p.add_argument("args", nargs=argparse.REMAINDER)
        a = p.parse_args(argv[1:])
        args = a.args[1:] if a.args[:1] == ["--"] else a.args
        os.environ["XDG_CACHE_HOME"] = str(a.cache_home)  # the bench's, not the user's
        cli_recording_workdir(a.workdir_file, args)
        return
    p = argparse.ArgumentParser(prog="python -m bench.hourly")
    p.add_argument("mode", choices=("generate", "crawl", "count"))
    p.add_argument("--posts", type=int)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--posts-per-hour", type=int, default=POSTS_PER_HOUR)
    p.add_argument("--lake", type=Path)
    p.add_argument("--recording", type=Path)
    p.add_argument("--index", type=int, default=1)
    p.add_argument("--warehouse", type=Path)
    a = p.parse_args(argv)
    if a.mode == "generate":
        out = generate(a.posts, a.seed, a.posts_per_hour, a.lake, a.recording)
    elif a.mode == "crawl":
        out = crawl_snapshot(a.recording, a.lake, a.index)
    else:
        out = count(a.warehouse)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
