"""Smoke test of `make bench`: the quick run must produce every section with real figures,
so the benchmark cannot silently rot. (The figures themselves are not asserted: speed is
measured by `make bench`, not tested.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_quick_bench_writes_every_section(tmp_path: Path, recording: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=460,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["command"] == "make bench"
    assert results["machine"]["nproc"] >= 1
    sections = results["sections"]
    assert set(sections) == {"crawl_vs_seed", "throughput", "merge_cost"}

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
        assert r["memory"]["peak_pss_tree_mb"] > 0 and r["memory"]["peak_rss_self_mb"] > 0
    assert all(v > 0 for v in tp["profile"]["stages_s"].values())
    assert tp["limiting_stage"] in tp["profile"]["stages_s"]
    assert isinstance(tp["target"]["met"], bool)

    merge = sections["merge_cost"]
    assert [s["size"] for s in merge["sizes"]] == merge["config"]["sizes"]
    for s in merge["sizes"]:
        assert s["base_posts"] > 0 and s["full"]["wall_s"] > 0 and s["full"]["peak_rss_mb"] > 0
        assert s["new_batch"]["min_no"] > s["lake"]["max_no"]  # newer than the base
        assert s["incremental"]["models_s"] > 0
        assert s["incremental"]["posts_after"] == s["base_posts"] + s["new_batch"]["posts"]
    assert isinstance(merge["target"]["met"], bool)

    md = (tmp_path / "results.md").read_text()
    assert "make bench" in md
    for heading in (
        "## Crawl cost per cycle",
        "## Parse + write throughput",
        "## Incremental merge cost",
    ):
        assert heading in md
    assert "| workers | run | posts/s |" in md
    assert "| # | snapshot (UTC) |" in md
