"""`polit import ndjson`: thread-per-line NDJSON, the format of "Raiders of the Lost Kek"
(Papasavva et al., ICWSM 2020), into the lake.

Each line is an API thread body `{"posts": [...]}` with a few additions: per post `entities`
(named entities) and `perspectives` (Perspective API scores), and keys beside `posts`
(`extracted_poster_id`). The seven scores of that dataset become the lake's score columns
(`toxicity`, `severe_toxicity`, ...); everything else the API does not send lands in the
`extra` JSON column (see `polit.chan.posts`), so nothing is dropped.

Files may be plain, gzip or zstd, told apart by their first bytes, not their names. Lines are
read one at a time and go to `ingest_bodies` as `Line`s (file, line number, bytes): the worker
processes decode each once, check it, parse and write it; a malformed one comes back, and is
logged here as `file:line` and skipped. Memory stays bounded by a few chunks of bodies,
whatever the size of the input.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

import zstandard

from polit.chan.client import decode_json
from polit.crawl.crawler import new_run_id
from polit.importers.report import ImportReport, Progress
from polit.lake.ingest import IngestReport, Line, decode_line, ingest_bodies
from polit.lake.store import Lake

log = logging.getLogger("polit.import")

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_BUFFER = 1 << 20
BODIES_PER_FILE = 500  # one lake file per ~500 threads (~20,000 posts)
TICK_LINES = 256  # progress callback every this many lines
CORRUPT = (OSError, EOFError, zlib.error, zstandard.ZstdError)


def compression(head: bytes) -> str | None:
    """The compression of a file from its first bytes: "gzip", "zstd" or None (plain).

    >>> compression(b"\\x1f\\x8b\\x08\\x00"), compression(b'{"posts"')
    ('gzip', None)
    """
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


@contextmanager
def open_lines(path: Path) -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    """(decompressed stream to iterate by line, the underlying file for its position)."""
    with open(path, "rb") as raw:
        kind = compression(raw.read(4))
        raw.seek(0)
        stream: IO[bytes]
        if kind == "gzip":
            stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
        elif kind == "zstd":
            reader = zstandard.ZstdDecompressor().stream_reader(
                raw, read_across_frames=True, closefd=False
            )
            stream = io.BufferedReader(reader, READ_BUFFER)
        else:
            stream = raw
        try:
            yield stream, raw
        finally:
            if stream is not raw:
                stream.close()


def check_line(line: bytes) -> tuple[int, str | None, tuple[str, ...]]:
    """(posts in the body, why it is unusable or None, notes) for one NDJSON line."""
    data, problem, notes = decode_line(line)
    return (0 if problem else len(data["posts"])), problem, notes


class _Reader:
    """Yields the good lines of every file as bytes, counting and logging the bad ones."""

    def __init__(self, paths: Sequence[Path], report: ImportReport, progress: Progress | None):
        self.paths = paths
        self.report = report
        self.progress = progress
        self.total = sum(os.path.getsize(p) for p in paths)
        self.done = 0  # input bytes of the files finished
        self.position = 0  # input bytes read, as last reported
        self.written = 0  # posts written (from ingest's callback)

    def bodies(self) -> Iterator[Line]:
        for path in self.paths:
            self.report.inputs += 1
            with open_lines(path) as (stream, raw):
                yield from self._lines(path, stream, raw)
            self.done += os.path.getsize(path)
            self.tick(self.done)

    def _lines(self, path: Path, stream: IO[bytes], raw: IO[bytes]) -> Iterator[Line]:
        lineno = 0
        source = str(path)
        try:
            for lineno, line in enumerate(stream, 1):
                if lineno % TICK_LINES == 0:
                    self.tick(self.done + raw.tell())
                if not line.strip():
                    continue
                yield Line(source, lineno, line)
        except CORRUPT as exc:
            self.report.malformed += 1
            log.error("%s:%d: unreadable from here on (%s), rest of the file skipped",
                      path, lineno + 1, exc)  # fmt: skip

    def tick(self, position: int) -> None:
        self.position = position
        if self.progress is not None:
            self.progress(position, self.total, self.written)

    def checked(self, part: IngestReport) -> None:
        """Log and count what a worker found in its chunk's lines."""
        for note in part.notes:
            log.warning("%s", note)
        for skipped in part.skipped:
            log.warning("%s", skipped)
        self.report.malformed += len(part.skipped)
        self.written_more(part.posts)

    def written_more(self, posts: int) -> None:
        self.written += posts
        self.tick(self.position)


def import_ndjson(
    lake: Lake,
    paths: Sequence[Path],
    board: str = "pol",
    workers: int = 2,
    run_id: str | None = None,
    bodies_per_file: int = BODIES_PER_FILE,
    progress: Progress | None = None,
) -> ImportReport:
    """Import NDJSON files (one thread body per line) into the lake's posts, as one run."""
    report = ImportReport(run_id or new_run_id(), board)
    reader = _Reader(paths, report, progress)
    start = time.perf_counter()
    part = ingest_bodies(
        lake,
        board,
        reader.bodies(),
        report.run_id,
        bodies_per_file=bodies_per_file,
        workers=workers,
        progress=reader.checked,
    )
    report.add(part)
    report.seconds = time.perf_counter() - start
    reader.tick(reader.total)
    for problem in part.problems[:20]:
        log.warning("%s", problem)
    return report


def iter_bodies(path: Path) -> Iterator[dict[str, Any]]:
    """The decoded thread bodies of an NDJSON file (plain, gzip or zstd), for tools and tests."""
    with open_lines(path) as (stream, _):
        for line in stream:
            if line.strip():
                data, _ = decode_json(line, str(path))
                if isinstance(data, dict):
                    yield data
