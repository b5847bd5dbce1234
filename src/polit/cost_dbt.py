"""The BigQuery side of `polit cost`: what one `dbt build` reads, per dbt model and test, and
what the warehouse stores.

The models, seeds and data tests, and how each model is materialized, come from the dbt
project itself: `dbt parse`, summarized and cached in the temp directory by a hash of the
project's files (the first estimate after a change of the project takes ~15 s). What each
model reads comes from cost_models.toml beside this module (its header explains the windows
and the query templates). `project_costs` refuses a project with a model the file has no
entry for.

Every query is billed max(bytes, 10 MiB) per table it references (BigQuery's on-demand
minimum). A run is charged at the history the warehouse holds when it starts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

MODELS_PATH = Path(__file__).with_name("cost_models.toml")
LONG_TERM_AFTER_DAYS = 90  # a partition unmodified this long is long-term storage
SUMMARY_VERSION = 4  # of the cached summary of dbt's manifest
SKIPPED_DIRS = {"target", "logs", "dbt_packages", ".user.yml"}
WINDOWS = ("run", "raw", "recent", "trend", "all")
TMP = "__dbt_tmp"  # the temp table of a model's run: its rows, sized like the model's table
RUN_NODE = "(run)"  # what a build runs once: its cursors read and saved
PARTITION = "_partition"  # a read of the partition column only (TIMESTAMP or DATE: 8 bytes)


class CostModelError(ValueError):
    """The dbt project and cost_models.toml disagree; the message says where."""


# ---- the dbt project, from dbt itself -------------------------------------------------------
@dataclass(frozen=True)
class DbtModel:
    name: str
    materialized: str  # table, incremental, view, ephemeral
    strategy: str | None  # merge, insert_overwrite, rebuild, … (incremental only)
    post_hooks: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()  # the models it selects from
    unique_key: tuple[str, ...] = ()
    keep_days: float | None = None  # BigQuery partition_expiration_days


@dataclass(frozen=True)
class DbtTest:
    name: str
    node: str  # the model or seed it is attached to
    columns: tuple[str, ...] | None  # None: every column
    windowed: bool  # has a `where` config: hourly builds test recent rows only
    parent: str | None = None  # relationships tests: the model referred to
    parent_columns: tuple[str, ...] = ()
    kind: str = ""  # the generic test (not_null, …); "" for a singular test
    severity: str = "error"


@dataclass(frozen=True)
class DbtProject:
    models: dict[str, DbtModel]
    seeds: tuple[str, ...]
    tests: tuple[DbtTest, ...]
    unit_tests: int
    vars: dict[str, Any]
    where_override: bool = False  # the project overrides dbt's get_where_subquery
    on_run_end: tuple[str, ...] = ()  # the project's on-run-end hooks (their Jinja)

    @property
    def saves_cursors(self) -> bool:
        """The on-run-end hook save_cursors keeps polit_cursors (dbt/macros/incremental.sql)."""
        return any("save_cursors" in hook for hook in self.on_run_end)


def project_digest(project: Path) -> str:
    """A hash of every file of the dbt project (not its target/ or logs/)."""
    h = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project)
        if not path.is_file() or set(rel.parts) & SKIPPED_DIRS:
            continue
        h.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def dbt_project(project: Path | None = None) -> DbtProject:
    """The models, seeds and tests of the dbt project (Settings.dbt_project or ./dbt), parsed by
    dbt and cached until a file of the project changes."""
    from polit.transform.runner import project_dir

    project = project or project_dir()
    digest = project_digest(project)[:20]
    cache = Path(tempfile.gettempdir()) / f"polit-dbt-v{SUMMARY_VERSION}-{digest}.json"
    try:
        summary = json.loads(cache.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        summary = _parse(project)
        tmp = cache.with_suffix(f".{id(summary)}.tmp")
        tmp.write_text(json.dumps(summary))
        tmp.replace(cache)
    return _project(summary)


def _parse(project: Path) -> dict[str, Any]:
    import yaml  # type: ignore[import-untyped]

    from polit.config import Settings
    from polit.transform.runner import run_dbt

    with tempfile.TemporaryDirectory(prefix="polit-cost-") as tmp:
        s = Settings(warehouse=f"duckdb:///{tmp}/parse.duckdb", dbt_project=str(project))
        run_dbt(["parse"], s, workdir=Path(tmp), quiet=True)
        manifest = json.loads((Path(tmp) / "target" / "manifest.json").read_text())
    config = yaml.safe_load((project / "dbt_project.yml").read_text()) or {}
    return summarize_manifest(manifest, config.get("vars") or {})


def summarize_manifest(manifest: dict[str, Any], dbt_vars: dict[str, Any]) -> dict[str, Any]:
    """What the cost model needs of dbt's manifest.json, as plain JSON."""
    nodes = manifest["nodes"]
    models, seeds, tests, hooks = {}, [], [], []
    for node in nodes.values():
        kind, cfg = node["resource_type"], node.get("config") or {}
        if kind == "model":
            post = [h.get("sql", "") for h in cfg.get("post-hook") or cfg.get("post_hook") or []]
            key = cfg.get("unique_key") or []
            models[node["name"]] = {
                "unique_key": [key] if isinstance(key, str) else list(key),
                "materialized": cfg.get("materialized"),
                "strategy": cfg.get("incremental_strategy"),
                "post_hooks": post,
                "depends_on": [
                    n.split(".")[-1] for n in node["depends_on"]["nodes"] if n.startswith("model.")
                ],
                "keep_days": cfg.get("partition_expiration_days"),
            }
        elif kind == "seed":
            seeds.append(node["name"])
        elif kind == "test":
            tests.append(_test(node, nodes))
        elif kind == "operation" and "on-run-end" in node["name"]:
            hooks.append(node.get("raw_code") or "")
    return {
        "models": models,
        "seeds": sorted(seeds),
        "tests": sorted(tests, key=lambda t: t["name"]),
        "unit_tests": len(manifest.get("unit_tests") or {}),
        "on_run_end": sorted(hooks),
        "vars": dbt_vars,
        "where_override": any(
            m.split(".")[-1].endswith("get_where_subquery") and m.split(".")[1] != "dbt"
            for m in manifest.get("macros") or {}
        ),
    }


