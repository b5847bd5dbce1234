"""polit: collect a 4chan board into a Parquet lake, a warehouse and a dashboard.

`polit.open(url)` opens a warehouse read-only for notebooks (see `polit.api`).
"""

from typing import Any

__all__ = ["__version__", "open"]
__version__ = "0.1.0"


def open(url: str = "./data/warehouse.duckdb") -> Any:
    """Open a warehouse read-only: a DuckDB file, duckdb:///… or bigquery://PROJECT/DATASET.

    Its `posts`, `threads`, `table(name)`, `sql(…)` and `search(…)` give results with
    `.df()` (pandas), `.pl()` (polars) and `.arrow()`.
    """
    from polit.api import open as open_warehouse  # imported on use: the CLI starts fast

    return open_warehouse(url)
