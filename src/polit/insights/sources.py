"""Where the marts are read from: the warehouse's one read layer (`polit.warehouse.read`),
under the names the insights code uses. A source runs one SQL text written once for both
warehouses (see `marts.py`); the reader's dialect fills in table names and parameters.
"""

from __future__ import annotations

from polit.warehouse.read import BigQueryReader as BigQuerySource
from polit.warehouse.read import Dialect
from polit.warehouse.read import DuckReader as DuckSource
from polit.warehouse.read import Reader as Source
from polit.warehouse.read import ReadError as InsightsError
from polit.warehouse.read import open_reader as open_source

__all__ = ["BigQuerySource", "Dialect", "DuckSource", "InsightsError", "Source", "open_source"]
