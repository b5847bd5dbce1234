"""Serve a recorded board over HTTP like the 4chan read-only JSON API, with optional faults.

API: ``GET /boards.json``, ``/{b}/threads.json``, ``/{b}/archive.json``,
``/{b}/thread/{no}.json`` (query strings ignored). Control (never faulted, not counted):
``POST /_replay/next`` and ``GET /_replay/state``.

Faults: every API request draws one number from ``random.Random(seed)``; the fault it picks
(if any) replaces whatever the answer would have been, including 304s and 404s. ``truncate``
sends the first half of the 200 body (or of the 404 body for a missing resource). Two are
hostile: ``retry_after`` is a 503 asking to wait 999999 s, ``gzip_bomb`` a 200 whose 1 MB
gzip body inflates to 1 GiB of valid JSON (``{"posts": [`` and spaces). ``fault_paths`` (a
regular expression) limits the draws to the paths it matches; ``set_faults`` changes both
while serving. ``gzip=True`` compresses every 200 body for clients that accept gzip, as
4chan does.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import gzip as gzip_lib
import json
import logging
import random
import re
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from polit.replay.recording import Recording, http_date

log = logging.getLogger("polit.replay")

FAULT_KINDS = ("500", "503", "429", "timeout", "truncate", "reset", "retry_after", "gzip_bomb")
HOSTILE_RETRY_AFTER = "999999"
BOMB_BYTES = 1 << 30  # what the gzip_bomb fault inflates to
_THREAD_RE = re.compile(r"/([^/]+)/thread/(\d+)\.json")


def parse_faults(spec: str | None) -> list[tuple[str, float]]:
    """Parse ``"500:0.05,reset:0.02"`` into ``[(kind, probability), ...]``; strict."""
    if spec is None or not spec.strip():
        return []
    out: list[tuple[str, float]] = []
    for item in spec.split(","):
        kind, sep, prob = item.strip().partition(":")
        if not sep or kind not in FAULT_KINDS:
            raise ValueError(
                f"bad fault {item!r} in {spec!r}: expected KIND:PROB, KIND in {FAULT_KINDS}"
            )
        if kind in dict(out):
            raise ValueError(f"fault {kind!r} given twice in {spec!r}")
        try:
            p = float(prob)
        except ValueError:
            raise ValueError(f"bad probability {prob!r} in {spec!r}") from None
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"probability {prob!r} in {spec!r} is not within [0, 1]")
        out.append((kind, p))
    if sum(p for _, p in out) > 1.0 + 1e-9:
        raise ValueError(f"fault probabilities in {spec!r} sum to more than 1")
    return out


@functools.cache
def gzip_bomb(size: int = BOMB_BYTES) -> bytes:
    """A gzip body that inflates to `size` bytes of valid JSON: ``{"posts": [`` and spaces
    (about 1 MB for 1 GiB; built once per process, in 1 MiB pieces)."""
    z = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    head, tail = b'{"posts": [', b"]}"
    parts = [z.compress(head)]
    left = size - len(head) - len(tail)
    piece = b" " * (1 << 20)
    while left > 0:
        parts.append(z.compress(piece[:left]))
        left -= len(piece)
    parts += [z.compress(tail), z.flush()]
    return b"".join(parts)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr: tuple[str, int], replay: ReplayServer) -> None:
        self.replay = replay
        self.conns: set[Any] = set()
        self.to_reset: set[Any] = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn, which can block on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.conn_lock:
            self.conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.conn_lock:
            self.conns.discard(request)
            reset = request in self.to_reset
            self.to_reset.discard(request)
        if reset:
            request.close()  # SO_LINGER 0 is set: the close sends RST, no FIN first
        else:
            super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("error serving %s", client_address, exc_info=True)

    def drop_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections
    disable_nagle_algorithm = True
    server: _HTTPServer
    arrived = 0.0
    board_date: datetime | None = None  # the Date header of the current answer

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header: the replayed board's clock (ReplayServer.board_date)."""
        if self.board_date is not None and timestamp is None:
            return http_date(self.board_date)
        return super().date_time_string(timestamp)

    def parse_request(self) -> bool:
        self.arrived = time.monotonic()
        return super().parse_request()

    def do_GET(self) -> None:
        self.server.replay._dispatch(self, "GET")

    def do_POST(self) -> None:
        self.server.replay._dispatch(self, "POST")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """Send a body, gzip-compressed when the server does gzip and the client accepts it."""
        gzip_ok = "gzip" in self.headers.get("Accept-Encoding", "")
        if status == 200 and self.server.replay.gzip and gzip_ok:
            body = gzip_lib.compress(body, compresslevel=6)
            headers = {**(headers or {}), "Content-Encoding": "gzip"}
        self.send_raw(status, body, headers)

    def send_raw(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class ReplayServer:
    """Serve ``recording_path`` on ``host:port`` (0 picks a free port) in a background thread.

    Several recordings of different boards can be served together (a list of paths): one
    API with all their boards, moved on by one snapshot index (a shorter recording stays at
    its last snapshot). Speed and `board_time` follow the first recording.
    """

    faults: list[tuple[str, float]]
    fault_paths: re.Pattern[str] | None

    def __init__(
        self,
        recording_path: str | Path | Sequence[str | Path],
        host: str = "127.0.0.1",
        port: int = 0,
        faults: str | None = None,
        seed: int = 0,
        speed: float | None = None,
        stall_seconds: float = 30.0,
        fault_paths: str | None = None,
        gzip: bool = False,
        bomb_bytes: int = BOMB_BYTES,
    ) -> None:
        self.gzip = gzip
        self.bomb_bytes = bomb_bytes
        self._lock = threading.Lock()
        self.set_faults(faults, fault_paths)
        paths = [recording_path] if isinstance(recording_path, str | Path) else recording_path
        self.recordings = {r.board: r for r in map(Recording, paths)}
        if len(self.recordings) != len(paths):
            raise ValueError("each recording served together must be of a different board")
        self.recording = next(iter(self.recordings.values()))
        self._snapshots = max(len(r) for r in self.recordings.values())
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = speed
        self.stall_seconds = stall_seconds
        self.request_log: list[tuple[float, str, str]] = []
        self._host, self._port = host, port
        self._rng = random.Random(seed)
        self._index = 0
        self._t0 = time.monotonic()
        self._requests = 0
        self._by_status: Counter[str] = Counter()
        self._stop = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> ReplayServer:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stop.clear()
        self._httpd = _HTTPServer((self._host, self._port), self)
        self._t0 = time.monotonic()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        log.debug("replaying %s at %s", self.recording.path, self.url)
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stop.set()
        httpd.shutdown()
        httpd.drop_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else self._host
        return f"http://{host}:{self.port}"

    # replay state

    def _current(self) -> int:
        """The current snapshot index (call with the lock held)."""
        if self.speed is None:
            return self._index
        rec = self.recording
        now = rec.at(0) + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)
        auto = bisect.bisect_right(rec.ats, now) - 1
        return max(self._index, auto)

    def _at(self, i: int) -> datetime:
        """The first recording's time of snapshot `i` (its last one past its end)."""
        return self.recording.at(min(i, len(self.recording) - 1))

    def index(self) -> int:
        with self._lock:
            return self._current()

    def board_time(self) -> datetime:
        """When the current snapshot was taken (of the first recording)."""
        return self._at(self.index())

    def board_date(self, path: str, i: int) -> datetime:
        """The `Date` an answer for `path` at snapshot `i` carries: the replayed board's
        clock (Recording.served_at), so that a crawler times what it sees (posts, deletions,
        archivings) in the recording's hours, whenever it runs."""
        b = path.split("/", 2)[1] if path.count("/") >= 2 else ""
        rec = self.recordings.get(b, self.recording)
        i = min(i, len(rec) - 1)
        m = _THREAD_RE.fullmatch(path)
        return rec.served_at(i, int(m.group(2)) if m and m.group(1) == rec.board else None)

    def next(self) -> dict[str, Any]:
        """Move to the next snapshot; at the last one, answer with an ``error`` and stay."""
        with self._lock:
            i = self._current()
            if i + 1 >= self._snapshots:
                at = _iso(self._at(i))
                return {"error": "already at the last snapshot", "index": i, "at": at}
            self._index = i + 1
            return {
                "index": i + 1,
                "at": _iso(self._at(i + 1)),
            }

    def state(self) -> dict[str, Any]:
        with self._lock:
            i = self._current()
            return {
                "index": i,
                "at": _iso(self._at(i)),
                "requests": self._requests,
                "by_status": dict(self._by_status),
            }

    # request handling

    def set_faults(self, faults: str | None, fault_paths: str | None = None) -> None:
        """Change the fault mix (and the paths it applies to) while serving."""
        parsed = parse_faults(faults)
        if "gzip_bomb" in dict(parsed):
            gzip_bomb(self.bomb_bytes)  # built now (a few seconds, once), not mid-request
        with self._lock:
            self.faults = parsed
            self.fault_paths = re.compile(fault_paths) if fault_paths else None

    def _draw(self, path: str) -> str | None:
        if not self.faults:
            return None
        if self.fault_paths is not None and not self.fault_paths.fullmatch(path):
            return None
        with self._lock:
            u = self._rng.random()
        total = 0.0
        for kind, p in self.faults:
            total += p
            if u < total:
                return kind
        return None

    def _record(self, arrived: float, path: str, outcome: str) -> None:
        with self._lock:
            self.request_log.append((arrived, path, outcome))
            self._requests += 1
            self._by_status[outcome] += 1

    def _resource(self, path: str, i: int) -> tuple[bytes, datetime] | None:
        if path == "/boards.json":
            return self._boards_body(), self.recording.at(0)
        b = path.split("/", 2)[1]
        rec = self.recordings.get(b)
        if rec is None:
            return None
        i = min(i, len(rec) - 1)
        if path == f"/{b}/threads.json":
            return rec.threads_body(i), rec.last_modified_threads(i)
        if path == f"/{b}/archive.json":
            return rec.archive_body(i), rec.last_modified_archive(i)
        m = _THREAD_RE.fullmatch(path)
        if m and m.group(1) == b:
            no = int(m.group(2))
            body = rec.thread_body(i, no)
            lm = rec.last_modified_thread(i, no)
            if body is not None and lm is not None:
                return body, lm
        return None

    def _boards_body(self) -> bytes:
        if len(self.recordings) == 1:
            return self.recording.boards_body()
        boards = []
        for rec in self.recordings.values():
            data = json.loads(rec.boards_body())
            boards += [x for x in data.get("boards", []) if x.get("board") == rec.board]
        return json.dumps({"boards": boards}).encode()

    def _dispatch(self, h: _Handler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        if length > 0:
            h.rfile.read(length)
        path = urlsplit(h.path).path
        if path.startswith("/_replay/"):
            h.board_date = None  # the control API answers on the local clock
            self._control(h, method, path)
            return
        arrived = h.arrived
        fault = self._draw(path)
        i = self.index()
        h.board_date = self.board_date(path, i)
        resource = self._resource(path, i) if method == "GET" else None
        if fault is not None:
            self._record(arrived, path, fault)
            self._fault(h, fault, resource)
            return
        if method != "GET":
            self._record(arrived, path, "405")
            h.send(405, _error("method not allowed"), {"Allow": "GET"})
            return
        if resource is None:
            self._record(arrived, path, "404")
            h.send(404, _error("not found"))
            return
        body, lm = resource
        lm_text = http_date(lm)
        if _not_modified(h.headers.get("If-Modified-Since"), lm):
            self._record(arrived, path, "304")
            h.send_response(304)
            h.send_header("Last-Modified", lm_text)
            h.end_headers()
            return
        self._record(arrived, path, "200")
        h.send(200, body, {"Last-Modified": lm_text})

    def _fault(self, h: _Handler, fault: str, resource: tuple[bytes, datetime] | None) -> None:
        log.debug("fault %s for %s", fault, h.path)
        if fault in ("500", "503", "429"):
            headers = {} if fault == "500" else {"Retry-After": "1"}
            h.send(int(fault), _error(f"injected {fault}"), headers)
        elif fault == "retry_after":
            h.send(503, _error("injected 503, come back in 11 days"),
                   {"Retry-After": HOSTILE_RETRY_AFTER})  # fmt: skip
        elif fault == "gzip_bomb":
            headers = {"Content-Encoding": "gzip"}
            if resource is not None:
                headers["Last-Modified"] = http_date(resource[1])
            h.send_raw(200, gzip_bomb(self.bomb_bytes), headers)
        elif fault == "timeout":
            self._stop.wait(self.stall_seconds)
            h.close_connection = True
        elif fault == "reset":
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with h.server.conn_lock:
                h.server.to_reset.add(h.connection)
            h.close_connection = True
        elif fault == "truncate":
            if resource is None:
                body = _error("not found")
                h.send(404, body[: len(body) // 2])
            else:
                body, lm = resource
                h.send(200, body[: len(body) // 2], {"Last-Modified": http_date(lm)})

    def _control(self, h: _Handler, method: str, path: str) -> None:
        if path == "/_replay/next" and method == "POST":
            out = self.next()
            h.send(409 if "error" in out else 200, json.dumps(out).encode())
        elif path == "/_replay/state" and method == "GET":
            h.send(200, json.dumps(self.state()).encode())
        else:
            h.send(404, _error("unknown control endpoint"))


def _not_modified(header: str | None, last_modified: datetime) -> bool:
    if not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return since >= last_modified


def serve(
    recording_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    faults: str | None = None,
    seed: int = 0,
    speed: float | None = None,
) -> None:
    """Serve until KeyboardInterrupt, printing the URL once."""
    with ReplayServer(recording_path, host, port, faults=faults, seed=seed, speed=speed) as srv:
        print(srv.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
