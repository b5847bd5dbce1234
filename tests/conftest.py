from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.lanes import COLLECTED, FIXTURE_MARKS
from tests.helpers.once import once
from tests.helpers.paths import RECORDING, SAMPLES

pytest_plugins = ["tests.helpers.gcs"]


@pytest.hookimpl(tryfirst=True)  # before `-m` reads the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            if fixture in FIXTURE_MARKS:
                item.add_marker(FIXTURE_MARKS[fixture])
    config.stash[COLLECTED] = list(items)


@pytest.fixture(scope="session")
def recording() -> Path:
    if not (RECORDING / "recording.json").exists():
        pytest.fail(f"shared recording not found at {RECORDING} (set POLIT_SHARED)")
    return RECORDING


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def insights_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB warehouse with the insight marts (a synthetic /pol/ and a hostile /int/,
    crawled, loaded and transformed; tests/helpers/insights_data.py), built once per run."""
    from tests.helpers.insights_data import build_warehouse

    return once(tmp_path_factory, "insights", build_warehouse, private=True)
