"""Brief readers and writers of one DuckDB file, without a failed open on either side.

DuckDB lets one process write a file, and no other process open it meanwhile, even
read-only. `polit serve` keeps the file open while it serves and lets go of it when a
writer comes; two advisory locks (flock, beside the file; released by the kernel when a
process dies) keep it from ever holding the file when a writer (`polit load`, `polit
transform`) opens it:

- a writer takes `<file>.intent` exclusively for the whole write, then `<file>.gate`
  exclusively: the second waits for the brief readers already inside (milliseconds);
- a reader (`share`) takes `<file>.gate` shared, then checks that no writer holds
  `.intent`; when one does, it lets go at once and reports the warehouse busy (no wait: a
  build can take minutes). While it holds the file it polls `writer_waiting` (a tenth of a
  second) and lets go when a writer comes.

A reader that is not brief (the dashboard, `polit sql`) takes neither, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

_held: dict[str, list[int]] = {}  # a writer's path -> [depth, intent fd, gate fd]
_lock = threading.Lock()


class Busy(Exception):
    """A writer has the warehouse; try again when it is done."""


def _open(path: Path, suffix: str) -> int:
    return os.open(f"{path}{suffix}", os.O_RDWR | os.O_CREAT, 0o644)


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Hold the file for writing (re-entrant within a process)."""
    key = str(Path(path).expanduser().resolve())
    with _lock:
        held = _held.get(key)
        if held:
            held[0] += 1
    if not held:
        Path(key).parent.mkdir(parents=True, exist_ok=True)
        intent = _open(Path(key), ".intent")
        fcntl.flock(intent, fcntl.LOCK_EX)
        gate = _open(Path(key), ".gate")
        fcntl.flock(gate, fcntl.LOCK_EX)
        with _lock:
            _held[key] = [1, intent, gate]
    try:
        yield
    finally:
        with _lock:
            held = _held[key]
            held[0] -= 1
            last = held[0] == 0
            if last:
                del _held[key]
        if last:
            for fd in held[2:0:-1]:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


def share(path: str | Path) -> int:
    """Take the file for reading: an open descriptor holding `.gate` shared (close it to
    let go). Busy when a writer has the file or wants it."""
    file = Path(path).expanduser().resolve()
    gate = _open(file, ".gate")
    try:
        fcntl.flock(gate, fcntl.LOCK_SH | fcntl.LOCK_NB)
        if writer_waiting(file):
            raise Busy(f"{file} is being written")
    except BlockingIOError:
        os.close(gate)
        raise Busy(f"{file} is being written") from None
    except BaseException:
        os.close(gate)
        raise
    return gate


def writer_waiting(path: str | Path) -> bool:
    """Whether a writer holds `.intent` (it then waits for the readers to let go)."""
    intent = _open(Path(path).expanduser().resolve(), ".intent")
    try:
        fcntl.flock(intent, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(intent)  # closing releases the test lock
    return False
