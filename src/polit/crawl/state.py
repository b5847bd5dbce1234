"""What the crawler knows about a board between cycles, saved in the lake itself so that a
stateless container can resume. It is written after the cycle's data files, atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from polit.errors import FixableError
from polit.lake.store import Lake

STATE_VERSION = 1


@dataclass
class ThreadState:
    last_modified: int = 0  # from threads.json; a different value means "refetch"
    replies: int | None = None  # from threads.json; drops when a post is deleted
    http_last_modified: str | None = None  # Last-Modified header of the last 200, echoed
    posts: dict[int, str] = field(default_factory=dict)  # post no -> version hash
    deleted: set[int] = field(default_factory=set)  # posts with a tombstone written
    finished_at: float | None = None  # unix time it was archived or deleted

    def to_json(self) -> dict[str, Any]:
        return {
            "lm": self.last_modified,
            "replies": self.replies,
            "finished_at": self.finished_at,
            "http_lm": self.http_last_modified,
            "posts": {str(k): v for k, v in self.posts.items()},
            "deleted": sorted(self.deleted),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ThreadState:
        return cls(
            last_modified=int(obj.get("lm", 0)),
            replies=_optional(obj, "replies", int),
            finished_at=_optional(obj, "finished_at", (int, float)),
            http_last_modified=_optional(obj, "http_lm", str),
            posts={int(k): str(v) for k, v in obj.get("posts", {}).items()},
            deleted={int(x) for x in obj.get("deleted", [])},
        )


@dataclass
class BoardState:
    board: str
    threads_last_modified: str | None = None
    archive_last_modified: str | None = None
    archive: set[int] | None = None  # None until the first archive.json (the baseline)
    threads: dict[int, ThreadState] = field(default_factory=dict)
    # Archived or deleted threads, kept a while: a thread can reappear on the board (a stale
    # listing, or the recording's gaps), and its known posts are then needed to diff it.
    finished: dict[int, ThreadState] = field(default_factory=dict)
    left: set[int] = field(default_factory=set)  # left the board, not yet classified
    pending_archived: set[int] = field(default_factory=set)  # archived, fetch still to do
    board_info: dict[str, Any] | None = None
    board_info_at: float = 0.0

    def finish(self, no: int, when: float) -> None:
        """Move a thread out of the live set once it is archived or deleted."""
        thread = self.threads.pop(no, None)
        if thread is not None:
            thread.finished_at = when
            self.finished[no] = thread
        self.left.discard(no)

    def forget_finished(self, before: float) -> None:
        for no in [n for n, t in self.finished.items() if (t.finished_at or 0) < before]:
            del self.finished[no]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "board": self.board,
            "threads_lm": self.threads_last_modified,
            "archive_lm": self.archive_last_modified,
            "archive": None if self.archive is None else sorted(self.archive),
            "threads": {str(k): t.to_json() for k, t in self.threads.items()},
            "finished": {str(k): t.to_json() for k, t in self.finished.items()},
            "left": sorted(self.left),
            "pending_archived": sorted(self.pending_archived),
            "board_info": self.board_info,
            "board_info_at": self.board_info_at,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> BoardState:
        if obj.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported crawl state version {obj.get('version')!r}")
        archive = _optional(obj, "archive", list)
        return cls(
            board=str(obj["board"]),
            threads_last_modified=_optional(obj, "threads_lm", str),
            archive_last_modified=_optional(obj, "archive_lm", str),
            archive=None if archive is None else {int(x) for x in archive},
            threads={int(k): ThreadState.from_json(v) for k, v in obj["threads"].items()},
            finished={int(k): ThreadState.from_json(v) for k, v in obj.get("finished", {}).items()},
            left={int(x) for x in obj.get("left", [])},
            pending_archived={int(x) for x in obj.get("pending_archived", [])},
            board_info=_optional(obj, "board_info", dict),
            board_info_at=float(obj.get("board_info_at", 0.0)),
        )


def _optional(obj: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """`obj[key]` when it is missing, null or of `kind`; a wrong type is a TypeError."""
    value = obj.get(key)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise TypeError(f"{key!r} is {value!r}")
    return value


def state_path(board: str) -> tuple[str, str, str]:
    return ("_polit", "state", f"{board}.json")


class StateError(FixableError):
    """The saved crawl state cannot be read; `polit lake rebuild-state` makes a new one."""


def load_state(lake: Lake, board: str) -> BoardState:
    """The saved state of a board, or a fresh one if there is none yet.

    Raises StateError (naming the file and the fix) when the file is truncated, not JSON, or
    not the shape `BoardState.to_json` writes.
    """
    try:
        obj = lake.read_json(*state_path(board))
        if obj is None:
            return BoardState(board)
        if not isinstance(obj, dict):
            raise ValueError(f"a JSON {type(obj).__name__}, not an object")
        state = BoardState.from_json(obj)
        if state.board != board:
            raise ValueError(f"it is the state of /{state.board}/")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors; a wrong shape fails
        # in from_json with one of the others.
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        if isinstance(exc, KeyError):
            reason = f"no {reason}"
        where = lake.uri(lake.path(*state_path(board)))
        raise StateError(
            f"the crawl state {where} is unreadable ({type(exc).__name__}: {reason}); "
            f"run `polit lake rebuild-state -b {board} --lake {lake.url}` to rebuild it "
            "from the lake's rows"
        ) from exc
    return state


def save_state(lake: Lake, state: BoardState) -> None:
    lake.write_json(state.to_json(), *state_path(state.board))
