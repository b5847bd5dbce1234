"""The warehouse: lake files copied, exactly once, into raw tables (DuckDB or BigQuery)."""

from polit.warehouse.base import LoadResult, Warehouse, WarehouseError, open_warehouse
from polit.warehouse.load import LoadReport, load_lake

__all__ = [
    "LoadReport",
    "LoadResult",
    "Warehouse",
    "WarehouseError",
    "load_lake",
    "open_warehouse",
]
