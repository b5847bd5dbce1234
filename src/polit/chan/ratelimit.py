"""One request pacer per machine, shared by every board, thread and process that talks to
one API host.

4chan allows at most one request per second per IP. A token bucket with a capacity of one
token is a fixed minimum spacing between request starts; a small margin keeps network
jitter from putting two arrivals inside one second on the server's side.

Inside a process a lock shares the pacer between threads. Between processes (`polit watch`
and `polit backfill` side by side) the next free slot lives in a small file in a per-user
runtime directory (`$XDG_RUNTIME_DIR/polit/` or `<tmp>/polit-<uid>/`), read and advanced
under `fcntl.flock`. The slot is a reading of CLOCK_MONOTONIC, which on Linux is one clock
for the whole machine (every process reads the same value), never steps with NTP, and
starts again at boot, so a value left from before a reboot, or one absurdly far ahead, is
ignored. Containers have their own /tmp: they share the budget only through a shared mount.
With rate 0 (local replays) nothing is shared and nothing sleeps.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger("polit.chan")

MARGIN = 0.05  # relative safety margin on the spacing (network and scheduling jitter)
MAX_AHEAD = 600.0  # a shared slot further ahead than this is garbage (or from another boot)
SLOT_BYTES = 32  # the shared file holds one fixed-width float


def machine_clock() -> float:
    """CLOCK_MONOTONIC: the same reading in every process of this machine."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class RateLimiter:
    """Blocks callers so that request starts are at least `1 / rate` seconds apart.

    `rate` is requests per second; 0 means unlimited (for local replays). With `shared`, a
    file path, every process using that file shares the spacing (see the module doc).

    >>> limiter = RateLimiter(0)
    >>> limiter.wait()
    0.0
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = machine_clock,
        sleep: Callable[[float], None] = time.sleep,
        shared: Path | None = None,
    ) -> None:
        if rate < 0:
            raise ValueError("rate must be >= 0")
        self.rate = rate
        self.interval = 0.0 if rate == 0 else (1.0 / rate) * (1 + MARGIN)
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()
        self._fd: int | None = None
        if shared is not None and self.interval > 0:
            self._fd = os.open(shared, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self.shared = shared if self._fd is not None else None

    def wait(self) -> float:
        """Wait until a request may start; returns the seconds slept.

        The slot is claimed when the caller goes, not reserved before it sleeps: a waiter
        that wakes up late (a busy machine) pushes the next request back by as much, instead
        of sending right before it, so arrivals stay an interval apart."""
        if self.interval == 0:
            return 0.0
        slept = 0.0
        while True:
            with self._lock, self._shared_slot() as now:
                if now >= self._next:
                    self._next = now + self.interval
                    return slept
                delay = self._next - now
            self._sleep(delay)
            slept += delay

    def penalize(self, seconds: float) -> None:
        """Push every later request back by `seconds` (after a 429/503 or a Retry-After)."""
        if self.interval == 0:
            return
        with self._lock, self._shared_slot() as now:
            self._next = max(self._next, now + min(seconds, MAX_AHEAD))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _shared_slot(self) -> _SharedSlot:
        return _SharedSlot(self)


class _SharedSlot:
    """Under the file lock: load the machine's next free time into `_next`, store it after."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    def __enter__(self) -> float:
        lim = self.limiter
        now = lim._clock()
        if lim._fd is not None:
            fcntl.flock(lim._fd, fcntl.LOCK_EX)
            now = lim._clock()  # the wait for the lock took time
            theirs = _read_slot(lim._fd)
            if now - MAX_AHEAD < theirs <= now + MAX_AHEAD:
                lim._next = max(lim._next, theirs)
        return now

    def __exit__(self, *exc: object) -> None:
        lim = self.limiter
        if lim._fd is not None:
            try:
                os.pwrite(lim._fd, f"{lim._next:.6f}".ljust(SLOT_BYTES - 1).encode() + b"\n", 0)
            finally:
                fcntl.flock(lim._fd, fcntl.LOCK_UN)


def _read_slot(fd: int) -> float:
    try:
        return float(os.pread(fd, SLOT_BYTES, 0).decode("ascii").strip() or 0.0)
    except (UnicodeDecodeError, ValueError):
        return 0.0  # a torn or foreign file: start afresh


def runtime_dir() -> Path | None:
    """This user's private directory for the shared pacer, or None when there is none safe."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    candidates = [Path(base) / "polit"] if base else []
    candidates.append(Path(tempfile.gettempdir()) / f"polit-{os.getuid()}")
    for d in candidates:
        try:
            d.mkdir(mode=0o700, parents=False, exist_ok=True)
            st = os.lstat(d)
        except OSError:
            continue
        # a directory someone else made (or a symlink) could be used to slow us down
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022:
            return d
    return None


def machine_limiter(rate: float, api_url: str) -> RateLimiter:
    """The pacer every polit process on this machine shares for the host of `api_url`."""
    if rate == 0:
        return RateLimiter(0)
    d = runtime_dir()
    host = urlsplit(api_url).netloc or "api"
    name = "".join(c if c.isalnum() or c in ".-" else "_" for c in host)
    if d is not None:
        try:
            return RateLimiter(rate, shared=d / f"rate-{name}")
        except OSError as exc:
            log.warning("cannot share the request budget through %s (%s)", d, exc)
    log.warning("no private runtime directory: the request budget is this process's only")
    return RateLimiter(rate)
