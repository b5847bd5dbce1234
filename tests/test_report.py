"""`polit report` and the marts' queries: one self-contained HTML file with no script and no
external resource, hostile post text escaped (also checked in Chromium), only marts read,
and the same queries valid for BigQuery."""

from __future__ import annotations

import base64
import html
import re
import shutil
from datetime import UTC, date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import altair as alt
import duckdb
import pandas as pd
import pytest
import sqlglot
from bench.dashboard import chromium
from typer.testing import CliRunner

from polit.cli import app
from polit.insights import charts, marts, published
from polit.insights.report import chart_svg, heading, render_report
from polit.insights.sources import BigQuerySource, open_source
from polit.insights.tiles import TILES, headline
from polit.warehouse.duck import DuckWarehouse
from tests.helpers.chart_boxes import label_problems, svg_page
from tests.helpers.insights_data import (
    HOSTILE_BOARD,
    IMG,
    JS_LINK,
    LONG_DOMAINS,
    LONG_FLAG,
    SCRIPT,
    STICKY,
    STICKY_TEXT,
)  # fmt: skip

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
BIG_TABLES = {"posts", "threads", "post_tone", "reply_edges"}
runner = CliRunner()


def write_report(warehouse: Path, out: Path, *args: str) -> str:
    result = runner.invoke(app, ["report", "--warehouse", str(warehouse), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output.replace("\n", "")
    return out.read_text(encoding="utf-8")


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text outside tags."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(document: str) -> Tags:
    tags = Tags()
    tags.feed(document)
    return tags


@pytest.fixture(scope="module")
def pol_report(insights_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "pol.html"
    return write_report(insights_warehouse, out, "--board", "pol")


@pytest.fixture(scope="module")
def int_report(insights_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "int.html"
    write_report(insights_warehouse, out, "--board", HOSTILE_BOARD, "--days", "0")
    return out


# -- self-contained, no script ----------------------------------------------------------------
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "div",
                "span", "section", "p", "img", "table", "thead", "tbody", "tr", "th", "td",
                "footer", "a"}  # fmt: skip
# the one kind of link: a thread number to its page in `polit dashboard` (no server here)
THREAD_LINK = re.compile(r"http://127\.0\.0\.1:8501/\?board=[a-z0-9]+&thread=\d+(#p\d+)?")


def test_report_is_one_file_without_script_or_external_resources(pol_report: str) -> None:
    tags = parse(pol_report)
    assert {t for t, _ in tags.tags} <= ALLOWED_TAGS
    csp = [a for t, a in tags.tags if t == "meta" and a.get("http-equiv")]
    assert csp == [
        {
            "http-equiv": "Content-Security-Policy",
            "content": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        }
    ]
    for tag, attrs in tags.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "a":
            assert set(attrs) == {"href", "target"} and THREAD_LINK.fullmatch(attrs["href"] or "")
        else:
            assert "href" not in attrs
    outside_cells = re.sub(r"<td[^>]*>.*?</td>", "", pol_report, flags=re.S)
    for needle in ("<script", "http://", "https://", "url(", "@import", "javascript:"):
        assert needle not in outside_cells, needle
    images = [a["src"] or "" for t, a in tags.tags if t == "img"]
    assert images and all(src.startswith("data:image/svg+xml;base64,") for src in images)
    for src in images:
        svg = base64.b64decode(src.split(",", 1)[1]).decode()
        assert svg.startswith("<svg") and "<script" not in svg and "foreignObject" not in svg
        assert not re.search(r"href=\"(?!#)", svg)  # no link or image out of the SVG
    ids = [a.get("id") for t, a in tags.tags if t == "section"]
    assert ids == [*(f"tile-{tile.name}" for tile in TILES), "published"]


def test_report_draws_every_chart(pol_report: str, insights_warehouse: Path) -> None:
    tags = parse(pol_report)
    images = [a for t, a in tags.tags if t == "img"]
    assert len(images) == sum(len(t.charts) for t in TILES)  # every chart drawn
    assert 'class="empty"' not in pol_report
    source = open_source(str(insights_warehouse))
    try:
        board = next(b for b in marts.boards(source) if b.name == "pol")
        data = marts.load_insights(source, board.last(7))
    finally:
        source.close()
    posts = int(data["activity"]["posts"].sum())
    assert posts > 10_000
    assert f"{posts:,}<span>posts</span>" in pol_report


# -- hostile text -----------------------------------------------------------------------------
def test_report_escapes_hostile_text(int_report: Path) -> None:
    document = int_report.read_text(encoding="utf-8")
    for hostile in (SCRIPT, IMG):
        assert hostile not in document
        assert html.escape(hostile) in document
    text = "".join(parse(document).text)
    for hostile in (SCRIPT, IMG, JS_LINK):
        assert hostile in text  # shown, as text
    tags = parse(document).tags
    assert not [t for t, _ in tags if t in {"script", "iframe", "object"}]
    links = [a["href"] for t, a in tags if t == "a"]
    assert links and all(THREAD_LINK.fullmatch(h or "") for h in links)  # thread numbers only


def open_file(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """A page at file://path; with its console and page errors, and every URL it asked for."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors, requests


@pytest.mark.slow
@pytest.mark.browser
def test_report_in_chromium(int_report: Path, pol_report: str, tmp_path: Path) -> None:
    """Opened from file:// in headless Chromium: nothing runs, nothing is fetched, the
    hostile text is on the page as text; screenshots in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    pol_file = tmp_path / "pol.html"
    pol_file.write_text(pol_report, encoding="utf-8")
    with chromium() as browser:
        for path, shot in ((int_report, "report-int.png"), (pol_file, "report-pol.png")):
            page, errors, requests = open_file(browser, path)
            assert page.evaluate("() => window.__xss") is None
            assert page.evaluate("() => document.scripts.length") == 0
            assert page.locator('img[src="x"]').count() == 0
            images = page.evaluate(
                "() => [...document.images].map((i) => [i.complete, i.naturalWidth])"
            )
            assert images and all(done and width > 0 for done, width in images)  # drawn
            assert all(u.startswith(("file:", "data:")) for u in requests), requests
            assert errors == []
            if path == int_report:
                body = page.inner_text("body")
                assert SCRIPT in body and IMG in body and JS_LINK in body
            assert_published_section_shown(page)
            page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
            page.close()
    print(f"screenshots: {ARTIFACTS / 'report-pol.png'}, {ARTIFACTS / 'report-int.png'}")


def assert_published_section_shown(page: Any) -> None:
    """The published-figures section is on the page, each paper figure in its row, and no
    cell or the section itself is wider than the room it has (nothing clipped)."""
    section = page.locator("#published")
    assert section.count() == 1
    text = section.inner_text()
    assert published.TITLE in text and "Hine et al. 2017" in text
    for figure in published.FIGURES:
        assert figure.text() in text and figure.measure in text
    clipped = section.evaluate(
        """(s) => [s, ...s.querySelectorAll('th, td, .table')]
            .filter((e) => e.scrollWidth > e.clientWidth + 1)
            .map((e) => e.textContent.slice(0, 40))"""
    )
    assert clipped == []
    box = section.bounding_box()
    assert box is not None and box["width"] <= page.viewport_size["width"]


# -- marts only -------------------------------------------------------------------------------
def test_queries_name_only_marts() -> None:
    assert not BIG_TABLES & set(marts.MARTS)
    used = set().union(*(marts.referenced_tables(q) for q in marts.QUERIES.values()))
    for extra in (marts.BOARD_DAYS, marts.SPAN, marts.OBSERVED):
        used |= marts.referenced_tables(extra)
    assert used == set(marts.MARTS)


def test_insights_need_nothing_but_the_marts(insights_warehouse: Path, tmp_path: Path) -> None:
    """The same data with posts, threads, post_tone and reply_edges dropped."""
    copy = tmp_path / "marts-only.duckdb"
    shutil.copyfile(insights_warehouse, copy)
    con = duckdb.connect(str(copy))
    for table in BIG_TABLES:
        con.execute(f"DROP TABLE main.{table}")
    con.close()
    frames = []
    for path in (insights_warehouse, copy):
        source = open_source(str(path))
        try:
            board = next(b for b in marts.boards(source) if b.name == "pol")
            frames.append(marts.load_insights(source, board.last(7)).frames)
        finally:
            source.close()
    for name in marts.QUERIES:
        pd.testing.assert_frame_equal(frames[0][name], frames[1][name])
    write_report(copy, tmp_path / "r.html")


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["report", "dashboard"])
def test_clear_errors_without_warehouse_or_marts(command: str, tmp_path: Path) -> None:
    missing = runner.invoke(app, [command, "--warehouse", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1
    assert "run `polit load` and `polit transform` first" in " ".join(missing.output.split())
    raw_only = tmp_path / "unbuilt.duckdb"
    DuckWarehouse(str(raw_only)).close()  # the raw tables, no marts
    unbuilt = runner.invoke(app, [command, "--warehouse", str(raw_only)])
    assert unbuilt.exit_code == 1
    assert "run `polit transform` first" in " ".join(unbuilt.output.split())


def test_report_rejects_an_unknown_board(insights_warehouse: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["report", "--warehouse", str(insights_warehouse), "--board", "nope",
              "--out", str(tmp_path / "r.html")]
    )  # fmt: skip
    assert result.exit_code == 1 and "no /nope/ in the marts" in result.output


# -- BigQuery, without BigQuery ----------------------------------------------------------------
class FakeRows(list):
    schema: ClassVar[list[Any]] = []


class FakeClient:
    """Answers every query with no rows, and records the SQL and its parameters."""

    def __init__(self, project: str | None = None) -> None:
        self.queries: list[tuple[str, dict[str, tuple[str, Any]]]] = []

    def query(self, sql: str, job_config: Any) -> Any:
        params = {p.name: (p.type_, p.value) for p in job_config.query_parameters}
        self.queries.append((sql, params))
        return type("Job", (), {"result": lambda self: FakeRows()})()

    def close(self) -> None:
        pass


def test_bigquery_queries_parse_and_bind_typed_parameters(monkeypatch) -> None:
    monkeypatch.setattr("google.cloud.bigquery.Client", FakeClient)
    source = open_source("bigquery://proj/ds")
    assert isinstance(source, BigQuerySource)
    filters = marts.Filters("pol", date(2023, 3, 21), date(2023, 3, 27))
    assert marts.boards(source) == []  # no rows
    data = marts.load_insights(source, filters)
    assert set(data.frames) == set(marts.QUERIES)
    client: FakeClient = source.client  # type: ignore[assignment]
    client.queries.pop(0)  # the boards' days
    assert len(client.queries) == len(marts.QUERIES) + 2  # + the span and the observations
    for grain in ("hour", "day"):
        for name in [*marts.QUERIES, "span", "observed"]:
            sqlglot.parse_one(marts.query_sql(source, name, grain), dialect="bigquery")
    for sql, params in client.queries:
        tree = sqlglot.parse_one(sql, dialect="bigquery")
        tables = {f"{t.catalog}.{t.db}.{t.name}" for t in tree.find_all(sqlglot.exp.Table)}
        assert tables <= {f"proj.ds.{m}" for m in marts.MARTS}, tables
        assert "$" not in sql
        assert set(re.findall(r"@([a-z_]+)", sql)) == set(params)
        assert params["board"] == ("STRING", "pol")
        for name, (kind, _) in params.items():
            expected = {"start": "TIMESTAMP", "end": "TIMESTAMP", "first_day": "DATE",
                        "last_day": "DATE", "board": "STRING",
                        "answerable_before": "TIMESTAMP"}[name]  # fmt: skip
            assert kind == expected


# -- honest ranges, axes and labels -----------------------------------------------------------
def _svgs(document: str) -> list[str]:
    found = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', document)
    return [base64.b64decode(s).decode() for s in found]


def _load(warehouse: Path, board: str, days: int | None) -> marts.Insights:
    source = open_source(str(warehouse))
    try:
        chosen = next(b for b in marts.boards(source) if b.name == board)
        return marts.load_insights(source, chosen.last(days))
    finally:
        source.close()


def test_days_span_the_collection_not_an_old_sticky(insights_warehouse: Path) -> None:
    """/int/ holds a sticky from 2017: "all days" runs from the day of the posts of the
    threads on the board when collection started, not from 2017, and the title states the
    span observed, first to last observation (computed here from `posts`)."""
    con = duckdb.connect(str(insights_warehouse), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    oldest, first_seen, last_seen = con.execute(
        "SELECT min(post_datetime), min(first_seen_at), max(last_observed_at) FROM posts"
        " WHERE board = ?", [HOSTILE_BOARD]
    ).fetchone()  # fmt: skip
    (day_before,) = con.execute(
        "SELECT min(post_datetime) FROM posts WHERE board = ? AND post_datetime >= ?",
        [HOSTILE_BOARD, first_seen - pd.Timedelta(days=1)],
    ).fetchone()
    con.close()
    assert oldest.year == 2017 and day_before < first_seen  # a sticky, and earlier posts
    data = _load(insights_warehouse, HOSTILE_BOARD, None)
    assert (data.filters.first_day, data.filters.last_day) == (day_before.date(), last_seen.date())
    naive = [t.astimezone(UTC).replace(tzinfo=None) for t in (first_seen, last_seen)]
    assert data.covered == tuple(naive) and data.collection_start == naive[0]
    title = f"/{HOSTILE_BOARD}/ {naive[0]:%Y-%m-%d %H:%M} to {naive[1]:%H:%M} UTC"
    assert heading(data) == title
    document = render_report(data, str(insights_warehouse))
    assert f"<h1>polit: {html.escape(title)}</h1>" in document
    assert "2017" not in "".join(_svgs(document))  # no axis reaches back to the sticky


def test_charts_mark_where_collection_started(pol_report: str) -> None:
    svgs = _svgs(pol_report)
    marked = [s for s in svgs if "collection started" in s]
    assert len(marked) == 5  # activity, replies, moderation, tone, tone mix
    assert all("UTC (2023)" in s for s in marked)  # the year, in the axis title


def test_axes_show_years_across_a_year() -> None:
    """A range across New Year: the time axes' labels carry the year."""
    t = pd.date_range("2022-12-31 18:00", "2023-01-01 06:00", freq="h")
    frame = pd.DataFrame({"t": t, "posts": 10, "new_threads": 1})
    filters = marts.Filters("pol", date(2022, 12, 31), date(2023, 1, 1))
    data = marts.Insights(filters, "hour", {"activity": frame})
    labels = re.findall(r">([^<>]*20\d\d[^<>]*)</text>", chart_svg(charts.activity(data)))
    assert any("2022" in x for x in labels) and any("2023" in x for x in labels), labels
    same_year = marts.Insights(marts.Filters("pol", date(2023, 1, 1), date(2023, 1, 1)),
                               "hour", {"activity": frame[frame["t"] >= "2023-01-01"]})  # fmt: skip
    svg = chart_svg(charts.activity(same_year))
    assert "UTC (2023)" in svg and not re.findall(r">[^<>]*20\d\d-[^<>]*</text>", svg)


def test_reply_shares_count_posts_old_enough_to_be_answered(insights_warehouse: Path) -> None:
    """Posts made ANSWER_HOURS before the last observation or earlier (whole hours), and
    whether anything quoted them: computed here from `posts` and `reply_edges`."""
    data = _load(insights_warehouse, "pol", None)
    con = duckdb.connect(str(insights_warehouse), read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    (last,) = con.execute("SELECT max(last_observed_at) FROM posts WHERE board = 'pol'").fetchone()
    bound = (last - pd.Timedelta(hours=marts.ANSWER_HOURS)).replace(minute=0, second=0)
    posts, unanswered = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE post_id NOT IN (SELECT quoted_post_id FROM"
        " reply_edges WHERE board = 'pol')) FROM posts WHERE board = 'pol'"
        " AND post_datetime >= ? AND post_datetime < ?", [data.filters.start, bound]
    ).fetchone()  # fmt: skip
    (all_posts,) = con.execute(
        "SELECT count(*) FROM posts WHERE board = 'pol' AND post_datetime >= ?",
        [data.filters.start],
    ).fetchone()
    con.close()
    assert 0 < posts < all_posts / 2  # the newest posts are left out
    replies = data["replies"]
    assert (int(replies["posts"].sum()), int(replies["posts_without_reply"].sum())) == (
        posts, unanswered)  # fmt: skip
    assert dict(headline(data))[f"without a reply (posts {marts.ANSWER_HOURS} h old)"] == (
        f"{unanswered / posts:.0%}")  # fmt: skip
    replies_tile = next(t for t in TILES if t.name == "replies")
    assert f"{marts.ANSWER_HOURS} h or more before the last observation" in replies_tile.caption


def test_empty_tiles_say_why(int_report: Path) -> None:
    document = int_report.read_text(encoding="utf-8")
    empty = re.findall(r'<p class="empty">([^<]*)</p>', document)
    assert empty == [
        f"no post in these days was made {marts.ANSWER_HOURS} h or more before the last "
        "observation: too new to tell whether it gets a reply",
        "nothing was found deleted in these days",
    ]


def test_an_untitled_thread_is_titled_by_its_comment(insights_warehouse: Path) -> None:
    con = duckdb.connect(str(insights_warehouse), read_only=True)
    (topic,) = con.execute(
        "SELECT topic FROM thread_activity WHERE board = ? AND thread_id = ?",
        [HOSTILE_BOARD, STICKY],
    ).fetchone()
    con.close()
    assert topic == " ".join(STICKY_TEXT.split())


@pytest.mark.slow
@pytest.mark.browser
def test_labels_fit_their_charts_in_chromium(
    int_report: Path, pol_report: str, insights_warehouse: Path
) -> None:
    """Every chart of both reports drawn in Chromium: each text inside its chart's box,
    no two tick labels of an axis on top of each other; the long names are there. The
    same measure finds the clipping of charts laid out in another font than drawn."""
    svgs = _svgs(pol_report) + _svgs(int_report.read_text(encoding="utf-8"))
    with chromium() as browser:
        page = svg_page(browser, svgs)
        found = label_problems(page)
        page.screenshot(path=str(ARTIFACTS / "report-charts.png"), full_page=True)
        page.close()
        assert len(found) == len(svgs) and all(f["texts"] > 3 for f in found)
        bad = [(i, f) for i, f in enumerate(found) if f["outside"] or f["overlaps"]]
        assert bad == []
        everything = "".join(svgs)
        assert "Saint Vincent and the Grenad" in everything and LONG_FLAG in everything
        assert LONG_DOMAINS[0] in everything
        # the control: laid out in vl-convert's default font, drawn in the browser's
        data = _load(insights_warehouse, HOSTILE_BOARD, None)
        chart = charts.flags(data, "meme")
        assert chart is not None
        import vl_convert

        spec = chart.properties(width=420, autosize=alt.AutoSizeParams(type="fit",
                                contains="padding")).to_dict()  # fmt: skip
        page = svg_page(browser, [vl_convert.vegalite_to_svg(spec)])
        assert LONG_FLAG in label_problems(page)[0]["outside"]
        page.close()
