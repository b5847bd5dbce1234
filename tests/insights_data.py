"""A warehouse with the insight marts for the dashboard and report tests, built through the
real pipeline: a synthetic /pol/ (`polit replay simulate`: flags, files, links, quotes;
the shared recording has no flags) and a small hand-made /int/ whose posts carry hostile
text, each crawled from a replay server into one lake, then `load` and `transform`.

On /int/, the OP's subject and two comments hold markup and a `javascript:` link, ten
posts quote them (so they are the most quoted posts), and the same file (one md5) is
posted twice under a hostile name (so it is a repeated image)."""

from __future__ import annotations

from pathlib import Path

from polit.lake.store import Lake
from polit.replay.simulate import simulate
from polit.transform import transform
from polit.warehouse import load_lake
from polit.warehouse.duck import DuckWarehouse
from tests.replay_helpers import post, replay_crawl, write_recording

HOSTILE_BOARD = "int"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
JS_LINK = "javascript:window.__xss=1"
OP, SECOND = 1000, 1001
T0 = 1679871600  # 2023-03-26T23:00Z, before the recording's snapshots (hourly from 00:00)
MD5 = "aG9zdGlsZWhvc3RpbGUxMg=="


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
        posts.append(
            post(no, OP, time=T0 + 120 + 600 * i, country="GB", country_name="United Kingdom",
                 com=f"{_quote(target)}<br>{_quote(SECOND if target == OP else OP)}<br>"
                 f"reply number {i} about the thread https://example.com/page{i}")
        )  # fmt: skip
    return [p for p in posts if p["no"] <= upto]


def hostile_recording(out: Path) -> Path:
    """Three snapshots: the thread growing, so the crawl sees it change."""
    snapshots = [{OP: hostile_posts(upto)} for upto in (1003, 1007, 1011)]
    return write_recording(out, snapshots, board=HOSTILE_BOARD)


def build_warehouse(work: Path) -> Path:
    """Both boards crawled into one lake, loaded into a new DuckDB file and transformed;
    returns the file."""
    lake = work / "lake"
    simulate(work / "pol-recording", hours=3, seed=5, posts_per_hour=3000, cadence_minutes=20)
    # on the replayed boards' clocks (like `polit demo`): deletions and archivings are dated
    # in the same hours as the posts
    replay_crawl(work / "pol-recording", lake, board_clock=True)
    replay_crawl(hostile_recording(work / "int-recording"), lake, board_clock=True)
    path = work / "warehouse.duckdb"
    wh = DuckWarehouse(str(path))
    try:
        load_lake(Lake(str(lake)), wh)
    finally:
        wh.close()
    transform(str(path), workdir=work / "dbt", quiet=True)
    return path
