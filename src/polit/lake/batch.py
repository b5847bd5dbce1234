"""Row buffer: append dict rows, get an Arrow table in the table's schema.

Rows are kept as the sparse dicts they are (missing keys are nulls, extra keys are
ignored) and converted in one call, as a struct array, inside Arrow's C++ converter:
several times faster than `pa.Table.from_pylist`, which matters at millions of posts.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa


class RowBuffer:
    """>>> from datetime import UTC, datetime
    >>> from polit.lake.schema import THREADS
    >>> buf = RowBuffer(THREADS)
    >>> now = datetime.now(UTC)
    >>> buf.add({"board": "pol", "no": 1, "run_id": "r", "event": "x", "observed_at": now})
    >>> len(buf), buf.to_table().column("no").to_pylist()
    (1, [1])
    """

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self._type = pa.struct(list(schema))
        self.rows: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def to_table(self) -> pa.Table:
        if not self.rows:
            return self.schema.empty_table()
        table = pa.Table.from_struct_array(pa.array(self.rows, type=self._type))
        return table.cast(self.schema)  # restores the schema's not-null flags

    def clear(self) -> None:
        self.rows = []
