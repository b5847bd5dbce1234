from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.gcs"]

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("POLIT_SHARED", ROOT.parent / "shared")).resolve()
FIXTURES = SHARED / "fixtures"
RECORDING = FIXTURES / "pol-2023-03-27"
SAMPLES = FIXTURES / "api-samples"


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
    crawled, loaded and transformed; tests/insights_data.py), built once per session."""
    from tests.insights_data import build_warehouse

    return build_warehouse(tmp_path_factory.mktemp("insights"))
