"""What the crawler knows about a board between cycles, saved in the lake itself so that a
stateless container can resume. It is written after the cycle's data files, atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
            replies=obj.get("replies"),
            finished_at=obj.get("finished_at"),
            http_last_modified=obj.get("http_lm"),
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
        archive = obj.get("archive")
        return cls(
            board=obj["board"],
            threads_last_modified=obj.get("threads_lm"),
            archive_last_modified=obj.get("archive_lm"),
            archive=None if archive is None else {int(x) for x in archive},
            threads={int(k): ThreadState.from_json(v) for k, v in obj["threads"].items()},
            finished={int(k): ThreadState.from_json(v) for k, v in obj.get("finished", {}).items()},
            left={int(x) for x in obj.get("left", [])},
            pending_archived={int(x) for x in obj.get("pending_archived", [])},
            board_info=obj.get("board_info"),
            board_info_at=float(obj.get("board_info_at", 0.0)),
        )


def state_path(board: str) -> tuple[str, str, str]:
    return ("_polit", "state", f"{board}.json")


def load_state(lake: Lake, board: str) -> BoardState:
    obj = lake.read_json(*state_path(board))
    return BoardState(board) if obj is None else BoardState.from_json(obj)


def save_state(lake: Lake, state: BoardState) -> None:
    lake.write_json(state.to_json(), *state_path(state.board))
