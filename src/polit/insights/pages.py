"""The dashboard's text pages: a thread's posts in order (`?board=pol&thread=NO`) and the
posts a search finds (`?board=pol&q=...`), as HTML built here with every value from the
warehouse escaped (post text is hostile HTML: it only ever reaches a page as text).

A comment is the stored plain text (`posts.comment`): lines starting with `>` are
greentext, and `>>123` becomes a link to post 123: an anchor on the page when it is in
the same thread, that thread's page when it is in another, plain text when the warehouse
does not have it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from polit.warehouse.read import Reader

POST_COLUMNS = (
    "post_id",
    "thread_id",
    "subject",
    "poster_name",
    "poster_id",
    "tripcode",
    "capcode",
    "country",
    "country_name",
    "flag",
    "flag_name",
    "post_datetime",
    "file_name",
    "file_extension",
    "comment",
    "quotes",
    "deleted_at",
    "is_op",
)
THREAD_COLUMNS = (
    "topic",
    "created_at",
    "archived_at",
    "deleted_at",
    "is_archived",
    "is_deleted",
    "is_closed",
    "is_sticky",
    "number_of_posts",
)
QUOTE = re.compile(r">>(\d{1,12})")
STYLE = """
.polit-page { color: #222; max-width: 60em; }
.polit-page .post { border-top: 1px solid #eee; padding: 0.4em 0; }
.polit-page .post:target { background: #fff6d5; }
.polit-page .head { color: #555; font-size: 0.9em; }
.polit-page .head b { color: #0f0c5d; }
.polit-page .comment { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.3em 0 0; }
.polit-page .green { color: #789922; }
.polit-page .dead { text-decoration: line-through; color: #888; }
.polit-page .deleted { background: #fbeaea; }
.polit-page .gone { color: #b00020; font-weight: bold; }
.polit-page .state { margin: 0.5em 0; }
"""


def thread_href(board: str, thread_id: int, post_id: int | None = None, base: str = "") -> str:
    """A thread page's URL (relative to the dashboard, or under `base`).

    >>> thread_href("pol", 12, 15)
    '?board=pol&thread=12#p15'
    """
    anchor = f"#p{post_id}" if post_id is not None else ""
    return f"{base}?{urlencode({'board': board, 'thread': thread_id})}{anchor}"


@dataclass
class Thread:
    board: str
    thread_id: int
    posts: pd.DataFrame  # POST_COLUMNS, by post_id
    state: dict[str, Any] | None  # the threads row (THREAD_COLUMNS), None if not built
    elsewhere: dict[int, int]  # quoted post -> its thread, for quotes out of this thread


def read_thread(reader: Reader, board: str, thread_id: int) -> Thread:
    d = reader.dialect
    params = {"board": board, "thread": thread_id}
    posts = reader.query(
        d.sql(
            f"SELECT {', '.join(POST_COLUMNS)} FROM {{posts}} WHERE board = $board "
            "AND thread_id = $thread ORDER BY post_id",
            ["posts"],
        ),
        params,
    )
    rows = reader.query(
        d.sql(
            f"SELECT {', '.join(THREAD_COLUMNS)} FROM {{threads}} WHERE board = $board "
            "AND thread_id = $thread",
            ["threads"],
        ),
        params,
    )
    state = rows.iloc[0].to_dict() if len(rows) else None
    here = set(int(p) for p in posts["post_id"])
    quoted = {int(q) for qs in posts["quotes"] if qs is not None for q in qs} - here
    elsewhere: dict[int, int] = {}
    if quoted:
        found = reader.query(
            d.sql(
                f"SELECT post_id, thread_id FROM {{posts}} WHERE board = $board AND "
                f"{d.in_list('post_id', 'quoted')}",
                ["posts"],
            ),
            {"board": board, "quoted": sorted(quoted)},
        )
        elsewhere = {
            int(p): int(t) for p, t in zip(found["post_id"], found["thread_id"], strict=True)
        }
    return Thread(board, thread_id, posts, state, elsewhere)


def _when(value: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S UTC")


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def comment_html(text: str, link: Any) -> str:
    """A comment's plain text as HTML: escaped, greentext lines, quote links (`link(no)`:
    the href of post `no`, or None).

    >>> print(comment_html('>>5 <b>x</b>\\n>implying', lambda n: f"#p{n}"))
    <a href="#p5" target="_self">&gt;&gt;5</a> &lt;b&gt;x&lt;/b&gt;
    <span class="green">&gt;implying</span>
    """
    lines = []
    for line in text.split("\n"):
        parts, at = [], 0
        for m in QUOTE.finditer(line):
            parts.append(html.escape(line[at : m.start()]))
            href = link(int(m.group(1)))
            quoted = html.escape(m.group(0))
            if href is None:
                parts.append(f'<span class="dead">{quoted}</span>')
            else:
                parts.append(f'<a href="{html.escape(href)}" target="_self">{quoted}</a>')
            at = m.end()
        parts.append(html.escape(line[at:]))
        shown = "".join(parts)
        if line.startswith(">") and not QUOTE.match(line):
            shown = f'<span class="green">{shown}</span>'
        lines.append(shown)
    return "\n".join(lines)


def thread_state(t: Thread) -> str:
    s = t.state
    if s is None:
        return "not in the threads table yet (run `polit transform`)"
    if s.get("archived_at") is not None and not pd.isna(s["archived_at"]):
        return f"archived at {_when(s['archived_at'])}"
    if s.get("deleted_at") is not None and not pd.isna(s["deleted_at"]):
        return f"deleted (left the board unarchived) at {_when(s['deleted_at'])}"
    if s.get("is_archived"):
        return "archived"
    return "live when last seen"


def post_html(p: dict[str, Any], t: Thread) -> str:
    here = set(int(x) for x in t.posts["post_id"])

    def link(no: int) -> str | None:
        if no in here:
            return f"#p{no}"
        if no in t.elsewhere:
            return thread_href(t.board, t.elsewhere[no], no)
        return None

    name = _text(p["poster_name"]) or "Anonymous"
    head = [
        f"<b>{html.escape(_text(p['subject']))}</b>" if _text(p["subject"]) else "",
        f'<span class="name">{html.escape(name)}</span>',
    ]
    for extra in ("tripcode", "capcode"):
        if _text(p[extra]):
            head.append(html.escape(_text(p[extra])))
    if _text(p["poster_id"]):
        head.append(f"ID: {html.escape(_text(p['poster_id']))}")
    flags = ("country_name", "flag_name", "country", "flag")
    flag = next((_text(p[f]) for f in flags if _text(p[f])), "")
    if flag:
        head.append(f'<span class="flag">[{html.escape(flag)}]</span>')
    head.append(html.escape(_when(p["post_datetime"])))
    head.append(f'<a href="#p{int(p["post_id"])}" target="_self">No. {int(p["post_id"])}</a>')
    deleted = p["deleted_at"] is not None and not pd.isna(p["deleted_at"])
    if deleted:
        gone = html.escape(_when(p["deleted_at"]))
        head.append(f'<span class="gone">deleted: gone since {gone}</span>')
    file = ""
    if _text(p["file_name"]):
        name = _text(p["file_name"]) + _text(p["file_extension"])
        file = f'<div class="file">File: {html.escape(name)}</div>'
    body = comment_html(_text(p["comment"]), link)
    cls = "post deleted" if deleted else "post"
    return (
        f'<div class="{cls}" id="p{int(p["post_id"])}"><div class="head">'
        f'{" ".join(h for h in head if h)}</div>{file}<div class="comment">{body}</div></div>'
    )


def thread_html(t: Thread) -> str:
    title = f"/{t.board}/ thread {t.thread_id}"
    if t.posts.empty:
        return (
            f'<div class="polit-page"><h1>{html.escape(title)}</h1>'
            "<p>No posts of this thread in the warehouse.</p></div>"
        )
    deleted = int(t.posts["deleted_at"].notna().sum())
    meta = f"{len(t.posts):,} posts ({deleted:,} deleted); thread {thread_state(t)}"
    posts = "\n".join(post_html(p, t) for p in t.posts.to_dict("records"))
    return (
        f'<div class="polit-page">{back_link(t.board)}<h1>{html.escape(title)}</h1>'
        f'<p class="state">{html.escape(meta)}</p>{posts}</div>'
    )


def hits_html(board: str, hits: list[dict[str, Any]], total: int, query: str) -> str:
    """A search's posts, each linking to its place in its thread."""
    items = []
    for h in hits:
        href = html.escape(thread_href(board, int(h["thread_id"]), int(h["post_id"])))
        gone = ' <span class="gone">deleted</span>' if h.get("deleted_at") is not None else ""
        body = " ".join(filter(None, (_text(h["subject"]), _text(h["comment"]))))
        body = body[:300] + ("…" if len(body) > 300 else "")
        items.append(
            f'<div class="post"><div class="head"><a href="{href}" target="_self">'
            f"No. {int(h['post_id'])} in thread {int(h['thread_id'])}</a> "
            f"{html.escape(_when(h['post_datetime']))}{gone}</div>"
            f'<div class="comment">{html.escape(body)}</div></div>'
        )
    newest = f"; the newest {len(hits)}" if total > len(hits) else ""
    shown = f"{total:,} posts match {query}{newest}"
    return f'<div class="polit-page hits"><p>{html.escape(shown)}</p>{"".join(items)}</div>'


def back_link(board: str) -> str:
    back = html.escape(f"?{urlencode({'board': board})}")
    return f'<p><a href="{back}" target="_self">← /{html.escape(board)}/ insights</a></p>'


def trend_table(points: list[Any], grain: str) -> str:
    """The trend's points as a table (what the chart draws, to read or copy), folded."""
    fmt = "%Y-%m-%d %H:00" if grain == "hour" else "%Y-%m-%d"
    rows = "".join(
        f"<tr><td>{html.escape(p.query)}</td><td>{p.bucket.strftime(fmt)}</td>"
        f"<td>{p.matches}</td><td>{p.posts}</td>"
        f"<td>{'' if p.share is None else f'{p.share:.4%}'}</td></tr>"
        for p in points
    )
    return (
        f'<details class="polit-page trend"><summary>the counts ({len(points)} rows)</summary>'
        "<table><thead><tr><th>query</th><th>UTC</th><th>matches</th><th>posts</th>"
        f"<th>share</th></tr></thead><tbody>{rows}</tbody></table></details>"
    )
