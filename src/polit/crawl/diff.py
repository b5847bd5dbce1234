"""Diffing one thread body against what is known of the thread: pure, no I/O, no clock.

`diff_thread` takes the thread's known state and a parsed body and returns the rows to write
(new and changed post versions, tombstones) and the thread's next state; the caller decides
when to adopt it. The crawler's live and archived fetches and `polit backfill` all use it,
and tests call it without a server:

>>> from datetime import UTC, datetime
>>> from polit.chan.posts import parse_thread
>>> from polit.crawl.state import ThreadState
>>> body = parse_thread({"posts": [{"no": 5, "resto": 0, "com": "hi"}]}, 5)
>>> d = diff_thread(ThreadState(), body, Where("pol", 5, datetime.now(UTC), "run"))
>>> d.new, [r["no"] for r in d.rows], sorted(d.versions)
(1, [5], [5])
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from polit.chan.posts import INT64_MAX, INT64_MIN, ThreadBody
from polit.crawl.state import ThreadState

# OP fields copied to the thread's row in raw/threads.
THREAD_FIELDS_FROM_OP = (
    "replies", "images", "sticky", "closed", "bumplimit", "imagelimit", "unique_ips",
)  # fmt: skip


@dataclass(frozen=True)
class Where:
    """What a row says about where and when it was observed."""

    board: str
    thread_no: int
    observed: datetime
    run_id: str


@dataclass
class ThreadDiff:
    rows: list[dict[str, Any]]  # post rows: new and changed versions, restored posts, tombstones
    versions: dict[int, str]  # the thread's post versions once this body is adopted
    deleted: set[int]  # the thread's tombstoned posts once this body is adopted
    op: dict[str, Any] | None  # the OP as served, when the body has it
    new: int = 0
    changed: int = 0
    deleted_posts: int = 0
    restored: int = 0
    inferred_deletions: bool = True  # False for an incomplete body: it proves nothing gone

    def adopt(self, thread: ThreadState) -> None:
        thread.posts, thread.deleted = self.versions, self.deleted


def diff_thread(known: ThreadState, body: ThreadBody, where: Where) -> ThreadDiff:
    """Rows for every post of `body` that is new, changed or back after a tombstone, and a
    tombstone for every known post missing from it (only when the body is complete)."""
    versions = dict(known.posts)
    deleted = set(known.deleted)
    diff = ThreadDiff([], versions, deleted, None, inferred_deletions=body.complete)
    stamp = {"board": where.board, "thread_no": where.thread_no, "observed_at": where.observed,
             "run_id": where.run_id}  # fmt: skip
    seen: set[int] = set()
    for post in body.posts:
        pno = post["no"]
        seen.add(pno)
        if pno == where.thread_no:
            diff.op = post
        previous = versions.get(pno)
        restored = pno in deleted
        if previous == post["version"] and not restored:
            continue
        if restored:
            diff.restored += 1
            deleted.discard(pno)
        elif previous is None:
            diff.new += 1
        else:
            diff.changed += 1
        versions[pno] = post["version"]
        diff.rows.append({**post, **stamp})
    if body.complete:  # only a whole body is evidence that a post is gone
        for pno in sorted(set(versions) - seen - deleted):
            deleted.add(pno)
            diff.deleted_posts += 1
            diff.rows.append({**stamp, "no": pno, "deleted_at": where.observed})
    return diff


def thread_row(
    where: Where,
    event: str,
    last_modified: int | None = None,
    op: dict[str, Any] | None = None,
    page: int | None = None,
    archived_at: datetime | None = None,
    deleted_at: datetime | None = None,
) -> dict[str, Any]:
    """One raw/threads row. Integers the lake cannot hold are left out (None)."""
    op = op or {}
    row = {
        "board": where.board,
        "no": where.thread_no,
        "observed_at": where.observed,
        "run_id": where.run_id,
        "event": event,
        "last_modified": last_modified or None,
        "page": page,
        "archived_at": archived_at,
        "deleted_at": deleted_at,
        **{k: op.get(k) for k in THREAD_FIELDS_FROM_OP},
    }
    for k in ("last_modified", "page", *THREAD_FIELDS_FROM_OP):
        v = row[k]
        if v is not None and (type(v) is not int or not INT64_MIN <= v <= INT64_MAX):
            row[k] = None
    return row


def archived_at(op: dict[str, Any] | None, observed: datetime) -> datetime:
    """When an archived thread was archived: its OP's `archived_on`, else when it was seen."""
    archived_on = (op or {}).get("archived_on")
    if type(archived_on) is int and archived_on:
        try:
            return datetime.fromtimestamp(archived_on, UTC)
        except (OverflowError, OSError, ValueError):  # beyond the years datetime can hold
            pass
    return observed
