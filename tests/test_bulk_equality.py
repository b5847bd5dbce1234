"""One set of parsing rules: the rows `polit import ndjson` writes (worker processes, each
line decoded and checked once) equal the rows the crawler writes for the same bodies
(`parse_thread` + `LakeWriter`), column for column, for the shared recording's bodies, a
synthetic dataset board, and hostile bodies. Only the columns that say when and by which run
a row was written (`observed_at`, `run_id`, `seq`) differ by design.

Each line takes one of two paths (`IngestReport.bulk_threads` counts the bulk one): the
columnar bulk path, or `parse_thread` for a line that is not plain. The tests hold each line
to the path the code gives it, and a chunk mixing both to the crawler's rows in the crawler's
order (within one file the later row is the newer: `latest_posts`)."""

from __future__ import annotations

import json
import logging
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from polit.chan.client import decode_json
from polit.chan.posts import parse_thread
from polit.crawl.writer import LakeWriter
from polit.importers.ndjson import import_ndjson
from polit.importers.report import ImportReport
from polit.lake.stats import latest_posts, read_table
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


def imported_rows(
    lake: Lake, bodies: list[bytes], tmp: Path, workers: int = 2, bodies_per_file: int = 7
) -> tuple[list[dict], ImportReport]:
    path = tmp / "in.ndjson"
    path.write_bytes(b"".join(b.rstrip(b"\n") + b"\n" for b in bodies))
    report = import_ndjson(lake, [path], "pol", workers=workers, bodies_per_file=bodies_per_file)
    return _rows(lake), report


def _rows(lake: Lake, in_file_order: bool = False) -> list[dict[str, Any]]:
    table = read_table(lake, "posts").drop_columns(list(WHEN_COLUMNS))
    if in_file_order:  # one file each side: its rows as written
        assert len(lake.files("posts")) == 1
        return table.to_pylist()
    return sorted(table.to_pylist(), key=lambda r: (r["thread_no"], r["no"], r["version"]))


def assert_same_rows(tmp_path: Path, bodies: list[bytes]) -> tuple[list[dict], ImportReport]:
    crawled = crawled_rows(Lake(str(tmp_path / "crawl")), bodies)
    imported, report = imported_rows(Lake(str(tmp_path / "import")), bodies, tmp_path)
    assert len(imported) == len(crawled)
    for a, b in zip(crawled, imported, strict=True):
        assert a == b, (a["thread_no"], a["no"])
    return imported, report


@pytest.mark.skipif(not RECORDING.is_dir(), reason="needs ../shared/fixtures")
def test_the_recordings_bodies(tmp_path):
    bodies = [p.read_bytes().replace(b"\n", b" ") for p in sorted(RECORDING.glob("*.json"))]
    rows, report = assert_same_rows(tmp_path, bodies)
    assert report.malformed == 0 and len(rows) > 5_000
    assert report.bulk_threads == report.threads == len(bodies)  # every line went bulk
    assert sum(1 for r in rows if r["quotes"]) > 1_000  # the comparison covers parsed HTML


def test_a_synthetic_dataset_board(tmp_path):
    path = tmp_path / "gen.ndjson"
    write_ndjson(dataset_threads(4_000, seed=3), path)
    lines = path.read_bytes().splitlines()
    rows, report = assert_same_rows(tmp_path, lines)
    assert report.malformed == 0 and len(rows) >= 4_000
    assert report.bulk_threads == report.threads == len(lines)  # every line went bulk
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
        rows, report = assert_same_rows(tmp_path, hostile_bodies())
    nos = {r["no"] for r in rows}
    assert {10, 11, 12, 13, 14, 15, 16, 17, 20, 31, 40, 41, 43} <= nos and BIG not in nos
    assert report.malformed == 5 and 42 not in nos
    where = tmp_path / "in.ndjson"
    for line, why in ((6, "invalid JSON"), (8, "not a thread body"), (11, "invalid JSON")):
        assert f"{where}:{line}: {why}" in caplog.text


# -- which path each line takes ---------------------------------------------------------------
def body(*posts: Any, **keys: Any) -> bytes:
    return dumps({"posts": list(posts), **keys})