def _test(node: dict[str, Any], nodes: dict[str, Any]) -> dict[str, Any]:
    meta = node.get("test_metadata") or {}
    kwargs = meta.get("kwargs") or {}
    attached = node.get("attached_node") or next(iter(node["depends_on"]["nodes"]), "")
    columns: list[str] | None = None
    if kwargs.get("column_name"):
        columns = [kwargs["column_name"]]
    for key in ("combination_of_columns", "columns"):
        if kwargs.get(key):
            columns = list(kwargs[key])
    parent = None
    if isinstance(kwargs.get("to"), str):
        found = re.search(r"ref\(\s*['\"]([^'\"]+)['\"]", kwargs["to"])
        parent = found.group(1) if found else None
    field_ = kwargs.get("field") or kwargs.get("parent_columns")
    parent_columns = [field_] if isinstance(field_, str) else list(field_ or columns or [])
    return {
        "name": node["name"],
        "node": attached.split(".")[-1],
        "columns": columns,
        "windowed": bool((node.get("config") or {}).get("where")),
        "parent": parent,
        "parent_columns": parent_columns if parent else [],
        "kind": meta.get("name") or "",
        "severity": str((node.get("config") or {}).get("severity") or "error").lower(),
    }


def _project(summary: dict[str, Any]) -> DbtProject:
    return DbtProject(
        models={
            name: DbtModel(
                name,
                m["materialized"],
                m["strategy"],
                tuple(m["post_hooks"]),
                tuple(m["depends_on"]),
                tuple(m["unique_key"]),
                float(m["keep_days"]) if m.get("keep_days") else None,
            )
            for name, m in summary["models"].items()
        },
        seeds=tuple(summary["seeds"]),
        tests=tuple(
            DbtTest(
                t["name"],
                t["node"],
                tuple(t["columns"]) if t["columns"] is not None else None,
                t["windowed"],
                t["parent"],
                tuple(t["parent_columns"]),
                t["kind"],
                t["severity"],
            )
            for t in summary["tests"]
        ),
        unit_tests=int(summary["unit_tests"]),
        vars=dict(summary["vars"]),
        where_override=bool(summary.get("where_override")),
        on_run_end=tuple(summary.get("on_run_end") or ()),
    )


