"""Fetching one thread: the GET (through the client, which owns the API's rules) and the parse
of its body into posts. Crawl, watch and backfill share it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from polit.chan.client import ChanClient, ChanError
from polit.chan.posts import ThreadBody, parse_thread

log = logging.getLogger("polit.crawl")

MAX_LOGGED = 20  # notes and problems logged per body


@dataclass
class ThreadFetch:
    no: int
    status: int = 0  # 200, 304, 404, ...; 0 when the request failed (see `error`)
    last_modified: str | None = None  # the response's Last-Modified, to echo next time
    body: ThreadBody | None = None  # the parsed posts, on 200
    notes: list[str] = field(default_factory=list)  # the client's and the parser's notes
    error: str | None = None
    date: datetime | None = None  # the response's Date (the board's clock), when it had one


def fetch_thread(client: ChanClient, board: str, no: int, since: str | None = None) -> ThreadFetch:
    """GET thread/<no>.json (If-Modified-Since `since`) and parse it; never raises ChanError."""
    try:
        r = client.thread(board, no, since)
    except ChanError as exc:
        return ThreadFetch(no, error=str(exc))
    except ValueError as exc:  # json refuses an integer of more than 4,300 digits
        return ThreadFetch(no, error=f"thread/{no}.json: undecodable body: {str(exc)[:120]}")
    out = ThreadFetch(no, r.status, r.last_modified, notes=list(r.notes), date=r.date)
    if r.status == 200:
        out.body = parse_thread(r.data, no)
        out.notes.extend(out.body.notes)
    return out


class BodyLog:
    """Logs a body's notes under /board/thread, an unknown field once per name."""

    def __init__(self, board: str) -> None:
        self.board = board
        self._unknown_fields: set[str] = set()

    def notes(self, no: int, notes: list[str]) -> None:
        for note in notes[:MAX_LOGGED]:
            if "unknown field" in note:  # once per field name, not once per post
                name = note.split("'")[1] if "'" in note else note
                if name in self._unknown_fields:
                    continue
                self._unknown_fields.add(name)
            log.warning("/%s/%d: %s", self.board, no, note)
