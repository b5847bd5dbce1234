"""The dashboard's static view cache (`polit.insights.views`)."""

from pathlib import Path

import duckdb
import pytest

from polit.insights import views
from polit.insights.sources import InsightsError


def test_a_view_is_drawn_once_per_ttl(insights_warehouse: Path, monkeypatch) -> None:
    url = str(insights_warehouse)
    filters = views.default_filters(views.boards(url))
    first = views.static_view(url, filters)
    assert 'id="tile-activity"' in first
    assert views.static_view(url, filters) is first  # kept, not drawn again
    monkeypatch.setattr(views, "TTL_SECONDS", 0)
    again = views.static_view(url, filters)
    assert again is not first  # drawn again: same marts, same numbers
    head = first.index("<img")  # (vl-convert numbers its SVG gradients per process)
    assert again[:head] == first[:head]


def test_prewarm_draws_the_default_view(insights_warehouse: Path, monkeypatch) -> None:
    monkeypatch.setattr(views, "_cache", {})
    url = str(insights_warehouse)
    assert views.prewarm(url) > 0
    keys = set(views._cache)
    assert ("boards", url) in keys
    assert ("view", url, views.default_filters(views.boards(url))) in keys


def test_missing_marts_are_named(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(InsightsError, match="polit transform"):
        views.boards(str(path))
