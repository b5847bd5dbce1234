"""`run_dbt` and `transform`: dbt's own runner (`dbtRunner`), in this process.

Each run writes profiles.yml for the warehouse into a work directory that also holds dbt's
`target/` and logs: `workdir` if given (tests keep it to read the manifest), else for
`transform` one per warehouse under the user's cache directory (`build_dir`), kept between
runs so that dbt parses only what changed (a full parse costs seconds every hour), else a
temporary one.
The dbt project is `dbt/` at the repository root, or `POLIT_DBT_PROJECT`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polit.config import Settings
from polit.transform.cursors import cursors_in_env, read_cursors
from polit.transform.profiles import write_profiles
from polit.warehouse.base import open_warehouse, parse_url
from polit.warehouse.gate import writing

FAILED = {"error", "fail", "runtime error"}


def project_dir(settings: Settings | None = None) -> Path:
    configured = (settings or Settings.from_env()).dbt_project
    path = Path(configured) if configured else Path(__file__).resolve().parents[3] / "dbt"
    if not (path / "dbt_project.yml").is_file():
        raise DbtError(f"no dbt project at {path} (set POLIT_DBT_PROJECT)")
    return path


class DbtError(RuntimeError):
    """dbt failed; the message names the failing nodes and what dbt said."""


@dataclass(frozen=True)
class NodeDone:
    """One dbt node finished: `model.polit.posts`, `model`, `success`, 1.2 (seconds)."""

    unique_id: str
    resource_type: str
    status: str
    seconds: float

    @property
    def name(self) -> str:
        return self.unique_id.split(".")[-1]


OnNode = Callable[[NodeDone], None]


def _node_callback(on_node: OnNode) -> Callable[[Any], None]:
    """A dbtRunner callback that hands each NodeFinished event to `on_node`."""

    def callback(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        info, result = event.data.node_info, event.data.run_result
        on_node(NodeDone(info.unique_id, info.resource_type, str(result.status or info.node_status),
                         float(result.execution_time or 0.0)))  # fmt: skip

    return callback


def log_file(workdir: Path) -> Path:
    """dbt's own log of runs in `workdir` (debug level, appended, rotated by dbt)."""
    return workdir / "logs" / "dbt.log"


@dataclass
class TransformReport:
    command: str
    statuses: dict[str, str] = field(default_factory=dict)  # unique_id -> status
    seconds: float = 0.0
    log: Path | None = None  # dbt's own log of the run

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for status in self.statuses.values():
            counts[status] = counts.get(status, 0) + 1
        done = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do"
        return f"dbt {self.command}: {done} ({self.seconds:.1f}s)"


@contextmanager
def _workdir(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="polit-dbt-") as tmp:
        yield Path(tmp)


