"""Bulk path: whole thread bodies (imports, backfills, benchmarks) straight into the lake.

The crawler diffs bodies against its state; a bulk load has nothing to diff against, so
every post of every body becomes one row. Parsing is the same `parse_thread` the crawler
uses. With `workers > 1`, chunks of bodies are parsed and written by a process pool, each
chunk its own Parquet file, so both cores of a small machine work.

Plain lines go through the columnar bulk path (`polit.lake.bulk`), the others through
`parse_thread`; `IngestReport.bulk_threads` counts the first. A body may be a `Line` of an
input file: the worker decodes and checks it (once: the reader only splits lines), and a line
that is not a thread body comes back in `skipped` as `file:line: why`, for the caller to log
and count.
"""

from __future__ import annotations

import gc
import importlib.abc
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any, NamedTuple

import pyarrow as pa

from polit.chan.client import decode_json
from polit.chan.posts import parse_thread, repair_logged
from polit.lake.batch import RowBuffer
from polit.lake.bulk import Plain, decode
from polit.lake.schema import POSTS
from polit.lake.store import Lake

log = logging.getLogger("polit.ingest")


class Line(NamedTuple):
    """One line of an input file, decoded and checked by the worker that parses it."""

    source: str
    lineno: int
    data: bytes


Body = bytes | dict[str, Any] | Line
# a chunk's lines in input order, in runs: posts the bulk path took (a count), or bodies for
# parse_thread (each with its decoded JSON, or None when parse_thread is to say what is wrong)
Runs = list[int | list[tuple[Body, Any]]]


@dataclass
class IngestReport:
    posts: int = 0
    threads: int = 0
    bulk_threads: int = 0  # of `threads`, those the bulk path read; the rest: parse_thread
    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "file:line: why", lines not written
    notes: list[str] = field(default_factory=list)  # "file:line: note", lines written

    def add(self, other: IngestReport) -> None:
        self.posts += other.posts
        self.threads += other.threads
        self.bulk_threads += other.bulk_threads
        self.files += other.files
        self.problems += other.problems
        self.skipped += other.skipped
        self.notes += other.notes


def body_problem(data: Any) -> str | None:
    """Why a decoded line is not a thread body, or None when it is one."""
    posts = data.get("posts") if isinstance(data, dict) else None
    if not isinstance(posts, list) or not posts:
        return "not a thread body (no 'posts' list)"
    op = posts[0]
    if not isinstance(op, dict) or type(op.get("no")) is not int:
        return "its first post has no integer 'no'"
    return None


def decode_line(line: bytes) -> tuple[Any, str | None, tuple[str, ...]]:
    """(decoded body, why it is unusable or None, notes) for one NDJSON line."""
    try:
        data, notes = decode_json(line, "")
    except ValueError as exc:  # json refuses an integer of more than 4,300 digits
        return None, f"invalid JSON ({str(exc)[:80]})", ()
    if data is None:
        return None, f"invalid JSON ({notes[-1] if notes else 'empty'})", notes
    return data, body_problem(data), notes


def ingest_bodies(
    lake: Lake,
    board: str,
    bodies: Iterable[Body],
    run_id: str,
    observed_at: datetime | None = None,
    bodies_per_file: int = 2_000,
    workers: int = 1,
    progress: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Parse thread bodies (raw bytes, `Line`s or decoded JSON) and write them as posts
    files. `progress` gets each chunk's report when the chunk is written."""
    observed_at = observed_at or datetime.now(UTC)
    report = IngestReport()
    chunks = _chunks(bodies, bodies_per_file)
    if workers <= 1:
        for n, chunk in enumerate(chunks):
            part = _ingest_chunk(lake.url, board, chunk, run_id, n, observed_at)
            report.add(part)
            if progress:
                progress(part)
        return report
    with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init) as pool:
        pending: list[Future[IngestReport]] = []
        for n, chunk in enumerate(chunks):
            pending.append(
                pool.submit(_ingest_chunk, lake.url, board, chunk, run_id, n, observed_at)
            )
            while len(pending) >= 2 * workers:  # bounded memory: finish the oldest first
                _collect(pending.pop(0), report, progress)
        for future in pending:
            _collect(future, report, progress)
    return report


def _worker_init() -> None:
    """A worker never uses pandas, but pyarrow imports it (about 2 s) on its first
    `pa.array` call, only to ask whether the input is a pandas object. Unless the parent
    had already imported it, the worker reports pandas as absent, which pyarrow handles."""
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _NoPandas())