# ---- the cost entries ------------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    name: str
    columns: dict[str, float]  # logical bytes per row
    rows_per_post: float = 0.0
    rows: float = 0.0  # a fixed size instead
    partitioned: bool = True
    scale: str = "posts"
    stored: bool = True
    keep_days: float | None = None

    @property
    def row_bytes(self) -> float:
        return sum(self.columns.values())

    def bytes_per_row(self, columns: Sequence[str] | None) -> float:
        if columns is None:
            return self.row_bytes
        extra = 8.0 if PARTITION in columns else 0.0
        columns = tuple(c for c in columns if c != PARTITION)
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise CostModelError(
                f"cost_models.toml: table {self.name} has no column {', '.join(unknown)}"
            )
        return extra + sum(self.columns[c] for c in columns)


@dataclass(frozen=True)
class Read:
    table: str
    columns: tuple[str, ...] | None  # None: every column
    window: str


@dataclass(frozen=True)
class Query:
    name: str
    reads: tuple[Read, ...]
    part: str = ""  # a data test's queries: "" for the test, else what the other one looks up


@dataclass(frozen=True)
class CostModels:
    vars: dict[str, Any]
    tables: dict[str, Table]
    entries: dict[str, dict[str, Any]]
    tests: dict[str, Any] = field(default_factory=dict)
    rebuild: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)  # [run]: once per build, not per model


def load_cost_models(path: Path | None = None) -> CostModels:
    with (path or MODELS_PATH).open("rb") as f:
        raw = tomllib.load(f)
    tables = {}
    for name, t in raw.get("table", {}).items():
        tables[name] = Table(
            name=name,
            columns={c: float(b) for c, b in t["columns"].items()},
            rows_per_post=float(t.get("rows_per_post", 0)),
            rows=float(t.get("rows", 0)),
            partitioned=t.get("partition", "day") != "none",
            scale=str(t.get("scale", "posts")),
            stored=bool(t.get("stored", True)),
            keep_days=float(t["keep_days"]) if "keep_days" in t else None,
        )
    models = dict(raw.get("model", {}))
    return CostModels(
        dict(raw.get("vars", {})),
        tables,
        models,
        dict(raw.get("tests", {})),
        dict(raw.get("rebuild", {})),
        dict(raw.get("run", {})),
    )


def _read(spec: dict[str, Any]) -> Read:
    columns = spec.get("columns", "*")
    window = spec.get("window", "recent")
    if window not in WINDOWS:
        raise CostModelError(f"cost_models.toml: unknown window {window!r} ({spec})")
    return Read(spec["table"], None if columns == "*" else tuple(columns), window)


def model_queries(
    model: DbtModel, entry: dict[str, Any], rebuild: dict[str, Any] | None = None
) -> list[Query]:
    """The queries dbt-bigquery runs to build `model` in an hourly run (cost_models.toml's
    header describes each template): the entry's `lookups` (the queries its macros run while
    compiling it), then its template."""
    kind = model.materialized
    if kind in ("view", "ephemeral"):
        return []
    rebuild = rebuild or {}
    lookups = [
        Query(lookup.get("name", "lookup"), tuple(_read(r) for r in lookup["read"]))
        for lookup in entry.get("lookups", [])
        for _ in range(int(lookup.get("queries", 1)))
    ]
    reads = tuple(_read(r) for r in entry.get("reads", []))
    if kind != "incremental":  # table (or anything else): rebuilt from all of its inputs
        return [*lookups, Query("create table as select", tuple(_whole(r) for r in reads))]
    own = model.name
    if model.strategy == "merge":
        queries = [
            *lookups,
            Query("new rows into a temp table", reads),
            Query(
                "merge",
                (
                    Read(own, (*model.unique_key, PARTITION), "recent"),  # q': matched on the key
                    Read(own, None, "recent"),  # t': the partitions it updates, every column
                    Read(own + TMP, None, "run"),
                ),
            ),
        ]
    else:
        queries = [
            *lookups,
            Query("touched days into a temp table", reads),
            Query("touched partitions", (Read(own + TMP, (PARTITION,), "recent"),)),
            # then a copy job per touched partition (copy_partitions): free
        ]
    return queries


