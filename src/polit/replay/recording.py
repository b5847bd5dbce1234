"""Read a recorded board (the recording format of fixtures/README.md) for the replay server.

Files are indexed at startup with ``os.scandir``; bodies are read lazily and cached.
Where a snapshot has no ``archive.json`` the archive is derived from the listings: a thread
listed in snapshot k and absent from a later snapshot i is archived at i with its posts as
of the last snapshot k < i that listed it, plus ``archived: 1`` and ``archived_on`` (the
time of snapshot k+1) on its OP. A thread listed again later is live again.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

# A body's source: ("t", i, no) live thread file, ("a", j, no) recorded archive file,
# ("d", k, no) derived archived thread, ("T", i, 0) threads.json, ("A", i, 0) archive.json.
Key = tuple[str, int, int]

CACHE_BYTES = 32 * 1024 * 1024


def http_date(dt: datetime) -> str:
    """Format an aware datetime as an HTTP date (IMF-fixdate, GMT)."""
    return format_datetime(dt.astimezone(UTC), usegmt=True)


def _dumps(obj: Any) -> bytes:
    """Serialize like the recorded bodies: compact, UTF-8, no trailing newline."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _parse_at(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _json_numbers(directory: Path) -> set[int]:
    """Thread numbers of the ``<no>.json`` files in a directory (empty if it is missing)."""
    out: set[int] = set()
    try:
        with os.scandir(directory) as it:
            for entry in it:
                stem, dot, ext = entry.name.partition(".")
                if dot and ext == "json" and stem.isdigit():
                    out.add(int(stem))
    except FileNotFoundError:
        pass
    return out


