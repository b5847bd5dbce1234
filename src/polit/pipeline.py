"""The pipeline, in one place: crawl (optional), load the lake into the warehouse, and build
the dbt models. `polit run` crawls first; `polit rebuild` drops the raw tables first and
builds with a full refresh; `polit demo` crawls a replayed board. Each says what it prints
through `Hooks`; the steps stay plain functions (`load`, `polit.transform.transform`) for
`polit load` and `polit transform`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from polit.transform import transform
from polit.warehouse.load import BATCH_SIZE

if TYPE_CHECKING:
    from polit.crawl.crawler import CycleReport
    from polit.lake.store import Lake
    from polit.transform import TransformReport
    from polit.transform.runner import OnNode
    from polit.warehouse.load import LoadReport


def _nothing(report: Any) -> None:
    return None


@dataclass(frozen=True)
class Hooks:
    """What the caller is told as the pipeline goes; each is nothing by default."""

    crawled: Callable[[list[CycleReport]], None] = _nothing
    load_progress: Callable[[int, int], None] | None = None  # files done, files in all
    loaded: Callable[[LoadReport], None] = _nothing
    on_node: OnNode | None = None  # each dbt node as it finishes
    built: Callable[[TransformReport], None] = _nothing


@dataclass
class PipelineReport:
    crawled: list[CycleReport] = field(default_factory=list)
    loaded: LoadReport | None = None
    built: TransformReport | None = None


def run_pipeline(
    lake: Lake,
    warehouse_url: str,
    crawl: Callable[[], list[CycleReport]] | None = None,
    *,
    reset: bool = False,
    batch_size: int = BATCH_SIZE,
    dbt_vars: dict[str, Any] | None = None,
    quiet: bool = True,
    hooks: Hooks = Hooks(),
) -> PipelineReport:
    """`crawl()` if given, then load what the warehouse lacks of the lake, then `dbt build`.
    With `reset` the raw tables and the load manifest are dropped first and the build is a
    full refresh (a rebuild from the lake). What was crawled is loaded even if a board failed."""
    report = PipelineReport()
    if crawl is not None:
        report.crawled = crawl()
        hooks.crawled(report.crawled)
    report.loaded = load(lake, warehouse_url, reset, batch_size, hooks.load_progress)
    hooks.loaded(report.loaded)
    report.built = transform(
        warehouse_url, full_refresh=reset, dbt_vars=dbt_vars, quiet=quiet, on_node=hooks.on_node
    )
    hooks.built(report.built)
    return report


def load(
    lake: Lake,
    warehouse_url: str,
    reset: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> LoadReport:
    """Load the lake files the warehouse has not loaded (all of them after `reset`)."""
    from polit.warehouse import load_lake, open_warehouse

    warehouse = open_warehouse(warehouse_url)
    try:
        if reset:
            warehouse.reset(lake)
        return load_lake(lake, warehouse, batch_size=batch_size, progress=progress)
    finally:
        warehouse.close()
