"""The Streamlit script behind `polit dashboard` (Streamlit runs it once per page view and
per change in the sidebar; polit never imports it).

It reads the marts only (`marts.MARTS`), cached for a few minutes per board and days.
Data reaches the page through `st.altair_chart`, `st.dataframe` and `st.metric` values
(text); everything rendered as Markdown (titles, captions, labels) is fixed text.

URL parameters preselect the sidebar: `?board=pol&days=7` (1, 7, 30 or all) or
`?board=pol&from=2023-03-27&to=2023-03-28`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date

import streamlit as st

from polit.config import Settings
from polit.insights import marts
from polit.insights.sources import InsightsError, open_source
from polit.insights.tiles import TILES, Tile, headline

CACHE_SECONDS = 300
PERIODS = {"last day": 1, "last 7 days": 7, "last 30 days": 30, "all days": None}
CUSTOM = "choose days"


def warehouse_url() -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--warehouse")
    args, _ = parser.parse_known_args(sys.argv[1:])
    return args.warehouse or Settings.from_env().warehouse


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def load_boards(url: str) -> list[marts.Board]:
    source = open_source(url)
    try:
        marts.check_marts(source)
        return marts.boards(source)
    finally:
        source.close()


@st.cache_data(ttl=CACHE_SECONDS, show_spinner="reading the marts …")
def load_insights(url: str, board: str, first_day: date, last_day: date) -> marts.Insights:
    source = open_source(url)
    try:
        return marts.load_insights(source, marts.Filters(board, first_day, last_day))
    finally:
        source.close()


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
    first = _date(params.get("from"), board.last(7).first_day)
    last = _date(params.get("to"), board.last_day)
    picked = st.sidebar.date_input(
        "From, to", value=(first, last), min_value=board.first_day, max_value=board.last_day
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
        for build in tile.charts:
            chart = build(data)
            if chart is None:
                st.info("no data in these days")
            else:
                st.altair_chart(chart, width="stretch")
        for table in tile.tables:
            df = table.build(data)
            st.markdown(f"**{table.title}**")  # fixed text
            st.dataframe(df, hide_index=True, width="stretch")


def main() -> None:
    st.set_page_config(page_title="polit insights", layout="wide")
    url = warehouse_url()
    st.sidebar.title("polit")
    try:
        boards = load_boards(url)
    except InsightsError as exc:
        st.error("Cannot read the insight marts.")
        st.text(str(exc))
        st.stop()
    if not boards:
        st.warning("The marts are empty: crawl, then run `polit load` and `polit transform`.")
        st.stop()
    filters = choose_filters(boards)
    st.sidebar.caption("warehouse")
    st.sidebar.text(url)
    try:
        data = load_insights(url, filters.board, filters.first_day, filters.last_day)
    except InsightsError as exc:
        st.error("Cannot read the insight marts.")
        st.text(str(exc))
        st.stop()
    st.title("polit insights", anchor=False)
    st.text(f"/{filters.board}/  {filters.first_day} to {filters.last_day} (UTC, by {data.grain})")
    for column, (label, value) in zip(st.columns(5), headline(data), strict=True):
        column.metric(label, value)
    for i in range(0, len(TILES), 2):
        for column, tile in zip(st.columns(2), TILES[i : i + 2], strict=False):
            with column:
                show_tile(tile, data)


if __name__ == "__main__":  # how Streamlit runs a script; importing it does nothing
    main()