PLAIN = [body(post(1, 0), post(2, 1, com="&gt;&gt;1 yes")), body(post(5, 0, sub="s"))]
# Where a line goes: "bulk" (the columnar path), "line" (this line to parse_thread, the rest
# of its chunk bulk), "chunk" (Arrow's reader refuses or misreads it, so the whole chunk goes
# to parse_thread: `Plain.table` gives None) or "skipped" (not a thread body).
ROUTES = [
    ("bulk", body(post(100, 0, com=HOSTILE_HTML)), "odd HTML: parse_com inside the bulk path"),
    ("bulk", body(post(100, 0, email="\x00\x1f")), "control characters"),
    ("bulk", body(post(100, 0), extracted_poster_id="a", posts_total=1), "keys beside posts"),
    ("bulk", body(post(100, 0, entities=[{"entity_text": "EU"}], foo={"a": 1})), "unknown keys"),
    ("bulk", body(post(100, 0), post(101, 99)), "a resto naming another thread"),
    ("bulk", body(post(100, 0, perspectives={"TOXICITY": 1, "INSULT": 0.5})), "scores"),
    ("bulk", body(post(100, 0, sub=None, filename=None)), "nulls"),
    ("line", body(post(100, 0), post(101, 100, fsize=BIG + 5)), "beyond int64: _ints_fit"),
    ("line", body(post(100, 0, toxicity=0.9)), "a key named like a column: ADDED"),
    ("line", body(post(100, 0, com="x" * 100_001)), "a comment over HUGE_COMMENT"),
    ("line", body(post(100, 0, perspectives={"TOXICITY": 0.1, "X": 0.2})), "an unknown score"),
    ("line", body(post(100, 0, perspectives=[0.1])), "perspectives not an object"),
    ("line", body(post(100, 0, perspectives={"TOXICITY": None})), "a null score"),
    ("line", body(post(100, 0), {"no": 0, "resto": 100}), "a post number not above 0"),
    ("line", body(post(100, 0), {"resto": 100}), "a post without a number"),
    ("line", body(post(100, 0), "x"), "a post that is not an object"),
    ("line", b'{"posts": [{"no": 100, "resto": 0, "com": "\\ud800"}]}', "orjson: a surrogate"),
    ("line", b'{"posts": [{"no": 100, "resto": 0, "com": "\xff"}]}', "orjson: bad UTF-8"),
    ("chunk", body(post(100, 0, w="120")), "a string in an integer field"),
    ("chunk", body(post(100, 0, time=1.5)), "a float in an integer field"),
    ("chunk", body(post(100, 0, fsize=2**65)), "orjson reads beyond 64 bits as a float"),
    ("chunk", body(post(100, 0, sticky=True)), "a boolean in an integer field"),
    ("chunk", body(post(100, 0, name=["x"], com=5)), "a list, an int in string fields"),
    ("chunk", body(post(100, 0, perspectives={"TOXICITY": 1e301})), "a score of 1e300 or more"),
    ("chunk", b'{"posts": [{"no": 9}], "posts": [{"no": 100, "resto": 0}]}', "a repeated key"),
    ("chunk", b'{"posts": [{"no": 100, "resto": 0, "com": "a", "com": "b"}]}', "repeated field"),
    ("skipped", b'{"posts": [{"no": 100, "time": ' + b"1" * 5000 + b"}]}", "5,000 digits"),
    ("skipped", b'{"posts": []}', "no posts"),
    ("skipped", b'{"posts": [{"no": "100"}]}', "an OP without an integer no"),
    ("skipped", b"{not json", "not JSON"),
]
BULK_OF_THREE = {"bulk": 3, "line": 2, "chunk": 0, "skipped": 2}


def crawled_in_order(tmp: Path, lines: list[bytes]) -> list[dict[str, Any]]:
    crawled_rows(Lake(str(tmp / "crawl")), lines)
    return _rows(Lake(str(tmp / "crawl")), in_file_order=True)


@pytest.mark.parametrize(("route", "line"), [pytest.param(r, b, id=f"{r}-{why}")
                                             for r, b, why in ROUTES])  # fmt: skip
def test_each_odd_line_takes_its_path(tmp_path, route, line):
    lines = [PLAIN[0], line, PLAIN[1]]  # one chunk: the odd line between two plain ones
    lake = Lake(str(tmp_path / "import"))
    _, report = imported_rows(lake, lines, tmp_path, workers=1, bodies_per_file=10)
    assert report.bulk_threads == BULK_OF_THREE[route]
    assert report.threads == 3 - (route == "skipped") and report.malformed == (route == "skipped")
    assert _rows(lake, in_file_order=True) == crawled_in_order(tmp_path, lines)


def mixed_lines() -> tuple[list[bytes], list[bytes]]:
    """(plain lines, lines for parse_thread): a synthetic board, hostile lines, and two
    versions of one thread, one plain and one not (the later line's is the newer)."""
    plain = [dumps(b) for b in dataset_threads(300, seed=8)]
    odd = [b for r, b, _ in ROUTES if r == "line"]
    odd.append(body(post(100, 0, com="the odd version", toxicity=0.3)))  # post 100 again
    plain.append(body(post(100, 0, com="the plain version")))
    return plain, odd


def mixed_orders() -> list[Any]:
    plain, odd = mixed_lines()
    shuffled = []
    for seed in range(3):
        lines = plain + odd
        random.Random(seed).shuffle(lines)
        shuffled.append(pytest.param(lines, len(plain), id=f"shuffled-{seed}"))
    chunked = [*plain[:50], next(b for r, b, _ in ROUTES if r == "chunk"), *odd, *plain[50:]]
    interleaved = [x for pair in zip(plain, odd * 30, strict=False) for x in pair]
    return [
        pytest.param(odd + plain, len(plain), id="odd-first"),
        pytest.param(plain + odd, len(plain), id="odd-last"),
        pytest.param(interleaved, len(plain), id="interleaved"),
        *shuffled,
        pytest.param(chunked, 0, id="one-line-sends-the-chunk"),
    ]


@pytest.mark.parametrize(("lines", "bulk"), mixed_orders())
def test_a_chunk_mixing_both_paths_writes_the_crawlers_rows_in_its_order(tmp_path, lines, bulk):
    lake = Lake(str(tmp_path / "import"))
    _, report = imported_rows(lake, lines, tmp_path, workers=1, bodies_per_file=len(lines))
    assert report.threads == len(lines) and report.bulk_threads == bulk
    crawled = crawled_in_order(tmp_path, lines)
    assert _rows(lake, in_file_order=True) == crawled
    newest = latest_posts(lake).sort_by("no").to_pylist()
    assert newest == latest_posts(Lake(str(tmp_path / "crawl"))).sort_by("no").to_pylist()
