"""The local full-text index of a DuckDB warehouse's posts: a tantivy index in a directory
beside the warehouse file (`data/warehouse.duckdb` → `data/warehouse.search/`).

The index holds each post's words (see `query.py`) with their positions (for phrases), the
filter fields, and the post as a search shows it (`row`: ids, time, subject, comment, url,
deleted_at), so that a page of hits costs no warehouse scan. It is a copy of `posts` as of
the last update; every change of a post (a new `loaded_at`) indexes it again. A post is
indexed under its key `board/post_id`, so indexing it again replaces it.

Updates are incremental: every post whose `loaded_at` (the newest raw row merged into it)
is later than the index's cursor is indexed again, in one tantivy commit; the cursor is
written after the commit, so a crash at any moment leaves the last committed index and a
cursor no later than it, and the next update reaches the same state. `rebuild` starts
from nothing.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import tantivy

from polit.search.query import Query, Term, normalize
from polit.transform.lexicon import WORD
from polit.warehouse.base import parse_url
from polit.warehouse.filters import Filters
from polit.warehouse.read import Reader, ReadError

TOKENIZER = "polit_words"
FORMAT = 2  # bump when the words or fields change: the index is then rebuilt
META = "polit-search.json"
COLUMNS = (
    "board", "post_id", "thread_id", "subject", "comment", "post_datetime", "deleted_at",
    "country", "flag", "is_op", "has_file", "url", "loaded_at",
)  # fmt: skip
SHOWN = (
    "board", "post_id", "thread_id", "post_datetime", "subject", "comment", "url", "deleted_at",
)  # fmt: skip
HEAP_BYTES = 200_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SearchError(ReadError):
    """No index, or a query that cannot run; the message says what to do."""


def index_dir(warehouse_url: str) -> Path:
    """Where a DuckDB warehouse's index lives (BigQuery has none: it searches in place)."""
    target = parse_url(warehouse_url)
    if target.kind != "duckdb":
        raise SearchError("a BigQuery warehouse is searched in BigQuery (no local index)")
    path = Path(target.path).expanduser()
    return path.with_name(path.stem + ".search")


def schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_text_field("key", stored=True, tokenizer_name="raw")
    b.add_text_field("text", tokenizer_name=TOKENIZER, index_option="position")
    b.add_text_field("board", tokenizer_name="raw", fast=True)
    b.add_integer_field("thread_id", indexed=True, fast=True)
    b.add_integer_field("post_datetime", indexed=True, fast=True)  # µs since 1970, UTC
    b.add_integer_field("deleted", indexed=True, fast=True)  # 1 when deleted now
    b.add_integer_field("is_op", indexed=True, fast=True)
    b.add_integer_field("has_file", indexed=True, fast=True)
    b.add_text_field("country", tokenizer_name="raw")
    b.add_text_field("flag", tokenizer_name="raw")
    b.add_bytes_field("row", stored=True)  # JSON: the post as a search result shows it
    return b.build()


def _analyzer() -> tantivy.TextAnalyzer:
    # the text is normalized (lower case, folded, URLs and quote links out) before it gets
    # here, so the tokenizer is the marts' word pattern alone
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(WORD.pattern)).build()


def micros(value: datetime | None) -> int:
    if value is None:
        return 0
    return int((value - EPOCH).total_seconds() * 1_000_000)


@dataclass
class IndexReport:
    posts: int  # posts (re)indexed
    seconds: float
    total: int  # posts in the index after
    cursor: str | None
    rebuilt: bool

    def summary(self) -> str:
        what = "rebuilt" if self.rebuilt else "updated"
        rate = f", {self.posts / self.seconds:,.0f} posts/s" if self.posts and self.seconds else ""
        return (
            f"search index {what}: {self.posts:,} posts indexed in {self.seconds:.1f}s{rate}; "
            f"{self.total:,} posts searchable"
        )


