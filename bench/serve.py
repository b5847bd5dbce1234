"""Bench `polit serve`: latency of `/pol/thread/{no}.json` for 300-post threads, through the
app (starlette's TestClient: routing, the read, JSON, gzip) over a synthetic DuckDB warehouse.

The warehouse has the tables the API reads (`raw.posts` with its real columns, `posts`,
`threads`), with threads interleaved as on a live board: 150 threads at a time, each of 300
posts, their posts mixed in post-number order (so a thread's rows spread over 45,000 rows,
as a real thread's spread over its lifetime).

    PYTHONPATH=src .venv/bin/python -m bench.serve --posts 1000000 --out /tmp/serve-bench
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb

from polit.warehouse.duck import DuckWarehouse

PER_THREAD = 300
AT_ONCE = 150  # threads alive at once
BLOCK = PER_THREAD * AT_ONCE


def make_warehouse(path: Path, posts: int) -> None:
    DuckWarehouse(str(path)).close()  # raw.posts and raw.threads with the lake's columns
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    # post i (0-based): block b = i // BLOCK; j = i % BLOCK; its thread's OP is post
    # b * BLOCK + j % AT_ONCE; post numbers start at 1
    con.execute(f"""INSERT INTO raw.posts (board, "no", thread_no, observed_at, run_id, seq,
            resto, "time", now, "name", com, "id", country, _file, _loaded_at)
        SELECT 'pol', i + 1, (i // {BLOCK}) * {BLOCK} + (i % {BLOCK}) % {AT_ONCE} + 1,
            TIMESTAMPTZ '2023-03-27' + to_seconds(i), 'bench', i,
            CASE WHEN (i % {BLOCK}) < {AT_ONCE} THEN 0
                 ELSE (i // {BLOCK}) * {BLOCK} + (i % {BLOCK}) % {AT_ONCE} + 1 END,
            1679875200 + i, '03/27/23(Mon)00:00:00', 'Anonymous',
            'post ' || i || ' &gt;&gt;' || (i - 1) || '<br>some words of a comment, '
                || repeat('and more ', (i % 20)::INT),
            substr(md5(i::VARCHAR), 1, 8), 'US', 'bench.parquet',
            TIMESTAMPTZ '2023-03-28'
        FROM range({posts}) AS t(i)""")
    con.execute("""CREATE TABLE main.posts AS SELECT board, "no" AS post_id,
            thread_no AS thread_id, CAST(NULL AS TIMESTAMPTZ) AS deleted_at, seq AS seen_seq
        FROM raw.posts ORDER BY board, "no" """)
    con.execute("""CREATE TABLE main.threads AS SELECT board, thread_no AS thread_id,
            false AS is_archived, false AS is_deleted, max(_loaded_at) AS loaded_at,
            max(observed_at) AS last_modified_at, 1 AS page, count(*) - 1 AS replies,
            0 AS images, max(observed_at) AS last_post_at
        FROM raw.posts GROUP BY ALL ORDER BY board, thread_id""")
    con.close()


def measure(scratch: Path, posts: int, requests: int) -> dict[str, Any]:
    from starlette.testclient import TestClient

    from polit.serve.app import create_app

    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / "warehouse.duckdb"
    path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    make_warehouse(path, posts)
    built = time.perf_counter() - t0
    full = [
        no
        for (no,) in duckdb.connect(str(path), read_only=True)
        .execute(f"SELECT thread_id FROM main.threads WHERE replies = {PER_THREAD - 1}")
        .fetchall()
    ]
    picks = random.Random(7).choices(full, k=requests)
    latencies = []
    with TestClient(create_app(str(path), rate=0)) as client:
        client.get(f"/pol/thread/{picks[0]}.json")  # the first use opens the file
        for no in picks:
            t = time.perf_counter()
            r = client.get(f"/pol/thread/{no}.json", headers={"Accept-Encoding": "gzip"})
            latencies.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200 and len(r.json()["posts"]) == PER_THREAD
    flat = sorted(latencies)
    return {
        "posts": posts,
        "threads_of_300": len(full),
        "build_seconds": round(built, 1),
        "requests": requests,
        "p50_ms": round(statistics.median(flat), 1),
        "p95_ms": round(flat[int(len(flat) * 0.95) - 1], 1),
        "max_ms": round(flat[-1], 1),
    }


NAME = "serve"
TITLE = "Serve: thread JSON of a 300-post thread"
TARGETS = {"p95_ms": 50}


def run(quick: bool, scratch: Path) -> dict[str, Any]:
    """The `make bench` section: 10M posts (100k with --quick, the test suite's smoke run)."""
    res = measure(scratch, 100_000 if quick else 10_000_000, 40 if quick else 200)
    met = {k: res[k] < v for k, v in TARGETS.items()}
    return {"title": TITLE, "quick": quick, **res, "targets": TARGETS, "met": met}


def markdown(res: dict[str, Any]) -> str:
    met = ", ".join(
        f"{k} < {v}: {'met' if res['met'][k] else 'NOT met'}" for k, v in res["targets"].items()
    )
    return "\n".join(
        [
            f"## {res['title']}",
            "",
            f"A synthetic warehouse of {res['posts']:,} posts (bench/serve.py: 150 threads of 300 "
            f"posts alive at once, interleaved), built in {res['build_seconds']:,.0f} s. "
            f"{res['requests']} requests of `/pol/thread/{{no}}.json` (gzip) for random 300-post "
            f"threads through the app: p50 {res['p50_ms']} ms, p95 {res['p95_ms']} ms, max "
            f"{res['max_ms']} ms. Targets: {met}.",
        ]
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--posts", type=int, default=1_000_000)
    p.add_argument("--requests", type=int, default=100)
    p.add_argument("--out", type=Path, default=Path("/tmp/polit-serve-bench"))
    args = p.parse_args()
    print(json.dumps(measure(args.out, args.posts, args.requests), indent=2))


if __name__ == "__main__":
    main()
