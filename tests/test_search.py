"""`polit search`: the marts' words, the query language, filters, sorting and pages, an index
that follows the warehouse incrementally, and BigQuery's SQL (compiled, parsed, never run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
import sqlglot

from polit.search import search
from polit.search.bigquery import search_index_ddl, search_sql
from polit.search.index import SearchError, index_dir, update_index
from polit.search.query import parse
from polit.warehouse.filters import Filters, parse_time
from polit.warehouse.read import DuckReader, ReadError, open_reader
from tests.helpers.built import recording_warehouse
from tests.helpers.warehouse import query

POLIT = str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "polit")
# the marts' words, computed in DuckDB: an independent count (folding accents like search)
WORDS = r"""regexp_extract_all(strip_accents(regexp_replace(regexp_replace(
    lower(concat(coalesce(subject, ''), ' ', coalesce(comment, ''))),
    '(?:https?://|www\.)\S+', ' ', 'g'), '>>\S*', ' ', 'g')), '[a-z]+(?:''[a-z]+)*')"""


def polit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([POLIT, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})  # fmt: skip


@pytest.fixture(scope="module")
def indexed(recording, tmp_path_factory) -> Path:
    """A copy of the recording's warehouse, indexed by the CLI."""
    path = tmp_path_factory.mktemp("search") / "warehouse.duckdb"
    shutil.copyfile(recording_warehouse(recording, tmp_path_factory), path)
    result = polit("search-index", "--warehouse", str(path))
    assert result.returncode == 0, result.stderr
    assert "posts searchable" in result.stdout
    return path


def hits(*args: str) -> list[dict]:
    result = polit("search", *args, "--json", "--limit", "100000")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def truth(warehouse: Path, condition: str) -> set[tuple[str, int]]:
    rows = query(warehouse, f"""
        SELECT board, post_id FROM (SELECT board, post_id, {WORDS} AS w FROM main.posts)
        WHERE {condition}""")  # fmt: skip
    return set(rows)


@pytest.mark.parametrize(
    ("search_for", "condition"),
    [("nashville", "list_contains(w, 'nashville')"),
     ("NASHVILLE", "list_contains(w, 'nashville')"),
     ('"nashville shooter"', "' ' || array_to_string(w, ' ') || ' ' LIKE '% nashville shooter %'"),
     ('"school shooting"', "' ' || array_to_string(w, ' ') || ' ' LIKE '% school shooting %'")],
)  # fmt: skip
def test_recording_hits_are_exactly_the_posts_holding_it(
    indexed: Path, search_for: str, condition: str
) -> None:
    expected = truth(indexed, condition)
    assert len(expected) >= 10  # the recording's day: the Nashville school shooting
    found = hits(search_for, "--warehouse", str(indexed))
    assert {(h["board"], h["post_id"]) for h in found} == expected
    assert len(found) == len(expected)  # each once
    assert set(found[0]) == {"board", "post_id", "thread_id", "post_datetime", "subject",
                             "comment", "url", "deleted_at", "score"}  # fmt: skip


def test_deleted_posts_are_in_unless_asked(indexed: Path) -> None:
    everything = truth(indexed, "list_contains(w, 'white')")
    deleted = {
        tuple(r)
        for r in query(
            indexed, "SELECT board, post_id FROM main.posts WHERE deleted_at IS NOT NULL"
        )
    }
    assert everything & deleted  # the test can tell
    for option, expected in (("yes", everything), ("no", everything - deleted),
                             ("only", everything & deleted)):  # fmt: skip
        found = hits("white", "--deleted", option, "--warehouse", str(indexed))
        assert {(h["board"], h["post_id"]) for h in found} == expected, option


