"""The data dictionary: every column of posts, threads and every mart, as the warehouse has
them, is described in the dbt YAML (read from the manifest dbt wrote), and `polit docs`
writes dbt's site."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.built import recording_dbt_dir, recording_warehouse
from tests.helpers.paths import ROOT
from tests.helpers.warehouse import query

POLIT = str(ROOT / ".venv" / "bin" / "polit")
MARTS = sorted(p.stem for p in (ROOT / "dbt/models/insights").glob("*.sql")
               if not p.stem.startswith("int_"))  # fmt: skip
DOCUMENTED = ("posts", "threads", *MARTS)


@pytest.fixture(scope="module")
def built(recording, tmp_path_factory) -> Path:
    return recording_warehouse(recording, tmp_path_factory)


def test_every_column_is_described(built: Path, tmp_path_factory) -> None:
    target = recording_dbt_dir(tmp_path_factory) / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    undocumented, stale = [], []
    for model in DOCUMENTED:
        rows = query(built, "SELECT column_name FROM information_schema.columns WHERE "
                     f"table_schema = 'main' AND table_name = '{model}'")  # fmt: skip
        columns = {c for (c,) in rows}
        assert columns, model  # built, so the comparison means something
        described = {c for c, v in models[model]["columns"].items() if v.get("description")}
        assert models[model]["description"], model
        undocumented += [f"{model}.{c}" for c in sorted(columns - described)]
        stale += [f"{model}.{c}" for c in sorted(set(models[model]["columns"]) - columns)]
    assert not undocumented, f"describe these in dbt/models/**/*.yml: {undocumented}"
    assert not stale, f"described but not in the warehouse: {stale}"


def test_docs_writes_the_site(built: Path, tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built, path)
    out = tmp_path / "site"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run([POLIT, "docs", "--out", str(out), "--warehouse", str(path)],
                            capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (out / "index.html").is_file() and (out / "static_index.html").is_file()
    catalog = json.loads((out / "catalog.json").read_text())
    posts = next(n for n in catalog["nodes"].values() if n["metadata"]["name"] == "posts")
    assert "comment" in posts["columns"]
    manifest = json.loads((out / "manifest.json").read_text())
    node = next(n for n in manifest["nodes"].values() if n["name"] == "posts")
    assert node["columns"]["comment"]["description"]
    missing = subprocess.run([POLIT, "docs", "--out", str(out), "--warehouse",
                              str(tmp_path / "none.duckdb")], capture_output=True, text=True,
                             env=env)  # fmt: skip
    assert missing.returncode == 1 and "no warehouse at" in missing.stderr
