"""The dashboard's data, kept for a few minutes per board and days: the marts' data frames
(both views), and the static view, the report's HTML fragment (`report.insights_html`).

Drawing the tiles is the slow part (vl-convert renders each chart to SVG, ~0.2 s a chart),
so it happens on the server, once per board and days, and not in the browser on every view:
the page then shows one HTML element with images and tables, which a browser draws several
times faster than a dozen live Vega charts. `polit dashboard` draws the default view (the
first board's last 7 days) before it starts serving, so the first visitor does not wait.

The cache lives in this module, which the Streamlit script and the server share (one
process). One lock: two sessions asking for the same view draw it once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from polit.insights import marts
from polit.insights.report import insights_html
from polit.insights.sources import Source, open_source

T = TypeVar("T")

TTL_SECONDS = 300
DEFAULT_DAYS = 7

_lock = threading.RLock()  # a view is drawn from insights kept under the same lock
_cache: dict[tuple[Any, ...], tuple[float, Any]] = {}


def _kept(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """compute(), or its value from the last TTL_SECONDS."""
    with _lock:
        cached = _cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < TTL_SECONDS:
            return cast(T, cached[1])
        value = compute()
        _cache[key] = (time.monotonic(), value)
        return value


def _read(url: str, query: Callable[[Source], T]) -> T:
    source = open_source(url)
    try:
        return query(source)
    finally:
        source.close()


def default_filters(boards: list[marts.Board]) -> marts.Filters:
    """What the dashboard shows without URL parameters: the first board's last 7 days."""
    return boards[0].last(DEFAULT_DAYS)


def boards(url: str) -> list[marts.Board]:
    """The boards in the marts (InsightsError if the marts are missing)."""

    def find(source: Source) -> list[marts.Board]:
        marts.check_marts(source)
        return marts.boards(source)

    return _kept(("boards", url), lambda: _read(url, find))


def insights(url: str, filters: marts.Filters) -> marts.Insights:
    """The marts' data for these filters, shared by every session: read it, never change it."""
    return _kept(
        ("insights", url, filters), lambda: _read(url, lambda s: marts.load_insights(s, filters))
    )


def static_view(url: str, filters: marts.Filters) -> str:
    """The tiles' HTML for these filters."""
    return _kept(("view", url, filters), lambda: insights_html(insights(url, filters)))


def prewarm(url: str) -> float:
    """Draw the default view now; returns the seconds it took. A warehouse without marts is
    left for the page to explain."""
    start = time.perf_counter()
    found = boards(url)
    if found:
        static_view(url, default_filters(found))
    return time.perf_counter() - start
