"""The 4chan read API's shapes (github.com/4chan/4chan-API), from the warehouse.

A post is its newest version as the API served it: every API field the lake kept
(`raw.posts`, `extra` included), with `"deleted": 1` and `"deleted_at"` (epoch seconds)
when polit saw it go. Threads come from the `threads` model: live ones (neither archived
nor deleted, as last observed) in `threads.json` and `catalog.json`, archived ones in
`archive.json`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from polit.lake.schema import API_INT_FIELDS, API_STR_FIELDS
from polit.warehouse.read import Reader

API_COLUMNS = ("no", *API_INT_FIELDS, *API_STR_FIELDS)
PER_PAGE = 15  # threads a page of threads.json, catalog.json and {page}.json
PAGES = 10
LAST_REPLIES = 5  # replies shown with a thread in the catalog and on index pages

# the newest version of each post matching {where} (over `raw.posts` as r), with its state
# from `posts` (as p): posts polit holds, deleted ones too. `posts.seen_seq` is the write
# order of the newest version; rows without one (imports) share -1, and the newest of those
# by observed_at wins (latest_posts keeps the first row of each post)
LATEST = """
SELECT {columns}, r.extra AS extra, p.deleted_at AS gone_at
FROM {raw_posts} AS r
INNER JOIN {posts} AS p
    ON p.board = r.board AND p.post_id = r.no AND p.seen_seq = coalesce(r.seq, -1)
WHERE r.board = $board AND r.deleted_at IS NULL AND {where}
    AND p.board = $board AND {post_where}
