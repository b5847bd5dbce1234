"""`polit report`: the dashboard's tiles as ONE self-contained HTML file, to share without a
server. The dashboard's default (static) view shows the same fragment (`insights_html`).

No JavaScript and no external resources: each chart is rendered to SVG by vl-convert and
embedded as a `data:` image (an SVG in an <img> never runs scripts or loads anything),
tables are HTML with every cell escaped, and a Content-Security-Policy allows nothing
but inline styles and `data:` images, so even a mistake here could not run code.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from polit.insights import published
from polit.insights.marts import Insights
from polit.insights.tiles import TILES, Tile, headline

# where the report's thread links point: `polit dashboard`'s default address
DASHBOARD_URL = "http://127.0.0.1:8501/"
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CHART_WIDTH = 420
# The font the charts are drawn and measured in. vl-convert lays a chart out with its own
# text metrics; a browser then draws the SVG's text in its own "sans-serif" (DejaVu Sans on
# Linux, wider), so labels ran out of the chart ("nited Kingdom") and ticks collided. Named
# here, both use the same font; where a browser lacks it, its fallback is narrower.
CHART_FONT = "DejaVu Sans"
# The report page itself.
PAGE_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1400px;
       padding: 1em 2em; color: #222; }
h1 { margin-bottom: 0.2em; }
.meta { color: #666; }
footer { color: #999; margin: 2em 0 1em; font-size: 12px; }
"""
# The tiles, scoped to `.polit` so that the dashboard can show the same fragment inside its
# own page without restyling it.
TILES_STYLE = """
.polit { color: #222; }
.polit h2 { margin: 0 0 0.2em; font-size: 1.2em; }
.polit .caption { color: #666; }
.polit .headline { display: flex; gap: 2em; margin: 1em 0; }
.polit .headline div { font-size: 1.5em; }
.polit .headline span { display: block; color: #666; font-size: 0.6em; }
.polit .tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr));
                gap: 1em; }
.polit .tile { border: 1px solid #ddd; border-radius: 8px; padding: 1em; overflow: hidden; }
.polit .charts { display: flex; flex-wrap: wrap; gap: 0.5em; }
.polit .empty { color: #999; font-style: italic; }
.polit .table { overflow-x: auto; }
.polit .published { margin-top: 1em; }
.polit table { border-collapse: collapse; font-size: 12px; margin-top: 0.5em; width: 100%; }
.polit th, .polit td { border-bottom: 1px solid #eee; padding: 2px 6px; text-align: left;
                       vertical-align: top; }
.polit td { max-width: 32em; overflow-wrap: break-word; white-space: pre-wrap; }
.polit td.n { white-space: nowrap; text-align: right; }
"""


def chart_svg(chart: alt.Chart | alt.LayerChart, width: int = CHART_WIDTH) -> str:
    """A chart as SVG text (vl-convert: Vega in an embedded JS engine; no browser, no network)."""
    import vl_convert

    fitted = alt.AutoSizeParams(type="fit", contains="padding")  # like in the dashboard
    spec = chart.properties(width=width, autosize=fitted).to_dict()
    return str(vl_convert.vegalite_to_svg(spec, config={"font": CHART_FONT}))


def svg_image(svg: str, alt_text: str) -> str:
    data = base64.b64encode(svg.encode()).decode()
    return f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(alt_text)}">'


