"""The section "This data and the published studies": the measures of Hine et al. 2017 on
/pol/, computed on the board and days chosen, side by side with the paper's figures.

G. E. Hine, J. Onaolapo, E. De Cristofaro, N. Kourtellis, I. Leontiadis, R. Samaras,
G. Stringhini, J. Blackburn: "Kek, Cucks, and God Emperor Trump: A Measurement Study of
4chan's Politically Incorrect Forum and Its Effects on the Web", ICWSM 2017; /pol/ from
30 June to 12 September 2016.

The paper's figures are data (`FIGURES`): value, unit, where the paper gives it, and what of
it polit could check against the paper's text. A figure that could not be checked is shown
as such, not dropped and not reworded. Everything here is computed from the marts' frames
that the tiles read (`marts.Insights`); the measures follow the paper where the marts can:

* totals also per day, as the spans differ (75 days there);
* posts per thread and deleted threads over the threads created in the days that have ended
  (archived or deleted): a live thread's count is not final;
* replies over the posts made `ANSWER_HOURS` or more before the last observation, like the
  reply tile;
* images posted once among the distinct files (md5) posted in the days;
* tone by VADER's compound score (positive >= 0.05, negative <= -0.05).

Cells are plain text (a domain is the posters' text): the report escapes every cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from polit.insights.marts import ANSWER_HOURS, Insights

TITLE = "This data and the published studies"
PAPER = (
    "Hine et al. 2017, \"Kek, Cucks, and God Emperor Trump: A Measurement Study of 4chan's "
    'Politically Incorrect Forum and Its Effects on the Web" (ICWSM 2017)'
)
PAPER_BOARD = "pol"
PAPER_FIRST, PAPER_LAST = date(2016, 6, 30), date(2016, 9, 12)
PAPER_DAYS = (PAPER_LAST - PAPER_FIRST).days + 1  # 75, both ends counted
# youtu.be and m.youtube.com are YouTube too
SITES = {"youtu.be": "youtube.com", "m.youtube.com": "youtube.com"}
# what polit found of the paper's text (the search corpus holds its abstract and quotes)
NOT_FOUND = "not confirmed: not found in the paper's text available to polit"


@dataclass(frozen=True)
class Figure:
    """A figure of the paper: `value` in `unit`, `cited` where the paper gives it (a table
    or figure number, or ''), `checked` what of it was confirmed in the paper's text."""

    key: str
    measure: str
    value: float
    unit: str
    cited: str
    checked: str
    digits: int = 1

    def text(self) -> str:
        if self.unit == "%":
            return f"{self.value:.0f}%"
        if self.unit == "x":
            return f"more than {self.value:.0f}x the next"
        if self.value == int(self.value) and self.value >= 1000:
            return f"{self.value:,.0f} {self.unit}"
        return f"{self.value:.{self.digits}f} {self.unit}"


FIGURES: list[Figure] = [
    Figure("posts", "posts", 8_284_823, "posts", "Table 1",
           "not confirmed: the abstract says over 8M posts over two and a half months; "
           "the exact count was not found"),
    Figure("threads", "threads", 216_783, "threads", "Table 1", NOT_FOUND),
    Figure("thread_mean", "posts per thread, mean", 38.4, "posts", "Fig. 4",
           "not confirmed: Fig. 4 plots posts per thread (arXiv version's numbering); "
           "the value was not found"),
    Figure("thread_median", "posts per thread, median", 7.0, "posts", "Fig. 4",
           "not confirmed: Fig. 4 plots posts per thread (arXiv version's numbering); "
           "the value was not found"),
    Figure("deleted_threads", "threads deleted rather than archived", 6, "%", "", NOT_FOUND),
    Figure("no_reply", "posts with no direct reply", 57, "%", "", NOT_FOUND),
    Figure("replies_per_post", "replies per post, mean", 0.83, "replies", "", NOT_FOUND, 2),
    Figure("top_domain", "YouTube first among linked sites", 10, "x", "",
           "checked (abstract): by far the most linked site is YouTube; the factor of "
           "10 was not found"),
    Figure("images_once", "images (distinct files) posted once", 70, "%", "Fig. 10",
           "checked (abstract): 70% of unique images are posted only once; Fig. 10 plots "
           "how often each image is posted (arXiv version's numbering)"),
    Figure("tone", "posts neutral or negative", 84, "%", "",
           "checked in a quotation of the paper's text: about 84% of posts are neutral or "
           "negative; no figure number found; its sentiment method was not checked"),
]  # fmt: skip