ORDER BY r.no, r.observed_at DESC
"""


def _sql(reader: Reader, template: str, **pieces: str) -> str:
    d = reader.dialect
    return d.sql(template, ["posts", "threads"], raw_posts=d.raw_table("posts"), **pieces)


def epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def api_post(row: dict[str, Any]) -> dict[str, Any]:
    """One post as the API shapes it: the fields it sent (nulls left out, as the API does)."""
    post: dict[str, Any] = {}
    if row.get("extra"):
        try:
            extra = orjson.loads(row["extra"])
        except orjson.JSONDecodeError:
            extra = {}
        if isinstance(extra, dict):
            post.update(extra)
    for column in API_COLUMNS:
        value = row.get(column)
        if value is not None:
            post[column] = value
    if row.get("gone_at") is not None:
        post["deleted"] = 1
        post["deleted_at"] = epoch(row["gone_at"])
    return post


def latest_posts(
    reader: Reader, board: str, where: str, post_where: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    quote = '"{}"' if reader.dialect.name == "duckdb" else "`{}`"
    columns = ", ".join("r." + quote.format(c) for c in API_COLUMNS)
    sql = _sql(reader, LATEST, columns=columns, where=where, post_where=post_where)
    table = reader.arrow(sql, {"board": board, **params})
    posts, last = [], None
    for row in table.to_pylist():
        if row["no"] != last:  # the first of a post's rows is its newest version
            posts.append(api_post(row))
            last = row["no"]
    return posts


def thread_posts(reader: Reader, board: str, no: int) -> list[dict[str, Any]]:
    """A thread's posts in order, OP first ([] when polit holds none). A thread's posts are
    numbered from its own number up: the bound lets DuckDB skip older row groups."""
    return latest_posts(
        reader,
        board,
        "r.thread_no = $no AND r.no >= $no",
        "p.thread_id = $no AND p.post_id >= $no",
        {"no": no},
    )


def thread_state(reader: Reader, board: str, no: int) -> dict[str, Any] | None:
    sql = _sql(
        reader,
        """SELECT is_archived, is_deleted, loaded_at, last_modified_at
        FROM {threads} WHERE board = $board AND thread_id = $no""",
    )
    rows = reader.arrow(sql, {"board": board, "no": no}).to_pylist()
    return rows[0] if rows else None


def live_threads(reader: Reader, board: str) -> list[dict[str, Any]]:
    """The board's live threads as last observed, in their order on the board: by page,
    then most recently bumped first."""
    sql = _sql(
        reader,
        """SELECT thread_id, page, replies, images, last_modified_at, loaded_at
        FROM {threads} WHERE board = $board AND NOT is_archived AND NOT is_deleted
        ORDER BY page IS NULL, page, last_modified_at DESC, thread_id DESC""",
    )
    return reader.arrow(sql, {"board": board}).to_pylist()[: PER_PAGE * PAGES]


def pages(threads: list[dict[str, Any]], entry: Any) -> list[dict[str, Any]]:
    out = []
    for k in range(0, len(threads), PER_PAGE):
        chunk = threads[k : k + PER_PAGE]
        out.append({"page": k // PER_PAGE + 1, "threads": [entry(t) for t in chunk]})
    return out


def threads_json(threads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return pages(
        threads,
        lambda t: {
            "no": t["thread_id"],
            "last_modified": epoch(t["last_modified_at"]),
            "replies": t["replies"] or 0,
        },
    )


# per thread of {where}: its last `$last` posts (by number) and its OP, with the thread's
# post count and the images among the replies left out (LATEST's versions, narrow columns:
# the catalog reads whole rows only of the posts it shows)
SHOWN = """
WITH versions AS (
    SELECT p.thread_id, r.no, r.tim IS NOT NULL AS image,
        row_number() OVER (PARTITION BY r.no ORDER BY r.observed_at DESC) AS newest
    FROM {raw_posts} AS r
    INNER JOIN {posts} AS p
        ON p.board = r.board AND p.post_id = r.no AND p.seen_seq = coalesce(r.seq, -1)
    WHERE r.board = $board AND r.deleted_at IS NULL AND {where}
        AND p.board = $board AND {post_where}
), ranked AS (
    SELECT thread_id, no, image,
        row_number() OVER (PARTITION BY thread_id ORDER BY no DESC) AS from_end,
        count(*) OVER (PARTITION BY thread_id) AS posts
    FROM versions WHERE newest = 1
), counted AS (
    SELECT *, count(CASE WHEN image AND from_end > $last AND no <> thread_id THEN 1 END)
        OVER (PARTITION BY thread_id) AS omitted_images
    FROM ranked
)
SELECT thread_id, no, posts, omitted_images FROM counted
WHERE from_end <= $last OR no = thread_id
"""


def with_replies(reader: Reader, board: str, threads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each thread as its OP with the thread's last replies (catalog and index pages)."""
    nos = [int(t["thread_id"]) for t in threads]
    if not nos:
        return []
    d = reader.dialect
    where = f"{d.in_list('r.thread_no', 'nos')} AND r.no >= $first"
    post_where = f"{d.in_list('p.thread_id', 'nos')} AND p.post_id >= $first"
    params = {"board": board, "nos": nos, "first": min(nos), "last": LAST_REPLIES}
    shown = reader.arrow(_sql(reader, SHOWN, where=where, post_where=post_where), params)
    rows = shown.to_pylist()
    counts = {int(r["thread_id"]): r for r in rows}
    thread_of = {int(r["no"]): int(r["thread_id"]) for r in rows}
    if not thread_of:
        return []
    posts = latest_posts(
        reader,
        board,
        f"{d.in_list('r.no', 'picked')} AND r.no >= $first",
        f"{d.in_list('p.post_id', 'picked')} AND p.post_id >= $first",
        {"picked": list(thread_of), "first": min(thread_of)},
    )
    by_thread: dict[int, list[dict[str, Any]]] = {}
    for post in posts:  # in post order
        by_thread.setdefault(thread_of[int(post["no"])], []).append(post)
    out = []
    for no in nos:
        thread = by_thread.get(no, [])
        if not thread or thread[0]["no"] != no:
            continue  # no OP held: nothing to show it by
        op, replies = dict(thread[0]), thread[1:]
        op["omitted_posts"] = int(counts[no]["posts"]) - 1 - len(replies)
        op["omitted_images"] = int(counts[no]["omitted_images"])
        op["last_replies"] = replies
        out.append(op)
    return out


def archived(reader: Reader, board: str) -> list[int]:
    sql = _sql(
        reader,
        """SELECT thread_id FROM {threads}
        WHERE board = $board AND is_archived AND NOT is_deleted ORDER BY thread_id""",
    )
    return [int(r["thread_id"]) for r in reader.arrow(sql, {"board": board}).to_pylist()]


def board_changed(reader: Reader, board: str) -> datetime | None:
    """When polit last loaded anything about the board's threads."""
    sql = _sql(reader, "SELECT max(loaded_at) AS at FROM {threads} WHERE board = $board")
    rows = reader.arrow(sql, {"board": board}).to_pylist()
    return rows[0]["at"] if rows else None


def boards(reader: Reader) -> list[dict[str, Any]]:
    """boards.json's entries for the boards held (what BASC-py4chan reads of it)."""
    sql = _sql(
        reader, "SELECT board, count(*) AS threads FROM {threads} GROUP BY board ORDER BY board"
    )
    out = []
    for row in reader.arrow(sql).to_pylist():
        out.append(
            {
                "board": row["board"],
                "title": row["board"],
                "ws_board": 0,
                "per_page": PER_PAGE,
                "pages": PAGES,
            }
        )
    return out


def has_board(reader: Reader, board: str) -> bool:
    return board_changed(reader, board) is not None
