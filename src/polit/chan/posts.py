"""Turn untrusted API post objects into typed lake rows.

Known fields keep their API names and types; wrong types are coerced when it is safe and
otherwise moved to `extra` with a note; unknown fields go to `extra`. A post without an
integer `no` cannot be stored and is rejected with a note naming it. Integers the lake's
int64 columns cannot hold are treated as wrong types: kept in `extra`, with a note (a post
whose `no` is out of range is rejected).

The type checks are lazy: `normalize_post` takes the fast path for posts that look right,
and the batch's Arrow conversion is the check; `repair_row` handles a batch that fails it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import orjson

from polit.chan.html import parse_com
from polit.lake.schema import API_INT_FIELDS, API_STR_FIELDS, SCORE_FIELDS

log = logging.getLogger("polit.chan")

HUGE_COMMENT = 100_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
THREAD_KEYS = "thread"  # the OP's extra key for a body's keys beside "posts"
KINDS: dict[str, type] = {
    **dict.fromkeys(API_INT_FIELDS, int),
    **dict.fromkeys(API_STR_FIELDS, str),
}
KNOWN = frozenset(("no", *KINDS))
SCORE_COLUMNS = frozenset(SCORE_FIELDS.values())
# Columns polit adds to a post row (never taken from the API: an API field with one of
# these names lands in `extra`).
ADDED = frozenset(
    {"text", "quotes", "urls", "extra", "version", "board", "thread_no", "observed_at",
     "run_id", "deleted_at", *SCORE_COLUMNS}
)  # fmt: skip
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
    posts = data["posts"]
    if not posts:
        out.problems.append("empty 'posts' list")
        return out
    if len(data) > 1 and isinstance(posts[0], dict):
        # Keys beside "posts" (datasets add some, the API none) are kept on the OP, in extra.
        thread_keys = {k: v for k, v in data.items() if k != "posts"}
        posts = [{**posts[0], THREAD_KEYS: thread_keys}, *posts[1:]]
    for i, raw in enumerate(posts):
        post, notes = normalize_post(raw)
        if post is None:
            out.problems.append(f"post #{i} rejected: {'; '.join(notes)}")
            continue
        if notes:
            out.notes.extend(f"post {post['no']}: {note}" for note in notes)
        resto = post.get("resto") or 0
        if resto != thread_no and (resto or post["no"] != thread_no):
            out.notes.append(f"post {post['no']}: resto {resto} does not match the thread")
        out.posts.append(post)
    return out


def normalize_post(raw: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """One API post → (row fields, notes). Returns (None, notes) when unusable.

    Most posts are well formed, so the fast path only checks what the crawler itself
    relies on (`no`, and `com` being text) and leaves the other types to the Arrow
    conversion, which `repair_row` fixes up in the rare batch that fails it.
    """
    if type(raw) is dict and type(raw.get("no")) is int and 0 < raw["no"] <= INT64_MAX:
        com = raw.get("com")
        if (com is None or type(com) is str) and _ints_fit(raw):
            return _fast(raw)
    return _strict(raw)


def _ints_fit(raw: dict[str, Any]) -> bool:
    """True when every integer value fits int64 (the JSON decoder gives Python ints of any
    size). A plain loop: about 0.4 µs a post, a few percent of the fast path, and a fifth
    faster than all() over a generator."""
    for v in raw.values():  # noqa: SIM110
        if type(v) is int and (v > INT64_MAX or v < INT64_MIN):
            return False
    return True


def repair_row(row: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Coerce a row built by the fast path whose values Arrow refused (wrong types, lone
    surrogates). The fields polit added stay as they are; the API's are checked one by one.
    """
    api = {k: v for k, v in row.items() if k not in ADDED}
    fixed, notes = _strict(api)
    if fixed is None:  # cannot happen for a row that passed the fast path; be safe
        fixed = {"no": row["no"]}
    # text, quotes and urls are parsed again from the cleaned comment
    kept = {k: row[k] for k in ADDED - {"text", "quotes", "urls", "extra"} if k in row}
    old_extra = orjson.loads(row["extra"]) if row.get("extra") else {}
    new_extra = orjson.loads(fixed["extra"]) if fixed.get("extra") else {}
    merged = {**old_extra, **new_extra}
    fixed.update(kept)
    fixed["extra"] = _dumps(merged) if merged else None
    return fixed, [n for n in notes if not n.startswith("unknown field")]


def repair_logged(row: dict[str, Any]) -> dict[str, Any]:
    """`repair_row`, logging what was wrong under the post's board and thread."""
    fixed, notes = repair_row(row)
    for note in notes:
        log.warning("/%s/%s: post %s: %s", row.get("board"), row.get("thread_no"), row["no"], note)
    return fixed


