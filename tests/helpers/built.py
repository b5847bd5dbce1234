"""The shared recording's warehouse, crawled, loaded and transformed once per test session
(for the read-side tests: sql, export, search, the Python API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from polit.transform import transform
from tests.helpers.warehouse import load, replayed_lake


def recording_warehouse(recording: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp() / "recording-warehouse"
    path = base / "warehouse.duckdb"
    done = base / "built"
    if not done.exists():
        base.mkdir(exist_ok=True)
        path.unlink(missing_ok=True)
        load(replayed_lake(recording, tmp_path_factory), path)
        transform(str(path), workdir=base / "dbt", quiet=True)
        done.write_text("ok")
    return path