@dataclass(frozen=True)
class Measure:
    """A measure on the data: its text ('-' when it cannot be computed) and a note (how it
    differs from the paper's, or why it is missing)."""

    text: str
    note: str
    value: float | None = None


def span_days(data: Insights) -> float | None:
    """The days the data cover (first to last observation or hour of posts)."""
    if data.covered is None:
        return None
    return (data.covered[1] - data.covered[0]).total_seconds() / 86400


def _per_day(total: int, days: float | None, paper_total: float) -> str:
    paper = f"{paper_total / PAPER_DAYS:,.0f} a day over the paper's {PAPER_DAYS} days"
    if not days:
        return paper
    span = f"{days * 24:.0f} h" if days < 3 else f"{days:.1f} days"
    return f"{total / days:,.0f} a day here (over {span}) vs {paper}"


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}"


def measures(data: Insights) -> dict[str, Measure]:
    """Each figure's measure on the data, by `Figure.key`."""
    days = span_days(data)
    found: dict[str, Measure] = {}
    posts = int(data["activity"]["posts"].sum())
    sizes = data["thread_sizes"]
    threads = int(sizes["threads"].sum())
    found["posts"] = Measure(f"{posts:,}", _per_day(posts, days, FIGURES[0].value), posts)
    found["threads"] = Measure(
        f"{threads:,}",
        "created in the days; " + _per_day(threads, days, FIGURES[1].value),
        threads,
    )
    found.update(_threads(sizes))
    found.update(_replies(data["replies"]))
    found["top_domain"] = _top_site(data["links"])
    found["images_once"] = _images(data["image_repeats"], days)
    found["tone"] = _tone(data["tone"])
    return found


def _threads(sizes: pd.DataFrame) -> dict[str, Measure]:
    ended = sizes[sizes["end_state"].isin(["archived", "deleted"])]
    n = int(ended["threads"].sum())
    live = int(sizes["threads"].sum()) - n
    if n == 0:
        why = "too short: no thread created in these days has ended yet"
        return {k: Measure("-", why) for k in ("thread_mean", "thread_median", "deleted_threads")}
    left_out = f"; {live:,} still live left out (not final)" if live else ""
    note = f"over the {n:,} threads that ended{left_out}"
    counts = ended.groupby("thread_posts")["threads"].sum().sort_index()
    mean = float((counts.index.to_numpy() * counts.to_numpy()).sum()) / n
    median = _median(counts, n)
    deleted = int(ended.loc[ended["end_state"] == "deleted", "threads"].sum())
    return {
        "thread_mean": Measure(f"{mean:.1f} posts", note, mean),
        "thread_median": Measure(f"{median:.1f} posts", note, median),
        "deleted_threads": Measure(
            _share(deleted, n),
            f"{deleted:,} of {n:,} ended threads left the board unarchived{left_out}",
            deleted / n,
        ),
    }


