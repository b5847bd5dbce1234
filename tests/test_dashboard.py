"""`polit dashboard` in a real browser: the command runs as a subprocess on a free port,
headless Chromium (/usr/bin/chromium) opens it, every tile draws, the console stays clean,
and hostile post text shows as text and never runs. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from bench.dashboard import chromium, dashboard_server, open_rendered

from polit.insights.dashboard import streamlit_options
from polit.insights.tiles import TILES
from tests.insights_data import HOSTILE_BOARD, IMG, JS_LINK, SCRIPT

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dashboard(insights_warehouse: Path) -> Iterator[str]:
    ARTIFACTS.mkdir(exist_ok=True)
    with dashboard_server(insights_warehouse, ARTIFACTS / "dashboard.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def screenshot(page: Any, name: str) -> None:
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def test_every_tile_renders_without_console_errors(
    dashboard: str, browser: Any, insights_warehouse: Path
) -> None:
    page, seconds, errors = open_rendered(browser, dashboard)
    try:
        screenshot(page, "dashboard-pol.png")
        assert errors == []
        for tile in TILES:
            box = page.locator(f".st-key-tile-{tile.name}")
            charts = box.locator('[data-testid="stVegaLiteChart"] svg.marks').count()
            empty = box.locator('[data-testid="stAlert"]').count()
            assert (charts, empty) == (len(tile.charts), 0), tile.name  # all drawn
            assert box.locator('[data-testid="data-grid-canvas"]').count() == len(tile.tables)
        # The headline agrees with the marts: posts of /pol/'s last 7 days with posts.
        con = duckdb.connect(str(insights_warehouse), read_only=True)
        (posts,) = con.execute(
            "SELECT sum(posts) FROM activity_hourly WHERE board = 'pol' AND hour >= "
            "(SELECT date_trunc('day', max(hour)) - INTERVAL 6 DAY FROM activity_hourly "
            "WHERE board = 'pol')"
        ).fetchone()
        con.close()
        values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert values[0] == f"{int(posts):,}"
    finally:
        page.context.close()
    print(f"rendered in {seconds:.2f}s")


def test_hostile_text_stays_text(dashboard: str, browser: Any) -> None:
    page, _, errors = open_rendered(browser, f"{dashboard}/?board={HOSTILE_BOARD}&days=all")
    try:
        screenshot(page, "dashboard-int.png")
        assert errors == []
        assert page.evaluate("() => window.__xss") is None
        assert page.locator('img[src="x"]').count() == 0
        assert (
            page.evaluate(
                "() => [...document.scripts].filter((s) => s.text.includes('__xss')).length"
            )
            == 0
        )
        assert page.locator('a[href^="javascript:"]').count() == 0
        # st.dataframe draws on a canvas and keeps an accessible table of the cells in view
        topic = page.locator(".st-key-tile-threads td[role=gridcell]").all_text_contents()
        quoted = page.locator(".st-key-tile-replies td[role=gridcell]").all_text_contents()
        files = page.locator(".st-key-tile-images td[role=gridcell]").all_text_contents()
        assert SCRIPT in topic  # thread_activity.topic
        assert IMG in quoted and any(SCRIPT in c and JS_LINK in c for c in quoted)
        assert IMG in files  # images_repeated.example_file_name
    finally:
        page.context.close()


def test_binds_to_localhost_by_default(dashboard: str) -> None:
    port = int(dashboard.rsplit(":", 1)[1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # LISTEN
                listening.append(address)
    assert listening == ["0100007F"]  # 127.0.0.1 only
    assert streamlit_options("127.0.0.1", 1)["browser.gatherUsageStats"] is False


def test_dashboard_help_names_the_defaults() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "polit", "dashboard", "--help"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    assert "127.0.0.1" in out and "--port" in out and "--warehouse" in out


def test_no_markup_from_data_in_the_app() -> None:
    """Nothing in the Streamlit script can render HTML; Markdown gets fixed text only."""
    source = (ROOT / "src" / "polit" / "insights" / "app.py").read_text()
    for unsafe in ("unsafe_allow_html", "st.html", "components.html", "st.write("):
        assert unsafe not in source
    markdown_args = re.findall(r"\.(?:markdown|caption|subheader|title)\((.*?)\)", source)
    assert sorted(markdown_args) == sorted(
        ['f"**{table.title}**"', "tile.caption", "tile.title, anchor=False", '"polit"',
         '"polit insights", anchor=False', '"warehouse"']
    )  # fmt: skip
