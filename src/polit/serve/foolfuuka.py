"""FoolFuuka's read API (`/_/api/chan/…`, as archives such as archived.moe serve it; its
Controller/Api/Chan.php and Model/Search.php), from the `posts` and `threads` models.

A post is FoolFuuka's comment object: `num`, `thread_num`, `op`, `timestamp`, `title`,
`comment` (the post's plain text), `deleted`, `timestamp_expired` (when polit saw it
deleted), `media` and `board`. Numbers that FoolFuuka gives as strings are strings here too.
`comment_processed` is the plain text escaped for HTML (the 4chan HTML is never passed on
as markup). A search with `text` runs `polit search` (the same index and language), newest
first, 25 posts a page, at most 5,000 posts deep (FoolFuuka's `max_matches`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from polit.search import search
from polit.warehouse.filters import POST_COLUMNS, Filters, parse_time
from polit.warehouse.read import Reader, ReadError

PER_PAGE = 25  # posts a search page
MAX_MATCHES = 5000  # how deep a search pages (FoolFuuka's foolfuuka.sphinx.max_matches)
THREADS_PER_PAGE = 10  # threads an index page
PER_THREAD = 5  # replies shown with a thread on an index page
MAX_INDEX_PAGE = 500
CAPCODES = {
    "mod": "M",
    "admin": "A",
    "admin_highlight": "A",
    "developer": "D",
    "manager": "G",
    "founder": "F",
    "verified": "V",
}
COLUMNS = (
    "board",
    "post_id",
    "thread_id",
    "is_op",
    "post_datetime",
    "deleted_at",
    "capcode",
    "email",
    "poster_name",
    "tripcode",
    "subject",
    "comment",
    "poster_id",
    "country",
    "country_name",
    "troll_country",
    "flag",
    "flag_name",
    "file_name",
    "file_extension",
    "file_md5",
    "file_size",
    "width",
    "height",
    "is_spoiler",
    "has_file",
)
SEARCH_PARAMS = (
    "boards",
    "text",
    "subject",
    "username",
    "tripcode",
    "country",
    "deleted",
    "type",
    "start",
    "end",
    "order",
    "page",
)


class ApiError(Exception):
    """A FoolFuuka error: `{"error": message}` with this HTTP status."""

    def __init__(self, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.status = status


def _sql(reader: Reader, template: str, **pieces: str) -> str:
    return reader.dialect.sql(template, ["posts", "threads"], **pieces)


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def comment(row: dict[str, Any]) -> dict[str, Any]:
    """One post as FoolFuuka's API gives it."""
    ts = int(row["post_datetime"].timestamp()) if row["post_datetime"] else 0
    gone: datetime | None = row["deleted_at"]
    text = row["comment"] or ""
    media = None
    if row["has_file"]:
        name = f"{row['file_name'] or ''}{row['file_extension'] or ''}"
        media = {
            "media_id": None,
            "spoiler": "1" if row["is_spoiler"] else "0",
            "preview_orig": None,
            "media": None,
            "preview_op": None,
            "preview_reply": None,
            "preview_w": None,
            "preview_h": None,
            "media_filename": name,
            "media_w": _s(row["width"]),
            "media_h": _s(row["height"]),
            "media_size": _s(row["file_size"]),
            "media_hash": row["file_md5"],
            "media_orig": None,
            "exif": None,
            "total": None,
            "banned": "0",
            "media_status": "normal",
            "safe_media_hash": None,
            "remote_media_link": None,
            "media_link": None,
            "thumb_link": None,
            "media_filename_processed": name,
        }
    return {
        "doc_id": str(row["post_id"]),
        "num": str(row["post_id"]),
        "subnum": "0",
        "thread_num": str(row["thread_id"]),
        "op": "1" if row["is_op"] else "0",
        "timestamp": ts,
        "timestamp_expired": str(int(gone.timestamp())) if gone else "0",
        "capcode": CAPCODES.get(row["capcode"] or "", "N"),
        "email": row["email"],
        "name": row["poster_name"],
        "trip": row["tripcode"],
        "title": row["subject"],
        "comment": text,
        "poster_hash": row["poster_id"],
        "poster_country": row["country"],
        "poster_country_name": row["country_name"],
        "troll_country_code": row["troll_country"],
        "troll_country_name": row["flag_name"] if row["troll_country"] else None,
        "sticky": "0",
        "locked": "0",
        "deleted": "1" if gone else "0",
        "nreplies": None,
        "nimages": None,
        "comment_sanitized": text,
        "comment_processed": html.escape(text).replace("\n", "<br />"),
        "media": media,
        "board": {"name": row["board"], "shortname": row["board"]},
    }


