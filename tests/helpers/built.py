"""The shared recording's warehouse, crawled, loaded and transformed once per test run
(for the read-side tests: sql, export, search, the Python API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from polit.transform import transform
from tests.helpers.once import once, run_dir
from tests.helpers.warehouse import load, replayed_lake

NAME = "recording-warehouse"


def recording_dbt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dbt build directory of recording_warehouse (target/manifest.json): one per run,
    beside the built file that each xdist worker copies."""
    return run_dir(tmp_path_factory) / NAME / "dbt"


def recording_warehouse(recording: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    def build(base: Path) -> Path:
        path = base / "warehouse.duckdb"
        path.unlink(missing_ok=True)
        load(replayed_lake(recording, tmp_path_factory), path)
        transform(str(path), workdir=base / "dbt", quiet=True)
        return path

    return once(tmp_path_factory, NAME, build, private=True)
