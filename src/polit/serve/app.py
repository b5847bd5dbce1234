"""The ASGI app of `polit serve`: the 4chan read API (fourchan.py) and FoolFuuka's
(foolfuuka.py) over a warehouse, read-only.

Every request reads through `ServingReaders` (warehouse/read.py): a DuckDB file is let go of
whenever `polit load` or `polit transform` wants it (a request meanwhile gets 503 and
Retry-After). Every value a client sends reaches SQL as a bound parameter; pages are
capped; each client address has a token bucket (429 past it); responses are gzipped; CORS
is off unless an origin is given.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from polit.serve import foolfuuka, fourchan
from polit.serve.limits import RateLimit
from polit.warehouse.read import Reader, ReadError, ServingReaders, WarehouseBusy

log = logging.getLogger("polit.serve")
BOARD = re.compile(r"[a-z0-9]{1,16}")
NUMBER = re.compile(r"[0-9]{1,18}")
RETRY_AFTER = "5"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def error(message: str, status: int) -> Response:
    headers = {"Retry-After": RETRY_AFTER} if status == 503 else None
    return json_response({"error": message}, status, headers)


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def not_modified(request: Request, changed: datetime | None) -> Response | None:
    """304 when the client's copy (If-Modified-Since) is as new as the data."""
    since = request.headers.get("if-modified-since")
    if changed is None or not since:
        return None
    try:
        client = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return None
    if client.tzinfo is None:
        return None
    if changed.replace(microsecond=0) <= client:
        return Response(status_code=304, headers={"Last-Modified": _http_date(changed)})
    return None


def dated(response: Response, changed: datetime | None) -> Response:
    if changed is not None:
        response.headers["Last-Modified"] = _http_date(changed)
    return response


