"""One API URL in front of several replay servers, one per board (a replay serves one board):
what `polit watch -b pol -b int` needs. Requests are relayed as they are (If-Modified-Since,
status, Last-Modified, body); boards.json merges the servers' lists."""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from polit.replay.server import ReplayServer


def _get(srv: ReplayServer, path: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


class BoardsProxy:
    def __init__(self, servers: dict[str, ReplayServer]) -> None:
        self.servers = servers
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy._relay(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> BoardsProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _relay(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        since = h.headers.get("If-Modified-Since")
        headers = {"If-Modified-Since": since} if since else {}
        if path == "/boards.json":
            boards = []
            for srv in self.servers.values():
                boards += json.loads(_get(srv, path, {})[2])["boards"]
            status, out, body = 200, {}, json.dumps({"boards": boards}).encode()
        elif (srv := self.servers.get(path.split("/")[1])) is not None:
            status, out, body = _get(srv, path, headers)
        else:
            status, out, body = 404, {}, b'{"error": "not found"}'
        h.send_response(status)
        if "Last-Modified" in out:
            h.send_header("Last-Modified", out["Last-Modified"])
        if status != 304:
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if status != 304:
            h.wfile.write(body)
