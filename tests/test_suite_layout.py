"""The suite's own rules: no test module imports another (shared code is in tests/helpers/),
and the fast lane (`make test-fast`) keeps a test from every module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.lanes import COLLECTED, FAST, LEFT_OUT
from tests.helpers.paths import ROOT

TESTS = ROOT / "tests"


def _imported(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names += [base] + [f"{base}.{a.name}" for a in node.names]
    return names


def _is_test_module(name: str) -> bool:
    return any(part.startswith("test_") or part == "conftest" for part in name.split("."))


def test_no_test_module_imports_another() -> None:
    files = sorted(TESTS.glob("test_*.py")) + sorted((TESTS / "helpers").glob("*.py"))
    bad = [f"{p.relative_to(ROOT)}: {n}" for p in files for n in _imported(p) if _is_test_module(n)]
    assert bad == [], "move what they share to tests/helpers/"
    helpers = {p.name for p in TESTS.glob("*.py")} - {"conftest.py", "__init__.py"}
    assert {h for h in helpers if not h.startswith("test_")} == set(), "helpers go in helpers/"


def test_the_import_check_finds_a_test_module_import(tmp_path: Path) -> None:
    bad = tmp_path / "test_bad.py"
    bad.write_text("from tests.test_crash import x\nimport tests.helpers.paths\n")
    bad.write_text(bad.read_text() + "from . import test_y\n")
    found = [n for n in _imported(bad) if _is_test_module(n)]
    assert found == ["tests.test_crash", "tests.test_crash.x", "..test_y"]


def _fast_modules(request: pytest.FixtureRequest) -> set[str]:
    modules = {p.name for p in TESTS.glob("test_*.py")}
    items = request.config.stash.get(COLLECTED, [])
    if {i.path.name for i in items if i.path.parent == TESTS} >= modules:  # the whole suite
        return {
            i.path.name
            for i in items
            if i.path.parent == TESTS and not any(i.get_closest_marker(m) for m in LEFT_OUT)
        }
    # run on its own or with a few modules: collect the fast lane in a child
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-m", FAST, "tests"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    return {line.split("::")[0].rsplit("/", 1)[-1] for line in proc.stdout.splitlines()
            if line.startswith("tests/") and "::" in line}  # fmt: skip


def test_the_fast_lane_has_a_test_from_every_module(request: pytest.FixtureRequest) -> None:
    modules = {p.name for p in TESTS.glob("test_*.py")}
    assert modules - _fast_modules(request) == set(), "give these modules a fast test"


def test_make_test_fast_leaves_out_the_marked_lanes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert f'-m "{FAST}"' in makefile
    declared = ROOT.joinpath("pyproject.toml").read_text()
    for marker in LEFT_OUT:
        assert f'"{marker}: ' in declared, f"marker {marker} is not declared in pyproject.toml"