class Api:
    def __init__(self, readers: ServingReaders) -> None:
        self.readers = readers

    def run(
        self, request: Request, work: Callable[[Reader], Response], fool: bool = False
    ) -> Response:
        """`work` with a reader; the warehouse's and the client's errors as JSON."""
        try:
            with self.readers.open() as reader:
                return work(reader)
        except foolfuuka.ApiError as exc:
            return error(str(exc), exc.status)
        except WarehouseBusy as exc:
            return error(str(exc), 503)
        except ReadError as exc:
            return error(str(exc), 200 if fool else 400)
        except Exception:
            log.exception("%s failed", request.url.path)
            return error("Encountered an unknown error.", 500)

    # -- 4chan ------------------------------------------------------------------------------
    @staticmethod
    def _board(request: Request) -> str | None:
        board = request.path_params["board"]
        return board if BOARD.fullmatch(board) else None

    def boards(self, request: Request) -> Response:
        return self.run(request, lambda r: json_response({"boards": fourchan.boards(r)}))

    def board_json(self, request: Request) -> Response:
        """/{board}/threads.json, catalog.json, archive.json, or a page: /{board}/2.json."""
        if request.path_params["kind"] in ("threads", "catalog", "archive"):
            return self.listing(request)
        return self.page(request)

    def listing(self, request: Request) -> Response:
        board, kind = self._board(request), request.path_params["kind"]
        if board is None:
            return error("Not Found", 404)

        def work(r: Reader) -> Response:
            changed = fourchan.board_changed(r, board)
            if changed is None:
                return error("Not Found", 404)
            unchanged = not_modified(request, changed)
            if unchanged:
                return unchanged
            if kind == "archive":
                body: Any = fourchan.archived(r, board)
            else:
                threads = fourchan.live_threads(r, board)
                if kind == "threads":
                    body = fourchan.threads_json(threads)
                else:
                    ops = {op["no"]: op for op in fourchan.with_replies(r, board, threads)}
                    live = [t for t in threads if t["thread_id"] in ops]
                    body = fourchan.pages(live, lambda t: ops[t["thread_id"]])
            return dated(json_response(body), changed)

        return self.run(request, work)

    def page(self, request: Request) -> Response:
        board, page = self._board(request), request.path_params["kind"]
        if board is None or not NUMBER.fullmatch(page) or not 1 <= int(page) <= fourchan.PAGES:
            return error("Not Found", 404)

        def work(r: Reader) -> Response:
            changed = fourchan.board_changed(r, board)
            if changed is None:
                return error("Not Found", 404)
            unchanged = not_modified(request, changed)
            if unchanged:
                return unchanged
            threads = fourchan.live_threads(r, board)
            k = (int(page) - 1) * fourchan.PER_PAGE
            shown = fourchan.with_replies(r, board, threads[k : k + fourchan.PER_PAGE])
            if not shown:
                return error("Not Found", 404)
            body = {
                "threads": [
                    {
                        "posts": [
                            {k: v for k, v in op.items() if k != "last_replies"},
                            *op["last_replies"],
                        ]
                    }
                    for op in shown
                ]
            }
            return dated(json_response(body), changed)

        return self.run(request, work)

    def thread(self, request: Request) -> Response:
        board, no = self._board(request), request.path_params["no"]
        if board is None or not NUMBER.fullmatch(no):
            return error("Not Found", 404)

        def work(r: Reader) -> Response:
            state = fourchan.thread_state(r, board, int(no))
            if state is None:
                return error("Not Found", 404)
            unchanged = not_modified(request, state["loaded_at"])
            if unchanged:
                return unchanged
            posts = fourchan.thread_posts(r, board, int(no))
            if not posts:
                return error("Not Found", 404)
            return dated(json_response({"posts": posts}), state["loaded_at"])

        return self.run(request, work)

    # -- FoolFuuka --------------------------------------------------------------------------
    def fool_thread(self, request: Request) -> Response:
        q = request.query_params
        return self.run(
            request,
            lambda r: json_response(foolfuuka.thread(r, q.get("board"), q.get("num"))),
            fool=True,
        )

    def fool_post(self, request: Request) -> Response:
        q = request.query_params
        return self.run(
            request,
            lambda r: json_response(foolfuuka.post(r, q.get("board"), q.get("num"))),
            fool=True,
        )

    def fool_index(self, request: Request) -> Response:
        q = request.query_params
        return self.run(
            request,
            lambda r: json_response(foolfuuka.index(r, q.get("board"), q.get("page"))),
            fool=True,
        )

    def fool_search(self, request: Request) -> Response:
        params = dict(request.query_params)
        return self.run(
            request, lambda r: json_response(foolfuuka.run_search(r, params)), fool=True
        )

    def fool_404(self, request: Request) -> Response:
        return error("Requested resource does not exist.", 404)


def create_app(
    warehouse: str,
    cors_origins: tuple[str, ...] = (),
    rate: float = 10.0,
    burst: int = 40,
    readers: ServingReaders | None = None,
) -> Any:
    """The app over a warehouse URL (a DuckDB file or bigquery://project/dataset)."""
    readers = readers or ServingReaders(warehouse)
    api = Api(readers)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            readers.close()

    def fool(path: str, endpoint: Callable[[Request], Response]) -> list[Route]:
        base = f"/_/api/chan/{path}"
        return [
            Route(base + "/", endpoint, methods=["GET"]),
            Route(base, endpoint, methods=["GET"]),
        ]

    routes = [
        Route("/boards.json", api.boards, methods=["GET"]),
        Route("/{board}/thread/{no}.json", api.thread, methods=["GET"]),
        Route("/{board}/{kind:str}.json", api.board_json, methods=["GET"]),
        *fool("thread", api.fool_thread),
        *fool("post", api.fool_post),
        *fool("index", api.fool_index),
        *fool("search", api.fool_search),
        Route("/_/api/{rest:path}", api.fool_404, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    wrapped: Any = app
    if cors_origins:
        wrapped = CORSMiddleware(
            wrapped,
            allow_origins=list(cors_origins),
            allow_methods=["GET"],
            allow_headers=["If-Modified-Since"],
            expose_headers=["Last-Modified"],
        )
    wrapped = GZipMiddleware(wrapped, minimum_size=500, compresslevel=5)
    wrapped = RateLimit(wrapped, rate, burst)
    return wrapped
