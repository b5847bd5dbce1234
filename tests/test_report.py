"""`polit report` and the marts' queries: one self-contained HTML file with no script and no
external resource, hostile post text escaped (also checked in Chromium), only marts read,
and the same queries valid for BigQuery."""

from __future__ import annotations

import base64
import html
import re
import shutil
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pandas as pd
import pytest
import sqlglot
from bench.dashboard import chromium
from typer.testing import CliRunner

from polit.cli import app
from polit.insights import marts
from polit.insights.sources import BigQuerySource, open_source
from polit.insights.tiles import TILES
from polit.warehouse.duck import DuckWarehouse
from tests.insights_data import HOSTILE_BOARD, IMG, JS_LINK, SCRIPT

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
                "footer"}  # fmt: skip


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
    assert ids == [f"tile-{tile.name}" for tile in TILES]


def test_report_draws_every_chart(pol_report: str, insights_warehouse: Path) -> None:
    tags = parse(pol_report)
    images = [a for t, a in tags.tags if t == "img"]
    assert len(images) == sum(len(t.charts) for t in TILES)  # every chart drawn
    assert "no data in these days" not in pol_report
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
    assert not [t for t, _ in parse(document).tags if t in {"script", "a", "iframe", "object"}]


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
            page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
            page.close()
    print(f"screenshots: {ARTIFACTS / 'report-pol.png'}, {ARTIFACTS / 'report-int.png'}")


# -- marts only -------------------------------------------------------------------------------
def test_queries_name_only_marts() -> None:
    assert not BIG_TABLES & set(marts.MARTS)
    used = set().union(*(marts.referenced_tables(q) for q in marts.QUERIES.values()))
    used |= marts.referenced_tables(marts.BOARDS) | marts.referenced_tables(marts.SPAN)
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
    data = marts.load_insights(source, filters)
    assert set(data.frames) == set(marts.QUERIES)
    client: FakeClient = source.client  # type: ignore[assignment]
    assert len(client.queries) == len(marts.QUERIES) + 1  # + the span
    for grain in ("hour", "day"):
        for name in marts.QUERIES:
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
                        "last_day": "DATE", "board": "STRING"}[name]  # fmt: skip
            assert kind == expected
