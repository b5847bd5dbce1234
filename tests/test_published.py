"""The published-figures section (insights/published.py) against the same measures computed
here, in plain Python, from the `posts` and `threads` tables (what was loaded from the lake),
not from the marts the section reads: on the shared recording (crawled: archived threads, no
files) and on a synthetic board (polit replay simulate, crawled: deletions, files, links)."""

from __future__ import annotations

import csv
import html
import math
import re
import statistics
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import duckdb
import pandas as pd
import pytest

from polit.insights import marts, published
from polit.insights.report import insights_html
from polit.insights.sources import open_source
from polit.transform.lexicon import ALPHA, WORD
from tests.helpers.built import recording_warehouse
from tests.helpers.insights_data import HOSTILE_BOARD
from tests.helpers.paths import ROOT

LEXICON = {row["word"]: float(row["valence"]) for row in csv.DictReader(
    (ROOT / "dbt" / "seeds" / "vader_lexicon.csv").open())}  # fmt: skip
URL = re.compile(r"(?:https?://|www\.)\S+")
QUOTE = re.compile(r">>\S*")
YOUTUBE = {"youtu.be", "m.youtube.com"}


@pytest.fixture(scope="module")
def recorded(recording, tmp_path_factory) -> Path:
    return recording_warehouse(recording, tmp_path_factory)


def section(warehouse: Path, board: str) -> tuple[marts.Insights, pd.DataFrame]:
    source = open_source(str(warehouse))
    try:
        found = {b.name: b for b in marts.boards(source)}
        data = marts.load_insights(source, found[board].last(None))
    finally:
        source.close()
    return data, published.table(data).set_index("measure")


