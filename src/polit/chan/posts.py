"""Turn untrusted API post objects into typed lake rows.

Known fields keep their API names and types; wrong types are coerced when it is safe and
otherwise moved to `extra` with a note; unknown fields go to `extra`. A post without an
integer `no` cannot be stored and is rejected with a note naming it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import orjson

from polit.chan.html import parse_com
from polit.lake.schema import API_INT_FIELDS, API_STR_FIELDS

HUGE_COMMENT = 100_000
KINDS: dict[str, type] = {
    **dict.fromkeys(API_INT_FIELDS, int),
    **dict.fromkeys(API_STR_FIELDS, str),
}
# OP counters change with every reply; they describe the thread (raw/threads), not a new
# version of the post, so they stay out of the version hash.
COUNTERS = frozenset(
    {"replies", "images", "unique_ips", "bumplimit", "imagelimit", "last_modified",
     "omitted_posts", "omitted_images", "tail_size", "tail_id"}
)  # fmt: skip


@dataclass
class ThreadBody:
    """The usable posts of one thread body, and what was wrong with the rest."""

    posts: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # rejected posts or a broken body
    notes: list[str] = field(default_factory=list)  # fields coerced or moved to `extra`

    @property
    def complete(self) -> bool:
        """True when every post in the body was usable (safe to infer deletions from it)."""
        return not self.problems


def parse_thread(data: Any, thread_no: int) -> ThreadBody:
    """Validate a `thread/<no>.json` body and normalise its posts.

    >>> body = parse_thread({"posts": [{"no": 5, "resto": 0, "com": "hi<br>there"}]}, 5)
    >>> body.posts[0]["text"], body.complete
    ('hi\\nthere', True)
    """
    out = ThreadBody()
    if not isinstance(data, dict) or not isinstance(data.get("posts"), list):
        out.problems.append("body is not an object with a 'posts' list")
        return out
    if not data["posts"]:
        out.problems.append("empty 'posts' list")
        return out
    for i, raw in enumerate(data["posts"]):
        post, notes = normalize_post(raw)
        if post is None:
            out.problems.append(f"post #{i} rejected: {'; '.join(notes)}")
            continue
        out.notes.extend(f"post {post['no']}: {note}" for note in notes)
        resto = post.get("resto") or 0
        if resto not in (0, thread_no) or (resto == 0 and post["no"] != thread_no):
            out.notes.append(f"post {post['no']}: resto {resto} does not match the thread")
        out.posts.append(post)
    return out


def normalize_post(raw: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """One API post → (typed row fields, notes). Returns (None, notes) when unusable."""
    if not isinstance(raw, dict):
        return None, [f"not an object ({type(raw).__name__})"]
    no = _as_int(raw.get("no"))
    if no is None or no <= 0:
        return None, [f"missing or invalid 'no' ({_short(raw.get('no'))})"]
    notes: list[str] = []
    row: dict[str, Any] = {"no": no}
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        kind = KINDS.get(key)
        if kind is int:
            if type(value) is not int:
                value = _as_int(value)
                if value is None and raw[key] is not None:
                    extra[key] = raw[key]
                    notes.append(
                        f"field {key!r} has a wrong type ({_short(raw[key])}), kept in extra"
                    )
                    continue
            row[key] = value
        elif kind is str:
            if type(value) is str:
                row[key] = value if value.isascii() else _clean_str(value, key, notes)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                row[key] = str(value)
            elif value is not None:
                extra[key] = value
                notes.append(f"field {key!r} has a wrong type ({_short(value)}), kept in extra")
        elif key != "no":
            extra[key] = value
            notes.append(f"unknown field {key!r} kept in extra")
    com = row.get("com")
    if com is not None and len(com) > HUGE_COMMENT:
        notes.append(f"comment of {len(com):,} characters (4chan allows 2,000), kept as is")
    comment = parse_com(com)
    row["text"] = comment.text
    row["quotes"] = comment.quotes
    row["urls"] = comment.urls
    row["extra"] = _dumps(extra) if extra else None
    row["version"] = version_of(raw)
    return row, notes


def version_of(raw: dict[str, Any]) -> str:
    """A stable hash of a post as served, leaving out the OP's thread counters.

    The API sends keys in a fixed order, so serialising in that order is deterministic; a
    reordering would only cost one extra version row.
    """
    if not COUNTERS.isdisjoint(raw):
        raw = {k: v for k, v in raw.items() if k not in COUNTERS}
    try:
        blob = orjson.dumps(raw)
    except (orjson.JSONEncodeError, TypeError):  # lone surrogates, huge ints
        blob = repr(raw).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(blob, digest_size=8).hexdigest()


def _as_int(value: Any) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _clean_str(value: str, key: str, notes: list[str]) -> str:
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        notes.append(f"field {key!r} had invalid unicode, replaced")
        return value.encode("utf-8", "replace").decode("utf-8")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
