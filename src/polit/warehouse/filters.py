"""The filters of `polit search` and `polit export` (and the Python API), as one SQL
condition in either warehouse's dialect.

>>> from polit.warehouse.read import DuckDialect
>>> f = Filters(boards=("pol",), deleted="no", start=parse_time("2023-03-27"))
>>> sql, params = f.where(DuckDialect(), POST_COLUMNS)
>>> sql
'board IN (SELECT unnest($boards)) AND post_datetime >= $start AND deleted_at IS NULL'
>>> params["boards"], params["start"].isoformat()
(['pol'], '2023-03-27T00:00:00+00:00')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from polit.warehouse.read import Dialect, ReadError

DELETED = ("yes", "no", "only")
# the time column each kind of table is filtered on by --from/--to (the first it has)
TIME_COLUMNS = ("post_datetime", "created_at", "hour", "day")
POST_COLUMNS = (
    "board", "post_id", "thread_id", "post_datetime", "deleted_at", "country", "flag",
    "is_op", "has_file",
)  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """Which rows: every field left at its default lets all rows through."""

    boards: tuple[str, ...] = ()
    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    threads: tuple[int, ...] = ()
    countries: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    deleted: str = "yes"  # include deleted posts (it is an archive); no; only
    op: bool | None = None  # only OPs (True), only replies (False)
    has_file: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.deleted not in DELETED:
            raise ReadError(f"--deleted is one of {', '.join(DELETED)}, not {self.deleted!r}")

    def where(self, dialect: Dialect, columns: Iterable[str]) -> tuple[str, dict[str, Any]]:
        """The condition (`TRUE` when nothing is filtered) and its parameters, for a table
        with these columns; a filter the table cannot apply is an error."""
        have = set(columns)
        parts: list[str] = []
        params: dict[str, Any] = {}

        def need(column: str, option: str) -> str:
            if column not in have:
                raise ReadError(f"{option} does not apply here: the table has no {column}")
            return column

        def one_of(column: str, option: str, name: str, values: Sequence[Any]) -> None:
            if values:
                parts.append(dialect.in_list(need(column, option), name))
                params[name] = list(values)

        one_of("board", "--board", "boards", [b.strip("/") for b in self.boards])
        if self.start or self.end:
            when = next((c for c in TIME_COLUMNS if c in have), None)
            if when is None:
                raise ReadError("--from/--to do not apply here: the table has no time column")
            if self.start:
                parts.append(f"{when} >= $start")
                params["start"] = self.start if when != "day" else self.start.date()
            if self.end:
                parts.append(f"{when} < $end")
                params["end"] = self.end if when != "day" else self.end.date()
        one_of("thread_id", "--thread", "threads", self.threads)
        one_of("country", "--country", "countries", [c.upper() for c in self.countries])
        one_of("flag", "--flag", "flags", self.flags)
        if self.deleted != "yes":
            gone = "IS NULL" if self.deleted == "no" else "IS NOT NULL"
            parts.append(f"{need('deleted_at', '--deleted')} {gone}")
        if self.op is not None:
            parts.append(f"{'' if self.op else 'NOT '}{need('is_op', '--op')}")
        if self.has_file is not None:
            parts.append(f"{'' if self.has_file else 'NOT '}{need('has_file', '--has-file')}")
        return " AND ".join(parts) or "TRUE", params


def parse_time(text: str, end: bool = False) -> datetime:
    """A day (YYYY-MM-DD) or an ISO time, in UTC; a day as an end means the day after it
    begins (so that `--to 2023-03-27` includes that whole day).

    >>> parse_time("2023-03-27", end=True).isoformat()
    '2023-03-28T00:00:00+00:00'
    >>> parse_time("2023-03-27T10:30").isoformat()
    '2023-03-27T10:30:00+00:00'
    """
    try:
        if len(text.strip()) == 10:
            day = date.fromisoformat(text.strip())
            return datetime.combine(day + timedelta(days=1 if end else 0), time(), UTC)
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReadError(f"{text!r} is not a day (YYYY-MM-DD) or a time (…THH:MM)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def yes_no(text: str | None, option: str) -> bool | None:
    """`yes`/`no` options (None: not given).

    >>> yes_no("yes", "--op"), yes_no(None, "--op")
    (True, None)
    """
    if text is None:
        return None
    if text.lower() in ("yes", "y", "true", "1"):
        return True
    if text.lower() in ("no", "n", "false", "0"):
        return False
    raise ReadError(f"{option} is yes or no, not {text!r}")
