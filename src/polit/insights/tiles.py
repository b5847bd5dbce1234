"""The tiles, in order: title, what they show, their charts and tables. The dashboard and
the report both lay out exactly these (one tile per mart family).

Titles and captions are fixed text; data reaches a page only through charts (counts and
short labels) and tables (every cell text, never markup).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import altair as alt
import pandas as pd

from polit.insights import charts
from polit.insights.marts import ANSWER_HOURS, Insights

ChartFn = Callable[[Insights], alt.Chart | alt.LayerChart | None]
TableFn = Callable[[Insights], pd.DataFrame]
ReasonFn = Callable[[Insights], str]


def nothing_in_span(what: str) -> ReasonFn:
    """The reason of an empty chart when the board has such data but not in these days."""

    def reason(data: Insights) -> str:
        if data["activity"].empty:
            return "no posts in these days"
        return f"{what} in these days"

    return reason


def no_flags(kind: str) -> ReasonFn:
    """Flags: the board's posts may carry no such field at all (only /pol/ has meme flags;
    /b/ has no country flags)."""
    label = "country flags" if kind == "country" else "meme flags"

    def reason(data: Insights) -> str:
        if kind not in set(data["flag_kinds"]["flag_kind"]):
            return f"no {label}: this board's posts have no such field"
        return nothing_in_span(f"no post with {label[:-1]}")(data)

    return reason


@dataclass(frozen=True)
class Chart:
    """A chart of a tile, and why it is empty when it draws nothing."""

    build: ChartFn
    why_empty: ReasonFn = field(default=nothing_in_span("nothing to show"))


@dataclass(frozen=True)
class Table:
    title: str
    build: TableFn


@dataclass(frozen=True)
class Tile:
    name: str
    title: str
    caption: str
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def busiest_threads(data: Insights) -> pd.DataFrame:
    df = data["threads"].head(10)
    return pd.DataFrame(
        {
            "topic": df["topic"].fillna(""),
            "replies": df["replies"],
            "thread": df["thread_id"],
            "posts/hour": df["posts_per_hour"].astype(float).round(1),
            "hours on board": df["hours_on_board"].astype(float).round(1),
            "end": df["end_state"],
            "bump limit": df["reached_bump_limit"].map({True: "yes", False: "no"}),
            "created (UTC)": df["created_at"].dt.strftime("%Y-%m-%d %H:%M"),
        }
    )


def most_quoted(data: Insights) -> pd.DataFrame:
    df = data["most_quoted"]
    return pd.DataFrame(
        {
            "quoted": df["times_quoted"],
            "comment": df["comment"].fillna(""),
            "post": df["post_id"],
            "thread": df["thread_id"],
            "posted (UTC)": df["post_datetime"].dt.strftime("%Y-%m-%d %H:%M"),
        }
    )


def repeated_images(data: Insights) -> pd.DataFrame:
    df = data["images_repeated"]
    return pd.DataFrame(
        {
            "a file name": df["example_file_name"].fillna(""),
            "posted": df["times_posted"],
            "threads": df["threads"],
            "type": df["file_extension"].fillna(""),
            "md5": df["file_md5"],
            "first (UTC)": df["first_posted_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "last (UTC)": df["last_posted_at"].dt.strftime("%Y-%m-%d %H:%M"),
        }
    )


def unanswered_posts(data: Insights) -> str:
    if data["activity"].empty:
        return "no posts in these days"
    return (f"no post in these days was made {ANSWER_HOURS} h or more before the last "
            "observation: too new to tell whether it gets a reply")  # fmt: skip


TILES: list[Tile] = [
    Tile("activity", "Activity", "Posts per hour or day, and new threads (in the tooltip). "
         "The dashed line marks where collection started: posts before it are those of "
         "threads still on the board then.",
         [Chart(charts.activity, nothing_in_span("no posts"))]),
    Tile("hour_of_week", "Hour of week", "Average posts per hour at each hour of the week (UTC).",
         [Chart(charts.hour_of_week, nothing_in_span("no posts"))]),
    Tile("flags", "Flags", "Posts by country flag and by meme flag.",
         [Chart(partial(charts.flags, kind="country"), no_flags("country")),
          Chart(partial(charts.flags, kind="meme"), no_flags("meme"))]),
    Tile("terms", "Terms", "Most mentioned words and word pairs in the days chosen (without "
         "stopwords of nine languages, nor pairs of one word twice); rising terms compare "
         "the board's newest hours with before (whatever the days).",
         [Chart(partial(charts.terms, kind="word"), nothing_in_span("no word in two posts")),
          Chart(partial(charts.terms, kind="bigram"),
                nothing_in_span("no word pair in two posts")),
          Chart(charts.trending, lambda _: "no term rose: none has enough mentions in the "
                "board's newest hours")]),
    Tile("threads", "Threads", "Each thread started in the days: replies against hours on "
         "the board, by how it ended; the busiest ones below (untitled ones by the start "
         "of their first post).",
         [Chart(charts.threads, nothing_in_span("no thread started"))],
         [Table("busiest threads", busiest_threads)]),
    Tile("replies", "Replies", f"Share of posts nobody replied to, among posts made "
         f"{ANSWER_HOURS} h or more before the last observation (newer ones may still get "
         "replies, and are left out); and the most quoted posts.",
         [Chart(charts.replies, unanswered_posts)], [Table("most quoted posts", most_quoted)]),
    Tile("links", "Links", "Domains linked to most.",
         [Chart(charts.links, nothing_in_span("no link posted"))]),
    Tile("images", "Images", "Files by type; files posted again and again (same md5; counts "
         "over all time).", [Chart(charts.image_types, nothing_in_span("no file posted"))],
         [Table("repeated images", repeated_images)]),
    Tile("moderation", "Moderation", "Posts and threads deleted (by the hour they vanished; "
         "a deletion is found only while the crawl watches).",
         [Chart(charts.moderation, nothing_in_span("nothing was found deleted"))]),
    Tile("tone", "Tone", "Mean tone of posts (VADER, -1 … 1) and the mix of positive, "
         "neutral and negative posts.",
         [Chart(charts.tone, nothing_in_span("no posts")),
          Chart(charts.tone_mix, nothing_in_span("no posts"))]),
]  # fmt: skip


def headline(data: Insights) -> list[tuple[str, str]]:
    """A few totals over the days chosen, as (label, value)."""
    act, mod, rep, tone = data["activity"], data["moderation"], data["replies"], data["tone"]
    posts = int(act["posts"].sum())
    without = int(rep["posts_without_reply"].sum())
    rep_posts = int(rep["posts"].sum())
    tone_posts = int(tone["posts"].sum())
    mean_tone = float(tone["tone_sum"].sum()) / tone_posts if tone_posts else None
    return [
        ("posts", f"{posts:,}"),
        ("new threads", f"{int(act['new_threads'].sum()):,}"),
        ("deleted posts", f"{int(mod['deleted_posts'].sum()):,}"),
        (
            f"without a reply (posts {ANSWER_HOURS} h old)",
            f"{without / rep_posts:.0%}" if rep_posts else "-",
        ),
        ("mean tone", f"{mean_tone:+.3f}" if mean_tone is not None else "-"),
    ]
