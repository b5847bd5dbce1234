"""Row buffer: append dict rows, get an Arrow table in the table's schema.

Rows are kept as the sparse dicts they are (missing keys are nulls, extra keys are
ignored) and converted in one call, as a struct array, inside Arrow's C++ converter:
several times faster than `pa.Table.from_pylist`, which matters at millions of posts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

Repair = Callable[[dict[str, Any]], dict[str, Any]]
CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError, OverflowError)


class RowBuffer:
    """>>> from datetime import UTC, datetime
    >>> from polit.lake.schema import THREADS
    >>> buf = RowBuffer(THREADS)
    >>> now = datetime.now(UTC)
    >>> buf.add({"board": "pol", "no": 1, "run_id": "r", "event": "x", "observed_at": now})
    >>> len(buf), buf.to_table().column("no").to_pylist()
    (1, [1])
    """

    def __init__(self, schema: pa.Schema, repair: Repair | None = None) -> None:
        self.schema = schema
        self.repair = repair
        self._type = pa.struct(list(schema))
        self.rows: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def to_table(self) -> pa.Table:
        if not self.rows:
            return self.schema.empty_table()
        try:
            array = pa.array(self.rows, type=self._type)
        except CONVERSION_ERRORS:
            if self.repair is None:
                raise
            self.rows = [self.repair(r) for r in self.rows]  # rare: a batch with bad values
            array = pa.array(self.rows, type=self._type)
        return pa.Table.from_struct_array(array).cast(self.schema)  # restores not-null flags

    def clear(self) -> None:
        self.rows = []
