"""`polit import seed-parquet`: the original (seed) project's Parquet exports into the lake.

The seed (BASC-py4chan inside Mage) wrote one `posts_<YYYYmmdd_HH>.parquet` and one
`threads_<YYYYmmdd_HH>.parquet` per hourly run, with flattened columns:

- posts: `thread_id`, `post_id`, `poster_id`, `poster_name`, `is_op`, `tripcode`, `email`,
  `subject`, `comment` (plain text), `has_file`, `post_datetime`, `url`, `file_name`,
  `file_extension`;
- threads: `thread_id`, `is_sticky`, `is_closed`, `topic`, `number_of_posts`, `url`.

Its `thread_id` came from zipping two separate API listings, so many posts sit under the
wrong thread; the `url` (`https://boards.4chan.org/pol/thread/<thread>#p<post>`) was built
from the post's own thread and is right. So the thread is taken from the url, and a differing
`thread_id` is kept in `extra` as `seed_thread_id`. Which kind a file is comes from its
columns, not its name.

Posts become API-like post objects (the comment marked up again as 4chan HTML, so quotes and
greentext parse as they do for crawled posts) grouped into thread bodies, and go through the
same bulk path as every import (`ingest_bodies`). A naive `post_datetime` is taken as UTC.
Each input file is observed at the time in its name (`..._20230327_09.parquet`), else now, and
is written under its own run id `<run>-f<k>`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from polit.crawl.crawler import new_run_id
from polit.importers.report import ImportReport, Progress
from polit.lake.batch import RowBuffer
from polit.lake.ingest import ingest_bodies
from polit.lake.schema import THREADS
from polit.lake.store import Lake

log = logging.getLogger("polit.import")

URL = re.compile(r"/thread/([0-9]{1,18})(?:#p([0-9]{1,18}))?")
NAME_TIME = re.compile(r"([0-9]{8})_([0-9]{2})\.parquet$")
QUOTE = re.compile(r"(?<!&gt;)&gt;&gt;([0-9]{1,18})")
BATCH_ROWS = 20_000
# Seed columns that become API fields (the others derive from these, or go to `extra`).
POST_FIELDS = {
    "poster_id": "id", "poster_name": "name", "tripcode": "trip", "email": "email",
    "subject": "sub",
}  # fmt: skip
DERIVED = frozenset({"post_id", "thread_id", "url", "is_op", "comment", "post_datetime",
                     "file_name", "file_extension", "has_file"})  # fmt: skip


def thread_of(url: Any) -> tuple[int | None, int | None]:
    """(thread, post) numbers in a post or thread URL.

    >>> thread_of("https://boards.4chan.org/pol/thread/421000744#p421000780")
    (421000744, 421000780)
    """
    m = URL.search(url) if isinstance(url, str) else None
    if m is None:
        return None, None
    return int(m.group(1)), int(m.group(2)) if m.group(2) else None


def to_html(text: Any) -> str | None:
    """A plain-text comment marked up the way 4chan marks it up.

    >>> print(to_html(">>123\\n>green & 'so'").replace("<br>", "\\n"))
    <a href="#p123" class="quotelink">&gt;&gt;123</a>
    <span class="quote">&gt;green &amp; &#039;so&#039;</span>
    """
    if not isinstance(text, str) or not text:
        return None
    lines = []
    for line in text.split("\n"):
        esc = (
            line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#039;")
        )  # fmt: skip
        esc = QUOTE.sub(r'<a href="#p\1" class="quotelink">&gt;&gt;\1</a>', esc)
        if esc.startswith("&gt;"):
            esc = f'<span class="quote">{esc}</span>'
        lines.append(esc)
    return "<br>".join(lines)


def observed_time(path: Path) -> datetime | None:
    """The hour in a seed file name (`posts_20230327_09.parquet`), if any."""
    m = NAME_TIME.search(path.name)
    if m is None:
        return None
    try:
        return datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H").replace(tzinfo=UTC)
    except ValueError:
        return None


def epoch(value: Any) -> int | None:
    if isinstance(value, datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            return epoch(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def api_post(row: dict[str, Any]) -> tuple[dict[str, Any] | None, int | None, str | None]:
    """(API-like post, its thread, why it is unusable) for one seed posts row."""
    no = row.get("post_id")
    if type(no) is not int or no <= 0:
        return None, None, f"no usable post_id ({no!r})"
    thread, url_post = thread_of(row.get("url"))
    seed_thread = row.get("thread_id")
    if thread is None:
        if type(seed_thread) is not int:
            return None, None, "neither a url nor a thread_id"
        thread = seed_thread  # no url to correct it with: the seed's own (logged by the caller)
    if url_post is not None and url_post != no:
        return None, None, f"url names post {url_post}, not {no}"
    post: dict[str, Any] = {"no": no, "resto": 0 if no == thread else thread}
    for seed_name, api_name in POST_FIELDS.items():
        if row.get(seed_name) is not None:
            post[api_name] = row[seed_name]
    com = to_html(row.get("comment"))
    if com is not None:
        post["com"] = com
    t = epoch(row.get("post_datetime"))
    if t is not None:
        post["time"] = t
    _file(row, post)
    if seed_thread is not None and seed_thread != thread:
        post["seed_thread_id"] = seed_thread
    for key, value in row.items():  # columns this importer does not know: kept in extra
        if key not in DERIVED and key not in POST_FIELDS and value is not None:
            post[f"seed_{key}"] = value
    return post, thread, None


def _file(row: dict[str, Any], post: dict[str, Any]) -> None:
    name, ext = row.get("file_name"), row.get("file_extension")
    if isinstance(name, str) and name:
        if isinstance(ext, str) and ext and name.endswith(ext):
            name = name[: -len(ext)]
        post["filename"] = name
        if isinstance(ext, str) and ext:
            post["ext"] = ext
    elif row.get("has_file"):
        post["seed_has_file"] = True  # a file the export did not name


class _SeedFile:
    """One seed posts file read in batches, as thread bodies."""

    def __init__(self, path: Path, report: ImportReport) -> None:
        self.path = path
        self.report = report
        self.fallbacks = 0

    def bodies(self) -> Iterator[dict[str, Any]]:
        pf = pq.ParquetFile(self.path)
        rowno = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            threads: dict[int, list[dict[str, Any]]] = {}
            for row in batch.to_pylist():
                rowno += 1
                post, thread, problem = api_post(row)
                if problem is not None or post is None or thread is None:
                    self.report.malformed += 1
                    log.warning("%s:%d: %s, skipped", self.path, rowno, problem)
                    continue
                if not isinstance(row.get("url"), str):
                    self.fallbacks += 1
                threads.setdefault(thread, []).append(post)
            for posts in threads.values():
                yield {"posts": posts}
        if self.fallbacks:
            log.warning("%s: %d posts without a url keep the seed's thread_id (may be wrong)",
                        self.path, self.fallbacks)  # fmt: skip


def thread_rows(path: Path, run_id: str, board: str, observed: datetime) -> tuple[list, int]:
    """Raw thread rows (event `fetched`: sticky, closed) of a seed threads file, keyed by the
    thread in its url; returns (rows, rows skipped)."""
    rows, skipped = [], 0
    for rowno, row in enumerate(pq.read_table(path).to_pylist(), 1):
        thread, _ = thread_of(row.get("url"))
        if thread is None and type(row.get("thread_id")) is int:
            thread = row["thread_id"]
        if thread is None:
            skipped += 1
            log.warning("%s:%d: neither a url nor a thread_id, skipped", path, rowno)
            continue
        rows.append({
            "board": board, "no": thread, "observed_at": observed, "run_id": run_id,
            "event": "fetched", "sticky": _flag(row.get("is_sticky")),
            "closed": _flag(row.get("is_closed")),
        })  # fmt: skip
    return rows, skipped


def _flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def import_seed_parquet(
    lake: Lake,
    paths: Sequence[Path],
    board: str = "pol",
    workers: int = 1,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import seed posts and threads Parquet files into the lake, as one run."""
    report = ImportReport(run_id or new_run_id(), board)
    start = time.perf_counter()
    total = len(paths)
    for k, path in enumerate(paths):
        report.inputs += 1
        observed = observed_time(path) or datetime.now(UTC)
        file_run = f"{report.run_id}-f{k}"
        names = set(pq.read_schema(path).names)
        if "post_id" in names:
            source = _SeedFile(path, report)
            part = ingest_bodies(lake, board, source.bodies(), file_run, observed_at=observed,
                                 workers=workers)  # fmt: skip
            report.add(part)
        elif "thread_id" in names or "url" in names:
            rows, skipped = thread_rows(path, file_run, board, observed)
            report.malformed += skipped
            if rows:
                buf = RowBuffer(THREADS)
                for row in rows:
                    buf.add(row)
                report.lake_files.append(
                    lake.write_table("threads", board, buf.to_table(), observed, f"{file_run}-0")
                )
        else:
            report.malformed += 1
            log.error("%s: neither a seed posts nor a seed threads file (columns: %s), skipped",
                      path, ", ".join(sorted(names)))  # fmt: skip
        if progress is not None:
            progress(k + 1, total, report.posts)
    report.seconds = time.perf_counter() - start
    for problem in report.problems[:20]:
        log.warning("%s", problem)
    return report
