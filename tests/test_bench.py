"""Smoke test of `make bench`: the quick run must produce every section with real figures,
so the benchmark cannot silently rot. (The figures themselves are not asserted: speed is
measured by `make bench`, not tested.) The coverage section's counts are checked against an
independent count from a small recording."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.coverage import compare

from polit.replay.simulate import simulate
from tests.replay_helpers import recording_truth

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_quick_bench_writes_every_section(tmp_path: Path, recording: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["command"] == "make bench"
    assert results["machine"]["nproc"] >= 1
    sections = results["sections"]
    assert set(sections) == {
        "crawl_vs_seed", "throughput", "merge_cost", "dashboard", "coverage", "scale"
    }  # fmt: skip

    crawl = sections["crawl_vs_seed"]
    for scenario in crawl["scenarios"].values():
        totals = scenario["totals"]
        for who in ("polit", "seed"):
            t = totals["all_cycles"][who]
            assert t["requests"] > 0 and t["bytes"] > 0 and t["wall_s"] > 0 and t["posts"] > 0
        assert totals["all_cycles"]["requests_ratio"] > 0
        # An unchanged board: polit asks once (304), the seed fetches every thread again.
        unchanged = totals["unchanged_board"]
        assert unchanged["polit"]["requests"] == 1
        assert unchanged["seed"]["requests"] > 100

    tp = sections["throughput"]
    assert {r["workers"] for r in tp["runs"]} == {1, 2}
    for r in tp["runs"]:
        assert r["posts"] > 0 and r["posts_per_s"] > 0 and r["output_bytes"] > 0
        assert r["memory"]["peak_rss_self_mb"] > 0
        # PSS is sampled only in the untimed memory runs, one per worker count
        assert (r["memory"]["peak_pss_tree_mb"] is not None) == r["sampled"]
    assert sorted(r["workers"] for r in tp["runs"] if r["sampled"]) == [1, 2]
    assert all(w["memory"]["peak_pss_tree_mb"] > 0 for w in tp["by_workers"].values())
    assert all(v > 0 for v in tp["profile"]["stages_s"].values())
    assert tp["limiting_stage"] in tp["profile"]["stages_s"]
    assert isinstance(tp["target"]["met"], bool)

    dash = sections["dashboard"]
    for view in (dash["render"], dash["render"]["interactive"]):
        assert view["cold_s"] > 0 and all(s > 0 for s in view["warm_s"])
    assert dash["render"]["startup_s"] > 0 and dash["render"]["console_errors"] == []
    assert dash["target"]["measured_s"] == dash["render"]["cold_s"]

    merge = sections["merge_cost"]
    assert [s["size"] for s in merge["sizes"]] == merge["config"]["sizes"]
    for s in merge["sizes"]:
        assert s["base_posts"] > 0 and s["full"]["wall_s"] > 0 and s["full"]["peak_rss_mb"] > 0
        assert s["new_batch"]["min_no"] > s["lake"]["max_no"]  # newer than the base
        assert s["incremental"]["models_s"] > 0
        assert s["incremental"]["posts_after"] == s["base_posts"] + s["new_batch"]["posts"]
    assert isinstance(merge["target"]["met"], bool)

    cov = sections["coverage"]["runs"]
    assert cov["watch"]["posts"] >= cov["hourly"]["posts"] > 0
    assert all(0 <= r["share"] <= 1 and r["requests"] > 0 for r in cov.values())

    scale = sections["scale"]
    assert [r["size"] for r in scale["rows"]] == scale["config"]["sizes"]
    for r in scale["rows"]:
        assert r["failed"] is None
        assert r["posts"] >= r["size"] and r["delta_posts"] > 0
        assert r["incremental_posts_after"] == r["posts"] + r["delta_posts"]  # nothing lost
        assert r["generate_posts_per_s"] > 0 and r["import_posts_per_s"] > 0
        assert r["gz_bytes_per_post"] > 0 and r["lake_bytes_per_post"] > 0
        assert r["load_s"] > 0 and r["full_build_s"] > 0 and r["incremental_build_s"] > 0
        assert 0 < r["peak_memory_mb"] < 8 * 1024
    assert all(isinstance(t["met"], bool) for t in scale["targets"].values())
    assert scale["profiles"]["import"]["cumulative_s"]["posts.py:parse_thread"] > 0
    assert scale["profiles"]["generator"]["stages_s"]["simulation"] > 0

    md = (tmp_path / "results.md").read_text()
    assert "make bench" in md
    for heading in (
        "## Crawl cost per cycle",
        "## Parse + write throughput",
        "## Incremental merge cost",
        "## Coverage",
        "## Scale",
    ):
        assert heading in md
    assert "| workers | run | posts/s |" in md
    assert "| # | snapshot (UTC) |" in md


def _served(recording: Path, snapshots: list[int], archives: bool) -> set[int]:
    """Posts in the live bodies of these snapshots, plus (with `archives`) in the body of
    every thread archived during the replay: straight from the recording's files."""
    meta = json.loads((recording / "recording.json").read_text())
    dirs = [recording / s["dir"] for s in meta["snapshots"]]
    paths = []
    for i in snapshots:
        pages = json.loads((dirs[i] / "threads.json").read_text())
        paths += [dirs[i] / "thread" / f"{t['no']}.json" for p in pages for t in p["threads"]]
    if archives:
        baseline = set(json.loads((dirs[0] / "archive.json").read_text()))
        paths += [p for d in dirs for p in (d / "archive").glob("*.json")
                  if int(p.stem) not in baseline]  # fmt: skip
    return {post["no"] for p in paths for post in json.loads(p.read_text())["posts"]}