# -- the query language, on posts made for it ---------------------------------------------
T0 = datetime(2023, 3, 27, 12, tzinfo=UTC)
POSTS = [  # post_id, subject, comment, extra
    (1, "Nashville", "a city in Tennessee", {}),
    (2, None, "I don't like NASHVILLE's weather", {"is_op": False}),
    (3, None, ">>1 see https://nashville.example.com and www.nashville.org", {}),
    (4, "Café society", "meet at the cafe", {"has_file": True}),
    (5, "school", "shooting range", {"deleted_at": T0}),
    (6, None, "a school shooting today [b]bold[/b] <script>x</script>", {"thread_id": 99}),
    (7, None, "nashvillian pride, don", {"board": "int", "country": "DE"}),
    (8, None, "tennessee titans", {}),
]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""CREATE TABLE posts (board VARCHAR, post_id BIGINT, thread_id BIGINT,
        subject VARCHAR, comment VARCHAR, post_datetime TIMESTAMPTZ, deleted_at TIMESTAMPTZ,
        country VARCHAR, flag VARCHAR, is_op BOOLEAN, has_file BOOLEAN, url VARCHAR,
        loaded_at TIMESTAMPTZ)""")  # fmt: skip
    for post_id, subject, comment, extra in POSTS:
        row = {"board": "pol", "thread_id": 1, "deleted_at": None, "country": None, "flag": None,
               "is_op": post_id == 1, "has_file": False, **extra}  # fmt: skip
        con.execute(
            "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [row["board"], post_id, row["thread_id"], subject, comment,
             T0 + timedelta(hours=post_id), row["deleted_at"], row["country"], row["flag"],
             row["is_op"], row["has_file"], f"u{post_id}", T0],
        )  # fmt: skip
    con.close()
    update_index(str(path))
    return path


def ids(warehouse: Path, text: str, filters: Filters | None = None, **kw) -> list[int]:
    reader = DuckReader(str(warehouse))
    try:
        return reader and search(reader, text, filters, **kw).table["post_id"].to_pylist()
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("nashville", {1}),  # not in URLs or quote links, not nashvillian, not nashville's
     ("Nashville", {1}), ("nashville's", {2}),
     ("nash*", {1, 2, 7}),
     ("don't", {2}), ("don", {7}),
     ("cafe", {4}), ("CAFÉ", {4}),  # accents folded
     ('"school shooting"', {5, 6}),  # subject + comment run on, like the marts' words
     ('"shooting school"', set()),
     ("school -range", {6}), ('school -"shooting range"', {6}),
     ("tennessee OR titans", {1, 8}), ("tennessee OR titans -city", {8}),
     ("nashville's OR tennessee weather", {2}),
     ("bold", {6}), ("script", {6})],
)  # fmt: skip
def test_the_query_language(small: Path, text: str, expected: set[int]) -> None:
    assert set(ids(small, text)) == expected


def test_filters_sorting_and_pages(small: Path) -> None:
    assert set(ids(small, "nash*", Filters(boards=("int",)))) == {7}
    assert set(ids(small, "nash*", Filters(countries=("de",)))) == {7}
    assert set(ids(small, "school", Filters(deleted="no"))) == {6}
    assert set(ids(small, "school", Filters(deleted="only"))) == {5}
    assert set(ids(small, "school", Filters(threads=(99,)))) == {6}
    assert set(ids(small, "nash*", Filters(op=True))) == {1}
    assert set(ids(small, "nash*", Filters(op=False))) == {2, 7}
    assert set(ids(small, "cafe", Filters(has_file=False))) == set()
    start, end = parse_time("2023-03-27T14:00"), parse_time("2023-03-27T17:00")
    assert set(ids(small, "nash* OR tennessee OR school", Filters(start=start, end=end))) == {2}
    assert ids(small, "nash* OR tennessee", sort="new") == [8, 7, 2, 1]
    assert ids(small, "nash* OR tennessee", sort="old") == [1, 2, 7, 8]
    assert ids(small, "nash* OR tennessee", sort="old", limit=2, offset=1) == [2, 7]
    assert ids(small, "tennessee titans")[0] == 8  # relevance: both words beat one


def test_the_index_follows_the_warehouse(small: Path) -> None:
    con = duckdb.connect(str(small))
    later = T0 + timedelta(hours=1)
    con.execute("UPDATE posts SET comment = 'now about memphis', loaded_at = ? WHERE post_id = 8",
                [later])  # fmt: skip
    con.execute("UPDATE posts SET deleted_at = ?, loaded_at = ? WHERE post_id = 1", [later, later])
    con.close()
    report = update_index(str(small))
    assert (report.posts, report.total, report.rebuilt) == (2, len(POSTS), False)
    assert ids(small, "memphis") == [8] and ids(small, "titans") == []
    assert ids(small, "tennessee", Filters(deleted="only")) == [1]
    assert update_index(str(small)).posts == 0  # nothing new: nothing indexed
    rebuilt = update_index(str(small), rebuild=True)
    assert (rebuilt.posts, rebuilt.total) == (len(POSTS), len(POSTS))
    assert ids(small, "memphis") == [8]


def test_text_stays_text(small: Path) -> None:
    shown = polit("search", "bold", "--warehouse", str(small))
    assert shown.returncode == 0, shown.stderr
    assert "[b]bold[/b] <script>x</script>" in shown.stdout
    assert "1 post match" in shown.stderr


def test_clear_errors(small: Path, tmp_path: Path) -> None:
    shutil.rmtree(index_dir(str(small)))
    cases = [
        (("nashville", "--warehouse", str(small)), "no search index at"),
        (("nashville", "--warehouse", str(tmp_path / "none.duckdb")), "no warehouse at"),
        (("123 >>456", "--warehouse", str(small)), "has no word to look for"),
        (("--warehouse", str(small), "--", "-nashville"), "has no word to look for"),
        (("x", "--sort", "best", "--warehouse", str(small)), "--sort is one of"),
    ]
    for args, message in cases:
        result = polit("search", *args)
        assert result.returncode == 1, args
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, args
    with pytest.raises(SearchError, match="search-index"):
        ids(small, "nashville")


def test_help_has_examples() -> None:
    for command in ("search", "search-index", "export", "sql", "docs"):
        result = polit(command, "--help")
        assert result.returncode == 0 and f"Example: polit {command}" in result.stdout


# -- BigQuery, without BigQuery ----------------------------------------------------------------
def test_bigquery_search_sql_parses_and_binds(monkeypatch) -> None:
    monkeypatch.setattr("google.cloud.bigquery.Client", lambda project=None: None)
    reader = open_reader("bigquery://proj/ds")
    ddl = search_index_ddl("proj.ds.posts")
    assert sqlglot.parse_one(ddl, dialect="bigquery") is not None
    for text in ("nashville", '"school shooting" -hoax', "nash* OR tennessee don't"):
        for sort in ("relevance", "new", "old"):
            sql, params = search_sql(reader, parse(text), Filters(boards=("pol",), deleted="no"),
                                     sort, 20, 0)  # fmt: skip
            tree = sqlglot.parse_one(sql, dialect="bigquery")
            tables = {f"{t.catalog}.{t.db}.{t.name}" for t in tree.find_all(sqlglot.exp.Table)
                      if t.db}  # fmt: skip
            assert tables == {"proj.ds.posts"}
            assert "$" not in sql
            named = {p.name for p in tree.find_all(sqlglot.exp.Parameter)} | {
                n.name for n in tree.find_all(sqlglot.exp.Placeholder)}  # fmt: skip
            assert set(params) <= named | set(params)  # every parameter is bound by name
            for name in params:
                assert f"@{name}" in sql
    sql, params = search_sql(reader, parse("nashville don't"), Filters(), "relevance", 5, 0)
    assert "SEARCH((subject, comment), @search_terms" in sql
    assert params["search_terms"] == "don t nashville"
    sql, params = search_sql(reader, parse("nash* OR memphis"), Filters(), "relevance", 5, 0)
    assert "SEARCH(" not in sql  # no word every hit must have: no prefilter


def test_transform_updates_the_index(recording, tmp_path_factory, tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(recording_warehouse(recording, tmp_path_factory), path)
    assert not index_dir(str(path)).exists()
    result = polit("transform", "--warehouse", str(path))
    assert result.returncode == 0, result.stderr
    (n,) = query(path, "SELECT count(*) FROM main.posts")[0]
    assert f"{n:,} posts searchable" in result.stdout
    assert len(hits("nashville", "--warehouse", str(path))) == len(
        truth(path, "list_contains(w, 'nashville')")
    )
    again = polit("transform", "--warehouse", str(path))  # nothing new: nothing indexed
    assert again.returncode == 0 and "0 posts indexed" in again.stdout, again.stderr


def test_huge_pages_are_safe(small: Path) -> None:
    """tantivy sizes its heap by limit + offset: both are capped at the posts indexed."""
    assert set(ids(small, "nash*", limit=10**12)) == {1, 2, 7}
    assert ids(small, "nash*", limit=10**12, offset=10**12) == []
    result = polit("search", "nash*", "--limit", str(10**12), "--offset", "1", "--json",
                   "--warehouse", str(small))  # fmt: skip
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 2, result.stderr


def test_export_takes_a_search_query(small: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from polit.export import export

    reader = DuckReader(str(small))
    try:
        out = tmp_path / "hits.parquet"
        export(reader, "posts", out, "parquet", Filters(deleted="no"), query='"school shooting"')
        assert pq.read_table(out)["post_id"].to_pylist() == [6]
        export(reader, "posts", out, "parquet", Filters(), query="zzzz")
        assert pq.read_metadata(out).num_rows == 0
        with pytest.raises(ReadError, match="export posts"):
            export(reader, "threads", out, "parquet", Filters(), query="nashville")
    finally:
        reader.close()


def test_one_writer_at_a_time(small: Path) -> None:
    from polit.search.index import SearchIndex

    index = SearchIndex(index_dir(str(small)))
    writer = index.index.writer(heap_size=20_000_000, num_threads=1)  # another update running
    try:
        result = polit("search-index", "--warehouse", str(small))
        assert result.returncode == 1 and "being updated by another process" in result.stderr
        assert ids(small, "nashville") == [1]  # searching still works meanwhile
    finally:
        writer.rollback()
        del writer


def test_a_killed_update_leaves_a_usable_index(recording, tmp_path_factory, tmp_path) -> None:
    import signal
    import time

    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(recording_warehouse(recording, tmp_path_factory), path)
    proc = subprocess.Popen([POLIT, "search-index", "--warehouse", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    time.sleep(2.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL  # killed while indexing, not done
    again = polit("search-index", "--warehouse", str(path))  # the rerun finishes the job
    assert again.returncode == 0, again.stderr
    (n,) = query(path, "SELECT count(*) FROM main.posts")[0]
    assert f"{n:,} posts searchable" in again.stdout
    expected = truth(path, "list_contains(w, 'nashville')")
    assert {
        (h["board"], h["post_id"]) for h in hits("nashville", "--warehouse", str(path))
    } == expected


def test_bigquery_search_index_is_created_once_by_search_index(monkeypatch) -> None:
    from typer.testing import CliRunner

    from polit.cli import app

    ran: list[str] = []

    class Client:
        def __init__(self, project: str | None = None) -> None:
            pass

        def query(self, sql: str) -> object:
            ran.append(sql)
            return SimpleNamespace(result=lambda: None)

        def close(self) -> None:
            pass

    monkeypatch.setattr("google.cloud.bigquery.Client", Client)
    result = CliRunner().invoke(app, ["search-index", "--warehouse", "bigquery://proj/ds"])
    assert result.exit_code == 0, result.output
    assert ran == [search_index_ddl("proj.ds.posts")]
    tree = sqlglot.parse_one(ran[0], dialect="bigquery")
    assert "IF NOT EXISTS" in ran[0] and tree is not None
