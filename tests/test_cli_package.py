"""The CLI is a package of one module per command group: each imports on its own (no import
cycle), and `polit --help` stays light (no data library is imported to print it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(__file__).parents[1] / "src" / "polit" / "cli"
SUBMODULES = sorted(p.stem for p in CLI.glob("*.py") if p.stem != "__init__")
# what `polit --help` must not load: each costs 0.1-2 s of start-up
HEAVY = {"duckdb", "pyarrow", "pandas", "httpx", "fsspec", "gcsfs", "dbt", "streamlit",
         "google.cloud.bigquery"}  # fmt: skip


def python(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=120)  # fmt: skip


def test_the_package_has_the_command_groups():
    assert {"base", "crawl", "warehouse", "data", "imports", "insights", "lake", "replay",
            "serve", "cost", "demo"} <= set(SUBMODULES)  # fmt: skip


@pytest.mark.parametrize("module", SUBMODULES)
def test_each_cli_module_imports_alone_in_a_fresh_interpreter(module):
    proc = python("-c", f"import polit.cli.{module}")
    assert proc.returncode == 0, proc.stderr


def test_no_command_module_imports_another_or_the_package():
    """Command modules share only polit.cli.base (and data's search-index helper)."""
    for module in SUBMODULES:
        text = (CLI / f"{module}.py").read_text()
        imported = {line.split()[1] for line in text.splitlines()
                    if line.strip().startswith(("from polit.cli", "import polit.cli"))}  # fmt: skip
        allowed = {"polit.cli.base"} | ({"polit.cli.data"} if module == "warehouse" else set())
        assert imported <= allowed, (module, imported)


def test_help_and_version_import_no_data_library():
    code = (
        "import sys, runpy\n"
        "sys.argv = ['polit', '--help']\n"
        "try:\n    runpy.run_module('polit', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(sys.modules))\n"
    )
    proc = python("-c", code)
    assert proc.returncode == 0, proc.stderr
    loaded = eval(proc.stdout.strip().splitlines()[-1])  # a list literal we printed
    assert "typer" in loaded and not HEAVY & set(loaded), HEAVY & set(loaded)
    version = python("-m", "polit", "--version")
    assert version.returncode == 0 and version.stdout.startswith("polit "), version.stderr