def run_queries(project: DbtProject, cost_models: CostModels) -> list[Query]:
    """What one build runs once, not per model (cost_models.toml [run]): the cursors read
    before it and the on-run-end MERGE that saves them, when the project keeps cursors."""
    if not project.saves_cursors:
        return []
    return [
        Query(q["name"], tuple(_read(r) for r in q["read"]))
        for q in cost_models.run.get("queries", [])
    ]


def _whole(read: Read) -> Read:
    return read if read.window in ("trend", "all") else Read(read.table, read.columns, "all")


def run_tests(project: DbtProject, full_tests: bool = False) -> list[DbtTest]:
    """The data tests a build runs. Hourly: the tests of a model with a changed_rows_valid
    test (an incremental model, or one reading one) are folded into it
    (polit.transform.runner.FOLDED_TESTS, with severity error), so it reads the columns they
    read; every other test runs on its own.
    With `full_tests` (--full-tests, --full-refresh): every test but the combined ones."""
    from polit.transform.runner import COMBINED_TEST, FOLDED_TESTS

    tests = [t for t in project.tests if t.kind != COMBINED_TEST]
    if full_tests:
        return tests
    combined = {t.node: t for t in project.tests if t.kind == COMBINED_TEST}

    def incremental(name: str) -> bool:
        model = project.models.get(name)
        return model is not None and model.materialized == "incremental"

    def folded(t: DbtTest) -> bool:  # the runner's selector: incremental models and children
        model = project.models.get(t.node)
        near = model is not None and any(map(incremental, (t.node, *model.depends_on)))
        return t.node in combined and t.kind in FOLDED_TESTS and t.severity == "error" and near

    out = [t for t in tests if not folded(t)]
    for node, test in sorted(combined.items()):
        reads = [t.columns for t in tests if t.node == node and folded(t)]
        columns = None if None in reads else tuple(dict.fromkeys(c for r in reads for c in r or ()))
        out.append(replace(test, columns=columns))
    return out


def data_test_queries(
    test: DbtTest, project: DbtProject, cost_models: CostModels, table: Table,
    full_tests: bool = False,
) -> list[Query]:  # fmt: skip
    """The queries of one data test: over the recent window when it has a `where` config or,
    in an hourly build, the project's get_where_subquery override bounds it (cost_models.toml
    [tests]: a model with `recent_column`, after its `lookup` query if it has one),
    else over all of its table."""
    recent = cost_models.tests.get("recent_column")
    bounded = not full_tests and project.where_override and recent in table.columns
    queries = []
    lookup = cost_models.tests.get("lookup")
    if bounded and lookup:
        columns = tuple(lookup.get("columns", [recent]))
        read = Read(lookup.get("table", test.node), columns, lookup["window"])
        queries.append(Query(test.name, (read,), part=f"newest {recent}"))
    reads = [Read(test.node, test.columns, "recent" if test.windowed or bounded else "all")]
    if test.parent:
        reads.append(Read(test.parent, test.parent_columns or None, "all"))
    return [*queries, Query(test.name, tuple(reads))]


# ---- sizes and windows --------------------------------------------------------------------------
@dataclass(frozen=True)
class Sizes:
    """How big each table is for a volume: rows per day of posts and bytes per row."""

    tables: dict[str, Table]
    posts_per_day: float
    factors: dict[str, float]  # per `scale`: measured bytes / the file's
    rows_factor: dict[str, float]  # per `scale`: measured rows per post / the file's
    days: dict[str, float]  # window -> days of rows (`all` is the age)

    def rows(self, table: Table, window: str, age: float, temp: bool = False) -> float:
        """Rows a read of `window` covers; a temp table holds only its run's rows."""
        if table.rows:
            return table.rows
        whole = window == "all" or not (table.partitioned or temp)
        days = age if whole else min(self.days[window], age)
        if table.keep_days is not None:
            days = min(days, table.keep_days)
        rows_per_post = table.rows_per_post * self.rows_factor.get(table.scale, 1.0)
        return rows_per_post * self.posts_per_day * days

    def read_bytes(self, read: Read, age: float) -> float:
        table = self.table(read.table)
        per_row = table.bytes_per_row(read.columns) * self.factors.get(table.scale, 1.0)
        rows = self.rows(table, read.window, age, temp=read.table.endswith(TMP))
        return rows * per_row

    def table(self, name: str) -> Table:
        try:
            return self.tables[name.removesuffix(TMP)]
        except KeyError:
            raise CostModelError(f"cost_models.toml has no table {name!r}") from None


