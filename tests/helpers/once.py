"""Build something once per `pytest` run, however many xdist workers share the run: the
first worker to get the lock builds, the others wait for it and reuse the result."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary directory: under xdist each worker has its own basetemp, inside
    the run's."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    build: Callable[[Path], Path],
    private: bool = False,
) -> Path:
    """`build(dir)` in `<run dir>/<name>` the first time any worker asks; its result after.
    `private`: the result is a file that tests may open for writing (a DuckDB warehouse, an
    index beside it), so each worker gets its own copy of it."""
    work = run_dir(tmp_path_factory) / name
    done = work.with_name(f"{name}.built")
    with open(work.with_name(f"{name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            work.mkdir(exist_ok=True)
            done.write_text(str(build(work)))
    built = Path(done.read_text())
    if not private or not os.environ.get("PYTEST_XDIST_WORKER"):
        return built
    mine = tmp_path_factory.getbasetemp() / name / built.name
    if not mine.exists():
        mine.parent.mkdir(exist_ok=True)
        shutil.copyfile(built, mine)
    return mine
