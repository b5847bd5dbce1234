"""`polit export`: a model of the warehouse (posts, threads or a mart) to Parquet, CSV or
NDJSON, one row per row of the model (posts: one per post, never the lake's observation
log), streamed in record batches so memory stays flat whatever the size.

The file appears whole or not at all: it is written next to its name and renamed at the end.

Pseudonymization replaces poster ids, names and tripcodes with keyed HMAC-SHA256 digests
(the key from POLIT_PSEUDONYM_KEY) and drops emails: the same value gives the same
pseudonym in every export with the same key, so exports can be joined, and without the key
nobody can test a guess.

>>> pseudonym(b"k", "poster_id", "Ab3dE9fG")
'e29fe1bc36f3b7a1'
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa

from polit.config import secret
from polit.warehouse.filters import Filters
from polit.warehouse.read import Reader, ReadError

FORMATS = ("parquet", "csv", "ndjson")
STREAM_MEMORY_MB = 400  # DuckDB's cache during an export: 10M posts peak at ~0.6 GB RSS
KEY_ENV = "POLIT_PSEUDONYM_KEY"
PSEUDONYMIZED = ("poster_id", "poster_name", "tripcode")
DROPPED = ("email",)


@dataclass
class ExportResult:
    table: str
    path: Path
    rows: int
    bytes: int


def pseudonym(key: bytes, column: str, value: str) -> str:
    """The keyed pseudonym of a value (the column name keeps ids and names apart)."""
    digest = hmac.new(key, f"{column}\x00{value}".encode(), hashlib.sha256).hexdigest()
    return digest[:16]


def pseudonym_key() -> bytes:
    key = secret(KEY_ENV)
    if not key:
        raise ReadError(
            f"--pseudonymize needs a secret key in {KEY_ENV} (e.g. `export {KEY_ENV}=$(openssl "
            "rand -hex 32)`); keep it to get the same pseudonyms in later exports"
        )
    return key.encode()


def pseudonymizer(key: bytes) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
    """Replace the identifying columns of a batch (those it has) and drop emails."""
    cache: dict[tuple[str, str], str] = {}

    def one(column: str, value: str | None) -> str | None:
        if value is None:
            return None
        found = cache.get((column, value))
        if found is None:
            if len(cache) > 1_000_000:  # keep memory flat on huge exports
                cache.clear()
            found = cache[(column, value)] = pseudonym(key, column, value)
        return found

    def apply(batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays, names = [], []
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            if name in DROPPED:
                continue
            if name in PSEUDONYMIZED:
                array = pa.array([one(name, v) for v in array.to_pylist()], pa.string())
            arrays.append(array)
            names.append(name)
        return pa.RecordBatch.from_arrays(arrays, names=names)

    return apply


def export_sql(
    reader: Reader, table: str, filters: Filters, query: str = ""
) -> tuple[str, dict[str, Any]]:
    """The query of an export: the table's rows that pass the filters, in the table's own
    order (no ORDER BY: a sort would hold the whole table in memory; DuckDB keeps the
    insertion order, so the same warehouse gives the same file).
    `query` (optional, posts only) keeps the posts a search for it finds."""
    if query and table != "posts":
        raise ReadError("--query selects posts: export posts")
    if table not in reader.tables():
        models = sorted(t for t in reader.tables() if not t.startswith(("stg_", "int_", "polit_")))
        raise ReadError(f"no table {table!r} in {reader.url}; tables: {', '.join(models)}")
    columns = reader.columns(table)
    where, params = filters.where(reader.dialect, columns)
    if query:
        from polit.search import search

        hits = search(reader, query, filters, limit=2**31 - 1).table
        keys = [
            f"{b}/{p}"
            for b, p in zip(hits["board"].to_pylist(), hits["post_id"].to_pylist(), strict=True)
        ]
        key = reader.dialect.in_list("CONCAT(board, '/', CAST(post_id AS STRING))", "hit_keys")
        where += f" AND {key}" if keys else " AND FALSE"
        params["hit_keys"] = keys
    sql = f"SELECT * FROM {reader.dialect.table(table)} WHERE {where}"
    return reader.dialect.params(sql), params


def count(reader: Reader, sql: str, params: dict[str, Any]) -> int:
    return int(reader.query(f"SELECT count(*) AS n FROM ({sql}) AS t", params)["n"].iloc[0])


def export(
    reader: Reader,
    table: str,
    out: Path,
    fmt: str,
    filters: Filters | None = None,
    key: bytes | None = None,
    progress: Callable[[int, int], None] | None = None,
    query: str = "",
) -> ExportResult:
    """Write `table` (filtered, and for posts those a search for `query` finds) to `out`;
    `key` pseudonymizes. `progress(done, total)` follows the rows written."""
    if fmt not in FORMATS:
        raise ReadError(f"--format is one of {', '.join(FORMATS)}, not {fmt!r}")
    sql, params = export_sql(reader, table, filters or Filters(), query)
    total = count(reader, sql, params) if progress else 0
    reader.limit_memory(STREAM_MEMORY_MB)
    schema, batches = reader.batches(sql, params)
    if key is not None:
        clean = pseudonymizer(key)
        schema = clean(pa.RecordBatch.from_pylist([], schema=schema)).schema
        batches = (clean(b) for b in batches)
    rows = 0

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal rows
        for batch in batches:
            rows += batch.num_rows
            if progress:
                progress(rows, total)
            yield batch

    out = out.expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with partial.open("wb") as sink:
            WRITERS[fmt](schema, counted(), sink)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return ExportResult(table, out, rows, out.stat().st_size)


def write_parquet(schema: pa.Schema, batches: Iterable[pa.RecordBatch], sink: IO[bytes]) -> None:
    import pyarrow.parquet as pq

    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)


def write_csv(schema: pa.Schema, batches: Iterable[pa.RecordBatch], sink: IO[bytes]) -> None:
    """CSV with a header; lists (quotes, links) as JSON arrays, times in ISO 8601."""
    import pyarrow.csv as pcsv

    flat = pa.schema([pa.field(f.name, pa.string()) if _nested(f.type) else f for f in schema])
    with pcsv.CSVWriter(sink, flat) as writer:
        for batch in batches:
            writer.write_batch(_flatten(batch, flat))


def write_ndjson(batches: Iterable[pa.RecordBatch], sink: IO[bytes]) -> None:
    """One JSON object per row; times in ISO 8601 (UTC)."""
    for batch in batches:
        sink.write(b"".join(_json_line(row) for row in batch.to_pylist()))
    sink.flush()


def _json_line(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row, default=str, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_UTC_Z)


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _nested(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_struct(t)


def _flatten(batch: pa.RecordBatch, flat: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for f, array in zip(batch.schema, batch.columns, strict=True):
        if _nested(f.type):
            values = array.to_pylist()
            array = pa.array([None if v is None else _json(v) for v in values], pa.string())
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=flat)


WRITERS: dict[str, Callable[..., None]] = {
    "parquet": write_parquet,
    "csv": write_csv,
    "ndjson": lambda schema, batches, sink: write_ndjson(batches, sink),
}