def _deleted(recording: Path) -> set[int]:
    """Posts missing from the last complete copy of their thread (a copy holding fewer posts
    than the OP's `replies` + 1 hides a few that come back), straight from the files."""
    meta = json.loads((recording / "recording.json").read_text())
    dirs = [recording / s["dir"] for s in meta["snapshots"]]
    baseline = set(json.loads((dirs[0] / "archive.json").read_text()))
    copies: dict[int, list[list[dict]]] = {}  # thread -> its copies, in order
    for d in dirs:
        listed = [
            t["no"] for p in json.loads((d / "threads.json").read_text()) for t in p["threads"]
        ]
        for no in listed:
            copies.setdefault(no, []).append(
                json.loads((d / "thread" / f"{no}.json").read_text())["posts"]
            )
        for f in sorted((d / "archive").glob("*.json")):
            if int(f.stem) not in baseline:
                copies.setdefault(int(f.stem), []).append(json.loads(f.read_text())["posts"])
    out: set[int] = set()
    for bodies in copies.values():
        complete = [b for b in bodies if len(b) == b[0]["replies"] + 1]
        if complete:
            ever = {p["no"] for b in bodies for p in b}
            out |= ever - {p["no"] for p in complete[-1]}
    return out


@pytest.mark.timeout(300)
def test_coverage_compares_watch_and_hourly_with_the_recording(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    simulate(rec, hours=1, seed=2, posts_per_hour=3000, cadence_minutes=10)  # 7 snapshots
    every = 6  # hourly: snapshots 0 and 6
    res = compare(rec, tmp_path / "work", every=every)

    truth = recording_truth(rec)  # the crawl tests' own count, not the bench's
    posts, deleted = set(truth.post_thread), _deleted(rec)
    assert res["truth"]["posts"] == len(posts) and res["truth"]["deleted_posts"] == len(deleted)
    assert deleted, "the simulation deletes posts"
    # This seed ends on a glitch: a post hidden in the last copy is not counted as deleted.
    assert deleted < truth.deleted
    runs = res["runs"]
    for r in runs.values():
        assert 0 <= r["share"] <= 1 and 0 <= r["deleted_posts_share"] <= 1
        assert r["outside_truth"] == 0 and r["not_in_watch"] == 0 and r["errors"] == 0
        assert r["posts"] + r["missed"] == len(posts)
        assert r["requests"] > 0
    watch, hourly, bare = runs["watch"], runs["hourly"], runs["hourly_no_archive"]
    assert watch["crawls"] == 7 and hourly["crawls"] == bare["crawls"] == 2
    # Every snapshot: everything, every later deletion seen and recorded.
    assert watch["posts"] == len(posts) and watch["share"] == 1
    assert watch["deleted_posts"] == watch["deletions_recorded"] == len(deleted)
    # Hourly: what was on the board at its crawls, plus the final copy of every thread
    # archived in between; without the archive only the former.
    crawled = [0, 6]
    with_archive = _served(rec, crawled, archives=True)
    live_only = _served(rec, crawled, archives=False)
    for r, expected in ((hourly, with_archive), (bare, live_only)):
        assert r["posts"] == len(expected)
        assert r["only_watch"] == len(posts - expected)
        assert r["deleted_posts"] == len(expected & deleted)
        assert (
            r["only_watch_deleted_posts"]
            + r["only_watch_deleted_thread_posts"]
            + r["only_watch_other"]
            == r["only_watch"]
        )
    assert watch["posts"] >= hourly["posts"] >= bare["posts"]
    assert hourly["only_watch"] > 0 and hourly["only_watch_other"] == 0
    assert hourly["deleted_posts"] < watch["deleted_posts"]