class _LRU:
    """A thread-safe byte-bounded LRU cache of bodies."""

    def __init__(self, max_bytes: int) -> None:
        self._data: OrderedDict[Key, bytes] = OrderedDict()
        self._size = 0
        self._max = max_bytes
        self._lock = threading.Lock()

    def get(self, key: Key, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            body = self._data.get(key)
            if body is not None:
                self._data.move_to_end(key)
                return body
        body = make()
        with self._lock:
            if key not in self._data and len(body) <= self._max:
                self._data[key] = body
                self._size += len(body)
                while self._size > self._max:
                    _, old = self._data.popitem(last=False)
                    self._size -= len(old)
        return body


class Recording:
    """A recorded board: ``len(rec)`` snapshots, each served as the API would at ``at(i)``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        meta = json.loads((self.path / "recording.json").read_bytes())
        self.board: str = meta["board"]
        snaps = meta["snapshots"]
        if not snaps:
            raise ValueError(f"{self.path}: recording has no snapshots")
        self._ats = tuple(_parse_at(s["at"]) for s in snaps)
        if any(a >= b for a, b in zip(self._ats, self._ats[1:], strict=False)):
            raise ValueError(f"{self.path}: snapshot times must increase")
        self._dirs = [self.path / s["dir"] for s in snaps]
        self._files = [frozenset(_json_numbers(d / "thread")) for d in self._dirs]
        self._has_archive = [(d / "archive.json").is_file() for d in self._dirs]
        self._archive_files: dict[int, list[int]] = {}
        for i, d in enumerate(self._dirs):
            for no in _json_numbers(d / "archive"):
                self._archive_files.setdefault(no, []).append(i)
        self._lock = threading.Lock()
        self._listed: dict[int, frozenset[int]] = {}
        self._recorded_archive: dict[int, frozenset[int]] = {}
        self._history: dict[int, list[int]] | None = None
        self._hashes: dict[Key, bytes] = {}
        self._since: dict[tuple[str, int, int], int] = {}
        self._cache = _LRU(CACHE_BYTES)
        self._newest: dict[Key, int] = {}
        self._clock: dict[tuple[int, int], int] = {}  # (snapshot, thread): _thread_clock

    def __len__(self) -> int:
        return len(self._ats)

    def at(self, i: int) -> datetime:
        """The time of snapshot i (aware, UTC)."""
        return self._ats[i]

    @property
    def ats(self) -> tuple[datetime, ...]:
        """All snapshot times, ascending."""
        return self._ats

    # listings and archive membership

    def listed(self, i: int) -> frozenset[int]:
        """Thread numbers listed in snapshot i's threads.json."""
        got = self._listed.get(i)
        if got is None:
            pages = json.loads(self._read(("T", i, 0)))
            got = frozenset(int(t["no"]) for page in pages for t in page.get("threads", []))
            self._listed[i] = got
        return got

    def _history_index(self) -> dict[int, list[int]]:
        """Thread number -> ascending snapshot indices listing it (built once, lazily)."""
        if self._history is None:
            with self._lock:
                if self._history is None:
                    hist: dict[int, list[int]] = {}
                    for i in range(len(self)):
                        for no in self.listed(i):
                            hist.setdefault(no, []).append(i)
                    self._history = hist
        return self._history

    def _last_listed_before(self, i: int, no: int) -> int | None:
        idxs = self._history_index().get(no)
        if not idxs:
            return None
        pos = bisect.bisect_left(idxs, i)
        return idxs[pos - 1] if pos else None

    def is_archived(self, i: int, no: int) -> bool:
        """Whether thread ``no`` is archived at snapshot i."""
        if self._has_archive[i]:
            return no in self.archive(i)
        return no not in self.listed(i) and self._last_listed_before(i, no) is not None

    def archive(self, i: int) -> frozenset[int]:
        """Thread numbers archived at snapshot i (recorded, or derived from the listings)."""
        if self._has_archive[i]:
            got = self._recorded_archive.get(i)
            if got is None:
                got = frozenset(int(n) for n in json.loads(self._read(("A", i, 0))))
                self._recorded_archive[i] = got
            return got
        live = self.listed(i)
        return frozenset(
            no for no, idxs in self._history_index().items() if idxs[0] < i and no not in live
        )

    # bodies

    def threads_body(self, i: int) -> bytes:
        return self._read(("T", i, 0))

    def archive_body(self, i: int) -> bytes:
        return self._read(("A", i, 0))

    def thread_body(self, i: int, no: int) -> bytes | None:
        """The body of /thread/<no>.json at snapshot i, or None (404)."""
        key = self._thread_key(i, no)
        return None if key is None else self._read(key)

    def served_at(self, i: int, no: int | None = None) -> datetime:
        """The board's clock when snapshot i serves thread `no` (or anything else): the
        snapshot's time, or the newest post that thread's bodies held up to snapshot i if it
        is later. A recorded snapshot took a while to collect (the shared recording has posts
        up to an hour after its `at`), and a real server's clock is never before a post it
        served: so a post missing from a later body is never gone before it was posted."""
        at = self._ats[i]
        if no is None:
            return at
        newest = self._thread_clock(i, no)
        try:
            return max(at, datetime.fromtimestamp(newest, UTC))
        except (OverflowError, OSError, ValueError):
            return at

    def _thread_clock(self, i: int, no: int) -> int:
        """The newest post `time` of thread `no`'s bodies at snapshots 0..i (memoized)."""
        start = i
        while start >= 0 and (start, no) not in self._clock:
            start -= 1
        newest = self._clock[(start, no)] if start >= 0 else 0
        for j in range(start + 1, i + 1):
            newest = max(newest, self._newest_post(j, no))
            self._clock[(j, no)] = newest
        return newest

    def _newest_post(self, i: int, no: int) -> int:
        """The newest post `time` of thread `no`'s body at snapshot i (0: none, or hostile)."""
        key = self._thread_key(i, no)
        if key is None:
            return 0
        newest = self._newest.get(key)
        if newest is None:
            newest = 0
            try:
                posts = json.loads(self._read(key)).get("posts")
                for p in posts if isinstance(posts, list) else []:
                    t = p.get("time") if isinstance(p, dict) else None
                    if type(t) is int and t > newest:
                        newest = t
            except (ValueError, AttributeError, RecursionError):  # a hostile body
                pass
            self._newest[key] = newest
        return newest

    def boards_body(self) -> bytes:
        """boards.json: the recording's own file if it has one, else a synthesized one."""
        path = self.path / "boards.json"
        if path.is_file():
            return path.read_bytes()
        b = self.board
        board = {
            "board": b,
            "title": b,
            "per_page": 20,
            "pages": 10,
            "bump_limit": 300,
            "image_limit": 300,
            "is_archived": 1,
            "user_ids": 1,
            "country_flags": 1,
            "cooldowns": {"threads": 600, "replies": 60, "images": 60},
        }
        return _dumps({"boards": [board]})

    def _thread_key(self, i: int, no: int) -> Key | None:
        if no in self._files[i] and no in self.listed(i):
            return ("t", i, no)
        if not self.is_archived(i, no):
            return None
        k = self._last_listed_before(i, no)
        recorded = self._archive_files.get(no, [])
        pos = bisect.bisect_right(recorded, i)
        j = recorded[pos - 1] if pos else None
        if j is not None and (k is None or j > k):
            return ("a", j, no)
        if k is not None and no in self._files[k]:
            return ("d", k, no)
        return None

    def _read(self, key: Key) -> bytes:
        return self._cache.get(key, lambda: self._make(key))

    def _make(self, key: Key) -> bytes:
        kind, i, no = key
        d = self._dirs[i]
        if kind == "t":
            return (d / "thread" / f"{no}.json").read_bytes()
        if kind == "a":
            return (d / "archive" / f"{no}.json").read_bytes()
        if kind == "T":
            return (d / "threads.json").read_bytes()
        if kind == "A":
            if self._has_archive[i]:
                return (d / "archive.json").read_bytes()
            return _dumps(sorted(self.archive(i)))
        if kind == "d":
            data = json.loads((d / "thread" / f"{no}.json").read_bytes())
            op = data["posts"][0]
            op["archived"] = 1
            op["archived_on"] = int(self._ats[i + 1].timestamp())
            return _dumps(data)
        raise ValueError(f"unknown body kind {kind!r}")

    # Last-Modified

    def _hash(self, key: Key) -> bytes:
        h = self._hashes.get(key)
        if h is None:
            h = hashlib.blake2b(self._read(key), digest_size=16).digest()
            self._hashes[key] = h
        return h

    def _first_identical(
        self, name: str, no: int, i: int, key_at: Callable[[int], Key | None]
    ) -> int:
        """The earliest j <= i such that the body is byte-identical from j through i."""
        memo = (name, no, i)
        if memo in self._since:
            return self._since[memo]
        key = key_at(i)
        assert key is not None
        h = self._hash(key)
        j = i
        while j > 0:
            prev = key_at(j - 1)
            if prev is None or self._hash(prev) != h:
                break
            j -= 1
            known = self._since.get((name, no, j))
            if known is not None:
                j = known
                break
        self._since[memo] = j
        return j

    def last_modified_threads(self, i: int) -> datetime:
        return self._ats[self._first_identical("T", 0, i, lambda j: ("T", j, 0))]

    def last_modified_archive(self, i: int) -> datetime:
        return self._ats[self._first_identical("A", 0, i, lambda j: ("A", j, 0))]

    def last_modified_thread(self, i: int, no: int) -> datetime | None:
        """Last-Modified of thread ``no`` at snapshot i, or None if it is not served there."""
        if self._thread_key(i, no) is None:
            return None
        j = self._first_identical("t", no, i, lambda j: self._thread_key(j, no))
        return self._ats[j]


def trim_recording(recording: Path, out: Path, snapshots: int) -> Path:
    """A recording of the first `snapshots` snapshots of another, linking its snapshot
    folders (no copy): for quick replays of a long recording."""
    meta = json.loads((Path(recording) / "recording.json").read_text())
    meta["snapshots"] = meta["snapshots"][:snapshots]
    out.mkdir(parents=True, exist_ok=True)
    for snap in meta["snapshots"]:
        (out / snap["dir"]).symlink_to(Path(recording) / snap["dir"], target_is_directory=True)
    (out / "recording.json").write_text(json.dumps(meta))
    return out
