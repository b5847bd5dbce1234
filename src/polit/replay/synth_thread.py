"""A thread of the synthetic board and the API bodies made from it.

Posts are plain dicts whose keys are in the API's order (no, now, name, id, flags, sub,
com, file fields, time, md5, fsize, resto); the OP-only fields are added when a body is
rendered, since `replies`, `images` and the like change as the thread lives.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from polit.replay.synth_meta import FileInfo, Poster

FILE_KEYS = frozenset(("filename", "ext", "w", "h", "tn_w", "tn_h", "tim", "md5", "fsize"))
encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(slots=True, eq=False)
class Thread:
    """One live thread. `posts[0]` is the OP without its OP-only fields (see `op_body`)."""

    no: int
    posts: list[dict[str, Any]]
    semantic_url: str
    schedule: list[float]
    posters: list[Poster]  # the author of every post made here (reused by later posts)
    last_bump: int
    last_modified: int
    sticky: bool = False
    cursor: int = 0
    replies: int = 0
    images: int = 0
    total_replies: int = 0
    unique: int = 1
    bumplimit: int = 0
    imagelimit: int = 0
    alive: bool = True
    archived_on: int = 0
    version: int = 0
    # JSON text of each post (None until first written), parallel to `posts` once
    # `thread_json` has caught it up: replies append nothing here, to stay cheap.
    encoded: list[str | None] = field(default_factory=list)
    written: tuple[int, int] = (-1, -1)  # (snapshot index, version) of the last file


def reply_post(
    no: int,
    now: str,
    poster: Poster,
    com: str | None,
    info: FileInfo | None,
    t: int,
    resto: int,
    rng: random.Random,
) -> dict[str, Any]:
    """A reply dict with the keys in the API's order (dict literals: this is the hot path)."""
    poster_id, name, trip, (k1, v1, k2, v2) = poster
    if trip is not None or com is None:
        return _unusual_reply(no, now, poster, com, info, t, resto, rng)
    if info is None:
        return {
            "no": no,
            "now": now,
            "name": name,
            "id": poster_id,
            k1: v1,
            k2: v2,
            "com": com,
            "time": t,
            "resto": resto,
        }
    return {
        "no": no,
        "now": now,
        "name": name,
        "id": poster_id,
        k1: v1,
        k2: v2,
        "com": com,
        "filename": info.filename,
        "ext": info.ext,
        "w": info.w,
        "h": info.h,
        "tn_w": info.tn_w,
        "tn_h": info.tn_h,
        "tim": t * 1_000_000 + rng.getrandbits(19),
        "time": t,
        "md5": info.md5,
        "fsize": info.fsize,
        "resto": resto,
    }


def _unusual_reply(
    no: int,
    now: str,
    poster: Poster,
    com: str | None,
    info: FileInfo | None,
    t: int,
    resto: int,
    rng: random.Random,
) -> dict[str, Any]:
    """A reply with a tripcode or without text: built key by key."""
    poster_id, name, trip, (k1, v1, k2, v2) = poster
    post: dict[str, Any] = {"no": no, "now": now, "name": name}
    if trip is not None:
        post["trip"] = trip
    post.update({"id": poster_id, k1: v1, k2: v2})
    if com is not None:
        post["com"] = com
    if info is not None:
        post.update(
            {
                "filename": info.filename,
                "ext": info.ext,
                "w": info.w,
                "h": info.h,
                "tn_w": info.tn_w,
                "tn_h": info.tn_h,
                "tim": t * 1_000_000 + rng.getrandbits(19),
            }
        )
    post["time"] = t
    if info is not None:
        post["md5"] = info.md5
        post["fsize"] = info.fsize
    post["resto"] = resto
    return post


def op_body(thread: Thread, archived: bool = False) -> dict[str, Any]:
    """The OP as the API sends it: base fields, then the OP-only ones in API order."""
    op = dict(thread.posts[0])
    if thread.sticky:
        op["sticky"] = 1
        op["closed"] = 1
    if archived:
        op["archived"] = 1
        op["archived_on"] = thread.archived_on
    op["bumplimit"] = thread.bumplimit
    op["imagelimit"] = thread.imagelimit
    op["semantic_url"] = thread.semantic_url
    op["replies"] = thread.replies
    op["images"] = thread.images
    if not archived:
        op["unique_ips"] = thread.unique  # the API drops it once a thread is archived
    return op


def thread_json(
    thread: Thread, archived: bool = False, hidden: frozenset[int] = frozenset()
) -> str:
    """The body of GET /thread/<no>.json, reusing each reply's cached JSON text."""
    encoded = thread.encoded
    posts = thread.posts
    encoded.extend([None] * (len(posts) - len(encoded)))
    parts = [encode(op_body(thread, archived))]
    for i in range(1, len(posts)):
        text = encoded[i]
        if text is None:
            text = encoded[i] = encode(posts[i])
        if hidden and posts[i]["no"] in hidden:
            continue
        parts.append(text)
    return '{"posts":[' + ",".join(parts) + "]}"


def without_file(post: dict[str, Any]) -> dict[str, Any]:
    """The post after its file was deleted: file fields gone, `filedeleted: 1` before time."""
    rebuilt: dict[str, Any] = {}
    for key, value in post.items():
        if key == "time":
            rebuilt["filedeleted"] = 1
        if key not in FILE_KEYS:
            rebuilt[key] = value
    return rebuilt