class _NoPandas(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("pandas is not used in ingest workers", name=name)
        return None


def _collect(
    future: Future[IngestReport],
    report: IngestReport,
    progress: Callable[[IngestReport], None] | None,
) -> None:
    part = future.result()
    report.add(part)
    if progress:
        progress(part)


def _chunks(bodies: Iterable[Body], size: int) -> Iterator[list[Body]]:
    it = iter(bodies)
    while chunk := list(islice(it, size)):
        yield chunk


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector. A chunk makes hundreds of thousands of dicts and
    lists and no reference cycle, so the collector's passes over them find nothing; they
    took a quarter of the CPU of an ingest. Reference counting still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _ingest_chunk(
    lake_url: str, board: str, chunk: list[Body], run_id: str, n: int, observed_at: datetime
) -> IngestReport:
    with _no_gc():
        return _parse_and_write(lake_url, board, chunk, run_id, n, observed_at)


def _parse_and_write(
    lake_url: str, board: str, chunk: list[Body], run_id: str, n: int, observed_at: datetime
) -> IngestReport:
    """Plain lines through the bulk path, the others through `parse_thread`; the rows are
    written in the order of the lines, as the crawler writes them (among rows of one file,
    the later is the newer)."""
    report = IngestReport()
    plain = Plain()
    runs: Runs = []
    for body in chunk:
        raw = body.data if isinstance(body, Line) else body
        decoded = decode(raw) if isinstance(raw, bytes) else None
        thread_no = _thread_no(decoded) if body_problem(decoded) is None else None
        taken = len(plain)
        if thread_no is not None and plain.add(raw, decoded, thread_no):  # type: ignore[arg-type]
            _add_posts(runs, len(plain) - taken)
        else:  # not plain; decoded None when not a thread body: parse_thread says what is wrong
            _add_body(runs, (body, decoded if thread_no is not None else None))
    table = plain.table(board, run_id, observed_at)
    if table is None:  # Arrow's reader disagreed with orjson on some line: parse them all
        table = POSTS.empty_table()
        runs = [[(body, None) for body in chunk]]
    else:
        report.threads += len(plain.lines)
        report.bulk_threads += len(plain.lines)
        report.posts += len(table)
    parts, at = [], 0
    for run in runs:
        if isinstance(run, int):
            parts.append(table.slice(at, run))
            at += run
        else:
            parts.append(_parse_bodies(board, run, run_id, observed_at, report))
    table = pa.concat_tables(parts) if parts else table
    if len(table):
        lake = Lake(lake_url)
        report.files.append(lake.write_table("posts", board, table, observed_at,
                                             f"{run_id}-{n}"))  # fmt: skip
    return report


def _add_posts(runs: Runs, n: int) -> None:
    if runs and isinstance(runs[-1], int):
        runs[-1] += n
    else:
        runs.append(n)


def _add_body(runs: Runs, body: tuple[Body, Any]) -> None:
    if not runs or isinstance(runs[-1], int):
        runs.append([])
    runs[-1].append(body)  # type: ignore[union-attr]


def _parse_bodies(
    board: str, bodies: list[tuple[Body, Any]], run_id: str, observed_at: datetime,
    report: IngestReport,
) -> pa.Table:  # fmt: skip
    """The rows `parse_thread` makes of these bodies; what it finds goes to `report`."""
    buf = RowBuffer(POSTS, repair=repair_logged)
    for body, decoded in bodies:
        data: Any = body if decoded is None else decoded
        if isinstance(body, Line) and decoded is None:
            data, problem, notes = decode_line(body.data)
            where = f"{body.source}:{body.lineno}"
            report.notes.extend(f"{where}: {note}" for note in notes)
            if problem is not None:
                report.skipped.append(f"{where}: {problem}, skipped")
                continue
        elif isinstance(body, bytes) and decoded is None:
            data, notes = decode_json(body, f"body {report.threads}")
            report.problems.extend(notes)
        thread_no = _thread_no(data)
        if thread_no is None:
            report.problems.append("a body without an OP, skipped")
            continue
        parsed = parse_thread(data, thread_no)
        report.problems.extend(f"/{board}/{thread_no}: {p}" for p in parsed.problems)
        for post in parsed.posts:
            post["board"] = board
            post["thread_no"] = thread_no
            post["observed_at"] = observed_at
            post["run_id"] = run_id
            buf.add(post)
        report.threads += 1
        report.posts += len(parsed.posts)
    return buf.to_table() if len(buf) else POSTS.empty_table()


def _thread_no(data: Any) -> int | None:
    posts = data.get("posts") if isinstance(data, dict) else None
    if not isinstance(posts, list) or not posts or not isinstance(posts[0], dict):
        return None
    op = posts[0]
    no, resto = op.get("no"), op.get("resto", 0)
    if type(no) is not int:
        return None
    return no if not resto else resto if type(resto) is int else None
