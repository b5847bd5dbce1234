"""The dashboard's thread pages and search box in headless Chromium (one `polit dashboard`
for the module, on the insights warehouse with its search index): every post of a 300-post
thread in order, deleted posts marked, quote links followed within and across threads,
hostile text shown as text, and a two-query trend chart whose counts are those of
`polit search --trend`. Screenshots go to test-artifacts/. Also, without a browser: thread
numbers in the report link to the dashboard."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.dashboard import chromium, dashboard_server, open_watched

from polit.search.index import update_index
from tests.helpers.insights_data import HOSTILE_BOARD, IMG, JS_LINK, OP, SCRIPT
from tests.helpers.warehouse import query

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
QUERIES = "kek, media"

# drawn when the page holds `arg` posts (a thread page), or the trend's charts (a search)
POSTS_JS = "(n) => document.querySelectorAll('.polit-page .post').length >= n && performance.now()"
TREND_JS = """
(n) => document.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks').length >= 1
       && document.querySelectorAll('.hits').length >= n && performance.now()
"""


@pytest.fixture(scope="module")
def warehouse(insights_warehouse: Path) -> Path:
    update_index(str(insights_warehouse))
    return insights_warehouse


@pytest.fixture(scope="module")
def dashboard(warehouse: Path) -> Iterator[str]:
    ARTIFACTS.mkdir(exist_ok=True)
    with dashboard_server(warehouse, ARTIFACTS / "pages.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _open(browser: Any, url: str, condition: str, arg: Any) -> tuple[Any, list[str]]:
    page, _, errors = open_watched(browser, url, condition, arg)
    page.set_viewport_size({"width": 1400, "height": 1200})
    return page, errors


def _nothing_ran(page: Any) -> None:
    assert page.evaluate("() => window.__xss") is None
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("script", has_text="__xss").count() == 0
    assert page.locator('a[href^="javascript:"]').count() == 0


@pytest.mark.slow
def test_a_300_post_thread_shows_every_post_in_order(
    dashboard: str, browser: Any, warehouse: Path
) -> None:
    ((thread, n),) = query(
        warehouse, "SELECT thread_id, count(*) FROM posts WHERE board = 'pol' GROUP BY 1 "
        "HAVING count(*) >= 300 ORDER BY count(deleted_at) DESC, 1 LIMIT 1",
    )  # fmt: skip
    posts = query(warehouse, f"SELECT post_id, deleted_at FROM posts WHERE board = 'pol' "
                  f"AND thread_id = {thread} ORDER BY post_id")  # fmt: skip
    (state,) = query(warehouse, f"SELECT archived_at, deleted_at FROM threads "
                     f"WHERE board = 'pol' AND thread_id = {thread}")  # fmt: skip
    page, errors = _open(browser, f"{dashboard}/?board=pol&thread={thread}", POSTS_JS, n)
    try:
        page.screenshot(path=str(ARTIFACTS / "thread-page.png"))
        assert errors == []
        ids = page.eval_on_selector_all(".polit-page .post", "(ps) => ps.map((p) => p.id)")
        assert ids == [f"p{no}" for no, _ in posts]
        deleted = [(no, at) for no, at in posts if at is not None]
        assert deleted, "the thread has deleted posts"
        marked = page.eval_on_selector_all(".post.deleted", "(ps) => ps.map((p) => p.id)")
        assert marked == [f"p{no}" for no, _ in deleted]
        for no, at in deleted:
            head = page.locator(f"#p{no} .head").inner_text()
            assert f"deleted: gone since {at:%Y-%m-%d %H:%M:%S} UTC" in head
        archived, gone = state
        when = archived or gone
        assert when is not None
        word = "archived" if archived else "deleted"
        assert f"thread {word}" in page.inner_text(".state") and f"{when:%Y-%m-%d %H:%M}" in (
            page.inner_text(".state")
        )
        page.locator(f"#p{deleted[0][0]}").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "thread-page-deleted-post.png"))
        # a quote of a post in the same thread is an anchor on the page: following it
        # brings the quoted post into view
        link = page.locator('.comment a[href^="#p"]').last
        target = link.get_attribute("href")
        link.click()
        page.wait_for_function(f"() => location.hash === '{target}'")
        page.wait_for_timeout(300)
        in_view = (
            "(p) => { const r = p.getBoundingClientRect(); "
            "return r.bottom > 0 && r.top < innerHeight; }"
        )
        assert page.locator(str(target)).evaluate(in_view)
    finally:
        page.context.close()


@pytest.mark.slow
def test_a_quote_of_another_thread_opens_that_thread(
    dashboard: str, browser: Any, warehouse: Path
) -> None:
    ((post, thread, quoted, other),) = query(
        warehouse,
        "SELECT p.post_id, p.thread_id, q.post_id, q.thread_id FROM posts p JOIN posts q "
        "ON q.board = p.board AND q.post_id = p.quotes[1] AND q.thread_id <> p.thread_id "
        "WHERE p.board = 'pol' ORDER BY p.post_id LIMIT 1",
    )
    (n,) = query(warehouse, f"SELECT count(*) FROM posts WHERE thread_id = {other}")[0]
    page, errors = _open(browser, f"{dashboard}/?board=pol&thread={thread}", POSTS_JS, 1)
    try:
        link = page.locator(f"#p{post} .comment a", has_text=f">>{quoted}")
        assert link.get_attribute("href") == f"?board=pol&thread={other}#p{quoted}"
        link.click()
        page.wait_for_url(re.compile(rf"thread={other}"))
        page.wait_for_function(
            f"() => document.querySelectorAll('.polit-page .post').length >= {n}"
        )
        assert page.locator(f"#p{quoted}").count() == 1
        assert errors == []
    finally:
        page.context.close()


@pytest.mark.slow
def test_hostile_text_stays_text_on_a_thread_page(dashboard: str, browser: Any) -> None:
    page, errors = _open(browser, f"{dashboard}/?board={HOSTILE_BOARD}&thread={OP}", POSTS_JS, 12)
    try:
        page.screenshot(path=str(ARTIFACTS / "thread-page-hostile.png"))
        assert errors == []
        _nothing_ran(page)
        body = page.inner_text(".polit-page")
        assert SCRIPT in body and IMG in body and JS_LINK in body  # subject, comment, file
        assert f"File: {IMG}.jpg" in page.locator(f"#p{OP}").inner_text()
        assert page.locator(".green").count() == 0  # no greentext here: quotes are links
        assert page.locator(f'#p{OP + 2} a[href="#p{OP}"]').count() == 1
    finally:
        page.context.close()


def _cli_trend(warehouse: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "polit", "search", QUERIES, "--board", "pol", "--trend", "hour",
         "--json", "--warehouse", str(warehouse)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    return [json.loads(line) for line in out.splitlines()]


@pytest.mark.slow
def test_the_search_box_charts_two_queries_as_the_cli_counts(
    dashboard: str, browser: Any, warehouse: Path
) -> None:
    page, errors = _open(browser, f"{dashboard}/?board=pol", POSTS_JS, 0)
    try:
        box = page.get_by_label(re.compile("Search posts"))
        box.wait_for()
        box.fill(QUERIES)
        page.get_by_label("per").click()
        page.get_by_role("option", name="hour").click()
        page.get_by_role("button", name="Search").click()
        page.wait_for_url(re.compile(r"q=kek"))
        page.wait_for_function(f"() => ({TREND_JS.strip()})(2)", timeout=60_000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "search-trend.png"), full_page=True)
        assert errors == []
        # two charts (counts, share), each with one line per query
        lines = page.locator('[data-testid="stVegaLiteChart"] .mark-line path')
        assert lines.count() == 4
        rows = page.eval_on_selector_all(
            ".trend tbody tr", "(rs) => rs.map((r) => [...r.cells].map((c) => c.textContent))"
        )
        expected = _cli_trend(warehouse)
        assert len(rows) == len(expected) > 2
        assert {r["query"] for r in expected} == {"kek", "media"}
        for row, point in zip(rows, expected, strict=True):
            assert (
                row[0] == point["query"]
                and row[1] == point["bucket"][:13].replace("T", " ") + ":00"
            )
            assert (int(row[2]), int(row[3])) == (point["matches"], point["posts"])
        assert sum(p["matches"] for p in expected) > 0
        # the posts found link to their place in their thread
        first = page.locator(".hits .head a").first
        href = first.get_attribute("href")
        assert re.fullmatch(r"\?board=pol&thread=\d+#p\d+", str(href))
    finally:
        page.context.close()


@pytest.mark.slow
def test_thread_numbers_in_the_dashboard_tables_link_to_their_pages(
    dashboard: str, browser: Any
) -> None:
    from bench.dashboard import open_rendered

    page, _, errors = open_rendered(browser, f"{dashboard}/?board=pol")
    try:
        links = page.locator("#tile-threads td a")
        assert links.count() >= 1
        number = links.first.inner_text()
        assert links.first.get_attribute("href") == f"?board=pol&thread={number}"
        links.first.click()
        page.wait_for_url(re.compile(rf"thread={number}"))
        page.wait_for_selector(f"#p{number}")
        assert errors == []
    finally:
        page.context.close()


def test_the_report_links_thread_numbers_to_the_dashboard(insights_warehouse: Path) -> None:
    from polit.insights import marts
    from polit.insights.report import render_report
    from polit.insights.sources import open_source

    source = open_source(str(insights_warehouse))
    try:
        board = next(b for b in marts.boards(source) if b.name == HOSTILE_BOARD)
        data = marts.load_insights(source, board.last(None))
    finally:
        source.close()
    doc = render_report(data, "x", dashboard_url="https://polit.example/")
    assert f'href="https://polit.example/?board={HOSTILE_BOARD}&amp;thread={OP}"' in doc
    assert f'href="https://polit.example/?board={HOSTILE_BOARD}&amp;thread={OP}#p{OP}"' in doc


def test_the_trend_counts_what_search_finds(warehouse: Path) -> None:
    """Per query, the matches over the span are the search's hits (none of /pol/'s is an
    old sticky's), and the posts per hour are all of the board's posts in the span."""
    from polit.search import search
    from polit.search.trend import trend
    from polit.warehouse.filters import Filters
    from polit.warehouse.read import open_reader

    reader = open_reader(str(warehouse))
    try:
        f = Filters(boards=("pol",))
        points = trend(reader, QUERIES, f, "hour")
        for q in ("kek", "media"):
            mine = [p for p in points if p.query == q]
            assert sum(p.matches for p in mine) == search(reader, q, f, limit=0).total > 0
        first = min(p.bucket for p in points)
        (posts,) = query(warehouse, "SELECT count(*) FROM posts WHERE board = 'pol' AND "
                         f"post_datetime >= '{first.isoformat()}'")[0]  # fmt: skip
        assert sum(p.posts for p in points if p.query == "kek") == posts
        assert first.year == 2023  # the old stickies (2017, 2020) are not in the span
    finally:
        reader.close()


def test_the_bigquery_trend_groups_the_search_sql(monkeypatch: pytest.MonkeyPatch) -> None:
    """On BigQuery the matches are the search's own SQL (`hits_sql`), grouped by bucket:
    parsed by sqlglot, every parameter bound by name."""
    import pandas as pd
    import sqlglot

    from polit.search.query import parse
    from polit.search.trend import match_counts, post_counts
    from polit.warehouse.filters import Filters
    from polit.warehouse.read import open_reader

    monkeypatch.setattr("google.cloud.bigquery.Client", lambda project=None: None)
    reader = open_reader("bigquery://proj/ds")
    sent: list[tuple[str, dict[str, Any]]] = []

    def fake_query(sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        sent.append((sql, dict(params or {})))
        return pd.DataFrame({"bucket": [pd.Timestamp("2023-03-27T05:00Z")], "n": [3]})

    monkeypatch.setattr(reader, "query", fake_query)
    f = Filters(boards=("pol",))
    assert match_counts(reader, parse('google -"skype call"'), f, "hour") == {
        pd.Timestamp("2023-03-27T05:00Z").to_pydatetime(): 3
    }
    post_counts(reader, f, "hour")
    for sql, params in sent:
        tree = sqlglot.parse_one(sql, dialect="bigquery")
        tables = {f"{t.catalog}.{t.db}.{t.name}" for t in tree.find_all(sqlglot.exp.Table) if t.db}
        assert tables == {"proj.ds.posts"} and "$" not in sql
        assert "TIMESTAMP_TRUNC(post_datetime, HOUR)" in sql and "GROUP BY 1" in sql
        for name in params:
            assert f"@{name}" in sql
    assert "SEARCH((subject, comment), @search_terms" in sent[0][0]
