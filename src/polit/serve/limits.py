"""A token bucket per client address: `rate` requests a second on average, bursts of up
to `burst`; past that, 429 with Retry-After (an ASGI middleware)."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Any

import orjson

MAX_CLIENTS = 10_000  # buckets kept (the least recently seen go first)


class Buckets:
    def __init__(self, rate: float, burst: int, clock: Any = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds until it could."""
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
        return wait


class RateLimit:
    def __init__(self, app: Any, rate: float, burst: int) -> None:
        self.app = app
        self.buckets = Buckets(rate, burst) if rate > 0 else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.buckets is None:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        wait = self.buckets.take(client)
        if not wait:
            await self.app(scope, receive, send)
            return
        body = orjson.dumps({"error": "Too many requests: slow down."})
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(max(1, math.ceil(wait))).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