def build_dir(warehouse_url: str) -> Path:
    """Where `transform` keeps dbt's target and logs for a warehouse between runs:
    $XDG_CACHE_HOME/polit/dbt/<hash of the warehouse URL and the dbt project>."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(f"{warehouse_url}\0{project_dir()}".encode()).hexdigest()[:16]
    return cache / "polit" / "dbt" / key


def run_dbt(
    args: Sequence[str],
    settings: Settings | str,
    workdir: Path | None = None,
    quiet: bool = True,
    on_node: OnNode | None = None,
) -> Any:
    """Run one dbt command (`["build"]`, `["parse"]`, …) on the settings' warehouse (or a
    warehouse URL). Returns dbt's result object; raises DbtError when dbt fails.

    dbt's log goes to `log_file(workdir)` only, unless `quiet` is False: then to the console
    too. `on_node` is told of each node as it finishes (for progress lines)."""
    from dbt.cli.main import dbtRunner

    url = settings.warehouse if isinstance(settings, Settings) else settings
    project = project_dir(settings if isinstance(settings, Settings) else None)
    with _workdir(workdir) as work:
        write_profiles(work, url)
        flags = [
            "--project-dir", str(project),
            "--profiles-dir", str(work),
            "--target-path", str(work / "target"),
            "--log-path", str(work / "logs"),
        ]  # fmt: skip
        globals_ = [
            "--no-send-anonymous-usage-stats", "--no-version-check", "--no-use-colors",
            "--log-level", "none" if quiet else "info", "--log-level-file", "debug",
        ]  # fmt: skip
        callbacks = [_node_callback(on_node)] if on_node else []
        try:
            result = dbtRunner(callbacks=callbacks).invoke([*globals_, *args, *flags])
        finally:
            _release_duckdb()
    if not result.success:
        raise DbtError(describe_failure(args, result))
    return result


def _release_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB instance open in a class attribute after a run; close it,
    so that this process can open the file read-only and other processes can open it at all
    (DuckDB locks a file per process). Best effort: a dbt-duckdb change only costs that."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover
        return
    env = DuckDBConnectionManager._ENV
    if env is not None:
        try:
            env.close()
        finally:
            DuckDBConnectionManager._ENV = None


def describe_failure(args: Sequence[str], result: Any) -> str:
    command = " ".join(args[:1]) or "dbt"
    if result.exception is not None:
        return f"dbt {command} failed: {result.exception}"
    failed = [r for r in getattr(result.result, "results", []) if str(r.status) in FAILED]
    if not failed:
        return f"dbt {command} failed (see dbt's log: polit -v shows it)"
    names = ", ".join(r.node.unique_id.split(".")[-1] for r in failed)
    details = [f"{r.node.unique_id}: {r.status}: {(r.message or '').strip()}" for r in failed]
    # the first line alone says what failed (the CLI's one line); then what dbt said
    return f"dbt {command} failed on {len(failed)} node(s): {names}\n" + "\n".join(details)


# The tests an hourly build folds into one `changed_rows_valid` test per model (dbt/macros/
# tests.sql, changed_rows_folded_kinds: the same list): these kinds, with severity error, on
# an incremental model or a model reading one (the selector below: an incremental model and
# its children, whose tests dbt adds). Any other test runs on its own.
COMBINED_TEST = "changed_rows_valid"
FOLDED_TESTS = ("not_null", "unique", "accepted_values", "unique_combination_of_columns")


def excluded_tests(hourly: bool) -> list[str]:
    """dbt `--exclude` selectors: hourly, the tests folded into changed_rows_valid; else
    changed_rows_valid itself (every test runs on its own)."""
    if not hourly:
        return [f"test_name:{COMBINED_TEST}"]
    folded = "resource_type:test,config.severity:error,config.materialized:incremental+1"
    return [f"{folded},test_name:{kind}" for kind in FOLDED_TESTS]


def transform(
    warehouse_url: str,
    full_refresh: bool = False,
    select: str | None = None,
    workdir: Path | None = None,
    quiet: bool = True,
    dbt_vars: dict[str, Any] | None = None,
    full_tests: bool = False,
    on_node: OnNode | None = None,
) -> TransformReport:
    """`dbt build`: models, their tests and unit tests; `full_refresh` rebuilds the
    incremental models from all raw rows. The data tests read the rows the build changed
    (dbt var test_changed_rows, macros/tests.sql), or every row with `full_tests` or
    `full_refresh`.
    `dbt_vars` override dbt_project.yml's vars. The models' cursors are read once before the
    build and passed to dbt in $POLIT_CURSORS (transform/cursors.py)."""
    started = time.monotonic()
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    dbt_vars = dict(dbt_vars or {})
    if not (full_refresh or full_tests):
        dbt_vars.setdefault("test_changed_rows", True)
    args += ["--exclude", *excluded_tests(hourly=not (full_refresh or full_tests))]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    target = parse_url(warehouse_url)
    with contextlib.ExitStack() as stack:
        if target.kind == "duckdb":  # a running `polit serve` lets go of the file first
            stack.enter_context(writing(target.path))
        return _build(
            warehouse_url, target.kind, target.path, args, workdir, quiet, started, on_node
        )


def _build(
    warehouse_url: str, kind: str, path: str, args: list[str], workdir: Path | None,
    quiet: bool, started: float, on_node: OnNode | None,
) -> TransformReport:  # fmt: skip
    if kind == "duckdb" and Path(path).expanduser().exists():
        # opening adds the columns the lake gained since the raw tables were made (an
        # upgrade), which staging selects even before a load brings such files. A missing
        # file is left missing: dbt then fails on the absent raw tables, as it should.
        open_warehouse(warehouse_url).close()
    workdir = workdir or build_dir(warehouse_url)
    # one query of the cursors, not one per model; in the environment, not a dbt var: a var
    # that changes every run would make dbt parse the whole project every run
    with cursors_in_env(read_cursors(warehouse_url)):
        result = run_dbt(args, warehouse_url, workdir=workdir, quiet=quiet, on_node=on_node)
    report = TransformReport("build", log=log_file(workdir))
    for r in getattr(result.result, "results", []):
        if r.node.unique_id.startswith("exposure."):  # the dashboard, the report: nothing to build
            continue
        report.statuses[r.node.unique_id] = str(r.status)
    report.seconds = time.monotonic() - started
    return report
