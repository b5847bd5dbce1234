"""Altair charts from the marts' data frames: the same charts in the dashboard and the report.

Each function takes `Insights` and returns a chart, or None when there is nothing to draw.
Charts encode only counts and short labels (flags, terms, domains, file types); post text,
thread topics and file names appear only in tables, as text. Each chart gets only the
columns it draws (Altair embeds its whole data frame in the chart's spec).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from polit.insights.marts import Insights

HEIGHT = 220
HOURS = list(range(24))
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
END_STATES = ["live", "archived", "deleted"]
END_COLORS = ["#f58518", "#4c78a8", "#e45756"]
TONES = ["positive", "neutral", "negative"]
TONE_COLORS = ["#2ca02c", "#bdbdbd", "#d62728"]


def _time(data: Insights, title: str = "UTC") -> alt.X:
    fmt = "%d %b %H:%M" if data.grain == "hour" else "%d %b"
    axis = alt.Axis(format=fmt, labelOverlap="greedy", labelSeparation=8)
    return alt.X("t:T", title=title, axis=axis)


def _per(data: Insights) -> str:
    return "per hour" if data.grain == "hour" else "per day"


def _bars(df: pd.DataFrame, label: str, value: str, title: str, color: str) -> alt.Chart:
    """Horizontal bars, largest first."""
    return (
        alt.Chart(df[[label, value]])
        .mark_bar(color=color)
        .encode(
            x=alt.X(f"{value}:Q", title=title),
            y=alt.Y(f"{label}:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
            tooltip=[alt.Tooltip(f"{label}:N"), alt.Tooltip(f"{value}:Q", format=",")],
        )
        .properties(height=_bar_height(df))
    )


def _bar_height(df: pd.DataFrame) -> int:
    return 80 + 20 * len(df)  # axis and title included: charts are fitted to the height


def activity(data: Insights) -> alt.Chart | None:
    df = data["activity"]
    if df.empty:
        return None
    return (
        alt.Chart(df[["t", "posts", "new_threads"]])
        .mark_area(line=True, opacity=0.5)
        .encode(
            x=_time(data),
            y=alt.Y("posts:Q", title=f"posts {_per(data)}"),
            tooltip=[
                alt.Tooltip("t:T", title="UTC", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("posts:Q", format=","),
                alt.Tooltip("new_threads:Q", title="new threads", format=","),
            ],
        )
        .properties(height=HEIGHT)
    )


def hour_of_week(data: Insights) -> alt.Chart | None:
    df = data["hour_of_week"]
    if df.empty:
        return None
    df = df.assign(
        weekday=[WEEKDAYS[int(d) - 1] for d in df["day_of_week"]],
        posts_per_hour=(df["posts"] / df["hours"]).astype(float).round(1),
    )
    return (
        alt.Chart(df[["weekday", "hour_of_day", "posts_per_hour", "hours"]])
        .mark_rect()
        .encode(
            x=alt.X("hour_of_day:O", title="hour of day (UTC)", scale=alt.Scale(domain=HOURS)),
            y=alt.Y("weekday:O", title=None, sort=WEEKDAYS, scale=alt.Scale(domain=WEEKDAYS)),
            color=alt.Color("posts_per_hour:Q", title="posts/h", scale=alt.Scale(scheme="blues")),
            tooltip=[
                alt.Tooltip("weekday:O"),
                alt.Tooltip("hour_of_day:O", title="hour (UTC)"),
                alt.Tooltip("posts_per_hour:Q", title="posts per hour", format=",.1f"),
                alt.Tooltip("hours:Q", title="hours seen"),
            ],
        )
        .properties(height=HEIGHT)
    )  # fmt: skip


def flags(data: Insights, kind: str) -> alt.Chart | None:
    df = data["flags"]
    df = df[df["flag_kind"] == kind].head(15)
    if df.empty:
        return None
    df = df.assign(label=df["flag_name"].fillna(df["flag"]).astype(str))
    title = "posts by country flag" if kind == "country" else "posts by meme flag"
    color = "#4c78a8" if kind == "country" else "#f58518"
    return _bars(df, "label", "posts", title, color)


def terms(data: Insights, kind: str) -> alt.Chart | None:
    df = data["terms"]
    df = df[df["term_kind"] == kind]
    if df.empty:
        return None
    title = "mentions" + (" of words" if kind == "word" else " of word pairs")
    return _bars(df, "term", "mentions", title, "#54a24b")


def trending(data: Insights) -> alt.Chart | None:
    df = data["trending"]
    if df.empty:
        return None
    df = df.sort_values(["score", "term"], ascending=[False, True]).head(15)
    df = df.assign(score=df["score"].astype(float).round(2))
    return (
        alt.Chart(df[["term", "score", "recent_mentions", "baseline_mentions"]])
        .mark_bar(color="#e45756")
        .encode(
            x=alt.X("score:Q", title="rising (score)"),
            y=alt.Y("term:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
            tooltip=["term:N", "score:Q", "recent_mentions:Q", "baseline_mentions:Q"],
        )
        .properties(height=_bar_height(df))
    )


def threads(data: Insights) -> alt.Chart | None:
    df = data["threads"]
    if df.empty:
        return None
    df = df.assign(hours_on_board=df["hours_on_board"].astype(float).round(2))
    return (
        alt.Chart(df[["thread_id", "hours_on_board", "replies", "end_state"]])
        .mark_circle(size=28, opacity=0.6)
        .encode(
            x=alt.X("hours_on_board:Q", title="hours on the board"),
            y=alt.Y("replies:Q", title="replies"),
            color=alt.Color(
                "end_state:N", title="end", scale=alt.Scale(domain=END_STATES, range=END_COLORS)
            ),
            tooltip=["thread_id:Q", "replies:Q", "hours_on_board:Q", "end_state:N"],
        )
        .properties(height=HEIGHT)
    )


def replies(data: Insights) -> alt.Chart | None:
    df = data["replies"]
    if df.empty:
        return None
    df = df.assign(share=(df["posts_without_reply"] / df["posts"]).astype(float).round(3))
    return (
        alt.Chart(df[["t", "share", "posts"]])
        .mark_line(point=True)
        .encode(
            x=_time(data),
            y=alt.Y("share:Q", title="without a reply", axis=alt.Axis(format="%")),
            tooltip=[
                alt.Tooltip("t:T", title="UTC", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("share:Q", title="without reply", format=".1%"),
                alt.Tooltip("posts:Q", format=","),
            ],
        )
        .properties(height=HEIGHT)
    )


def links(data: Insights) -> alt.Chart | None:
    df = data["links"]
    if df.empty:
        return None
    return _bars(df, "domain", "links", "links", "#72b7b2")


def image_types(data: Insights) -> alt.Chart | None:
    df = data["image_types"]
    if df.empty:
        return None
    df = df.assign(file_extension=df["file_extension"].fillna("(none)").astype(str))
    return _bars(df, "file_extension", "images", "images", "#b279a2")


def moderation(data: Insights) -> alt.Chart | None:
    df = data["moderation"]
    if df.empty:
        return None
    # hours or days without deletions are not in the mart: zero, on activity's time axis
    df = data["activity"][["t"]].merge(df, on="t", how="outer").fillna(0)
    long = df[["t", "deleted_posts", "deleted_threads"]].melt(
        id_vars="t", var_name="what", value_name="n"
    )
    long["what"] = long["what"].str.replace("_", " ")
    return (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=_time(data),
            y=alt.Y("n:Q", title=f"deleted {_per(data)}"),
            color=alt.Color("what:N", title=None, scale=alt.Scale(range=["#9d755d", "#e45756"])),
            tooltip=[alt.Tooltip("t:T", title="UTC", format="%Y-%m-%d %H:%M"), "what:N", "n:Q"],
        )
        .properties(height=HEIGHT)
    )


def tone(data: Insights) -> alt.Chart | None:
    df = data["tone"]
    if df.empty:
        return None
    df = df.assign(mean_tone=(df["tone_sum"] / df["posts"]).astype(float).round(3))
    return (
        alt.Chart(df[["t", "mean_tone", "posts"]])
        .mark_line(point=True, color="#4c78a8")
        .encode(
            x=_time(data),
            y=alt.Y("mean_tone:Q", title="mean tone (-1 … 1)"),
            tooltip=[
                alt.Tooltip("t:T", title="UTC", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("mean_tone:Q", title="mean tone"),
                alt.Tooltip("posts:Q", format=","),
            ],
        )
        .properties(height=HEIGHT)
    )


def tone_mix(data: Insights) -> alt.Chart | None:
    df = data["tone"]
    if df.empty:
        return None
    long = df[["t", "positive_posts", "neutral_posts", "negative_posts"]].melt(
        id_vars="t", var_name="tone", value_name="posts"
    )
    long["tone"] = long["tone"].str.removesuffix("_posts")
    return (
        alt.Chart(long)
        .mark_area()
        .encode(
            x=_time(data),
            y=alt.Y("posts:Q", stack="normalize", title="share", axis=alt.Axis(format="%")),
            color=alt.Color("tone:N", title=None, scale=alt.Scale(domain=TONES, range=TONE_COLORS)),
            order=alt.Order("tone_order:Q"),
            tooltip=[alt.Tooltip("t:T", title="UTC", format="%Y-%m-%d %H:%M"), "tone:N", "posts:Q"],
        )
        .transform_calculate(tone_order="indexof(['positive','neutral','negative'], datum.tone)")
        .properties(height=HEIGHT)
    )  # fmt: skip
