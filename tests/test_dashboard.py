"""`polit dashboard` in a real browser: the command runs as a subprocess on a free port,
headless Chromium (/usr/bin/chromium) opens it, every tile draws, the console stays clean,
and hostile post text shows as text and never runs. Screenshots go to test-artifacts/."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from bench.dashboard import chromium, dashboard_server, open_rendered

from polit.insights import marts, published
from polit.insights.dashboard import APP, streamlit_options
from polit.insights.report import heading
from polit.insights.sources import open_source
from polit.insights.tiles import TILES
from tests.helpers.chart_boxes import label_problems, svg_page
from tests.helpers.insights_data import HOSTILE_BOARD, IMG, JS_LINK, LONG_FLAG, SCRIPT

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


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


def _posts_last_7_days(warehouse: Path) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    (posts,) = con.execute(
        "SELECT sum(posts) FROM activity_hourly WHERE board = 'pol' AND hour >= "
        "(SELECT date_trunc('day', max(hour)) - INTERVAL 6 DAY FROM activity_hourly "
        "WHERE board = 'pol')"
    ).fetchone()
    con.close()
    return int(posts)


def test_static_view_draws_every_tile(
    dashboard: str, browser: Any, insights_warehouse: Path
) -> None:
    """The default view: every chart an image that loaded, every table in the page."""
    page, seconds, errors = open_rendered(browser, dashboard)
    try:
        screenshot(page, "dashboard-pol.png")
        assert errors == []
        for tile in TILES:
            box = page.locator(f"#tile-{tile.name}")
            loaded = box.evaluate(
                "(t) => [...t.querySelectorAll('.charts img')]"
                ".filter((i) => i.complete && i.naturalWidth > 0).length"
            )
            assert loaded == len(tile.charts), tile.name  # all drawn, none "no data"
            assert box.locator("div.table table").count() == len(tile.tables), tile.name
        rows = page.locator("#published tbody tr").count()  # the published figures, each a row
        assert rows == len(published.FIGURES) and published.TITLE in page.inner_text("#published")
        # The headline agrees with the marts: posts of /pol/'s last 7 days with posts.
        first = page.locator(".headline div").first.inner_text()
        assert first.split("\n")[0] == f"{_posts_last_7_days(insights_warehouse):,}"
    finally:
        page.context.close()
    print(f"rendered in {seconds:.2f}s")


def test_static_view_links_choose_board_and_days(dashboard: str, browser: Any) -> None:
    page, _, errors = open_rendered(browser, dashboard)
    try:
        assert "last 7 days" not in page.locator("a").all_inner_texts()  # the current one
        page.get_by_role("link", name=f"/{HOSTILE_BOARD}/").click()
        page.wait_for_url(re.compile(rf"board={HOSTILE_BOARD}"))
        page.wait_for_function("() => document.querySelectorAll('#tile-threads td').length > 0")
        assert f"/{HOSTILE_BOARD}/ " in page.inner_text("body")
        # every period is a link to itself, or the current one (in bold)
        for label, days in (("last day", "1"), ("last 30 days", "30"), ("all days", "all")):
            link = page.get_by_role("link", name=label, exact=True)
            if link.count():
                assert link.get_attribute("href") == f"?board={HOSTILE_BOARD}&days={days}"
            else:
                assert page.locator("b", has_text=label).count() == 1
        page.get_by_role("link", name="interactive charts").click()
        page.wait_for_url(re.compile(r"charts=interactive"))
        page.wait_for_selector('[data-testid="stVegaLiteChart"]')
        assert errors == []
    finally:
        page.context.close()


def test_interactive_view_draws_every_tile(
    dashboard: str, browser: Any, insights_warehouse: Path
) -> None:
    page, seconds, errors = open_rendered(browser, f"{dashboard}/?charts=interactive")
    try:
        screenshot(page, "dashboard-pol-interactive.png")
        assert errors == []
        for tile in TILES:
            box = page.locator(f".st-key-tile-{tile.name}")
            charts = box.locator('[data-testid="stVegaLiteChart"] svg.marks').count()
            empty = box.locator('[data-testid="stAlert"]').count()
            assert (charts, empty) == (len(tile.charts), 0), tile.name  # all drawn
            assert box.locator('[data-testid="data-grid-canvas"]').count() == len(tile.tables)
        assert page.locator('.st-key-published [data-testid="data-grid-canvas"]').count() == 1
        values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert values[0] == f"{_posts_last_7_days(insights_warehouse):,}"
    finally:
        page.context.close()
    print(f"rendered in {seconds:.2f}s")


def _nothing_ran(page: Any) -> None:
    assert page.evaluate("() => window.__xss") is None
    assert page.locator('img[src="x"]').count() == 0
    assert (
        page.evaluate("() => [...document.scripts].filter((s) => s.text.includes('__xss')).length")
        == 0
    )
    assert page.locator('a[href^="javascript:"]').count() == 0


def test_hostile_text_stays_text_in_the_static_view(dashboard: str, browser: Any) -> None:
    page, _, errors = open_rendered(browser, f"{dashboard}/?board={HOSTILE_BOARD}&days=all")
    try:
        screenshot(page, "dashboard-int.png")
        assert errors == []
        _nothing_ran(page)
        topic = page.locator("#tile-threads td").all_inner_texts()
        quoted = page.locator("#tile-replies td").all_inner_texts()
        files = page.locator("#tile-images td").all_inner_texts()
        assert SCRIPT in topic  # thread_activity.topic
        assert IMG in quoted and any(SCRIPT in c and JS_LINK in c for c in quoted)
        assert IMG in files  # images_repeated.example_file_name
    finally:
        page.context.close()


def test_hostile_text_stays_text_in_the_interactive_view(dashboard: str, browser: Any) -> None:
    url = f"{dashboard}/?board={HOSTILE_BOARD}&days=all&charts=interactive"
    page, _, errors = open_rendered(browser, url)
    try:
        screenshot(page, "dashboard-int-interactive.png")
        assert errors == []
        _nothing_ran(page)

        # st.dataframe draws on a canvas and keeps an accessible table of the cells in view:
        # scroll each tile into view and wait for its cells before reading them
        def cells(tile: str) -> list[str]:
            page.locator(f".st-key-tile-{tile}").scroll_into_view_if_needed()
            grid = page.locator(f".st-key-tile-{tile} td[role=gridcell]")
            grid.first.wait_for(state="attached", timeout=15_000)
            return grid.all_text_contents()

        topic, quoted, files = cells("threads"), cells("replies"), cells("images")
        assert SCRIPT in topic  # thread_activity.topic
        assert IMG in quoted and any(SCRIPT in c and JS_LINK in c for c in quoted)
        assert IMG in files  # images_repeated.example_file_name
    finally:
        page.context.close()


def _heading(warehouse: Path, board: str) -> str:
    source = open_source(str(warehouse))
    try:
        chosen = next(b for b in marts.boards(source) if b.name == board)
        return heading(marts.load_insights(source, chosen.last(None)))
    finally:
        source.close()


@pytest.mark.parametrize("view", ["static", "interactive"])
def test_labels_fit_and_the_span_is_stated(
    view: str, dashboard: str, browser: Any, insights_warehouse: Path
) -> None:
    """/int/ (an old sticky, long flag names and domains), all days: the page states the
    span observed; in Chromium every chart's texts lie inside its box and no tick labels
    overlap (the static view's SVG images measured inline, the interactive view's live)."""
    query = f"?board={HOSTILE_BOARD}&days=all" + ("&charts=interactive" if view != "static" else "")
    page, _, errors = open_rendered(browser, f"{dashboard}/{query}")
    try:
        assert errors == []
        assert _heading(insights_warehouse, HOSTILE_BOARD) in page.inner_text("body")
        if view == "static":
            svgs = page.eval_on_selector_all(
                ".charts img", "(imgs) => imgs.map((i) => atob(i.src.split(',')[1]))"
            )
            measured = svg_page(browser, svgs)
            found = label_problems(measured)
            measured.close()
        else:
            found = label_problems(page, '[data-testid="stVegaLiteChart"] svg.marks')
            svgs = page.eval_on_selector_all(
                '[data-testid="stVegaLiteChart"] svg.marks', "(s) => s.map((x) => x.outerHTML)"
            )
        assert len(found) >= 10 and all(f["texts"] > 3 for f in found)
        assert [f for f in found if f["outside"] or f["overlaps"]] == []
        assert any(LONG_FLAG in s for s in svgs)
        assert not any("2017" in s for s in svgs)  # the sticky's year is not on any axis
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
    """The script renders HTML in one place: the static view, whose every data value was
    escaped by report.py or navigation(); Markdown gets fixed text only."""
    source = (ROOT / "src" / "polit" / "insights" / "app.py").read_text()
    for unsafe in ("unsafe_allow_html", "components.html", "st.write("):
        assert unsafe not in source
    assert re.findall(r"st\.html\((.*?)\)\n", source) == [
        'f"<style>{TILES_STYLE}</style>{navigation(boards, filters, data)}{fragment}"',
        'f"<style>{pages.STYLE}</style>{pages.thread_html(thread)}"',  # pages.py escapes
        "pages.back_link(board)",
        'f"<style>{pages.STYLE}</style>{pages.trend_table(points, grain)}"',
        "pages.hits_html(board, result.table.to_pylist(), result.total, query)",
    ]
    # (the regex stops at the first ")"; why_empty gives fixed text)
    markdown_args = re.findall(r"\.(?:markdown|caption|subheader|title|info)\((.*?)\)", source)
    assert sorted(markdown_args) == sorted(
        ['f"**{table.title}**"', "tile.caption", "tile.title, anchor=False", '"polit"',
         '"polit insights", anchor=False', '"warehouse"', "spec.why_empty(data",
         "published.TITLE, anchor=False",  # a constant
         "data"]  # published.caption(data), passed to st.text
    )  # fmt: skip


def test_navigation_escapes_board_names() -> None:
    """Board names come from the warehouse: one that is not a plain name gets no link, and
    nothing from it reaches the page as markup."""
    import importlib.util
    from datetime import date

    from polit.insights.marts import Board

    spec = importlib.util.spec_from_file_location("polit_app", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines the functions; main() only runs under Streamlit
    first, last = date(2023, 3, 1), date(2023, 3, 27)
    boards = [Board("pol", 10, first, last), Board(SCRIPT, 5, first, last)]
    nav = module.navigation(boards, boards[0].last(7))
    assert "<script" not in nav
    assert 'href="?board=pol&amp;days=1"' in nav and "<b>last 7 days</b>" in nav
    hostile = module.navigation(boards, boards[1].last(7))
    assert "<script" not in hostile and html.escape(SCRIPT) in hostile
