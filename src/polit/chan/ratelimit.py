"""One global request pacer shared by every board and thread of a process.

4chan allows at most one request per second per IP. A token bucket with a capacity of one
token is a fixed minimum spacing between request starts; a small margin keeps network
jitter from putting two arrivals inside one second on the server's side.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MARGIN = 0.05  # relative safety margin on the spacing (network and scheduling jitter)


class RateLimiter:
    """Blocks callers so that request starts are at least `1 / rate` seconds apart.

    `rate` is requests per second; 0 means unlimited (for local replays).

    >>> limiter = RateLimiter(0)
    >>> limiter.wait()
    0.0
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate < 0:
            raise ValueError("rate must be >= 0")
        self.rate = rate
        self.interval = 0.0 if rate == 0 else (1.0 / rate) * (1 + MARGIN)
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Wait for the next slot; returns the seconds slept."""
        if self.interval == 0:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)

    def penalize(self, seconds: float) -> None:
        """Push every later request back by `seconds` (after a 429/503 or a Retry-After)."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)
