"""`polit sql`, `export`, `search`, `search-index` and `docs`: getting data out of the
warehouse, read-only."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from polit.cli.base import WarehouseUrl, err, fail, out, read_errors, settings, verbosity

app = typer.Typer()

if TYPE_CHECKING:
    import pyarrow as pa


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="One SELECT (or WITH …, DESCRIBE, SHOW) query.")],
    warehouse: WarehouseUrl = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV with a header line.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per row.")] = False,
) -> None:
    """Query the warehouse read-only and print the result (a table, CSV or JSON lines).

    Tables: posts, threads and the insight marts (`polit sql "show tables"`).
    Statements that would change anything are refused. Results are streamed: CSV
    and JSON work for any size.

    Example: polit sql "select board, count(*) from posts group by 1" --csv
    """
    from polit.export import write_csv, write_ndjson
    from polit.warehouse.read import open_reader

    if as_csv and as_json:
        fail("choose one of --csv and --json")
    s = settings(warehouse=warehouse)
    with read_errors():
        reader = open_reader(s.warehouse)
        try:
            reader.check_read_only(query)
            schema, batches = reader.batches(query)
            if as_csv:
                write_csv(schema, batches, sys.stdout.buffer)
            elif as_json:
                write_ndjson(batches, sys.stdout.buffer)
            else:
                _print_table(schema, batches)
        finally:
            reader.close()


def _print_table(schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> None:
    from rich.table import Table

    table = Table(*schema.names, show_lines=False)
    rows = 0
    for batch in batches:
        for row in batch.to_pylist():
            # Text(), not a str: post text is never read as rich markup
            table.add_row(*(Text("" if v is None else str(v)) for v in row.values()))
            rows += 1
    out.print(table)
    out.print(Text(f"{rows:,} row{'s' if rows != 1 else ''}", style="dim"))


Board = Annotated[list[str] | None, typer.Option("--board", "-b", help="Board; repeatable.")]
From = Annotated[
    str | None, typer.Option("--from", help="From this day (YYYY-MM-DD) or time, UTC, included.")
]
To = Annotated[
    str | None, typer.Option("--to", help="To this day (included) or time (excluded), UTC.")
]
Thread = Annotated[list[int] | None, typer.Option("--thread", help="Thread number; repeatable.")]
Country = Annotated[
    list[str] | None, typer.Option("--country", help="Country code (US, DE …); repeatable.")
]
Flag = Annotated[list[str] | None, typer.Option("--flag", help="Board flag code; repeatable.")]
Deleted = Annotated[
    str, typer.Option("--deleted", help="Deleted posts: yes (included), no, or only.")
]
Op = Annotated[str | None, typer.Option("--op", help="yes: only OPs; no: only replies.")]
HasFile = Annotated[
    str | None, typer.Option("--has-file", help="yes: only posts with a file; no: without.")
]


def _filters(
    board: list[str] | None,
    first: str | None,
    last: str | None,
    thread: list[int] | None,
    country: list[str] | None,
    flag: list[str] | None,
    deleted: str,
    op: str | None,
    has_file: str | None,
) -> Any:
    from polit.warehouse.filters import Filters, parse_time, yes_no

    return Filters(
        boards=tuple(board or ()),
        start=parse_time(first) if first else None,
        end=parse_time(last, end=True) if last else None,
        threads=tuple(thread or ()),
        countries=tuple(country or ()),
        flags=tuple(flag or ()),
        deleted=deleted,
        op=yes_no(op, "--op"),
        has_file=yes_no(has_file, "--has-file"),
    )


@app.command()
def export(
    table: Annotated[str, typer.Argument(help="posts, threads or a mart (e.g. terms_daily).")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="parquet, csv or ndjson.")] = "parquet",
    warehouse: WarehouseUrl = None,
    board: Board = None,
    first: From = None,
    last: To = None,
    thread: Thread = None,
    country: Country = None,
    flag: Flag = None,
    deleted: Deleted = "yes",
    op: Op = None,
    has_file: HasFile = None,
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="Only the posts a search for this finds (posts)."),
    ] = None,
    pseudonymize: Annotated[
        bool,
        typer.Option(
            "--pseudonymize",
            help="Poster ids, names and tripcodes as keyed HMACs (key: POLIT_PSEUDONYM_KEY); "
            "emails dropped.",
        ),
    ] = False,
) -> None:
    """Write posts, threads or a mart to a Parquet, CSV or NDJSON file.

    One row per post (posts), per thread (threads) or per mart row, streamed in
    constant memory. The filters apply where the table has the column
    (--from/--to: post_datetime, created_at, hour or day). The file appears
    whole when done, never half-written.

    Example: polit export posts --board pol --from 2023-03-27 --format csv --out pol.csv
    """
    from rich.progress import Progress

    from polit.export import export as run_export
    from polit.export import pseudonym_key
    from polit.warehouse.read import open_reader

    s = settings(warehouse=warehouse)
    with read_errors():
        filters = _filters(board, first, last, thread, country, flag, deleted, op, has_file)
        key = pseudonym_key() if pseudonymize else None
        reader = open_reader(s.warehouse)
        try:
            with Progress(console=err, transient=True) as progress:
                task = progress.add_task(f"exporting {table}", total=None)

                def tick(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                result = run_export(
                    reader, table, out_path, fmt, filters, key, tick, query=query or ""
                )
        finally:
            reader.close()
    out.print(
        Text(f"wrote {result.rows:,} rows of {table} to {result.path} "
             f"({result.bytes / 1e6:,.1f} MB)"), soft_wrap=True,
    )  # fmt: skip


def trend_grain(value: str | None) -> str | None:
    """`--trend`: hour or day, else a usage error (exit 2, one line) before anything opens."""
    if value is not None and value not in ("hour", "day"):
        fail(f"--trend is hour or day, not {value!r}", 2)
    return value


@app.command()
def search(
    query: Annotated[
        str, typer.Argument(help='Words, "a phrase", a OR b, -word, prefix*.', show_default=False)
    ],
    warehouse: WarehouseUrl = None,
    board: Board = None,
    first: From = None,
    last: To = None,
    thread: Thread = None,
    country: Country = None,
    flag: Flag = None,
    deleted: Deleted = "yes",
    op: Op = None,
    has_file: HasFile = None,
    sort: Annotated[str, typer.Option(help="relevance, new (newest first) or old.")] = "relevance",
    limit: Annotated[int, typer.Option(help="Posts to show.", min=0)] = 20,
    offset: Annotated[int, typer.Option(help="Posts to skip first (the next page).", min=0)] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per post (board, post_id, … score).")
    ] = False,
    trend: Annotated[
        str | None,
        typer.Option(
            "--trend",
            help="hour or day: matching posts per bucket and their share of all posts, "
            "instead of the posts; comma-separated queries are compared.",
            callback=trend_grain,
        ),
    ] = None,
) -> None:
    """Search the subject and comment of posts, deleted ones included (--deleted no).

    All words must appear; "a phrase" its words in a row; a OR b either; -word
    excludes; nash* is a prefix. Case and accents do not matter; a word is
    letters with inner apostrophes, as in the term marts. Locally the index
    (beside the DuckDB file) is updated by `polit transform`; `polit search-
    index` updates or rebuilds it.

    --trend hour|day counts the matches per hour or day instead, with all posts
    the filters let through (the share's denominator), over their whole span.

    Example: polit search '"school shooting" nashville -hoax' --board pol --sort new --json

    Example: polit search 'google, skype' --board pol --trend day --json
    """
    from polit.search import search as run_search
    from polit.warehouse.read import open_reader

    s = settings(warehouse=warehouse)
    if trend is not None:
        args = (board, first, last, thread, country, flag, deleted, op, has_file)
        _print_trend(s.warehouse, query, trend, as_json, args)
        return
    with read_errors():
        filters = _filters(board, first, last, thread, country, flag, deleted, op, has_file)
        reader = open_reader(s.warehouse)
        try:
            result = run_search(reader, query, filters, sort, limit, offset)
        finally:
            reader.close()
    if as_json:
        from polit.export import write_ndjson

        write_ndjson(result.table.to_batches(), sys.stdout.buffer)
    else:
        _print_hits(result.table)
    shown = result.table.num_rows
    span = f"; {offset + 1:,}-{offset + shown:,} shown" if shown else ""
    err.print(
        Text(f"{result.total:,} post{'s' if result.total != 1 else ''} match{span}"), soft_wrap=True
    )


def _print_trend(warehouse: str, query: str, grain: str, as_json: bool, args: tuple) -> None:
    from polit.search.trend import trend
    from polit.warehouse.read import open_reader

    with read_errors():
        filters = _filters(*args)
        reader = open_reader(warehouse)
        try:
            points = trend(reader, query, filters, grain)
        finally:
            reader.close()
    if as_json:
        import pyarrow as pa

        from polit.export import write_ndjson

        table = pa.Table.from_pylist([p.row() for p in points])
        write_ndjson(table.to_batches(), sys.stdout.buffer)
        return
    from rich.table import Table

    shown = Table("query", f"{grain} (UTC)", "matches", "posts", "share")
    for p in points:
        share = "-" if p.share is None else f"{p.share:.2%}"
        when = p.bucket.strftime("%Y-%m-%d %H:00" if grain == "hour" else "%Y-%m-%d")
        shown.add_row(Text(p.query), when, f"{p.matches:,}", f"{p.posts:,}", share)
    out.print(shown)


def _print_hits(table: pa.Table) -> None:
    for row in table.to_pylist():
        head = f"/{row['board']}/ {row['post_id']}  {row['post_datetime']:%Y-%m-%d %H:%M}"
        if row["deleted_at"] is not None:
            head += "  (deleted)"
        out.print(Text(head, style="bold"), Text(row["url"] or "", style="dim"), soft_wrap=True)
        body = " ".join(filter(None, (row["subject"], row["comment"])))
        out.print(Text(body[:400] + ("…" if len(body) > 400 else "")), "")


def update_search_index(warehouse: str) -> None:
    """After `polit transform`: the local index catches up with the posts (a failure is
    reported, and `polit search-index` retries; the transform itself stands)."""
    from polit.search.index import update_index
    from polit.warehouse.base import WarehouseError, parse_url

    if parse_url(warehouse).kind != "duckdb":
        return  # BigQuery keeps its search index current by itself
    try:
        report = update_index(warehouse)
    except (WarehouseError, OSError, ValueError) as exc:
        err.print(
            Text(f"warning: search index not updated ({exc}); run `polit search-index`"),
            style="yellow", soft_wrap=True,
        )  # fmt: skip
        return
    if verbosity() >= 0:  # -q: only errors
        out.print(Text(report.summary()), soft_wrap=True)


@app.command("search-index")
def search_index(
    warehouse: WarehouseUrl = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Index every post again, from nothing.")
    ] = False,
) -> None:
    """Bring the search index up to date with the warehouse's posts.

    `polit transform` does this after every run. Posts changed since the last
    update are indexed again; --rebuild starts from nothing. On BigQuery it
    creates the search index on posts once (BigQuery keeps it current).

    Example: polit search-index --warehouse ./data/warehouse.duckdb --rebuild
    """
    from rich.progress import Progress

    from polit.search.index import update_index
    from polit.warehouse.base import parse_url

    s = settings(warehouse=warehouse)
    with read_errors():
        target = parse_url(s.warehouse)
    if target.kind == "bigquery":
        from polit.search.bigquery import create_search_index

        create_search_index(target.project, target.dataset, s.bigquery_location)
        out.print(Text(f"search index ready on {target.project}.{target.dataset}.posts "
                       "(BigQuery keeps it current)"), soft_wrap=True)  # fmt: skip
        return
    with read_errors(), Progress(console=err, transient=True) as progress:
        task = progress.add_task("indexing posts", total=None)
        report = update_index(
            s.warehouse, rebuild=rebuild, progress=lambda n: progress.update(task, completed=n)
        )
    if verbosity() >= 0:  # -q: only errors
        out.print(Text(report.summary()), soft_wrap=True)


@app.command()
def docs(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="The directory to write.")] = Path(
        "docs-site"
    ),
    warehouse: WarehouseUrl = None,
) -> None:
    """Write the data dictionary: dbt's docs site, every model and column described.

    Posts, threads and the marts, with lineage, from the dbt project and the
    warehouse. Open DIR/index.html through a web server (`python -m http.server
    -d DIR`), or DIR/static_index.html (one file) directly.

    Example: polit docs --out ./docs-site
    """
    from polit.transform.runner import DbtError, build_dir, run_dbt

    s = settings(warehouse=warehouse)
    with read_errors():
        from polit.warehouse.read import open_reader

        open_reader(s.warehouse).close()  # a clear error for a missing warehouse
    try:
        work = build_dir(s.warehouse)
        run_dbt(["docs", "generate", "--static"], s.warehouse, workdir=work, quiet=True)
    except DbtError as exc:
        fail(str(exc).splitlines()[0])
    import shutil

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("index.html", "static_index.html", "manifest.json", "catalog.json"):
        if (work / "target" / name).is_file():
            shutil.copyfile(work / "target" / name, out_dir / name)
            written.append(name)
    out.print(Text(f"wrote {', '.join(written)} to {out_dir}"), soft_wrap=True)
