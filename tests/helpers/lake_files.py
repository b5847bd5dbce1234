"""Checks on a lake's files that the crash and watch tests share."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq


def assert_every_visible_file_is_whole(lake_dir: Path) -> int:
    checked = 0
    for path in lake_dir.rglob("*"):
        if path.is_dir() or path.name.startswith("."):
            continue
        if path.suffix == ".parquet":
            pq.read_table(path)  # raises on a partial file
        elif path.suffix == ".json":
            json.loads(path.read_bytes())
        else:
            raise AssertionError(f"unexpected file {path}")
        checked += 1
    return checked
