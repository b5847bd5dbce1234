"""The board's clock: when an observation was made, from the response's `Date` header.

Observations (`observed_at`, `deleted_at`, `archived_at`) are timed by the board's clock, not
the crawling machine's, so that a recording replayed later, or a crawler whose clock is off,
gives the same warehouse. The local clock is the fallback when the `Date` is implausible:

- missing or unparsable;
- more than `BEHIND` (5 minutes) before the newest time the body itself holds (a post's
  `time`, an OP's `archived_on`): a server cannot serve a post from its future;
- more than `AHEAD` (1 day) after the local clock: nothing in a response can prove a date
  that far on, and a wild one would put rows in partitions years away.

A local clock far *behind* the board therefore wins over the board's (logged); one far
ahead of it never does. Pure: no I/O, and the local time is an argument.

>>> from datetime import UTC, datetime, timedelta
>>> board, local = datetime(2023, 3, 27, 12, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)
>>> observed_at(board, local) == (board, None)
True
>>> observed_at(None, local)
(datetime.datetime(2029, 1, 1, 0, 0, tzinfo=datetime.timezone.utc), 'no Date header')
>>> observed_at(board, local, newest=board + timedelta(hours=1))[1]
'Date is 1:00:00 before the newest post it serves'
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

BEHIND = timedelta(minutes=5)
AHEAD = timedelta(days=1)


def observed_at(
    date: datetime | None, local: datetime, newest: datetime | None = None
) -> tuple[datetime, str | None]:
    """The observation time of a response whose `Date` is `date` (None: missing or
    unparsable), read at `local`, whose body's newest time is `newest`; and why the local
    clock was used instead of the board's (None when the board's was)."""
    if date is None:
        return local, "no Date header"
    if newest is not None and date < newest - BEHIND:
        return local, f"Date is {newest - date} before the newest post it serves"
    if date > local + AHEAD:
        return local, f"Date is {date - local} after the local clock"
    return date, None


def newest_time(posts: Iterable[dict[str, Any]]) -> datetime | None:
    """The newest `time` or `archived_on` (Unix seconds) among a body's posts."""
    best = 0
    for post in posts:
        for key in ("time", "archived_on"):
            v = post.get(key)
            if type(v) is int and v > best:
                best = v
    if not best:
        return None
    try:
        return datetime.fromtimestamp(best, UTC)
    except (OverflowError, OSError, ValueError):  # beyond the years datetime can hold
        return None
