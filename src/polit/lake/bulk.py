"""Columnar bulk path: a chunk of NDJSON lines straight into one Arrow table of posts.

The per-post Python path (`parse_thread`, then `RowBuffer`) spends most of its time building
Arrow values from Python dicts and parsing comments one by one. Here Arrow's JSON reader
builds the API columns, Arrow's string kernels turn comments into text, and Python does
only what needs each post as a Python object: the checks, the version hash and `extra`, with
the same functions `normalize_post` uses (`bulk_fields`). So the rules stay one set:

- a line whose posts are not all plain (values beyond int64, a body orjson refuses, fields
  named like polit's columns, anything that gives a note) is not taken here: the caller sends
  it through `parse_thread`, as before;
- a value Arrow's reader refuses or reads otherwise than orjson (a wrong type in a known
  field, a repeated key, a score of 1e300 or more) makes `Plain.table` give None, and the
  caller sends the whole chunk through `parse_thread`;
- a comment whose text the kernels cannot make exactly as `parse_com` would (an entity
  other than &gt; &lt; &quot; &#039; &amp;, a line break other than `<br>`, a `<` left
  after the tags) is parsed by `parse_com` itself; quotes and URLs are `parse_com`'s own
  functions, run only on the comments that can have them.

tests/test_bulk_equality.py holds both paths to equal rows.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from polit.chan.html import _quotes, _urls, parse_com
from polit.chan.posts import THREAD_KEYS, bulk_fields
from polit.lake.schema import API_INT_FIELDS, API_STR_FIELDS, POSTS, SCORE_FIELDS

_POST = pa.struct(
    [
        pa.field("no", pa.int64()),
        *[pa.field(n, pa.int64()) for n in API_INT_FIELDS],
        *[pa.field(n, pa.string()) for n in API_STR_FIELDS],
        pa.field("perspectives", pa.struct([pa.field(s, pa.float64()) for s in SCORE_FIELDS])),
    ]
)
_BODY = pa.schema([pa.field("posts", pa.list_(_POST))])
_PARSE = pj.ParseOptions(explicit_schema=_BODY, unexpected_field_behavior="ignore")
_COMMON_ENTITIES = (("&gt;", ">"), ("&#039;", "'"), ("&quot;", '"'), ("&lt;", "<"))


class Plain:
    """The plain lines of a chunk, gathered one by one, then read as columns."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.thread_nos: list[int] = []  # one per post
        self.nos: list[int] = []
        self.versions: list[str] = []
        self.extras: list[str | None] = []

    def __len__(self) -> int:
        return len(self.nos)

    def add(self, line: bytes, data: dict[str, Any], thread_no: int) -> bool:
        """Take a decoded thread body if every post of it is plain; False leaves it to the
        caller (nothing of it is kept here)."""
        posts = data["posts"]
        if len(data) > 1:  # keys beside "posts" go to the OP's extra, as in parse_thread
            posts = [{**posts[0], THREAD_KEYS: {k: v for k, v in data.items() if k != "posts"}},
                     *posts[1:]]  # fmt: skip
        fields = []
        for raw in posts:
            found = bulk_fields(raw)
            if found is None:
                return False
            fields.append(found)
        self.lines.append(line if line.endswith(b"\n") else line + b"\n")
        self.thread_nos.extend([thread_no] * len(posts))
        self.nos.extend(p["no"] for p in posts)
        for version, extra in fields:
            self.versions.append(version)
            self.extras.append(extra)
        return True

    def table(self, board: str, run_id: str, observed_at: datetime) -> pa.Table | None:
        """The posts table of the lines taken, or None when Arrow's reader does not see the
        same posts as orjson did (a repeated key, say): then the caller parses them all."""
        if not self.nos:
            return POSTS.empty_table()
        blob = b"".join(self.lines)
        try:
            read = pj.read_json(
                io.BytesIO(blob),
                read_options=pj.ReadOptions(use_threads=False, block_size=len(blob) + 1),
                parse_options=_PARSE,
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        posts = read.column("posts").combine_chunks()
        flat = posts.flatten()
        if len(flat) != len(self.nos) or flat.field("no").to_pylist() != self.nos:
            return None
        columns = dict(zip(_POST.names, flat.flatten(), strict=True))
        text, quotes, urls = comment_columns(columns.pop("com"))
        scores = dict(zip(SCORE_FIELDS.values(), columns.pop("perspectives").flatten(),
                          strict=True))  # fmt: skip
        for score in scores.values():  # parse_thread keeps such a score in extra
            if pc.any(pc.greater_equal(pc.abs(score), 1e300)).as_py():
                return None
        n = len(self.nos)
        out = {
            "board": pa.repeat(pa.scalar(board), n),
            "thread_no": pa.array(self.thread_nos, pa.int64()),
            "observed_at": pa.repeat(pa.scalar(observed_at, POSTS.field("observed_at").type), n),
            "run_id": pa.repeat(pa.scalar(run_id), n),
            "version": pa.array(self.versions, pa.string()),
            "text": text,
            "quotes": quotes,
            "urls": urls,
            "com": flat.field("com"),
            "extra": pa.array(self.extras, pa.string()),
            **columns,
            **scores,
        }
        arrays = [
            out[f.name] if f.name in out else pa.nulls(n, f.type)
            for f in POSTS  # deleted_at, seq: null
        ]
        return pa.Table.from_arrays(arrays, schema=POSTS)


def comment_columns(com: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(text, quotes, urls) of a column of comments, each as `parse_com` gives it."""
    html = pc.fill_null(com, "")
    text = pc.replace_substring(html, "<br>", "\n")
    odd = pc.match_substring_regex(text, "<[Bb][Rr]")  # <br/>, <BR>...: parse_com's own way
    text = pc.replace_substring_regex(text, "<[/A-Za-z][^<>]*>", "")
    odd = pc.or_(odd, pc.match_substring(text, "<"))  # a "<" that is not a tag
    for entity, char in _COMMON_ENTITIES:
        text = pc.replace_substring(text, entity, char)
    amps = pc.count_substring(text, "&")
    odd = pc.or_(odd, pc.not_equal(amps, pc.count_substring(text, "&amp;")))
    text = pc.replace_substring(text, "&amp;", "&")
    quotes: list[list[int]] = [[] for _ in range(len(html))]
    urls: list[list[str]] = [[] for _ in range(len(html))]
    odd_rows = _rows(odd)
    if odd_rows:
        fixed = [parse_com(com[i].as_py()) for i in odd_rows]
        text = pc.replace_with_mask(text, odd, pa.array([c.text for c in fixed], pa.string()))
        for i, c in zip(odd_rows, fixed, strict=True):
            quotes[i], urls[i] = c.quotes, c.urls
    odd_set = set(odd_rows)
    quoting = pc.or_(pc.match_substring(html, "quotelink"), pc.match_substring(html, "deadlink"))
    for i, value in _values(html, quoting):
        if i not in odd_set:
            quotes[i] = _quotes(value)
    for i, value in _values(text, pc.match_substring(text, "://")):
        if i not in odd_set:
            urls[i] = _urls(value)
    return (
        text,
        pa.array(quotes, pa.list_(pa.int64())),
        pa.array(urls, pa.list_(pa.string())),
    )


def _rows(mask: pa.Array) -> list[int]:
    return pc.indices_nonzero(mask).to_pylist()


def _values(strings: pa.Array, mask: pa.Array) -> Sequence[tuple[int, str]]:
    rows = _rows(mask)
    return list(zip(rows, strings.take(pa.array(rows, pa.int64())).to_pylist(), strict=True))


def decode(line: bytes) -> Any:
    """orjson's reading of a line, or None: a line orjson refuses is not plain."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
