"""The lake: Parquet files and small JSON documents under one fsspec URL.

Layout: `<lake>/raw/<table>/board=<b>/date=<YYYY-MM-DD>/hour=<HH>/<run_id>-<n>.parquet`
(zstd), plus `<lake>/_polit/` for crawl state and the load manifest.

Every write is atomic. On a local disk a file is written under a hidden temporary name
(`.tmp-*`, which readers skip) and renamed into place; an object store like GCS makes an
object visible only once its upload completes, so it is written in memory and uploaded in
one call.

Local writes are also durable (they survive a power loss, not only a kill): the file is
fsynced before the rename, and its directory after it, with the parents of any directory
the write created, so that the new name itself is on disk.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from polit.lake.schema import TABLES

LOCAL_PROTOCOLS = {"file", "local"}


@dataclass(frozen=True)
class LakeFile:
    path: str  # a path in `Lake.fs` (`/…/raw/posts/…`, `bucket/…/raw/…`); `Lake.uri` for a URL
    table: str
    board: str
    size: int


class Lake:
    """A lake rooted at a URL or a local path (`./data/lake`, `file:///x`, `gs://bucket/x`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        fs, root = fsspec.core.url_to_fs(url)
        self.fs: fsspec.AbstractFileSystem = fs
        self.root = root.rstrip("/")
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        self.protocol = protocol
        self.local = protocol in LOCAL_PROTOCOLS

    def __repr__(self) -> str:
        return f"Lake({self.url!r})"

    # -- paths ---------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def uri(self, path: str) -> str:
        """Full URL of a path inside the lake, for tools that open it themselves."""
        if self.local:
            return path
        return f"{self.protocol}://{path}"

    def partition(self, table: str, board: str, when: datetime) -> str:
        return self.path("raw", table, f"board={board}", f"date={when:%Y-%m-%d}", f"hour={when:%H}")

    # -- data files ------------------------------------------------------------------------
    def write_table(self, table: str, board: str, data: pa.Table, when: datetime, name: str) -> str:
        """Write one Parquet file atomically; returns its path."""
        schema = TABLES[table]
        if data.schema != schema:
            data = data.cast(schema)
        path = posixpath.join(self.partition(table, board, when), f"{name}.parquet")
        self._atomic(path, lambda f: pq.write_table(data, f, compression="zstd"))
        return path

    def files(self, table: str, board: str | None = None) -> list[LakeFile]:
        """Every visible data file of a table, sorted by path (oldest partitions first)."""
        base = self.path("raw", table)
        if board:
            base = posixpath.join(base, f"board={board}")
        if not self.fs.exists(base):
            return []
        found = self.fs.find(base, detail=True)
        out = []
        for path, info in sorted(found.items()):
            name = posixpath.basename(path)
            if not name.endswith(".parquet") or name.startswith((".", "_")):
                continue
            b = next((p[6:] for p in path.split("/") if p.startswith("board=")), "")
            out.append(LakeFile(path, table, b, int(info.get("size") or 0)))
        return out

    # -- documents (state, manifest) ---------------------------------------------------------
    def read_json(self, *parts: str) -> Any | None:
        path = self.path(*parts)
        try:
            with self.fs.open(path, "rb") as f:
                return json.loads(f.read())
        except FileNotFoundError:
            return None

    def write_json(self, obj: Any, *parts: str) -> None:
        blob = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
        self._atomic(self.path(*parts), lambda f: f.write(blob))

    # -- internals ---------------------------------------------------------------------------
    def _atomic(self, path: str, write: Any) -> None:
        directory = posixpath.dirname(path)
        if not self.local:
            # Not `fs.open(path, "wb")`: closing that file (also on an exception) uploads
            # whatever was written, so a failed write would publish a partial object.
            buf = io.BytesIO()
            write(buf)
            self.fs.pipe_file(path, buf.getvalue())
            return
        changed = _make_dirs(directory)
        tmp = posixpath.join(directory, f".tmp-{uuid.uuid4().hex}")
        try:
            with open(tmp, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())  # the bytes are on disk before the name points at them
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        for d in (directory, *changed):  # the new name, and any new directory's name
            _fsync_dir(d)


def _make_dirs(directory: str) -> list[str]:
    """Create `directory` and missing parents; return the parents whose entries changed."""
    missing = []
    d = directory
    while not os.path.isdir(d):
        missing.append(d)
        d = os.path.dirname(d)
    os.makedirs(directory, exist_ok=True)
    return [os.path.dirname(m) for m in missing]


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
