"""Row buffer: append dict rows, get an Arrow table in the table's schema.

Rows are kept as the sparse dicts they are (missing keys are nulls, extra keys are
ignored) and converted in one call, as a struct array, inside Arrow's C++ converter:
several times faster than `pa.Table.from_pylist`, which matters at millions of posts.

A batch Arrow refuses is repaired row by row (`repair`); a row that still cannot be converted
is logged and dropped on its own, so one bad row never costs the rest of the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pyarrow as pa

log = logging.getLogger("polit.lake")

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
            array = self._convert_repaired()  # rare: a batch with bad values
        return pa.Table.from_struct_array(array).cast(self.schema)  # restores not-null flags

    def _convert_repaired(self) -> pa.Array:
        if self.repair is not None:
            self.rows = [self.repair(r) for r in self.rows]
            try:
                return pa.array(self.rows, type=self._type)
            except CONVERSION_ERRORS:
                pass
        kept = []
        what = "post" if "thread_no" in self.schema.names else "thread"
        for row in self.rows:  # the last line of defence: find the rows Arrow refuses
            try:
                pa.array([row], type=self._type)
            except (*CONVERSION_ERRORS, TypeError, ValueError) as exc:
                where = f"/{row.get('board')}/{row.get('thread_no', row.get('no'))}"
                log.error("%s: %s %s dropped, a value the lake cannot hold: %s",
                          where, what, row.get("no"), str(exc)[:200])  # fmt: skip
                continue
            kept.append(row)
        self.rows = kept
        return pa.array(self.rows, type=self._type)

    def clear(self) -> None:
        self.rows = []
