"""Section `dashboard`: how fast the dashboard renders and the report builds over a big
warehouse.

A lake of 1M posts (`--quick`: 20k) is built with `ingest_bodies` from `generate_threads`,
loaded and transformed (`dbt build`, insight marts included) into a fresh DuckDB file.
Then `polit dashboard` runs as a real subprocess, and headless Chromium (Playwright,
/usr/bin/chromium) opens its default view (the last 7 days of the board) in a fresh
browser context each time: the time from navigation start until every tile has drawn
its charts and tables (`rendered_js`). The first view after the server starts is "cold"
(Streamlit's cache is empty: the mart queries run); the next ones are "warm". The target:
a cold first render under 2 s. The report is timed as `polit report` end to end (a fresh
process, imports included), and in-process split into mart queries and chart rendering.

The browser helpers here are also what tests/test_dashboard.py uses.
Run alone: `python -m bench.run --only dashboard [--quick]`.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import ROOT, log

NAME = "dashboard"
TITLE = "Dashboard render and report build time"
TARGET_RENDER_S = 2.0
BOARD = "pol"
SEED = 777
FULL = {"posts": 1_000_000, "warm_loads": 3}
QUICK = {"posts": 20_000, "warm_loads": 1}

CHROMIUM = os.environ.get("POLIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1400, "height": 5000}  # tall: every tile on one screen (and screenshot)

# True (as performance.now(), ms since navigation start) once every tile is drawn:
# `expected` maps tile name -> [charts, tables].
# The static (default) view: a chart is drawn when its image has loaded, or replaced by a
# "no data" note; a table when it is in the page (or its "none" note).
STATIC_RENDERED_JS = """
(expected) => {
  for (const [name, [charts, tables]] of Object.entries(expected)) {
    const tile = document.getElementById(`tile-${name}`);
    if (!tile) return false;
    const drawn = [...tile.querySelectorAll('.charts img')]
      .filter((i) => i.complete && i.naturalWidth > 0).length;
    const empty = tile.querySelectorAll('.charts .empty').length;
    if (drawn + empty < charts) return false;
    if (tile.querySelectorAll('div.table table, h3 + p.empty').length < tables) return false;
  }
  return performance.now();
}
"""
# The interactive view: a chart is drawn when Vega has put its marks in the page, or
# replaced by a "no data" note; a table when its grid has a canvas.
RENDERED_JS = """
(expected) => {
  for (const [name, [charts, tables]] of Object.entries(expected)) {
    const tile = document.querySelector(`.st-key-tile-${name}`);
    if (!tile || tile.querySelector('[data-testid="stSkeleton"]')) return false;
    const drawn = [...tile.querySelectorAll('[data-testid="stVegaLiteChart"]')]
      .filter((c) => c.querySelector('svg.marks, canvas.marks')).length;
    const empty = tile.querySelectorAll('[data-testid="stAlert"]').length;
    if (drawn + empty < charts) return false;
    const grids = [...tile.querySelectorAll('[data-testid="stDataFrame"]')]
      .filter((d) => d.querySelector('canvas')).length;
    if (grids < tables) return false;
  }
  return performance.now();
}
"""


# -- browser and server helpers (shared with the tests) ------------------------------------------
def expected_tiles() -> dict[str, list[int]]:
    from polit.insights.tiles import TILES

    return {t.name: [len(t.charts), len(t.tables)] for t in TILES}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def dashboard_server(warehouse: Path | str, log_path: Path, timeout: float = 180) -> Iterator[str]:
    """`polit dashboard` as a subprocess on a free port; yields its URL once healthy."""
    port = free_port()
    cmd = ["-m", "polit", "dashboard", "--warehouse", str(warehouse), "--port", str(port)]
    with _served(cmd, port, log_path, timeout) as url:
        yield url


@contextmanager
def _served(args: list[str], port: int, log_path: Path, timeout: float) -> Iterator[str]:
    """`python ARGS` (a Streamlit server on `port`) until the block ends."""
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args} exited {proc.returncode}: see {log_path}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{args} not healthy after {timeout:.0f}s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium (the system's: Playwright cannot download browsers here)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"no Chromium at {CHROMIUM}: run `make chromium`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Checks the condition in the page on every animation frame from navigation start, and keeps
# the first time it held. Playwright's own polling is not the clock: in a fresh browser its
# first evaluation came seconds after the page had drawn everything.
WATCH_JS = """
(() => {
  const rendered = RENDERED;
  const expected = EXPECTED;
  const tick = () => {
    const at = document.readyState === "loading" ? false : rendered(expected);
    if (at) window.__politRendered = at; else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def open_rendered(browser: Any, url: str, timeout_s: float = 120) -> tuple[Any, float, list[str]]:
    """A fresh context and page at `url`, waited on until every tile is drawn (in the view
    the URL asks for). Returns the page, the seconds from navigation start, and the console
    errors and page errors."""
    rendered = RENDERED_JS if "charts=interactive" in url else STATIC_RENDERED_JS
    return open_watched(browser, url, rendered, expected_tiles(), timeout_s)


def open_watched(
    browser: Any, url: str, condition_js: str, arg: Any, timeout_s: float = 120
) -> tuple[Any, float, list[str]]:
    """`open_rendered` for any condition: a JS function of `arg` that returns
    performance.now() once the page is drawn, else false."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    watch = WATCH_JS.replace("RENDERED", condition_js.strip()).replace("EXPECTED", json.dumps(arg))
    page.add_init_script(watch)
    page.goto(url)
    handle = page.wait_for_function(
        "() => window.__politRendered", polling=100, timeout=timeout_s * 1000
    )
    return page, float(handle.json_value()) / 1000, errors


# -- the section ---------------------------------------------------------------------------------
def run(quick: bool, scratch: Path) -> dict[str, Any]:
    cfg = QUICK if quick else FULL
    warehouse = build_warehouse(scratch, cfg["posts"])
    report = measure_report(warehouse, scratch)
    render = measure_render(warehouse, scratch, cfg["warm_loads"])
    floor = measure_floor(scratch, cfg["warm_loads"])
    cold = render["cold_s"]
    return {
        "title": TITLE,
        "quick": quick,
        "config": cfg,
        "warehouse": warehouse_figures(warehouse),
        "render": render,
        "floor": floor,
        "report": report,
        "target": {"render_s": TARGET_RENDER_S, "measured_s": cold, "met": cold < TARGET_RENDER_S},
    }


def build_warehouse(scratch: Path, posts: int) -> Path:
    from bench.merge_cost import build_lake
    from polit.lake.store import Lake
    from polit.transform import transform
    from polit.warehouse import load_lake
    from polit.warehouse.duck import DuckWarehouse

    lake, path = scratch / "lake", scratch / "warehouse.duckdb"
    log(f"{NAME}: {posts:,} posts: building the lake (ingest_bodies, workers=2)")
    built = build_lake(lake, posts, SEED)
    log(f"{NAME}: {built['posts']:,} posts in the lake; load + transform (marts included)")
    t0 = time.perf_counter()
    wh = DuckWarehouse(str(path))
    try:
        load_lake(Lake(str(lake)), wh)
    finally:
        wh.close()
    transform(str(path), quiet=True)
    log(f"{NAME}: warehouse built in {time.perf_counter() - t0:.0f}s")
    return path


def warehouse_figures(path: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        posts = con.execute("SELECT count(*) FROM main.posts").fetchone()
        rows = con.execute(
            "SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'main'"
        ).fetchall()
    finally:
        con.close()
    return {
        "posts": posts[0] if posts else 0,
        "mart_rows": {name: n for name, n in sorted(rows)},
        "mb": round(path.stat().st_size / 1e6, 1),
    }


def measure_report(warehouse: Path, scratch: Path) -> dict[str, Any]:
    from polit.insights import marts
    from polit.insights.report import write_report
    from polit.insights.sources import open_source

    out = scratch / "report.html"
    log(f"{NAME}: polit report (a fresh process)")
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "polit", "report", "--warehouse", str(warehouse), "--out", str(out)],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    cli_s = time.perf_counter() - t0
    source = open_source(str(warehouse))
    try:
        t1 = time.perf_counter()
        data = marts.load_insights(source, marts.boards(source)[0].last(7))
        t2 = time.perf_counter()
    finally:
        source.close()
    size = write_report(data, out, str(warehouse))
    t3 = time.perf_counter()
    log(f"{NAME}: report {cli_s:.1f}s (queries {t2 - t1:.2f}s, charts + HTML {t3 - t2:.2f}s)")
    return {
        "cli_s": round(cli_s, 2),
        "queries_s": round(t2 - t1, 3),
        "render_s": round(t3 - t2, 3),
        "bytes": size,
        "grain": data.grain,
        "days": data.filters.days,
    }


def chromium_cpu_s() -> float:
    """CPU seconds (user + system) of the running Chromium processes, from /proc."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if b"chromium" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def measure_render(warehouse: Path, scratch: Path, warm_loads: int) -> dict[str, Any]:
    log(f"{NAME}: polit dashboard + headless Chromium")
    t0 = time.perf_counter()
    with dashboard_server(warehouse, scratch / "dashboard.log") as url, chromium() as browser:
        startup = time.perf_counter() - t0
        log(f"{NAME}: server healthy {startup:.1f}s after start (default view drawn first)")
        static = _views(browser, url, warm_loads, "static")
        interactive = _views(browser, f"{url}/?charts=interactive", warm_loads, "interactive")
    return {
        "startup_s": round(startup, 2),
        **static,
        "interactive": interactive,
        "console_errors": static["console_errors"] + interactive["console_errors"],
    }


def _views(browser: Any, url: str, warm_loads: int, label: str) -> dict[str, Any]:
    times, cpu, errors = [], [], []
    for i in range(1 + warm_loads):
        before = chromium_cpu_s()
        page, seconds, errs = open_rendered(browser, url)
        cpu.append(round(chromium_cpu_s() - before, 2))
        page.context.close()
        times.append(round(seconds, 3))
        errors += errs
        log(
            f"{NAME}: {label} view, {'first' if i == 0 else 'again'}: {seconds:.2f}s "
            f"(Chromium CPU {cpu[-1]:.1f}s, load {os.getloadavg()[0]:.1f})"
        )
    return {
        "cold_s": times[0],
        "warm_s": times[1:],
        "warm_median_s": round(statistics.median(times[1:]), 3) if warm_loads else None,
        "chromium_cpu_s": cpu,
        "console_errors": errors,
    }


# A bare Streamlit page with as many tiles and trivial Altair charts as the dashboard:
# what Streamlit and Vega cost in this browser on this machine, whatever the data.
FLOOR_APP = """
import altair as alt
import pandas as pd
import streamlit as st

st.set_page_config(layout="wide")
df = pd.DataFrame({"a": range(5), "b": range(5)})
for i in range(CHARTS):
    with st.container(border=True, key=f"tile-{i}"):
        st.altair_chart(alt.Chart(df).mark_bar().encode(x="a:Q", y="b:O"), width="stretch")
"""
FLOOR_JS = "(n) => document.querySelectorAll('svg.marks').length >= n ? performance.now() : false"


def measure_floor(scratch: Path, views: int) -> dict[str, Any]:
    charts = sum(n for n, _ in expected_tiles().values())
    script = scratch / "floor_app.py"
    script.write_text(FLOOR_APP.replace("CHARTS", str(charts)))
    port = free_port()
    args = ["-m", "streamlit", "run", str(script), "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true",
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]  # fmt: skip
    times = []
    with _served(args, port, scratch / "floor.log", 180) as url, chromium() as browser:
        for _ in range(1 + views):
            page, seconds, _ = open_watched(browser, url, FLOOR_JS, charts)
            times.append(round(seconds, 3))
            page.context.close()
    log(f"{NAME}: a bare Streamlit page with {charts} trivial charts: {times} s")
    return {"charts": charts, "first_s": times[0], "next_s": times[1:]}


# -- markdown ------------------------------------------------------------------------------------
def markdown(res: dict[str, Any]) -> str:
    render, report, target, wh = res["render"], res["report"], res["target"], res["warehouse"]
    floor, live = res["floor"], res["render"]["interactive"]
    verdict = "met" if target["met"] else "not met"

    def warm(r: dict[str, Any]) -> str:
        return ", ".join(f"{s:.2f}" for s in r["warm_s"]) or "-"

    return "\n".join(
        [
            f"## {res['title']}",
            "",
            f"A DuckDB warehouse of {wh['posts']:,} posts ({wh['mb']:,.0f} MB, marts built by "
            "`polit transform`); `polit dashboard` as a subprocess, headless Chromium opening "
            "its default view (the board's last 7 days) in a fresh context each time: seconds "
            "from navigation start until every tile has drawn its charts and tables (checked "
            "in the page on every animation frame). *First* is the first view after the server "
            "starts (in a fresh browser); the next ones are *again*. The static view is the "
            "default (charts drawn as SVG images on the server, once per board and days); "
            "`?charts=interactive` draws live Altair charts in the browser."
            f"{' Quick sizes.' if res['quick'] else ''}",
            "",
            "| posts | view | first s | again s | Chromium CPU s per view |",
            "|---|---|---|---|---|",
            f"| {wh['posts']:,} | static (default) | {render['cold_s']:.2f} | {warm(render)} "
            f"| {', '.join(f'{s:.1f}' for s in render['chromium_cpu_s'])} |",
            f"| {wh['posts']:,} | interactive | {live['cold_s']:.2f} | {warm(live)} "
            f"| {', '.join(f'{s:.1f}' for s in live['chromium_cpu_s'])} |",
            "",
            f"- Target: the first render under {target['render_s']:g} s: **{verdict}** "
            f"({target['measured_s']:.2f} s). Console errors: {len(render['console_errors'])}.",
            f"- The server answered {render['startup_s']:.1f} s after it started: it draws the "
            "default view before it serves (mart queries and SVG charts).",
            f"- For scale: a bare Streamlit page with {floor['charts']} trivial Altair charts "
            f"(no data, no tables) renders in {floor['first_s']:.2f} s, then "
            f"{', '.join(f'{x:.2f}' for x in floor['next_s']) or '-'} s.",
            "",
            "| report (`polit report`) s | report queries s | report charts + HTML s | report KB |",
            "|---|---|---|---|",
            f"| {report['cli_s']:.1f} | {report['queries_s']:.2f} | {report['render_s']:.2f} "
            f"| {report['bytes'] / 1024:,.0f} |",
        ]
    )
