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


# Bar labels longer than this many pixels end in "…" rather than run out of the chart.
LABEL_LIMIT = 160
# At most this many ticks on a time axis (a label such as "29 Mar 03:00" is ~70 px wide;
# the report's charts are 420 px): labels never collide.
TIME_TICKS = 5
START_COLOR = "#555"


def _time(data: Insights, title: str = "UTC") -> alt.X:
    """The time axis: dates with hours when charted by hour, with the year when the range
    crosses one (or is not this year's)."""
    first, last = data.filters.first_day, data.filters.last_day
    with_year = first.year != last.year
    fmt = ("%d %b %Y" if with_year else "%d %b") + (" %H:%M" if data.grain == "hour" else "")
    if data.grain == "hour" and with_year:
        fmt = "%Y-%m-%d %H:%M"
    axis = alt.Axis(
        format=fmt, labelOverlap="greedy", labelSeparation=8, tickCount=TIME_TICKS,
        labelFlush=True, title=f"{title} ({first.year})" if not with_year else title,
    )  # fmt: skip
    return alt.X("t:T", axis=axis)


def _marked(chart: alt.Chart, data: Insights) -> alt.Chart | alt.LayerChart:
    """The chart with a dashed rule where collection started, when that is in its range."""
    start = data.collection_start
    if start is None or not (data.filters.start.replace(tzinfo=None) <= start):
        return chart
    if start >= data.filters.end.replace(tzinfo=None):
        return chart
    mark = pd.DataFrame({"t": [start], "label": ["collection started"]})
    base = alt.Chart(mark).encode(x=alt.X("t:T"))
    rule = base.mark_rule(color=START_COLOR, strokeDash=[4, 3])
    # the label on the side of the rule with more room (the legend is on the right)
    times = data["activity"]["t"]
    late = len(times) > 0 and start - times.min() > (times.max() - times.min()) / 2
    text = base.mark_text(align="right" if late else "left", baseline="top",
                          dx=-3 if late else 3, dy=2, fontSize=10, color=START_COLOR,
                          ).encode(text="label:N", y=alt.value(0))  # fmt: skip
    return alt.LayerChart(layer=[chart, rule, text]).properties(height=HEIGHT)


def _per(data: Insights) -> str:
    return "per hour" if data.grain == "hour" else "per day"


def _bars(df: pd.DataFrame, label: str, value: str, title: str, color: str) -> alt.Chart:
    """Horizontal bars, largest first."""
    return (
        alt.Chart(df[[label, value]])
        .mark_bar(color=color)
        .encode(
            x=alt.X(f"{value}:Q", title=title),
            y=alt.Y(
                f"{label}:N",
                sort="-x",
                title=None,
                axis=alt.Axis(labelOverlap=False, labelLimit=LABEL_LIMIT),
            ),
            tooltip=[alt.Tooltip(f"{label}:N"), alt.Tooltip(f"{value}:Q", format=",")],
        )
        .properties(height=_bar_height(df))
    )


def _bar_height(df: pd.DataFrame) -> int:
    return 80 + 20 * len(df)  # axis and title included: charts are fitted to the height


def activity(data: Insights) -> alt.Chart | alt.LayerChart | None:
    df = data["activity"]
    if df.empty:
        return None
    chart = (
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
    return _marked(chart, data)


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
            y=alt.Y(
                "term:N",
                sort="-x",
                title=None,
                axis=alt.Axis(labelOverlap=False, labelLimit=LABEL_LIMIT),
            ),
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


def replies(data: Insights) -> alt.Chart | alt.LayerChart | None:
    df = data["replies"]
    if df.empty:
        return None
    df = df.assign(share=(df["posts_without_reply"] / df["posts"]).astype(float).round(3))
    chart = (
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
    return _marked(chart, data)


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


def moderation(data: Insights) -> alt.Chart | alt.LayerChart | None:
    df = data["moderation"]
    if df.empty:
        return None
    # hours or days without deletions are not in the mart: zero, on activity's time axis
    df = data["activity"][["t"]].merge(df, on="t", how="outer").fillna(0)
    long = df[["t", "deleted_posts", "deleted_threads"]].melt(
        id_vars="t", var_name="what", value_name="n"
    )
    long["what"] = long["what"].str.replace("_", " ")
    chart = (
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
    return _marked(chart, data)


def tone(data: Insights) -> alt.Chart | alt.LayerChart | None:
    df = data["tone"]
    if df.empty:
        return None
    df = df.assign(mean_tone=(df["tone_sum"] / df["posts"]).astype(float).round(3))
    chart = (
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
    return _marked(chart, data)


def tone_mix(data: Insights) -> alt.Chart | alt.LayerChart | None:
    df = data["tone"]
    if df.empty:
        return None
    long = df[["t", "positive_posts", "neutral_posts", "negative_posts"]].melt(
        id_vars="t", var_name="tone", value_name="posts"
    )
    long["tone"] = long["tone"].str.removesuffix("_posts")
    chart = (
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
    return _marked(chart, data)


def term_trend(points: list, grain: str) -> alt.VConcatChart | None:
    """The search box's queries over time (`search.trend.Point`s): matching posts per hour
    or day, and their share of all posts; one line per query (as in Hine et al. 2017's
    "Operation Google" figure)."""
    if not points:
        return None
    df = pd.DataFrame(
        {"query": [p.query for p in points],
         "t": [p.bucket.replace(tzinfo=None) for p in points],
         "matches": [p.matches for p in points],
         "share": [p.share for p in points]}
    )  # fmt: skip
    fmt = "%d %b %H:%M" if grain == "hour" else "%d %b %Y"
    x = alt.X("t:T", title=f"UTC, per {grain}",
              axis=alt.Axis(format=fmt, labelOverlap="greedy", labelSeparation=8,
                            tickCount=TIME_TICKS, labelFlush=True))  # fmt: skip
    color = alt.Color("query:N", title="query", legend=alt.Legend(orient="top", labelLimit=300))
    tooltip = [alt.Tooltip("query:N"), alt.Tooltip("t:T", title="UTC", format=fmt),
               alt.Tooltip("matches:Q"), alt.Tooltip("share:Q", format=".2%")]  # fmt: skip
    base = alt.Chart(df).mark_line(point=True).encode(x=x, color=color, tooltip=tooltip)
    counts = base.encode(y=alt.Y("matches:Q", title=f"matching posts per {grain}"))
    shares = base.encode(y=alt.Y("share:Q", title="share of all posts", axis=alt.Axis(format="%")))
    return alt.vconcat(counts.properties(height=HEIGHT), shares.properties(height=HEIGHT))
