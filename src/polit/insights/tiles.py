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
from polit.insights.marts import Insights

ChartFn = Callable[[Insights], alt.Chart | None]
TableFn = Callable[[Insights], pd.DataFrame]


@dataclass(frozen=True)
class Table:
    title: str
    build: TableFn


@dataclass(frozen=True)
class Tile:
    name: str
    title: str
    caption: str
    charts: list[ChartFn] = field(default_factory=list)
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


TILES: list[Tile] = [
    Tile("activity", "Activity", "Posts per hour or day, and new threads (in the tooltip).",
         [charts.activity]),
    Tile("hour_of_week", "Hour of week", "Average posts per hour at each hour of the week (UTC).",
         [charts.hour_of_week]),
    Tile("flags", "Flags", "Posts by country flag and by meme flag.",
         [partial(charts.flags, kind="country"), partial(charts.flags, kind="meme")]),
    Tile("terms", "Terms", "Most mentioned words and word pairs in the days chosen; rising "
         "terms compare the board's newest hours with before (whatever the days).",
         [partial(charts.terms, kind="word"), partial(charts.terms, kind="bigram"),
          charts.trending]),
    Tile("threads", "Threads", "Each thread started in the days: replies against hours on "
         "the board, by how it ended; the busiest ones below.",
         [charts.threads], [Table("busiest threads", busiest_threads)]),
    Tile("replies", "Replies", "Share of posts nobody replied to, and the most quoted posts.",
         [charts.replies], [Table("most quoted posts", most_quoted)]),
    Tile("links", "Links", "Domains linked to most.", [charts.links]),
    Tile("images", "Images", "Files by type; files posted again and again (same md5; counts "
         "over all time).", [charts.image_types], [Table("repeated images", repeated_images)]),
    Tile("moderation", "Moderation", "Posts and threads deleted (by the hour they vanished).",
         [charts.moderation]),
    Tile("tone", "Tone", "Mean tone of posts (VADER, -1 … 1) and the mix of positive, "
         "neutral and negative posts.", [charts.tone, charts.tone_mix]),
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
        ("without a reply", f"{without / rep_posts:.0%}" if rep_posts else "-"),
        ("mean tone", f"{mean_tone:+.3f}" if mean_tone is not None else "-"),
    ]
