"""The Streamlit script behind `polit dashboard` (Streamlit runs it once per page view and
per change in the sidebar; polit never imports it).

It reads the marts only (`marts.MARTS`), kept for a few minutes per board and days
(`views`). Two
views of the same tiles (`tiles.TILES`):

* static (the default): the report's HTML fragment (`views.static_view`): charts as SVG
  images drawn on the server, tables as HTML with every cell escaped by `report.py` (and
  sanitized again by Streamlit's `st.html`). Board and days are links. It draws several times
  faster than live charts: one page element instead of forty.
* interactive (`?charts=interactive`): Altair charts with tooltips, sortable tables, and the
  filters in the sidebar. Data reaches it through `st.altair_chart`, `st.dataframe` and
  `st.metric` values (text); everything rendered as Markdown is fixed text.

URL parameters choose the view: `?board=pol&days=7` (1, 7, 30 or all) or
`?board=pol&from=2023-03-27&to=2023-03-28`, plus `&charts=interactive`.

Two text pages (`pages.py`: HTML built there, every value escaped): `?board=pol&thread=NO`
a thread's posts, and `?board=pol&q=google,skype&trend=day` the search box's posts and
the trend of its queries (Altair charts; the same points as `polit search --trend`).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections.abc import Callable
from datetime import date
from typing import NoReturn, TypeVar
from urllib.parse import urlencode

import streamlit as st

from polit.config import Settings
from polit.insights import charts, marts, pages, published, views
from polit.insights.report import TILES_STYLE, details, heading
from polit.insights.sources import InsightsError, Source, open_source
from polit.insights.tiles import TILES, Tile, headline

T = TypeVar("T")
PERIODS = {"last day": 1, "last 7 days": 7, "last 30 days": 30, "all days": None}
PERIODS_BY_PARAM = {str(d): d for d in PERIODS.values() if d is not None}
CUSTOM = "choose days"


def warehouse_url() -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--warehouse")
    args, _ = parser.parse_known_args(sys.argv[1:])
    return Settings.from_env(warehouse=args.warehouse).warehouse


def marts_error(exc: InsightsError) -> NoReturn:
    st.error("Cannot read the insight marts.")
    st.text(str(exc))
    st.stop()


def url_filters(boards: list[marts.Board]) -> marts.Filters:
    """The board and days the URL asks for (the static view's links), else the default."""
    params = st.query_params
    board = next((b for b in boards if b.name == params.get("board")), None)
    if board is None:
        return views.default_filters(boards)
    if params.get("from") or params.get("to"):
        last_week = board.last(views.DEFAULT_DAYS)
        first_day, last_day = board.first_day, board.last_day
        first = max(_date(params.get("from"), last_week.first_day), first_day)
        last = min(_date(params.get("to"), last_day), last_day)
        return marts.Filters(board.name, min(first, last), max(first, last))
    days = params.get("days", str(views.DEFAULT_DAYS))
    return board.last(None if days == "all" else PERIODS_BY_PARAM.get(days, views.DEFAULT_DAYS))


SAFE_BOARD = re.compile(r"[a-z0-9]{1,16}")


def navigation(
    boards: list[marts.Board], filters: marts.Filters, data: marts.Insights | None = None
) -> str:
    """The static view's header: where we are (the span the data covers), and links to the
    other boards and days."""

    def link(text: str, current: bool, **params: str) -> str:
        if current:
            return f"<b>{html.escape(text)}</b>"
        return f'<a href="?{html.escape(urlencode(params))}" target="_self">{html.escape(text)}</a>'

    board_links = " · ".join(
        link(f"/{b.name}/", b.name == filters.board, board=b.name)
        for b in boards
        if SAFE_BOARD.fullmatch(b.name)
    )
    board = next(b for b in boards if b.name == filters.board)
    day_links = " · ".join(
        link(label, board.last(days) == filters, board=filters.board, days=str(days or "all"))
        for label, days in PERIODS.items()
    )
    here = f"/{filters.board}/ {filters.first_day} to {filters.last_day} (UTC)"
    if data is not None:
        here = f"{heading(data)} ({details(data)})"
    interactive = link(
        "interactive charts", False, board=filters.board, **{"from": str(filters.first_day),
        "to": str(filters.last_day)}, charts="interactive",
    )  # fmt: skip
    return (
        f'<div class="polit"><h1 style="margin:0">polit insights</h1>'
        f"<p>{html.escape(here)}</p><p>{board_links}</p><p>{day_links} · {interactive}</p></div>"
    )


def static_page(url: str, boards: list[marts.Board]) -> None:
    filters = url_filters(boards)
    with st.spinner("drawing the tiles …"):
        try:
            fragment = views.static_view(url, filters)
            data = views.insights(url, filters)
        except InsightsError as exc:
            marts_error(exc)
    search_box(filters.board)
    st.html(f"<style>{TILES_STYLE}</style>{navigation(boards, filters, data)}{fragment}")


def search_box(board: str, query: str = "", grain: str = "day") -> None:
    """Search the board's posts; a new query goes to the search page (`?q=`)."""
    with st.form("search", border=False):
        left, middle, right = st.columns([6, 1, 1], vertical_alignment="bottom")
        text = left.text_input(
            "Search posts (several queries: comma-separated, e.g. google, skype)", value=query
        )
        grains = ["day", "hour"]
        per = middle.selectbox("per", grains, index=grains.index(grain))
        if right.form_submit_button("Search") and text.strip():
            st.query_params.from_dict({"board": board, "q": text, "trend": per})
            st.rerun()


def read_page(url: str, read: Callable[[Source], T]) -> T:
    try:
        source = open_source(url)
        try:
            return read(source)
        finally:
            source.close()
    except InsightsError as exc:
        st.error("Cannot read the warehouse.")
        st.text(str(exc))
        st.stop()


def thread_page(url: str, board: str, number: str) -> None:
    if not number.isdigit():
        st.error("A thread number is digits.")
        st.stop()
    thread = read_page(url, lambda s: pages.read_thread(s, board, int(number)))
    st.html(f"<style>{pages.STYLE}</style>{pages.thread_html(thread)}")


def search_page(url: str, board: str, text: str, grain: str) -> None:
    from polit.search import search
    from polit.search.trend import split_queries, trend
    from polit.warehouse.filters import Filters

    grain = grain if grain in ("hour", "day") else "day"
    search_box(board, text, grain)
    st.html(pages.back_link(board))
    filters = Filters(boards=(board,))

    def find(source: Source) -> tuple[list, list]:
        found = [(q, search(source, q, filters, sort="new", limit=20)) for q in split_queries(text)]
        return trend(source, text, filters, grain), found

    points, found = read_page(url, find)
    chart = charts.term_trend(points, grain)
    if chart is not None:
        st.altair_chart(chart, width="stretch")
    st.html(f"<style>{pages.STYLE}</style>{pages.trend_table(points, grain)}")
    for query, result in found:
        st.html(pages.hits_html(board, result.table.to_pylist(), result.total, query))


def choose_filters(boards: list[marts.Board]) -> marts.Filters:
    """The sidebar: board and days (preselected from the URL's parameters)."""
    params = st.query_params
    names = [b.name for b in boards]
    wanted = params.get("board")
    board = boards[names.index(wanted) if wanted in names else 0]
    board = st.sidebar.selectbox(
        "Board", boards, index=boards.index(board), format_func=lambda b: f"/{b.name}/"
    )
    periods = [*PERIODS, CUSTOM]
    days_param = params.get("days")
    default = next((p for p, d in PERIODS.items() if str(d or "all") == days_param), None)
    if params.get("from") or params.get("to"):
        default = CUSTOM
    period = st.sidebar.selectbox(
        "Days (UTC)", periods, index=periods.index(default or "last 7 days")
    )
    if period != CUSTOM:
        return board.last(PERIODS[period])
    first_day, last_day = board.first_day, board.last_day
    first = _date(params.get("from"), board.last(7).first_day)
    last = _date(params.get("to"), last_day)
    picked = st.sidebar.date_input(
        "From, to", value=(first, last), min_value=first_day, max_value=last_day
    )
    if isinstance(picked, tuple) and len(picked) == 2:
        first, last = picked
    return marts.Filters(board.name, min(first, last), max(first, last))


def _date(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


def show_tile(tile: Tile, data: marts.Insights) -> None:
    with st.container(border=True, key=f"tile-{tile.name}"):
        st.subheader(tile.title, anchor=False)
        st.caption(tile.caption)
        for spec in tile.charts:
            chart = spec.build(data)
            if chart is None:
                st.info(spec.why_empty(data))  # fixed text
            else:
                st.altair_chart(chart, width="stretch")
        for table in tile.tables:
            df = table.build(data)
            st.markdown(f"**{table.title}**")  # fixed text
            links = {}
            if "thread" in df.columns:  # the thread's page (the number shown, the URL made here)
                df["thread"] = [pages.thread_href(data.filters.board, int(t)) for t in df["thread"]]
                links["thread"] = st.column_config.LinkColumn(display_text=r"thread=(\d+)")
            st.dataframe(df, hide_index=True, width="stretch", column_config=links)


def main() -> None:
    interactive = st.query_params.get("charts") == "interactive"
    st.set_page_config(page_title="polit insights", layout="wide",
                       initial_sidebar_state="auto" if interactive else "collapsed")  # fmt: skip
    url = warehouse_url()
    try:
        boards = views.boards(url)
    except InsightsError as exc:
        marts_error(exc)
    if not boards:
        st.warning("The marts are empty: crawl, then run `polit load` and `polit transform`.")
        st.stop()
    params = st.query_params
    board_param = params.get("board") or boards[0].name
    if params.get("thread"):
        thread_page(url, board_param, params.get("thread", ""))
        return
    if params.get("q"):
        search_page(url, board_param, params.get("q", ""), params.get("trend", "day"))
        return
    if not interactive:
        static_page(url, boards)
        return
    st.sidebar.title("polit")
    filters = choose_filters(boards)
    st.sidebar.caption("warehouse")
    st.sidebar.text(url)
    with st.spinner("reading the marts …"):
        try:
            data = views.insights(url, filters)
        except InsightsError as exc:
            marts_error(exc)
    st.title("polit insights", anchor=False)
    st.text(f"{heading(data)} ({details(data)})")
    for column, (label, value) in zip(st.columns(5), headline(data), strict=True):
        column.metric(label, value)
    for i in range(0, len(TILES), 2):
        for column, tile in zip(st.columns(2), TILES[i : i + 2], strict=False):
            with column:
                show_tile(tile, data)
    with st.container(border=True, key="published"):
        st.subheader(published.TITLE, anchor=False)
        st.text(published.caption(data))  # text: it names the board
        st.dataframe(published.table(data), hide_index=True, width="stretch")


if __name__ == "__main__":  # how Streamlit runs a script; importing it does nothing
    main()