def window_days(dbt_vars: dict[str, Any], runs_per_day: int) -> dict[str, float]:
    """Days of rows each window covers, averaged over a day's runs (see cost_models.toml)."""
    today = (runs_per_day + 1) / (2 * runs_per_day)
    lookback = min(float(dbt_vars["lookback_hours"]), 24.0) / 24
    late = float(dbt_vars["late_change_days"])
    trend = math.ceil((dbt_vars["trend_recent_hours"] + dbt_vars["trend_baseline_hours"]) / 24)
    return {
        "run": 1 / runs_per_day,
        "raw": today + lookback,
        "recent": late + today,
        "trend": trend + today,
    }


# ---- a month of runs -----------------------------------------------------------------------
@dataclass
class QueryCost:
    name: str
    tables: tuple[str, ...]
    part: str = ""
    bytes: float = 0.0  # summed over the month's runs
    billed_bytes: float = 0.0


@dataclass
class NodeCost:
    name: str
    resource_type: str  # model or seed
    materialized: str | None
    strategy: str | None
    queries: list[QueryCost] = field(default_factory=list)
    tests: list[QueryCost] = field(default_factory=list)

    def billed(self) -> float:
        return sum(q.billed_bytes for q in (*self.queries, *self.tests))

    def as_dict(self, runs: int) -> dict[str, Any]:
        def one(q: QueryCost, key: str) -> dict[str, Any]:
            return {
                key: q.name,
                **({"query": q.part or "test"} if key == "test" else {}),
                "tables": list(q.tables),
                "bytes": round(q.bytes / runs),
                "billed_bytes": round(q.billed_bytes / runs),
            }

        build = [one(q, "query") for q in self.queries]
        tests = [one(q, "test") for q in self.tests]
        return {
            "model": self.name,
            "resource_type": self.resource_type,
            "materialized": self.materialized,
            "strategy": self.strategy,
            "billed_bytes": round(self.billed() / runs),
            "build_billed_bytes": sum(q["billed_bytes"] for q in build),
            "tests_billed_bytes": sum(t["billed_bytes"] for t in tests),
            "queries": build,
            "tests": tests,
        }


@dataclass
class TableStorage:
    name: str
    gib: float  # average over the month
    active_gib: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.name,
            "gib": round(self.gib, 3),
            "active_gib": round(self.active_gib, 3),
        }


@dataclass
class WarehouseMonth:
    nodes: list[NodeCost]
    storage: list[TableStorage]
    runs: int
    table_refs_per_run: int
    unit_tests: int

    @property
    def billed_bytes(self) -> float:
        return sum(n.billed() for n in self.nodes)


def kept_tables(project: DbtProject, cost_models: CostModels) -> dict[str, Table]:
    """The cost tables, each model's partitions expiring as the dbt project configures them
    (partition_expiration_days), else as cost_models.toml says (`keep_days`)."""
    out = dict(cost_models.tables)
    for name, model in project.models.items():
        if model.keep_days is not None and name in out:
            out[name] = replace(out[name], keep_days=model.keep_days)
    return out