def _posts(reader: Reader, where: str, params: dict[str, Any], tail: str = "") -> list[dict]:
    sql = _sql(reader, f"SELECT {', '.join(COLUMNS)} FROM {{posts}} WHERE {where} {tail}")
    return reader.arrow(sql, params).to_pylist()


def _board(reader: Reader, board: str | None) -> str:
    if not board:
        raise ApiError("No board selected.", 422)
    sql = _sql(reader, "SELECT 1 AS x FROM {threads} WHERE board = $board LIMIT 1")
    if not reader.arrow(sql, {"board": board}).num_rows:
        raise ApiError("No board selected.", 422)
    return board


def _number(value: str | None, name: str) -> int:
    if not value:
        raise ApiError(f'The "{name}" parameter is missing.', 422)
    if not value.isdigit() or len(value) > 18:
        raise ApiError(f'The value for "{name}" is invalid.', 422)
    return int(value)


def thread(reader: Reader, board: str | None, num: str | None) -> dict[str, Any]:
    b, n = _board(reader, board), _number(num, "num")
    rows = _posts(
        reader,
        "board = $board AND thread_id = $no AND post_id >= $no",
        {"board": b, "no": n},
        "ORDER BY post_id",
    )
    if not rows or not rows[0]["is_op"] or rows[0]["post_id"] != n:
        raise ApiError("Thread not found.")
    posts = {str(r["post_id"]): comment(r) for r in rows[1:]}
    out: dict[str, Any] = {"op": comment(rows[0])}
    if posts:
        out["posts"] = posts
    return {str(n): out}


def post(reader: Reader, board: str | None, num: str | None) -> dict[str, Any]:
    b, n = _board(reader, board), _number(num, "num")
    rows = _posts(reader, "board = $board AND post_id = $no", {"board": b, "no": n})
    if not rows:
        raise ApiError("Post not found.")
    return comment(rows[0])


def index(reader: Reader, board: str | None, page: str | None) -> dict[str, Any]:
    """A page of the board's threads, most recently bumped first, each with its last
    replies."""
    b, p = _board(reader, board), _number(page, "page")
    if p < 1 or p > MAX_INDEX_PAGE:
        raise ApiError('The value for "page" is invalid.', 422)
    sql = _sql(
        reader,
        """SELECT thread_id FROM {threads} WHERE board = $board
        AND NOT is_deleted AND last_post_at IS NOT NULL
        ORDER BY last_post_at DESC, thread_id DESC LIMIT $limit OFFSET $offset""",
    )
    nos = [
        int(r["thread_id"])
        for r in reader.arrow(
            sql, {"board": b, "limit": THREADS_PER_PAGE, "offset": (p - 1) * THREADS_PER_PAGE}
        ).to_pylist()
    ]
    if not nos:
        raise ApiError("Thread not found.")
    d = reader.dialect
    rows = _posts(
        reader,
        f"board = $board AND {d.in_list('thread_id', 'nos')} AND post_id >= $first",
        {"board": b, "nos": nos, "first": min(nos)},
        "ORDER BY post_id",
    )
    by_thread: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by_thread.setdefault(int(r["thread_id"]), []).append(r)
    out: dict[str, Any] = {}
    for no in nos:
        posts = by_thread.get(no, [])
        if not posts or not posts[0]["is_op"]:
            continue
        replies = posts[1:]
        last, hidden = replies[-PER_THREAD:], replies[: max(len(replies) - PER_THREAD, 0)]
        out[str(no)] = {
            "op": comment(posts[0]),
            "posts": [comment(r) for r in last],
            "omitted": len(hidden),
            "images_omitted": sum(1 for r in hidden if r["has_file"]),
        }
    if not out:
        raise ApiError("Thread not found.")
    return out


