"""Section `crawl_vs_seed`: what one crawl cycle costs, polit vs the seed project's collector.

The shared recording of /pol/ (11 snapshots, 2023-03-27) is replayed twice, by two replay
servers moved forward in lock-step: one serves polit (`BoardCrawler.cycle()` + `flush()`
into a temporary lake, state kept between cycles like `polit watch`), the other serves the
seed's approach, BASC-py4chan fetching threads.json and then every listed thread, every run
(`Board("pol").get_all_threads(expand=True)`; a fresh `Board` per run, as each Mage run was
a fresh process). Both run with no rate limit (max-rps 0), so wall time is work, not
sleeping; "at 1 req/s" is what the same requests cost under 4chan's limit (1 s each).

Requests are counted by the server (its request log), bytes are response bodies as received
by the client. The seed's wall time stops once the posts are parsed into its objects (its
Parquet write is not included); polit's includes writing the Parquet files and the state.

A second scenario crawls the last snapshot once more (an unchanged board).

Run alone: `python -m bench.run --only crawl_vs_seed [--quick]`.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import basc_py4chan
import pyarrow.parquet as pq
import requests
from basc_py4chan import url as seed_url

from bench import log, ratio, recording_path
from bench.throughput import first_arrow_conversion
from polit.chan.client import ChanClient
from polit.config import Settings
from polit.crawl.crawler import BoardCrawler
from polit.lake.store import Lake
from polit.replay.recording import trim_recording
from polit.replay.server import ReplayServer
from polit.replay.simulate import simulate

NAME = "crawl_vs_seed"
TITLE = "Crawl cost per cycle: polit vs the seed's BASC-py4chan collector"
QUICK_SNAPSHOTS = 2
SYNTH_MINUTES = 30  # `polit watch` runs a cycle a minute
SYNTH_MINUTES_QUICK = 1
SYNTH_SEED = 7


# -- the seed's collector, pointed at a replay server -----------------------------------------
@contextlib.contextmanager
def seed_api_at(base_url: str) -> Iterator[None]:
    """Make every BASC-py4chan URL generator built inside the block use `base_url` as its API
    host. The package hard-codes `a.4cdn.org` in `Url.__init__`; this patches that method on
    the class (at runtime only) and restores it afterwards."""
    original = seed_url.Url.__init__

    def init(self: Any, board_name: str, https: bool = False) -> None:
        original(self, board_name, https)
        api = self.URL["domain"]["api"]
        self.URL = _rebase(self.URL, api, base_url.rstrip("/"))

    seed_url.Url.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        seed_url.Url.__init__ = original  # type: ignore[method-assign]


def _rebase(obj: Any, old: str, new: str) -> Any:
    if isinstance(obj, dict):
        return {k: _rebase(v, old, new) for k, v in obj.items()}
    if isinstance(obj, str) and obj.startswith(old):
        return new + obj[len(old) :]
    return obj


def seed_cycle(board: str, seen: set[int]) -> dict[str, Any]:
    """One run of the seed's collector: threads.json, then every thread. Returns client-side
    figures; `seen` collects the post numbers it saw."""
    body_bytes = 0

    def count(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        nonlocal body_bytes
        body_bytes += len(response.content)

    session = requests.Session()
    session.hooks["response"].append(count)
    try:
        t0 = time.perf_counter()
        threads = list(basc_py4chan.Board(board, session=session).get_all_threads(expand=True))
        posts = [p.post_number for t in threads for p in (t.topic, *t.replies)]
        wall = time.perf_counter() - t0
    finally:
        session.close()
    seen.update(posts)
    return {"wall_s": wall, "bytes": body_bytes, "posts": len(posts), "threads": len(threads)}


# -- polit ---------------------------------------------------------------------------------------
def polit_cycle(client: ChanClient, lake: Lake, board: str) -> dict[str, Any]:
    bytes0 = client.stats.bytes
    t0 = time.perf_counter()
    crawler = BoardCrawler(client, lake, board, min_thread_interval=0)
    report = crawler.cycle()
    crawler.flush()
    wall = time.perf_counter() - t0
    if report.errors or report.failed:
        raise RuntimeError(f"polit cycle failed: {report.summary()} {report.errors[:3]}")
    return {
        "wall_s": wall,
        "bytes": client.stats.bytes - bytes0,
        "posts": report.new_posts + report.changed_posts + report.restored_posts,
        "new_posts": report.new_posts,
        "threads": report.threads_fetched,
        "not_modified": report.not_modified,
    }


def served(srv: ReplayServer, before: dict[str, Any]) -> tuple[int, dict[str, int]]:
    """Requests the server answered since `before` (a `srv.state()`), and by status."""
    after = srv.state()
    by = Counter(after["by_status"])
    by.subtract(before["by_status"])
    return after["requests"] - before["requests"], {k: v for k, v in sorted(by.items()) if v}


def lake_distinct_posts(lake: Lake) -> int:
    """Distinct post numbers with a non-tombstone row in the lake (a coverage check)."""
    nos: set[int] = set()
    for f in lake.files("posts"):
        t = pq.read_table(f.path, columns=["no", "deleted_at"])
        live = t.filter(t.column("deleted_at").is_null())
        nos.update(live.column("no").to_pylist())
    return len(nos)


# -- the section ---------------------------------------------------------------------------------
def run(quick: bool, scratch: Path) -> dict[str, Any]:
    rec = recording_path()
    if not (rec / "recording.json").exists():
        raise SystemExit(f"shared recording not found at {rec} (set POLIT_SHARED)")
    if quick:
        rec = trim_recording(rec, scratch / "recording", QUICK_SNAPSHOTS)
    warmup = first_arrow_conversion()
    log(f"{NAME}: first Arrow conversion of the process took {warmup['seconds']:.2f}s")
    recorded = replay_pair(rec, scratch, "recorded")
    minutes = SYNTH_MINUTES_QUICK if quick else SYNTH_MINUTES
    log(f"{NAME}: simulating {minutes} min of a synthetic board, one snapshot a minute")
    synth = scratch / "synthetic"
    summary = simulate(synth, hours=minutes / 60, seed=SYNTH_SEED, cadence_minutes=1)
    synthetic = replay_pair(synth, scratch, "synthetic")
    synthetic["simulation"] = {"minutes": minutes, "seed": SYNTH_SEED, "posts": summary.posts}
    return {
        "title": TITLE,
        "quick": quick,
        "scenarios": {"recorded": recorded, "synthetic_1min": synthetic},
        "first_arrow_conversion": warmup,
        "notes": [
            "max-rps 0 for both; 'at 1 req/s' = requests x 1 s",
            "requests counted server-side (replay request log); bytes = response bodies",
            "seed wall = fetch + parse into BASC-py4chan objects, without its Parquet write; "
            "polit wall = cycle() + flush() (Parquet + state)",
            "polit also fetches archive.json and one final copy of every thread that left "
            "the board (archived); the seed never does, so it misses the posts made between "
            "its last run and the thread's end",
            "both replay servers run in the bench process, so wall times include serving",
            "one-time process warm-up (see below) is done before the first cycle",
        ],
    }


def replay_pair(rec: Path, scratch: Path, label: str) -> dict[str, Any]:
    """Crawl every snapshot of `rec` with both collectors, then the last one again."""
    lake_dir = Path(tempfile.mkdtemp(prefix=f"lake-{label}-", dir=scratch))
    cycles: list[dict[str, Any]] = []
    seed_seen: set[int] = set()
    with (
        ReplayServer(rec) as srv_polit,
        ReplayServer(rec) as srv_seed,
        seed_api_at(srv_seed.url),
        ChanClient(Settings(api_url=srv_polit.url, lake=str(lake_dir), max_rps=0)) as client,
    ):
        board = srv_polit.recording.board
        lake = Lake(str(lake_dir))
        n = len(srv_polit.recording)
        previous_at: str | None = None
        for i in range(n + 1):  # the extra round crawls the last snapshot again
            unchanged = i == n
            at = srv_polit.state()["at"]
            row = {"index": min(i, n - 1), "at": at, "unchanged_rerun": unchanged}
            row["gap_min"] = _gap_minutes(previous_at, at)
            # Alternate who goes first, so neither always meets a warm page cache.
            order = ("polit", "seed") if i % 2 == 0 else ("seed", "polit")
            for who in order:
                if who == "polit":
                    before = srv_polit.state()
                    row["polit"] = polit_cycle(client, lake, board)
                    req, status = served(srv_polit, before)
                else:
                    before = srv_seed.state()
                    row["seed"] = seed_cycle(board, seed_seen)
                    req, status = served(srv_seed, before)
                row[who].update(requests=req, by_status=status)
            for key in ("requests", "bytes", "wall_s"):
                row[f"{key}_ratio"] = ratio(row["seed"][key], row["polit"][key])
            cycles.append(row)
            log(
                f"{NAME} ({label}): snapshot {row['index'] + 1}/{n}"
                f"{' (again)' if unchanged else ''}: "
                f"polit {row['polit']['requests']} req {row['polit']['wall_s']:.2f}s, "
                f"seed {row['seed']['requests']} req {row['seed']['wall_s']:.2f}s"
            )
            previous_at = at
            if i + 1 < n:
                srv_polit.next()
                srv_seed.next()
        polit_distinct = lake_distinct_posts(lake)

    changing = [c for c in cycles if not c["unchanged_rerun"]]
    return {
        "recording": rec.name if label == "synthetic" else str(recording_path()),
        "snapshots": len(changing),
        "cycles": cycles,
        "totals": {
            "all_cycles": _total(changing),
            "steady_cycles": _total(changing[1:]),  # polit starts with an empty state
            "unchanged_board": _total([c for c in cycles if c["unchanged_rerun"]]),
        },
        "distinct_posts": {"polit_lake": polit_distinct, "seed_seen": len(seed_seen)},
    }


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"cycles": len(rows)}
    for who in ("polit", "seed"):
        out[who] = {
            key: round(sum(r[who][key] for r in rows), 4)
            for key in ("requests", "bytes", "wall_s", "posts")
        }
        out[who]["at_1rps_s"] = out[who]["requests"] * 1.0
    for key in ("requests", "bytes", "wall_s"):
        out[f"{key}_ratio"] = ratio(out["seed"][key], out["polit"][key])
    return out


def _gap_minutes(previous: str | None, at: str) -> float | None:
    if previous is None:
        return None
    a, b = (datetime.fromisoformat(x.replace("Z", "+00:00")) for x in (previous, at))
    return round((b - a).total_seconds() / 60, 1)


# -- markdown ------------------------------------------------------------------------------------
def markdown(res: dict[str, Any]) -> str:
    rec = res["scenarios"]["recorded"]
    syn = res["scenarios"]["synthetic_1min"]
    lines = [
        f"## {res['title']}",
        "",
        f"Replay of the recorded board `{Path(rec['recording']).name}` ({rec['snapshots']} "
        f"snapshots{', quick' if res.get('quick') else ''}), and of a synthetic board "
        f"snapshotted every minute ({syn['snapshots']} snapshots, `polit watch`'s default "
        "cadence). Both collectors at max-rps 0; ratios are seed / polit, measured side by "
        "side in this run.",
        "",
        "### Per cycle, recorded board",
        "",
        "| # | snapshot (UTC) | gap (min) | polit req | seed req | req × | polit MB | seed MB "
        "| bytes × | polit s | seed s | wall × | polit new posts | seed posts seen |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in rec["cycles"]:
        p, s = c["polit"], c["seed"]
        label = f"{c['index'] + 1}{' again' if c['unchanged_rerun'] else ''}"
        gap = "-" if c["gap_min"] is None else f"{c['gap_min']:g}"
        lines.append(
            f"| {label} | {c['at'][11:16]} | {gap} | {p['requests']} | {s['requests']} "
            f"| {_x(c['requests_ratio'])} | {_mb(p['bytes'])} | {_mb(s['bytes'])} "
            f"| {_x(c['bytes_ratio'])} | {p['wall_s']:.2f} | {s['wall_s']:.2f} "
            f"| {_x(c['wall_s_ratio'])} | {p['new_posts']:,} | {s['posts']:,} |"
        )
    lines += [
        "",
        "### Totals",
        "",
        "| board | scenario | cycles | polit req | seed req | req × | polit MB | seed MB "
        "| bytes × | polit s | seed s | wall × | polit at 1 req/s | seed at 1 req/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "all_cycles": "changing, all cycles",
        "steady_cycles": "changing, cycles 2.. (polit has state)",
        "unchanged_board": "unchanged (last snapshot again)",
    }
    for board, sc in (("recorded", rec), ("synthetic, 1 min", syn)):
        for key, name in names.items():
            t = sc["totals"][key]
            p, s = t["polit"], t["seed"]
            lines.append(
                f"| {board} | {name} | {t['cycles']} | {p['requests']:,} | {s['requests']:,} "
                f"| {_x(t['requests_ratio'])} | {_mb(p['bytes'])} | {_mb(s['bytes'])} "
                f"| {_x(t['bytes_ratio'])} | {p['wall_s']:.2f} | {s['wall_s']:.2f} "
                f"| {_x(t['wall_s_ratio'])} | {_dur(p['at_1rps_s'])} | {_dur(s['at_1rps_s'])} |"
            )
    lines += ["", "Distinct posts captured (a coverage check, not a cost):", ""]
    for board, sc in (("recorded", rec), ("synthetic, 1 min", syn)):
        d = sc["distinct_posts"]
        lines.append(
            f"- {board}: polit's lake {d['polit_lake']:,}, the seed's runs {d['seed_seen']:,}"
        )
    w = res["first_arrow_conversion"]
    lines += [
        "",
        "Notes:",
        "",
        *[f"- {n}" for n in res["notes"]],
        f"- one-time cost, not in the table: polit's first Arrow conversion in a process took "
        f"{w['seconds']:.2f} s"
        + (" (pyarrow imports pandas on its first `pa.array` call)" if w["imported_pandas"] else "")
        + "; `polit crawl --once` pays it on every run, `polit watch` once",
    ]
    return "\n".join(lines)


def _x(r: float | None) -> str:
    return "-" if r is None else f"{r:g}×"


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f}"


def _dur(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