def project_costs(
    project: DbtProject,
    cost_models: CostModels,
    sizes_for: Any,  # (tables, dbt vars) -> Sizes
    runs_per_day: int,
    age_days: float,
    min_bytes: float,
    days_per_month: int = 30,
    full_tests: bool = False,
) -> WarehouseMonth:
    """A month of transform runs ending at `age_days` of history, and the storage of it;
    with `full_tests`, runs that test every row with every test on its own (run_tests)."""
    missing = sorted(set(project.models) - set(cost_models.entries))
    if missing:
        raise CostModelError(
            "cost_models.toml has no entry for the dbt model(s) " + ", ".join(missing)
        )
    dbt_vars = {**cost_models.vars, **project.vars}
    sizes: Sizes = sizes_for(kept_tables(project, cost_models), dbt_vars)
    nodes: list[tuple[NodeCost, list[Query], list[Query]]] = []
    tests_by_node: dict[str, list[Query]] = {}
    for test in run_tests(project, full_tests):
        table = sizes.table(test.node)
        tests_by_node.setdefault(test.node, []).extend(
            data_test_queries(test, project, cost_models, table, full_tests)
        )
    for name, model in sorted(project.models.items()):
        queries = model_queries(model, cost_models.entries[name], cost_models.rebuild)
        cost = NodeCost(name, "model", model.materialized, model.strategy)
        nodes.append((cost, queries, tests_by_node.pop(name, [])))
    for name in project.seeds:
        nodes.append((NodeCost(name, "seed", "seed", None), [], tests_by_node.pop(name, [])))
    once = run_queries(project, cost_models)
    if once:
        nodes.append((NodeCost(RUN_NODE, "run", None, None), once, []))
    if tests_by_node:
        raise CostModelError(f"tests on unknown nodes: {', '.join(sorted(tests_by_node))}")

    runs = runs_per_day * days_per_month
    start = age_days - days_per_month
    for cost, queries, tests in nodes:
        cost.queries = [_query_cost(q) for q in queries]
        cost.tests = [_query_cost(q) for q in tests]
        for run in range(runs):
            age = max(start + (run + 0.5) / runs_per_day, 1 / runs_per_day)
            for q, c in zip((*queries, *tests), (*cost.queries, *cost.tests), strict=True):
                b, billed = query_bytes(q, sizes, age, min_bytes)
                c.bytes += b
                c.billed_bytes += billed
    refs = sum(len({r.table for r in q.reads}) for _, qs, ts in nodes for q in (*qs, *ts))
    storage = warehouse_storage(project, sizes, age_days, days_per_month)
    return WarehouseMonth([c for c, _, _ in nodes], storage, runs, refs, project.unit_tests)


def _query_cost(q: Query) -> QueryCost:
    return QueryCost(q.name, tuple(dict.fromkeys(r.table for r in q.reads)), q.part)


def query_bytes(q: Query, sizes: Sizes, age: float, min_bytes: float) -> tuple[float, float]:
    """(bytes read, bytes billed): every table referenced is billed at least `min_bytes`."""
    per_table: dict[str, float] = {}
    for read in q.reads:
        per_table[read.table] = per_table.get(read.table, 0.0) + sizes.read_bytes(read, age)
    total = sum(per_table.values())
    return total, sum(max(b, min_bytes) for b in per_table.values())


def stored_tables(project: DbtProject) -> list[str]:
    """Tables the warehouse holds: the raw tables, every model not a view, seeds, cursors."""
    names = ["raw_posts", "raw_threads"]
    names += [
        m.name for m in project.models.values() if m.materialized not in ("view", "ephemeral")
    ]
    names += list(project.seeds)
    if project.saves_cursors:
        names.append("polit_cursors")
    return names


def warehouse_storage(
    project: DbtProject, sizes: Sizes, age_days: float, days_per_month: int
) -> list[TableStorage]:
    """Logical GiB per table, averaged over the month's days; partitions written only in the
    recent window turn long-term after 90 days, tables rewritten whole stay active."""
    out = []
    rebuilt = {m.name for m in project.models.values() if m.materialized != "incremental"}
    for name in stored_tables(project):
        whole_active = not sizes.table(name).partitioned or name in rebuilt
        total = active = 0.0
        for day in range(days_per_month):
            age = max(age_days - days_per_month + day + 0.5, 0.5)
            total += sizes.read_bytes(Read(name, None, "all"), age)
            active_age = age if whole_active else min(age, LONG_TERM_AFTER_DAYS)
            active += sizes.read_bytes(Read(name, None, "all"), active_age)
        gib = 2**30 * days_per_month
        out.append(TableStorage(name, total / gib, active / gib))
    return out