def expected(warehouse: Path, data: marts.Insights) -> dict[str, str]:
    """Each row's "this data", computed from posts and threads."""
    f = data.filters
    con = duckdb.connect(str(warehouse), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    try:
        posts = [SimpleNamespace(**dict(zip(
            ("post_id", "post_datetime", "subject", "comment", "quotes", "links", "file_md5"), r,
            strict=True))) for r in con.execute(
            "select post_id, post_datetime, subject, comment, quotes, links, file_md5 from posts"
            " where board = ? and post_datetime is not null", [f.board]).fetchall()]  # fmt: skip
        threads = con.execute(
            "select created_at, is_archived, is_deleted, replies, number_of_posts from threads"
            " where board = ? and created_at is not null", [f.board]).fetchall()  # fmt: skip
    finally:
        con.close()
    start, end = f.start, f.end
    in_days = [p for p in posts if start <= p.post_datetime < end]
    got: dict[str, str] = {"posts": f"{len(in_days):,}"}

    created = [t for t in threads if start <= t[0] < end]
    got["threads"] = f"{len(created):,}"
    ended = [t for t in created if t[1] or t[2]]
    sizes = [(r if r is not None else n - 1) + 1 for _, _, _, r, n in ended]
    deleted = sum(1 for t in ended if t[2] and not t[1])
    got["posts per thread, mean"] = f"{sum(sizes) / len(sizes):.1f} posts" if sizes else "-"
    got["posts per thread, median"] = f"{statistics.median(sizes):.1f} posts" if sizes else "-"
    got["threads deleted rather than archived"] = f"{deleted / len(ended):.0%}" if ended else "-"

    # a reply: another post quoting it (twice is once)
    edges = {(p.post_id, q) for p in posts for q in (p.quotes or []) if q != p.post_id}
    received = Counter(q for _, q in edges)
    assert data.answerable_before is not None
    before = data.answerable_before.replace(tzinfo=UTC)
    old = [p for p in in_days if p.post_datetime < before]
    if old:
        counts = [received[p.post_id] for p in old]
        got["posts with no direct reply"] = f"{counts.count(0) / len(old):.0%}"
        got["replies per post, mean"] = f"{sum(counts) / len(old):.2f} replies"
    else:
        got["posts with no direct reply"] = got["replies per post, mean"] = "-"

    sites = Counter(s for p in in_days for u in (p.links or []) if (s := site(u)))
    top = sorted(sites.items(), key=lambda kv: (-kv[1], kv[0]))
    got["YouTube first among linked sites"] = (
        f"{top[0][0]}, {top[0][1] / top[1][1]:.1f}x the next" if len(top) > 1
        else top[0][0] if top else "-"
    )  # fmt: skip

    files = Counter(p.file_md5 for p in in_days if p.file_md5)
    got["images (distinct files) posted once"] = (
        f"{sum(n == 1 for n in files.values()) / len(files):.0%}" if files else "-"
    )
    tones = [tone(p) for p in in_days]
    got["posts neutral or negative"] = f"{sum(t < 0.05 for t in tones) / len(tones):.0%}"
    return got


def site(url: str) -> str | None:
    host = urlsplit(url.lower()).hostname if "://" in url else None
    if host and re.fullmatch(r"[a-z0-9.-]+", host):
        host = host.removeprefix("www.")
        return "youtube.com" if host in YOUTUBE else host
    return None


def tone(post: SimpleNamespace) -> float:
    text = f"{post.subject or ''} {post.comment or ''}".lower()
    s = sum(LEXICON.get(w, 0.0) for w in WORD.findall(QUOTE.sub(" ", URL.sub(" ", text))))
    return s / math.sqrt(s * s + ALPHA)


def test_recording_against_posts_and_threads(recorded: Path) -> None:
    data, table = section(recorded, "pol")
    assert table["this data"].to_dict() == expected(recorded, data)
    # what the recording has: archived threads only, no files, posts old enough to count
    assert table.loc["threads deleted rather than archived", "this data"] == "0%"
    assert table.loc["images (distinct files) posted once", "this data"] == "-"
    assert table.loc["posts with no direct reply", "this data"] != "-"
    assert table.loc["YouTube first among linked sites", "this data"].startswith("youtube.com")


def test_synthetic_board_against_posts_and_threads(insights_warehouse: Path) -> None:
    data, table = section(insights_warehouse, "pol")
    want = expected(insights_warehouse, data)
    assert table["this data"].to_dict() == want
    # the simulated board has all of it: ended and deleted threads, repeated files, replies
    assert all(v != "-" for v in want.values()), want
    assert table.loc["threads deleted rather than archived", "this data"] != "0%"


def test_paper_figures_are_cited_and_checked() -> None:
    """Every figure carries where the paper gives it (or '-') and what was confirmed; a
    figure not confirmed says so."""
    rows = {f.key: f for f in published.FIGURES}
    assert rows["posts"].text() == "8,284,823 posts" and rows["posts"].cited == "Table 1"
    assert rows["thread_mean"].text() == "38.4 posts" and rows["thread_median"].cited == "Fig. 4"
    assert rows["replies_per_post"].text() == "0.83 replies"
    assert rows["images_once"].cited == "Fig. 10"
    assert rows["images_once"].checked.startswith("checked")
    assert all(f.checked.startswith(("checked", "not confirmed")) for f in published.FIGURES)
    assert published.PAPER_DAYS == 75


def _data(days: int = 1, **frames: pd.DataFrame) -> marts.Insights:
    base = {
        "activity": pd.DataFrame({"posts": [10], "new_threads": [2]}),
        "thread_sizes": pd.DataFrame({"thread_posts": [3, 9], "end_state": ["live", "live"],
                                      "threads": [1, 1]}),
        "replies": pd.DataFrame({"posts": [0], "posts_without_reply": [0],
                                 "replies_received": [0], "uncounted_hours": [0]}),
        "links": pd.DataFrame({"domain": ["youtu.be", "youtube.com", "x.com"],
                               "links": [3, 3, 2]}),
        "image_repeats": pd.DataFrame({"times_posted": [1, 2], "images": [3, 1]}),
        "tone": pd.DataFrame({"posts": [10], "neutral_posts": [5], "negative_posts": [3]}),
    }  # fmt: skip
    base.update(frames)
    f = marts.Filters("pol", datetime(2023, 3, 27).date(), datetime(2023, 3, 27).date())
    return marts.Insights(
        f, "hour", base, covered=(datetime(2023, 3, 27, 8), datetime(2023, 3, 27, 8 + 3 * days))
    )


def test_a_short_span_says_what_it_cannot_tell() -> None:
    found = published.measures(_data())
    assert found["thread_mean"].text == "-" and "too short" in found["thread_mean"].note
    assert found["no_reply"].text == "-" and f"{marts.ANSWER_HOURS} h" in found["no_reply"].note
    assert found["top_domain"].text == "youtube.com, 3.0x the next"  # youtu.be merged
    assert found["images_once"].text == "75%" and "shorter" in found["images_once"].note
    assert "a day here (over 3 h)" in found["posts"].note
    old = published.measures(_data(replies=pd.DataFrame(
        {"posts": [4], "posts_without_reply": [1], "replies_received": [pd.NA],
         "uncounted_hours": [1]})))  # fmt: skip
    assert old["no_reply"].text == "25%" and old["replies_per_post"].text == "-"
    assert "--full-refresh" in old["replies_per_post"].note


def test_section_escapes_the_posters_text(insights_warehouse: Path) -> None:
    """Domains are the posters' text: the section's cells are escaped like every table."""
    data, _ = section(insights_warehouse, HOSTILE_BOARD)
    hostile = data.frames["links"].assign(domain="<img src=x onerror=alert(1)>.example")
    data.frames["links"] = hostile
    fragment = insights_html(data)
    assert 'id="published"' in fragment
    assert "<img src=x" not in fragment
    assert html.escape("<img src=x onerror=alert(1)>.example") in fragment
