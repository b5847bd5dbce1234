"""One set of parsing rules: the rows `polit import ndjson` writes (worker processes, each
line decoded and checked once) equal the rows the crawler writes for the same bodies
(`parse_thread` + `LakeWriter`), column for column, for the shared recording's bodies, a
synthetic dataset board, and hostile bodies. Only the columns that say when and by which run
a row was written (`observed_at`, `run_id`, `seq`) differ by design."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from polit.chan.client import decode_json
from polit.chan.posts import parse_thread
from polit.crawl.writer import LakeWriter
from polit.importers.ndjson import import_ndjson
from polit.lake.stats import read_table
from polit.lake.store import Lake
from polit.replay.ndjson import dataset_threads, write_ndjson

SHARED = Path(__file__).resolve().parents[2] / "shared"
RECORDING = SHARED / "fixtures" / "pol-2023-03-27" / "20230327T095159Z" / "thread"
WHEN_COLUMNS = ("observed_at", "run_id", "seq")
BIG = 2**63
NOW = datetime(2023, 3, 27, 12, tzinfo=UTC)


def crawled_rows(lake: Lake, bodies: list[bytes]) -> list[dict[str, Any]]:
    """What the crawler writes for these bodies: parse_thread, then the crawl's writer."""
    writer = LakeWriter(lake, "pol", "crawl")
    for body in bodies:
        try:
            data, _ = decode_json(body, "")
        except ValueError:  # more digits than int() takes: the crawler's fetch gives up too
            continue
        posts = data.get("posts") if isinstance(data, dict) else None
        if not isinstance(posts, list) or not posts or not isinstance(posts[0], dict):
            continue
        op = posts[0]
        if type(op.get("no")) is not int:
            continue
        no = op["no"] if not op.get("resto") else op["resto"]
        parsed = parse_thread(data, no)
        for row in parsed.posts:
            row.update(board="pol", thread_no=no, run_id="crawl", observed_at=NOW)
        writer.add_posts(parsed.posts)
    writer.write()
    return _rows(lake)


def imported_rows(lake: Lake, bodies: list[bytes], tmp: Path) -> tuple[list[dict], int]:
    path = tmp / "in.ndjson"
    path.write_bytes(b"".join(b.rstrip(b"\n") + b"\n" for b in bodies))
    report = import_ndjson(lake, [path], "pol", workers=2, bodies_per_file=7)
    return _rows(lake), report.malformed


def _rows(lake: Lake) -> list[dict[str, Any]]:
    table = read_table(lake, "posts").drop_columns(list(WHEN_COLUMNS))
    return sorted(table.to_pylist(), key=lambda r: (r["thread_no"], r["no"], r["version"]))


def assert_same_rows(tmp_path: Path, bodies: list[bytes]) -> tuple[list[dict], int]:
    crawled = crawled_rows(Lake(str(tmp_path / "crawl")), bodies)
    imported, malformed = imported_rows(Lake(str(tmp_path / "import")), bodies, tmp_path)
    assert len(imported) == len(crawled)
    for a, b in zip(crawled, imported, strict=True):
        assert a == b, (a["thread_no"], a["no"])
    return imported, malformed


@pytest.mark.skipif(not RECORDING.is_dir(), reason="needs ../shared/fixtures")
def test_the_recordings_bodies(tmp_path):
    bodies = [p.read_bytes().replace(b"\n", b" ") for p in sorted(RECORDING.glob("*.json"))]
    rows, malformed = assert_same_rows(tmp_path, bodies)
    assert malformed == 0 and len(rows) > 5_000
    assert sum(1 for r in rows if r["quotes"]) > 1_000  # the comparison covers parsed HTML


def test_a_synthetic_dataset_board(tmp_path):
    path = tmp_path / "gen.ndjson"
    write_ndjson(dataset_threads(4_000, seed=3), path)
    rows, malformed = assert_same_rows(tmp_path, path.read_bytes().splitlines())
    assert malformed == 0 and len(rows) >= 4_000
    assert sum(1 for r in rows if r["toxicity"] is not None) > 1_000
    assert all(r["extra"] and "entities" in r["extra"] for r in rows)


def post(no: int, resto: int, **fields: Any) -> dict[str, Any]:
    return {"no": no, "resto": resto, "time": 1679900000 + no, "com": f"post {no}", **fields}


HOSTILE_HTML = (
    '<a href="#p11" class="quotelink">&gt;&gt;11</a><br>'
    '<span class="deadlink">&gt;&gt;9</span> &amp;lt; &#x1F600; &#99999999999999; '
    "&notit; &ETH &copy <script>alert(1)</script>"
    '<span class="quote">&gt;green<span class="quote">&gt;nested</span></span> '
    "https://x.example/a_(b)), ok"
)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()  # integers beyond 64 bits too (orjson refuses them)


def hostile_bodies() -> list[bytes]:
    bodies = [
        dumps(
            {
                "posts": [
                    post(10, 0, replies=3, toxicity=0.9, foo={"a": [1, 2]}),  # named like a column
                    post(11, 10, fsize=BIG + 5, w="120", h="tall"),  # beyond int64, wrong types
                    post(12, 10, time=float(2**64), name=["x"], com=5),  # a float, a list, an int
                    {"no": BIG, "resto": 10, "com": "my number is too big"},  # the key: rejected
                    {"resto": 10, "com": "no number"},
                    "not an object",
                    post(13, 10, w=-(2**65), tail_size=10**30),
                    post(
                        14,
                        10,
                        perspectives={"TOXICITY": "high", "SPAM": 0.5, "OTHER": 0.1},
                        entities=[{"entity_text": "EU", "entity_label": "ORG"}],
                    ),
                    post(15, 10, perspectives=[0.1], com=HOSTILE_HTML),
                    post(16, 99, com="resto of another thread"),
                    post(17, 10, com="x" * 100_001),
                ],
                "extracted_poster_id": "abc",
                "posts_total": 9,
            }
        ),
        dumps({"posts": [post(20, 0, perspectives={"TOXICITY": 1e301, "INSULT": 2})]}),
        b'{"posts": [{"no": 30}], "posts": [{"no": 31, "resto": 0}]}',  # a repeated key
        b'{"posts": [{"no": 40, "resto": 0, "com": "lone \\ud800 surrogate"}]}',
        b'{"posts": [{"no": 41, "resto": 0, "com": "bad \xff utf-8", "sub": "\xc3"}]}',
        b'{"posts": [{"no": 42, "resto": 0, "time": ' + b"1" * 5000 + b"}]}",
        b'{"posts": [{"no": 43, "resto": 0, "email": "\\u0000\\u001f"}]}',
        # not thread bodies: skipped by the import, nothing for the crawler either
        b"[]",
        b'{"posts": []}',
        b'{"posts": [{"no": "44"}]}',
        b"{not json",
    ]
    return bodies


def test_hostile_bodies(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        rows, malformed = assert_same_rows(tmp_path, hostile_bodies())
    nos = {r["no"] for r in rows}
    assert {10, 11, 12, 13, 14, 15, 16, 17, 20, 31, 40, 41, 43} <= nos and BIG not in nos
    assert malformed == 5 and 42 not in nos
    where = tmp_path / "in.ndjson"
    for line, why in ((6, "invalid JSON"), (8, "not a thread body"), (11, "invalid JSON")):
        assert f"{where}:{line}: {why}" in caplog.text