class SearchIndex:
    def __init__(self, path: Path, create: bool = False) -> None:
        self.path = path
        meta = self.meta()
        if not create and (meta is None or not tantivy.Index.exists(str(path))):
            raise SearchError(
                f"no search index at {path}: run `polit search-index` (or `polit transform`) first"
            )
        if meta is not None and meta.get("format") != FORMAT:
            if not create:
                raise SearchError(f"the index at {path} is old: run `polit search-index`")
            shutil.rmtree(path)  # polit's own index (it has META) of an older format: rebuilt
        path.mkdir(parents=True, exist_ok=True)
        self.schema = schema()
        self.index = tantivy.Index(self.schema, path=str(path), reuse=True)
        self.index.register_tokenizer(TOKENIZER, _analyzer())

    def meta(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads((self.path / META).read_text()))
        except FileNotFoundError:
            return None

    def cursor(self) -> datetime | None:
        meta = self.meta()
        found = (meta or {}).get("cursor")
        return datetime.fromisoformat(found) if found else None

    def count(self) -> int:
        self.index.reload()
        return int(self.index.searcher().num_docs)

    # -- writing ---------------------------------------------------------------------------
    def update(
        self, reader: Reader, rebuild: bool = False, progress: Callable[[int], None] | None = None
    ) -> IndexReport:
        t0 = time.perf_counter()
        meta = self.meta()
        rebuild = rebuild or meta is None or meta.get("format") != FORMAT
        cursor = None if rebuild else self.cursor()
        where, params = "TRUE", dict[str, Any]()
        if cursor is not None:
            where, params = "loaded_at > $cursor", {"cursor": cursor}
        sql = reader.dialect.params(
            f"SELECT {', '.join(COLUMNS)} FROM {reader.dialect.table('posts')} WHERE {where}"
        )
        _, batches = reader.batches(sql, params, rows=20_000)
        try:
            writer = self.index.writer(heap_size=HEAP_BYTES, num_threads=1)
        except ValueError as exc:
            if "LockBusy" not in str(exc):
                raise
            raise SearchError(
                f"{self.path} is being updated by another process (polit transform or "
                "search-index?); try again when it is done"
            ) from exc
        if rebuild:
            writer.delete_all_documents()
        newest, n = cursor, 0
        for batch in batches:
            for row in batch.to_pylist():
                key = f"{row['board']}/{row['post_id']}"
                if not rebuild:
                    writer.delete_documents_by_term("key", key)
                writer.add_document(self._document(key, row))
                if newest is None or row["loaded_at"] > newest:
                    newest = row["loaded_at"]
            n += batch.num_rows
            if progress:
                progress(n)
        writer.commit()
        writer.wait_merging_threads()
        self._write_meta(newest)
        seconds, stamp = time.perf_counter() - t0, newest.isoformat() if newest else None
        return IndexReport(n, seconds, self.count(), stamp, rebuild)

    def _document(self, key: str, row: dict[str, Any]) -> tantivy.Document:
        return tantivy.Document(
            key=key,
            text=normalize(row["subject"], row["comment"]),
            board=row["board"],
            thread_id=int(row["thread_id"]),
            post_datetime=micros(row["post_datetime"]),
            deleted=int(row["deleted_at"] is not None),
            is_op=int(bool(row["is_op"])),
            has_file=int(bool(row["has_file"])),
            country=row["country"] or "",
            flag=row["flag"] or "",
            row=orjson.dumps({c: row[c] for c in SHOWN}, option=orjson.OPT_UTC_Z),
        )

    def _write_meta(self, cursor: datetime | None) -> None:
        meta = {"format": FORMAT, "cursor": cursor.isoformat() if cursor else None}
        partial = self.path / (META + ".partial")
        partial.write_text(json.dumps(meta))
        partial.replace(self.path / META)

    # -- reading ---------------------------------------------------------------------------
    def search(
        self, query: Query, filters: Filters, sort: str = "relevance", limit: int = 20,
        offset: int = 0,
    ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
        """(hits in all, the page: each hit's SHOWN fields and its score)."""
        self.index.reload()
        searcher = self.index.searcher()
        q = self._query(query, filters)
        # tantivy sizes its top-k heap by the limit: never more than there are posts
        offset = min(offset, searcher.num_docs)
        wanted = min(limit, searcher.num_docs - offset)
        limit = max(wanted, 1)
        if sort == "relevance":
            result = searcher.search(q, limit=limit, count=True, offset=offset)
        else:
            order = tantivy.Order.Desc if sort == "new" else tantivy.Order.Asc
            result = searcher.search(q, limit=limit, count=True, offset=offset,
                                     order_by_field="post_datetime", order=order)  # fmt: skip
        hits = []
        for score, address in result.hits[:wanted]:
            row = orjson.loads(bytes(searcher.doc(address)["row"][0]))
            for column in ("post_datetime", "deleted_at"):
                if row[column] is not None:
                    row[column] = datetime.fromisoformat(row[column])
            row["score"] = float(score) if sort == "relevance" else 0.0
            hits.append(row)
        return int(result.count or 0), hits  # type: ignore[attr-defined]

    def histogram(self, query: Query, filters: Filters, step_micros: int) -> dict[datetime, int]:
        """The hits of `search` counted per bucket of `post_datetime` (µs since 1970, UTC):
        tantivy aggregates the fast field, no hit is read."""
        self.index.reload()
        hist = {"field": "post_datetime", "interval": step_micros, "min_doc_count": 1}
        agg = {"by_time": {"histogram": hist}}
        found = self.index.searcher().aggregate(self._query(query, filters), agg)
        counts = {}
        for bucket in found["by_time"]["buckets"]:
            if bucket["doc_count"]:
                at = EPOCH + timedelta(microseconds=int(bucket["key"]))
                counts[at] = int(bucket["doc_count"])
        return counts

    def _term(self, term: Term) -> tantivy.Query:
        s = self.schema
        if len(term.words) == 1:
            if term.prefix:
                return tantivy.Query.regex_query(s, "text", _escape(term.words[0]) + "[a-z']*")
            return tantivy.Query.term_query(s, "text", term.words[0])
        if term.prefix:
            return tantivy.Query.phrase_prefix_query(s, "text", list(term.words))
        return tantivy.Query.phrase_query(s, "text", list(term.words))

    def _query(self, query: Query, f: Filters) -> tantivy.Query:
        must, s = tantivy.Occur.Must, self.schema
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for group in query.groups:
            if len(group) == 1:
                clauses.append((must, self._term(group[0])))
            else:
                either = [(tantivy.Occur.Should, self._term(t)) for t in group]
                clauses.append((must, tantivy.Query.boolean_query(either)))
        for term in query.excluded:
            clauses.append((tantivy.Occur.MustNot, self._term(term)))

        def one_of(field: str, values: list[Any]) -> None:
            if values:
                clauses.append((must, tantivy.Query.term_set_query(s, field, values)))

        one_of("board", [b.strip("/") for b in f.boards])
        one_of("thread_id", [int(t) for t in f.threads])
        one_of("country", [c.upper() for c in f.countries])
        one_of("flag", list(f.flags))
        if f.start or f.end:
            clauses.append((must, tantivy.Query.range_query(
                s, "post_datetime", tantivy.FieldType.Integer,
                lower_bound=micros(f.start) if f.start else None,
                upper_bound=micros(f.end) - 1 if f.end else None,
            )))  # fmt: skip
        for field, wanted in (("deleted", {"no": 0, "only": 1}.get(f.deleted)),
                              ("is_op", f.op), ("has_file", f.has_file)):  # fmt: skip
            if wanted is not None:
                clauses.append((must, tantivy.Query.term_query(s, field, int(wanted))))
        return tantivy.Query.boolean_query(clauses)


def _escape(word: str) -> str:
    return "".join(c if c.isalpha() else "\\" + c for c in word)


def update_index(
    warehouse_url: str, rebuild: bool = False, progress: Callable[[int], None] | None = None
) -> IndexReport:
    """Bring a DuckDB warehouse's index up to date (create it the first time)."""
    from polit.warehouse.read import open_reader

    index = SearchIndex(index_dir(warehouse_url), create=True)
    reader = open_reader(warehouse_url)
    try:
        if "posts" not in reader.tables():
            raise SearchError(f"{warehouse_url} has no posts: run `polit transform` first")
        return index.update(reader, rebuild=rebuild, progress=progress)
    finally:
        reader.close()