def table_html(
    df: pd.DataFrame, href: Callable[[str, dict[str, object]], str | None] | None = None
) -> str:
    """Every header and cell escaped: text from posts stays text. `href(column, row)`: a
    cell's link (its URL is escaped too), or None."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    # numbers and times never wrap
    kinds = [
        ' class="n"' if pd.api.types.is_numeric_dtype(df[c]) or "(UTC)" in str(c) else ""
        for c in df.columns
    ]

    def cell(column: str, value: object, row: dict[str, object]) -> str:
        text = html.escape(_cell(value))
        url = href(column, row) if href is not None else None
        return f'<a href="{html.escape(url)}" target="_self">{text}</a>' if url else text

    rows = "".join(
        "<tr>"
        + "".join(
            f"<td{kind}>{cell(c, row[c], row)}</td>"
            for c, kind in zip(df.columns, kinds, strict=True)
        )
        + "</tr>"
        for row in df.to_dict("records")
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return f'<div class="table">{table}</div>'


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value)


def thread_links(board: str, base: str) -> Callable[[str, dict[str, object]], str | None]:
    """Links of a table's `thread` (the thread's page) and `post` (its place there) cells
    to the dashboard at `base` ("" in the dashboard itself: a relative link)."""
    from polit.insights.pages import thread_href

    def href(column: str, row: dict[str, object]) -> str | None:
        thread = row.get("thread")
        if column not in ("thread", "post") or not isinstance(thread, int | np.integer):
            return None
        post = row["post"] if column == "post" else None
        return thread_href(board, int(thread), int(post) if post is not None else None, base)  # type: ignore[call-overload]

    return href


def tile_html(
    tile: Tile, data: Insights, progress: Callable[[str], None], dashboard_url: str = ""
) -> str:
    parts = [
        f'<section class="tile" id="tile-{tile.name}">',
        f"<h2>{html.escape(tile.title)}</h2>",
        f'<div class="caption">{html.escape(tile.caption)}</div>',
        '<div class="charts">',
    ]
    for spec in tile.charts:
        chart = spec.build(data)
        if chart is None:
            parts.append(f'<p class="empty">{html.escape(spec.why_empty(data))}</p>')
            continue
        progress(f"chart: {tile.title}")
        parts.append(svg_image(chart_svg(chart), f"{tile.title} chart"))
    parts.append("</div>")
    for table in tile.tables:
        df = table.build(data)
        parts.append(f"<h3>{html.escape(table.title)}</h3>")
        links = thread_links(data.filters.board, dashboard_url)
        parts.append(table_html(df, links) if len(df) else '<p class="empty">none</p>')
    parts.append("</section>")
    return "\n".join(parts)


def insights_html(
    data: Insights, progress: Callable[[str], None] = lambda _: None, dashboard_url: str = ""
) -> str:
    """The headline numbers and every tile, as one HTML fragment (styled by TILES_STYLE);
    thread numbers link to their pages in the dashboard at `dashboard_url` ("": this one)."""
    numbers = "".join(
        f"<div>{html.escape(value)}<span>{html.escape(label)}</span></div>"
        for label, value in headline(data)
    )
    tiles = "\n".join(tile_html(tile, data, progress, dashboard_url) for tile in TILES)
    return f"""<div class="polit">
<div class="headline">{numbers}</div>
<div class="tiles">
{tiles}
</div>
{published_html(data)}
</div>"""


def published_html(data: Insights) -> str:
    """The section comparing the data with the published figures (published.py)."""
    return (f'<section class="tile published" id="published">'
            f"<h2>{html.escape(published.TITLE)}</h2>"
            f'<div class="caption">{html.escape(published.caption(data))}</div>'
            f"{table_html(published.table(data))}</section>")  # fmt: skip


def heading(data: Insights) -> str:
    """The board and the span the data covers: '/pol/ 2023-03-27 08:50 to 23:10 UTC'."""
    return f"/{data.filters.board}/ {data.covered_text()}"


def details(data: Insights) -> str:
    """What the span is, and the days chosen."""
    f = data.filters
    days = f"{f.first_day}" if f.days == 1 else f"{f.first_day} to {f.last_day}"
    return f"{data.covered_note()}; days chosen: {days} (UTC), by {data.grain}"


def render_report(
    data: Insights,
    source_url: str,
    progress: Callable[[str], None] = lambda _: None,
    dashboard_url: str = DASHBOARD_URL,
) -> str:
    """The whole HTML document; thread numbers link to `polit dashboard` at `dashboard_url`
    (the report has no server of its own)."""
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"polit: {heading(data)}"
    meta = f"{details(data)}; from {source_url}; generated {generated}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{PAGE_STYLE}{TILES_STYLE}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<div class="meta">{html.escape(meta)}</div>
{insights_html(data, progress, dashboard_url)}
<footer>Made by polit from the insight marts. Data from 4chan's public read-only API;
not affiliated with 4chan. Post text is shown as posted, unreviewed.</footer>
</body>
</html>
"""


def write_report(
    data: Insights,
    out: Path,
    source_url: str,
    progress: Callable[[str], None] = lambda _: None,
    dashboard_url: str = DASHBOARD_URL,
) -> int:
    """Write the report to `out` (atomically); returns its size in bytes."""
    text = render_report(data, source_url, progress, dashboard_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return len(text.encode())