def _fast(raw: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    version = version_of(raw)
    extra = None
    if not KNOWN.issuperset(raw):
        unknown, scores_named = _unknown_keys(raw)
        fields = {k: raw[k] for k in unknown}
        for k in scores_named:  # polit's column names: the post's own value is extra
            del raw[k]
        if "perspectives" in fields:
            rest = _lift_scores(raw, fields.pop("perspectives"))
            if rest is not None:
                fields["perspectives"] = rest
        extra = _dumps(fields) if fields else None
        notes.extend(f"unknown field {k!r} kept in extra" for k in fields)
    com = raw.get("com")
    if com is not None and len(com) > HUGE_COMMENT:
        notes.append(f"comment of {len(com):,} characters (4chan allows 2,000), kept as is")
    comment = parse_com(com)
    row = raw  # the decoded body is ours: extend it in place instead of copying
    row["text"] = comment.text
    row["quotes"] = comment.quotes
    row["urls"] = comment.urls
    row["extra"] = extra
    row["version"] = version
    return row, notes


def bulk_fields(raw: Any) -> tuple[str, str | None] | None:
    """(version, extra) of a post for a columnar reader (`polit.lake.bulk`), exactly as
    `normalize_post` makes them, or None when the post needs `normalize_post` itself.

    The reader refuses a value of the wrong type in a known field, so this checks only
    what it cannot: the post number, integers beyond int64, fields named like polit's
    own columns, huge comments, and `perspectives` holding anything but the seven scores.
    """
    if type(raw) is not dict:
        return None
    no = raw.get("no")
    if type(no) is not int or not 0 < no <= INT64_MAX or not ADDED.isdisjoint(raw):
        return None
    com = raw.get("com")
    if (type(com) is str and len(com) > HUGE_COMMENT) or not _ints_fit(raw):
        return None
    perspectives = raw.get("perspectives", _NO_SCORES)
    if type(perspectives) is not dict or not SCORE_FIELDS.keys() >= perspectives.keys():
        return None
    if None in perspectives.values():
        return None
    version = version_of(raw)
    if KNOWN.issuperset(raw):
        return version, None
    fields = {k: raw[k] for k in _unknown_keys(raw)[0] if k != "perspectives"}
    return version, _dumps(fields) if fields else None


_NO_SCORES: dict[str, Any] = {}


# A board's posts come in a few dozen shapes (OP or reply, with or without a file, a
# dataset's additions): the unknown keys of each shape, sorted, are worked out once.
_SHAPES: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...]]] = {}
_MAX_SHAPES = 4096


def _unknown_keys(raw: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the keys of `raw` the API does not define, sorted; those of them named like a score
    column)."""
    shape = tuple(raw)
    found = _SHAPES.get(shape)
    if found is None:
        unknown = tuple(sorted(raw.keys() - KNOWN))
        found = (unknown, tuple(k for k in unknown if k in SCORE_COLUMNS))
        if len(_SHAPES) < _MAX_SHAPES:
            _SHAPES[shape] = found
    return found


def _strict(raw: Any) -> tuple[dict[str, Any] | None, list[str]]:
    if not isinstance(raw, dict):
        return None, [f"not an object ({type(raw).__name__})"]
    no = _as_int(raw.get("no"))
    if no is None or no <= 0:
        return None, [f"missing or invalid 'no' ({_short(raw.get('no'))})"]
    if no > INT64_MAX:
        return None, [f"post number {_short(no)} is beyond int64, post dropped"]
    notes: list[str] = []
    row: dict[str, Any] = {"no": no}
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        kind = KINDS.get(key)
        if kind is int:
            num = value if type(value) is int else _as_int(value)
            if num is None and value is not None:
                extra[key] = value
                notes.append(f"field {key!r} has a wrong type ({_short(value)}), kept in extra")
            elif num is not None and not INT64_MIN <= num <= INT64_MAX:
                extra[key] = value
                notes.append(f"field {key!r} is beyond int64 ({_short(value)}), kept in extra")
            else:
                row[key] = num
        elif kind is str:
            if type(value) is str:
                row[key] = value if value.isascii() else _clean_str(value, key, notes)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                row[key] = str(value)
            elif value is not None:
                extra[key] = value
                notes.append(f"field {key!r} has a wrong type ({_short(value)}), kept in extra")
        elif key == "perspectives":
            rest = _lift_scores(row, value)
            if rest is not None:
                extra[key] = rest
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


def _lift_scores(row: dict[str, Any], perspectives: Any) -> Any:
    """Set the score columns of `row` from a `perspectives` object (see SCORE_FIELDS) and
    return what is left of it for `extra`: other attributes, non-numeric values, or None.

    >>> row = {}
    >>> _lift_scores(row, {"TOXICITY": 0.5, "FLIRTATION": 0.1}), row
    ({'FLIRTATION': 0.1}, {'toxicity': 0.5})
    """
    if type(perspectives) is not dict:
        return perspectives
    rest = None
    get = SCORE_FIELDS.get
    for name, score in perspectives.items():
        column = get(name)
        kind = type(score)
        if column is not None and (kind is float or kind is int) and -1e300 < score < 1e300:
            row[column] = score if kind is float else float(score)
        else:
            if rest is None:
                rest = {}
            rest[name] = score
    return rest


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
        try:
            return int(value.strip())
        except ValueError:  # more digits than int() accepts (4,300)
            return None
    return None


def _clean_str(value: str, key: str, notes: list[str]) -> str:
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        notes.append(f"field {key!r} had invalid unicode, replaced")
        return value.encode("utf-8", "replace").decode("utf-8")


def _dumps(obj: Any) -> str:
    """Compact JSON with sorted keys (the `extra` column). orjson, five times faster than
    json; json only for what orjson refuses (lone surrogates, integers beyond 64 bits)."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
