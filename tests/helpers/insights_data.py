"""A warehouse with the insight marts for the dashboard and report tests, built through the
real pipeline: a synthetic /pol/ (`polit replay simulate`: flags, files, links, quotes;
the shared recording has no flags) and a small hand-made /int/ whose posts carry hostile
text, each crawled from a replay server into one lake, then `load` and `transform`.

On /int/, the OP's subject and two comments hold markup and a `javascript:` link, ten
posts quote them (so they are the most quoted posts), and the same file (one md5) is
posted twice under a hostile name (so it is a repeated image). It also has what makes
charts lie or labels overflow: an old sticky (2017) whose OP has no subject, long country
and meme flag names, and long link domains."""

from __future__ import annotations

from pathlib import Path

from polit.lake.store import Lake
from polit.replay.simulate import simulate
from polit.transform import transform
from polit.warehouse import load_lake
from polit.warehouse.duck import DuckWarehouse
from tests.helpers.replay_helpers import post, replay_crawl, write_recording

HOSTILE_BOARD = "int"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
JS_LINK = "javascript:window.__xss=1"
OP, SECOND = 1000, 1001
T0 = 1679871600  # 2023-03-26T23:00Z, before the recording's snapshots (hourly from 00:00)
MD5 = "aG9zdGlsZWhvc3RpbGUxMg=="
STICKY = 900
STICKY_TIME = 1500000000  # 2017-07-14
STICKY_TEXT = "Welcome to /int/.\n\nRead   the rules before posting."
LONG_COUNTRY = "Saint Vincent and the Grenadines"
LONG_FLAG = "White Supremacist"
LONG_DOMAINS = ("files.catbox.moe", "a-rather-long-subdomain.of-some-news-site.example.co.uk")


def _escaped(text: str) -> str:
    """How the API sends what a poster typed: HTML-escaped."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _quote(no: int) -> str:
    return f'<a href="#p{no}" class="quotelink">&gt;&gt;{no}</a>'


def hostile_posts(upto: int) -> list[dict]:
    """The /int/ thread as served: hostile OP and second post, then quoting replies."""
    file = {"tim": 1679900000123, "ext": ".jpg", "md5": MD5, "fsize": 1234, "w": 10, "h": 10}
    posts = [
        post(OP, sub=SCRIPT, com=_escaped(IMG), time=T0, country="US",
             country_name="United States", filename=IMG, **file),
        post(SECOND, OP, time=T0 + 60, country="DE", country_name="Germany",
             com=f'{_escaped(SCRIPT)} <a href="{JS_LINK}">{JS_LINK}</a> {JS_LINK}',
             filename=SCRIPT, **file | {"tim": 1679900000456}),
    ]  # fmt: skip
    for i in range(10):
        no = 1002 + i
        target = OP if i % 2 == 0 else SECOND
        country = ("GB", "United Kingdom") if i % 2 else ("VC", LONG_COUNTRY)
        posts.append(
            post(no, OP, time=T0 + 120 + 600 * i, country=country[0], country_name=country[1],
                 board_flag="WP", flag_name=LONG_FLAG,
                 com=f"{_quote(target)}<br>{_quote(SECOND if target == OP else OP)}<br>"
                 f"reply number {i} about the thread https://example.com/page{i} "
                 f"https://{LONG_DOMAINS[i % 2]}/x{i}")
        )  # fmt: skip
    return [p for p in posts if p["no"] <= upto]


def sticky_posts() -> list[dict]:
    """An old sticky: its OP has no subject, only a comment (as served: HTML)."""
    com = _escaped(STICKY_TEXT).replace("\n", "<br>")
    return [post(STICKY, time=STICKY_TIME, sticky=1, closed=1, com=com)]


def hostile_recording(out: Path) -> Path:
    """Three snapshots: the thread growing, so the crawl sees it change; the sticky stays."""
    snapshots = [{STICKY: sticky_posts(), OP: hostile_posts(upto)} for upto in (1003, 1007, 1011)]
    return write_recording(out, snapshots, board=HOSTILE_BOARD)


def build_warehouse(work: Path) -> Path:
    """Both boards crawled into one lake, loaded into a new DuckDB file and transformed;
    returns the file."""
    lake = work / "lake"
    simulate(work / "pol-recording", hours=9, seed=5, posts_per_hour=1500, cadence_minutes=30)
    # nine hours: reply shares count posts six hours old (marts.ANSWER_HOURS)
    # timed by the replay's Date headers: deletions and archivings fall in the posts' hours
    replay_crawl(work / "pol-recording", lake)
    replay_crawl(hostile_recording(work / "int-recording"), lake)
    path = work / "warehouse.duckdb"
    wh = DuckWarehouse(str(path))
    try:
        load_lake(Lake(str(lake)), wh)
    finally:
        wh.close()
    transform(str(path), workdir=work / "dbt", quiet=True)
    return path