def _median(counts: pd.Series, n: int) -> float:
    """The median of values given as (value -> how many), n in all."""
    cumulative = counts.cumsum()
    low = int(counts.index[(cumulative >= (n + 1) // 2).to_numpy().argmax()])
    high = int(counts.index[(cumulative >= n // 2 + 1).to_numpy().argmax()])
    return (low + high) / 2


def _replies(rep: pd.DataFrame) -> dict[str, Measure]:
    posts = int(rep["posts"].sum())
    if posts == 0:
        why = (f"too short: no post was made {ANSWER_HOURS} h or more before the last "
               "observation")  # fmt: skip
        return {"no_reply": Measure("-", why), "replies_per_post": Measure("-", why)}
    note = f"over the {posts:,} posts {ANSWER_HOURS} h old or more at the last observation"
    without = int(rep["posts_without_reply"].sum())
    found = {"no_reply": Measure(_share(without, posts), note, without / posts)}
    if int(rep["uncounted_hours"].sum()) > 0:
        found["replies_per_post"] = Measure(
            "-",
            "replies_hourly has hours without replies_received: run "
            "`polit transform --full-refresh`",
        )
    else:
        replies = int(rep["replies_received"].sum())
        found["replies_per_post"] = Measure(f"{replies / posts:.2f} replies", note, replies / posts)
    return found


def top_sites(links: pd.DataFrame) -> pd.Series:
    """Links per site (a domain, YouTube's merged), most first."""
    sites = links.assign(site=links["domain"].map(lambda d: SITES.get(d, d)))
    per_site = sites.groupby("site")["links"].sum().astype(int)
    return per_site.sort_values(ascending=False, kind="stable")


def _top_site(links: pd.DataFrame) -> Measure:
    if links.empty:
        return Measure("-", "no link posted in these days")
    sites = top_sites(links)
    first, n = str(sites.index[0]), int(sites.iloc[0])
    if len(sites) < 2:
        return Measure(first, f"{n:,} links, no other site")
    second, m = str(sites.index[1]), int(sites.iloc[1])
    return Measure(f"{first}, {n / m:.1f}x the next", f"{n:,} links vs {m:,} to {second} "
                   "(youtu.be counted as youtube.com)", n / m)  # fmt: skip


def _images(repeats: pd.DataFrame, days: float | None) -> Measure:
    images = int(repeats["images"].sum())
    if images == 0:
        return Measure("-", "no file posted in these days")
    once = int(repeats.loc[repeats["times_posted"] == 1, "images"].sum())
    note = f"{once:,} of {images:,} distinct files (md5) posted in the days"
    if days is not None and days < PAPER_DAYS:
        note += (f"; a span shorter than the paper's {PAPER_DAYS} days finds fewer reposts, "
                 "so this reads higher")  # fmt: skip
    return Measure(_share(once, images), note, once / images)


def _tone(tone: pd.DataFrame) -> Measure:
    posts = int(tone["posts"].sum())
    if posts == 0:
        return Measure("-", "no posts in these days")
    share = int(tone["neutral_posts"].sum() + tone["negative_posts"].sum())
    return Measure(_share(share, posts), f"{share:,} of {posts:,} posts, by VADER (compound "
                   "below 0.05)", share / posts)  # fmt: skip


def caption(data: Insights) -> str:
    """What is compared with what (fixed text, the board's name and the days)."""
    days = span_days(data)
    here = "no posts" if days is None else data.covered_text()
    text = (f"The measures of {PAPER}, on /{PAPER_BOARD}/ from {PAPER_FIRST:%d %b} to "
            f"{PAPER_LAST:%d %b %Y} ({PAPER_DAYS} days), computed on this data: "
            f"/{data.filters.board}/ {here}. Totals are compared per day. \"checked\" says "
            "what of each figure was confirmed in the paper's text.")  # fmt: skip
    if data.filters.board != PAPER_BOARD:
        text += f" The paper measured /{PAPER_BOARD}/, not /{data.filters.board}/."
    return text


def table(data: Insights) -> pd.DataFrame:
    """The section's rows: one per figure of the paper."""
    found = measures(data)
    return pd.DataFrame(
        {
            "measure": [f.measure for f in FIGURES],
            "Hine et al. 2017": [f.text() for f in FIGURES],
            "cited": [f.cited or "-" for f in FIGURES],
            "this data": [found[f.key].text for f in FIGURES],
            "note": [found[f.key].note for f in FIGURES],
            "checked": [f.checked for f in FIGURES],
        }
    )