@dataclass
class SearchQuery:
    boards: tuple[str, ...] = ()
    text: str | None = None
    subject: str | None = None
    username: str | None = None
    tripcode: str | None = None
    country: str | None = None
    deleted: str | None = None  # deleted | not-deleted
    type: str | None = None  # op | posts
    start: datetime | None = None
    end: datetime | None = None  # inclusive, as FoolFuuka's `timestamp <= strtotime(end)`
    order: str = "desc"
    page: int = 1

    @classmethod
    def parse(cls, params: dict[str, str]) -> SearchQuery:
        got = {k: v.strip() for k, v in params.items() if k in SEARCH_PARAMS and v.strip()}
        q = cls()
        if "boards" in got:
            q.boards = tuple(b for b in got["boards"].split(".") if b)
        for name in ("text", "subject", "username", "tripcode", "country"):
            if name in got:
                if len(got[name]) > 200:
                    raise ApiError(f"The {name} is too long.")
                setattr(q, name, got[name])
        if got.get("deleted") not in (None, "deleted", "not-deleted"):
            raise ApiError('The value for "deleted" is invalid (deleted or not-deleted).')
        q.deleted = got.get("deleted")
        if got.get("type") not in (None, "op", "posts"):
            raise ApiError('The value for "type" is invalid (op or posts).')
        q.type = got.get("type")
        try:
            q.start = parse_time(got["start"]) if "start" in got else None
            q.end = parse_time(got["end"]) if "end" in got else None
        except ReadError as exc:
            raise ApiError(str(exc)) from None
        q.order = "asc" if got.get("order") == "asc" else "desc"
        q.page = _number(got["page"], "page") if "page" in got else 1
        if q.page < 1:
            q.page = 1
        return q

    def filters(self) -> Filters:
        """What the search index (and Filters.where) can apply."""
        return Filters(
            boards=self.boards,
            countries=(self.country,) if self.country else (),
            deleted={"deleted": "only", "not-deleted": "no"}.get(self.deleted or "", "yes"),
            op={"op": True, "posts": False}.get(self.type or ""),
            start=self.start,
            end=self.end + timedelta(seconds=1) if self.end else None,
        )

    def sql_only(self) -> list[tuple[str, str, str]]:
        """(condition, parameter, value) of what only SQL can apply."""
        out = []
        if self.subject:
            out.append(("strpos(lower(subject), lower($subject)) > 0", "subject", self.subject))
        if self.username:
            out.append(
                ("strpos(lower(poster_name), lower($username)) > 0", "username", self.username)
            )
        if self.tripcode:
            out.append(("tripcode = $tripcode", "tripcode", self.tripcode))
        return out


def run_search(reader: Reader, params: dict[str, str]) -> dict[str, Any]:
    q = SearchQuery.parse(params)
    offset = (q.page - 1) * PER_PAGE
    if offset >= MAX_MATCHES:
        raise ApiError("No results found.")
    limit = min(PER_PAGE, MAX_MATCHES - offset)
    filters = q.filters()
    extra = q.sql_only()
    sort = "old" if q.order == "asc" else "new"
    if q.text and not extra:  # the index pages itself
        result = search(reader, q.text, filters, sort, limit, offset)
        keys = list(
            zip(result.table["board"].to_pylist(), result.table["post_id"].to_pylist(), strict=True)
        )
        total = result.total
        rows = _by_keys(reader, keys)
    else:
        where, bound = filters.where(reader.dialect, POST_COLUMNS)
        parts = [where] + [cond for cond, _, _ in extra]
        bound.update({name: value for _, name, value in extra})
        if q.text:  # the index's hits (all of them, to MAX_MATCHES) narrow the SQL
            found = search(reader, q.text, filters, sort, MAX_MATCHES, 0)
            ids = found.table["post_id"].to_pylist()
            parts.append(reader.dialect.in_list("post_id", "ids"))
            bound["ids"] = ids or [-1]
        direction = "ASC" if q.order == "asc" else "DESC"
        where_all = " AND ".join(parts)
        count_sql = _sql(reader, f"SELECT count(*) AS n FROM {{posts}} WHERE {where_all}")
        total = int(reader.arrow(count_sql, bound).to_pylist()[0]["n"])
        rows = _posts(
            reader,
            where_all,
            {**bound, "limit": limit, "offset": offset},
            f"ORDER BY post_datetime {direction}, post_id {direction} LIMIT $limit OFFSET $offset",
        )
    if not rows:
        raise ApiError("No results found.")
    return {
        "0": {"posts": [comment(r) for r in rows]},
        "meta": {"total_found": total, "max_results": MAX_MATCHES},
    }


def _by_keys(reader: Reader, keys: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """The posts of these (board, post_id), in this order."""
    if not keys:
        return []
    d = reader.dialect
    rows = _posts(
        reader,
        f"{d.in_list('board', 'boards')} AND {d.in_list('post_id', 'ids')}",
        {"boards": sorted({b for b, _ in keys}), "ids": [i for _, i in keys]},
    )
    found = {(r["board"], r["post_id"]): r for r in rows}
    return [found[k] for k in keys if k in found]
