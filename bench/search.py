"""Bench `polit search` on a synthetic corpus: index build throughput (posts/s), latency
p50/p95 of a fixed query set, and the incremental update after one hour of new posts.

The corpus is a `posts` table made in DuckDB: comments of 5-60 words drawn Zipf-like from
the VADER lexicon's words (dbt/seeds/vader_lexicon.csv) and a few topic words, posts spread
evenly over `days` days (so one hour is posts / (24 * days) posts).

    PYTHONPATH=src .venv/bin/python -m bench.search --posts 1000000 --out /tmp/search-bench
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from polit.search import search
from polit.search.index import update_index
from polit.warehouse.filters import Filters
from polit.warehouse.read import DuckReader

ROOT = Path(__file__).resolve().parent.parent
QUERIES = (
    "nashville", "school shooting", '"school shooting"', "nashville -hoax", "trans*",
    "good OR bad", '"very good"', "happy sad angry", "abandon*", "nashville OR memphis",
    "love -hate", '"not bad"',
)  # fmt: skip
START = datetime(2023, 1, 1, tzinfo=UTC)


def make_posts(
    path: Path, posts: int, days: int, first_id: int = 1, hours: float | None = None
) -> None:
    """Insert `posts` synthetic posts (ids from first_id) spread over `days` days, or over
    the hour after the newest post when `hours` is given."""
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    # the words in a fixed random order (their rank sets their frequency), topic words among
    # the common ones (ranks 50, 100, …)
    con.execute(f"""CREATE TEMP TABLE IF NOT EXISTS v AS
        WITH lexicon AS (SELECT word, row_number() OVER (ORDER BY hash(word)) - 1 AS r
                         FROM read_csv('{ROOT / "dbt/seeds/vader_lexicon.csv"}')),
        topics AS (SELECT w AS word, 50 * i - 0.5 AS r FROM (SELECT unnest(['nashville',
                   'memphis', 'shooting', 'school', 'hoax', 'trans', 'tennessee', 'police']) AS w,
                   unnest(range(1, 9)) AS i))
        SELECT row_number() OVER (ORDER BY r) - 1 AS k, word
        FROM (SELECT * FROM lexicon UNION ALL SELECT * FROM topics)""")  # fmt: skip
    (size,) = con.execute("SELECT count(*) FROM v").fetchone()  # type: ignore[misc]
    span = f"INTERVAL {int(hours * 3600)} SECOND" if hours else f"INTERVAL {days} DAY"
    base = (
        "(SELECT coalesce(max(post_datetime), TIMESTAMPTZ '2023-01-01') FROM posts)"
        if hours
        else "TIMESTAMPTZ '2023-01-01'"
    )
    con.execute("""CREATE TABLE IF NOT EXISTS posts (board VARCHAR, post_id BIGINT,
        thread_id BIGINT, subject VARCHAR, comment VARCHAR, post_datetime TIMESTAMPTZ,
        deleted_at TIMESTAMPTZ, country VARCHAR, flag VARCHAR, is_op BOOLEAN, has_file BOOLEAN,
        url VARCHAR, loaded_at TIMESTAMPTZ)""")  # fmt: skip
    con.execute(f"""
        INSERT INTO posts
        WITH ids AS (SELECT {first_id} + range AS post_id, {base} AS base
                     FROM range({posts})),
        words AS (
            SELECT post_id, base, list_transform(range(5 + (hash(post_id) % 56)::INT),
                   lambda x: floor(pow(random(), 4) * {size})::BIGINT) AS ks FROM ids)
        SELECT 'pol', post_id, post_id - post_id % 300, NULL,
               (SELECT string_agg(v.word, ' ') FROM unnest(ks) AS u(k) JOIN v USING (k))
                 || CASE WHEN post_id % 20 = 0 THEN ' the school shooting in nashville' ELSE '' END,
               base + {span} * ((post_id - {first_id}) / {posts}),
               CASE WHEN post_id % 50 = 0 THEN now() END, 'US', NULL, post_id % 300 = 0,
               post_id % 3 = 0, 'u', now()
        FROM words""")  # fmt: skip
    con.close()


def measure(workdir: Path, posts: int, days: int, repeats: int) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"search-{posts}.duckdb"
    if not path.exists():
        t0 = time.perf_counter()
        make_posts(path, posts, days)
        print(f"corpus of {posts:,} posts made in {time.perf_counter() - t0:.0f}s", flush=True)
    build = update_index(str(path), rebuild=True)
    print(build.summary(), flush=True)
    reader = DuckReader(str(path))
    latencies: dict[str, list[float]] = {q: [] for q in QUERIES}
    counts = {}
    try:
        for _ in range(repeats):
            for q in QUERIES:
                for sort in ("relevance", "new"):
                    t0 = time.perf_counter()
                    result = search(reader, q, Filters(), sort=sort, limit=20)
                    latencies[q].append((time.perf_counter() - t0) * 1000)
                    counts[q] = result.total
    finally:
        reader.close()
    flat = sorted(x for v in latencies.values() for x in v)
    hour = max(1, posts // (24 * days))
    make_posts(path, hour, days, first_id=posts + 1, hours=1)
    update = update_index(str(path))
    return {
        "posts": posts, "days": days, "build_seconds": round(build.seconds, 1),
        "build_posts_per_second": round(build.posts / build.seconds),
        "queries": len(QUERIES) * 2, "repeats": repeats,
        "p50_ms": round(statistics.median(flat), 1),
        "p95_ms": round(flat[int(len(flat) * 0.95) - 1], 1),
        "max_ms": round(flat[-1], 1),
        "hits": counts,
        "hour_posts": hour, "hour_update_seconds": round(update.seconds, 2),
    }  # fmt: skip


NAME = "search"
TITLE = "Search: index build, query latency, one hour's update"
TARGETS = {"p50_ms": 100, "p95_ms": 500, "hour_update_seconds": 5}


def run(quick: bool, scratch: Path) -> dict[str, Any]:
    """The `make bench` section: 10M posts (100k with --quick, the test suite's smoke run)."""
    res = measure(scratch, 100_000 if quick else 10_000_000, 30, 5)
    met = {k: res[k] < v for k, v in TARGETS.items()}
    return {"title": TITLE, "quick": quick, **res, "targets": TARGETS, "met": met}


def markdown(res: dict[str, Any]) -> str:
    met = ", ".join(f"{k} < {v}: {'met' if res['met'][k] else 'NOT met'}"
                    for k, v in res["targets"].items())  # fmt: skip
    return "\n".join([
        f"## {res['title']}",
        "",
        f"A synthetic corpus of {res['posts']:,} posts over {res['days']} days (bench/search.py). "
        f"Index build: {res['build_seconds']:,.0f} s, {res['build_posts_per_second']:,} posts/s. "
        f"{res['queries']} queries (12 texts, relevance and newest first) x {res['repeats']}: "
        f"p50 {res['p50_ms']} ms, p95 {res['p95_ms']} ms, max {res['max_ms']} ms. One hour of "
        f"posts ({res['hour_posts']:,}) indexed incrementally in {res['hour_update_seconds']} s. "
        f"Targets: {met}.",
    ])  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--posts", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, default=Path("/tmp/polit-search-bench"))
    args = p.parse_args()
    print(json.dumps(measure(args.out, args.posts, args.days, args.repeats), indent=2))


if __name__ == "__main__":
    main()
