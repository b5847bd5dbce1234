"""HTTP client for the 4chan read-only API. The API's rules live here and nowhere else:
one global rate limit, If-Modified-Since echoing the exact Last-Modified, a User-Agent on
every request, and bounded retries with exponential backoff, jitter and Retry-After.

Nothing a server sends can hold a run: a Retry-After above `max_retry_after` is not slept
(RetryAfterTooLong), and a body is read as a stream that stops once it passes
`max_body_bytes`, compressed or decoded (BodyTooLarge). Both are ChanErrors, so the crawler
leaves that thread for its next cycle and goes on with the others.
"""

from __future__ import annotations

import json
import logging
import random
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import httpx
import orjson

from polit.chan.ratelimit import RateLimiter
from polit.config import Settings

log = logging.getLogger("polit.chan")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
MAX_BACKOFF = 60.0
# Before the API has ever answered, a refused or failed connection is retried after these
# delays (times `backoff`) only, at most FAIL_FAST_SECONDS in all: a wrong URL or no network
# is said within seconds, while errors after a first answer get the full retries.
FAIL_FAST_DELAYS = (0.5, 1.0, 2.0)
FAIL_FAST_SECONDS = 5.0
JSON_RETRIES = 2  # a body that stays malformed is reported, not retried forever


class ChanError(Exception):
    """A request that failed for good (after retries), or an unexpected answer."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url


class BadBody(ChanError):
    """The server answered 200 but the body is not the JSON we asked for."""


class RetryAfterTooLong(ChanError):
    """The server asked to wait longer than `max_retry_after`: given up at once, not slept."""


class BodyTooLarge(ChanError):
    """The body passed `max_body_bytes` (compressed or decoded); reading stopped there."""


class Unreachable(ChanError):
    """No connection to the API, which has not answered this client once: given up within
    seconds (FAIL_FAST_SECONDS), and at the first failure once that has happened."""


@dataclass(frozen=True)
class Fetch:
    """One answered request. `data` is the parsed JSON on 200, None on 304 or 404.
    `date` is the response's `Date` header (the board's clock), None when it is missing
    or unparsable (polit.crawl.clock decides what to believe)."""

    url: str
    status: int
    last_modified: str | None
    data: Any = None
    size: int = 0
    notes: tuple[str, ...] = ()
    date: datetime | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def not_found(self) -> bool:
        return self.status == 404


@dataclass
class ClientStats:
    requests: int = 0
    bytes: int = 0
    retries: int = 0
    by_status: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "bytes": self.bytes,
            "retries": self.retries,
            "by_status": dict(self.by_status),
        }


class ChanClient:
    """Thread-safe client; share one per process so every board shares the rate limit.

    >>> with ChanClient(Settings(api_url="http://127.0.0.1:9", max_rps=0)) as c:
    ...     c.base_url
    'http://127.0.0.1:9'
    """

    def __init__(
        self,
        settings: Settings,
        limiter: RateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        backoff: float = 1.0,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.base_url = settings.api_url.rstrip("/")
        self.max_retries = settings.max_retries
        self.max_retry_after = settings.max_retry_after
        self.max_body_bytes = settings.max_body_bytes
        self.limiter = limiter or RateLimiter(settings.max_rps)
        self.backoff = backoff
        self.stats = ClientStats()
        self._sleep = sleep
        self._rng = random.Random()
        self._answered = False  # any HTTP answer: the API is reachable from here
        self._unreachable = False  # a fail-fast gave up, and nothing has answered since
        self._http = httpx.Client(
            headers={
                "User-Agent": settings.user_agent,
                "Accept": "application/json",
                "Accept-Encoding": "gzip",  # what 4chan serves; _read decodes it, capped
            },
            timeout=httpx.Timeout(settings.timeout),
            transport=transport,
            follow_redirects=False,
        )

    # -- endpoints -------------------------------------------------------------------
    def boards(self) -> Fetch:
        return self.get_json("/boards.json")

    def threads(self, board: str, since: str | None = None) -> Fetch:
        return self.get_json(f"/{board}/threads.json", since)

    def archive(self, board: str, since: str | None = None) -> Fetch:
        return self.get_json(f"/{board}/archive.json", since)

    def thread(self, board: str, no: int, since: str | None = None) -> Fetch:
        return self.get_json(f"/{board}/thread/{no}.json", since)

    # -- core --------------------------------------------------------------------------
    def get_json(self, path: str, since: str | None = None) -> Fetch:
        """GET `path`; 200 → parsed JSON, 304/404 → no data. Raises ChanError when it gives up."""
        url = self.base_url + path
        for attempt in range(JSON_RETRIES + 1):
            status, last_modified, date, body = self._get(url, since)
            if status != 200:
                return Fetch(url, status, last_modified, date=date)
            data, notes = decode_json(body, url)
            if data is not None:
                return Fetch(url, 200, last_modified, data, len(body), notes, date)
            if attempt < JSON_RETRIES:
                log.warning("%s: malformed JSON (%s), retrying", url, notes[-1])
                self._backoff(attempt, None)
        raise BadBody(url, f"malformed JSON after {JSON_RETRIES + 1} tries ({notes[-1]})")

    def _get(self, url: str, since: str | None) -> tuple[int, str | None, datetime | None, bytes]:
        headers = {"If-Modified-Since": since} if since else {}
        last_error = ""
        started = time.monotonic()
        for attempt in range(self.max_retries + 1):
            self.limiter.wait()
            self.stats.requests += 1
            retry_after: float | None = None
            try:
                with self._http.stream("GET", url, headers=headers) as resp:
                    self._answered, self._unreachable = True, False
                    body = self._read(url, resp)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                self.stats.by_status["error"] += 1
                last_error = f"connection error ({type(exc).__name__}: {exc})"
                if not self._answered:
                    self._fail_fast(url, attempt, started, last_error)  # sleeps, or raises
                    continue
            except httpx.TimeoutException as exc:
                self.stats.by_status["timeout"] += 1
                last_error = f"timeout ({type(exc).__name__})"
            except httpx.TransportError as exc:
                self.stats.by_status["error"] += 1
                last_error = f"connection error ({type(exc).__name__}: {exc})"
            except zlib.error as exc:
                self.stats.by_status["error"] += 1
                last_error = f"corrupt compressed body ({exc})"
            else:
                status = resp.status_code
                if status in (200, 304, 404):
                    date = parse_http_date(resp.headers.get("Date"))
                    return status, resp.headers.get("Last-Modified"), date, body
                if status not in RETRY_STATUSES:
                    raise ChanError(url, f"unexpected HTTP {status}")
                last_error = f"HTTP {status}"
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                if retry_after is not None and retry_after > self.max_retry_after:
                    self._refuse_wait(url, status, resp.headers["Retry-After"])
                if status in (429, 503):
                    self.limiter.penalize(retry_after if retry_after is not None else 1.0)
            if attempt == self.max_retries:
                break
            self.stats.retries += 1
            log.warning("%s: %s, retry %d/%d", url, last_error, attempt + 1, self.max_retries)
            self._backoff(attempt, retry_after)
        raise ChanError(url, f"gave up after {self.max_retries + 1} tries: {last_error}")

    def _fail_fast(self, url: str, attempt: int, started: float, error: str) -> None:
        """No connection and no answer ever: sleep the next short delay, or give up if the
        delays (or max_retries) are spent, or a fail-fast already gave up."""
        delays = FAIL_FAST_DELAYS[: self.max_retries]
        delay = delays[attempt] * self.backoff if attempt < len(delays) else None
        spent = time.monotonic() - started
        if self._unreachable or delay is None or spent + delay > FAIL_FAST_SECONDS:
            self._unreachable = True
            raise Unreachable(
                url, f"cannot reach the API at {self.base_url} ({error}, {attempt + 1} tries in "
                f"{spent:.1f} s); check --api-url (POLIT_API_URL) and the network",
            )  # fmt: skip
        self.stats.retries += 1
        log.info("%s: %s, retrying in %.1f s", url, error, delay)
        self._sleep(delay)

    def _refuse_wait(self, url: str, status: int, value: str) -> NoReturn:
        """A Retry-After over the cap is not believed: the limiter is pushed back as after a
        503 without one (1 s), and this request is given up at once so the caller goes on
        (the crawler logs it and fetches that thread next cycle)."""
        if status in (429, 503):
            self.limiter.penalize(min(1.0, self.max_retry_after))
        raise RetryAfterTooLong(
            url, f"HTTP {status} asks to wait {value.strip()!r} (over max_retry_after,"
            f" {self.max_retry_after:g} s); not waited, given up for now",
        )  # fmt: skip

    def _read(self, url: str, resp: httpx.Response) -> bytes:
        """Read the body as a stream, decoding gzip, and stop as soon as it passes the cap
        (compressed or decoded): a gzip bomb costs at most one cap of memory, never the whole."""
        cap = self.max_body_bytes
        self.stats.by_status[str(resp.status_code)] += 1
        length = resp.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > cap:
            self._too_large(url, f"Content-Length {length}")
        decoder = _decoder(url, resp.headers.get("Content-Encoding"))
        chunks: list[bytes] = []
        raw = size = 0
        for chunk in resp.iter_raw():
            raw += len(chunk)
            out = decoder.decompress(chunk, cap - size + 1) if decoder else chunk
            size += len(out)
            self.stats.bytes += len(out)
            if size > cap:
                self._too_large(url, f"more than {cap:,} bytes" + (" once decoded" * bool(decoder)))
            if raw > cap:
                self._too_large(url, f"more than {cap:,} compressed bytes")
            chunks.append(out)
        if decoder:
            tail = decoder.flush()
            self.stats.bytes += len(tail)
            if size + len(tail) > cap:
                self._too_large(url, f"more than {cap:,} bytes once decoded")
            chunks.append(tail)
        return b"".join(chunks)

    def _too_large(self, url: str, what: str) -> NoReturn:
        raise BodyTooLarge(url, f"body too large ({what}, max_body_bytes); given up for now")

    def _backoff(self, attempt: int, retry_after: float | None) -> None:
        delay = self._rng.uniform(0, min(MAX_BACKOFF, self.backoff * 2**attempt))
        if retry_after is not None:
            delay = max(delay, retry_after)
        self._sleep(delay)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChanClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _decoder(url: str, encoding: str | None) -> Any:
    """A zlib decompressor for a gzip (or zlib) body, None for an identity one."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # reads the gzip or the zlib header
    raise ChanError(url, f"unsupported Content-Encoding {encoding!r} (only gzip was asked for)")


def decode_json(body: bytes, url: str) -> tuple[Any, tuple[str, ...]]:
    """Parse an untrusted body. Invalid UTF-8 is replaced (and noted), bad JSON gives None."""
    try:
        return orjson.loads(body), ()
    except orjson.JSONDecodeError:
        pass  # the slow path below says what is wrong, and accepts lone surrogates
    notes: list[str] = []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        notes.append(f"invalid UTF-8 at byte {exc.start}, replaced")
        text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text), tuple(notes)
    except (json.JSONDecodeError, RecursionError) as exc:
        notes.append(f"{type(exc).__name__}: {str(exc)[:120]}")
        return None, tuple(notes)


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date header as an aware datetime (UTC); None when missing or unparsable.

    >>> parse_http_date("Mon, 27 Mar 2023 09:51:59 GMT")
    datetime.datetime(2023, 3, 27, 9, 51, 59, tzinfo=datetime.timezone.utc)
    >>> parse_http_date("yesterday") is None
    True
    """
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date; None when it is neither.

    >>> parse_retry_after("999999")
    999999.0
    >>> parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT") > 120  # refused by the default cap
    True
    >>> parse_retry_after("soon") is None
    True
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
