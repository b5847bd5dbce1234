"""`polit export`: one row per post (the posts table, not the lake log), round trips in
pandas, filters, pseudonyms that hide and stay stable, and files that appear whole."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from polit.export import export, pseudonym
from polit.warehouse.filters import Filters, parse_time
from polit.warehouse.read import DuckReader, ReadError
from tests.helpers.built import recording_warehouse
from tests.helpers.warehouse import query

POLIT = str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "polit")
KEY = "test-key-0123456789"


@pytest.fixture(scope="module")
def warehouse(recording, tmp_path_factory) -> Path:
    return recording_warehouse(recording, tmp_path_factory)


def polit(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([POLIT, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})  # fmt: skip


def keys(warehouse: Path, where: str = "TRUE") -> list[tuple[str, int]]:
    return query(warehouse, f"SELECT board, post_id FROM main.posts WHERE {where} ORDER BY 1, 2")


def test_parquet_is_one_row_per_post(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "posts.parquet"
    result = polit("export", "posts", "--out", str(out), "--warehouse", str(warehouse))
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    exported = sorted(zip(table["board"].to_pylist(), table["post_id"].to_pylist(), strict=True))
    assert exported == keys(warehouse)
    (raw,) = query(warehouse, "SELECT count(*) FROM raw.posts")[0]
    assert raw > len(exported)  # the lake log has more rows: the export is not it
    columns = [r[0] for r in query(warehouse, "DESCRIBE main.posts")]
    assert table.schema.names == columns
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_csv_and_ndjson_round_trip_in_pandas(warehouse: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"posts.{fmt}"
    result = polit("export", "posts", "--format", fmt, "--out", str(out),
                   "--warehouse", str(warehouse))  # fmt: skip
    assert result.returncode == 0, result.stderr
    if fmt == "csv":
        df = pd.read_csv(out, keep_default_na=False, na_values=[""], low_memory=False)
        df = df.sort_values(["board", "post_id"], ignore_index=True)  # the table's own order
        times = pd.to_datetime(df["post_datetime"], utc=True)
        quotes = [json.loads(q) for q in df["quotes"]]
    else:
        df = pd.read_json(out, lines=True, dtype=False)
        df = df.sort_values(["board", "post_id"], ignore_index=True)
        times = pd.to_datetime(df["post_datetime"], utc=True)
        quotes = list(df["quotes"])
    truth = DuckReader(str(warehouse)).query("SELECT * FROM main.posts ORDER BY board, post_id")
    assert list(zip(df["board"], df["post_id"], strict=True)) == keys(warehouse)
    assert list(df["comment"].fillna("")) == list(truth["comment"].fillna(""))
    assert list(df["subject"].fillna("")) == list(truth["subject"].fillna(""))
    assert (times == truth["post_datetime"].dt.tz_convert("UTC")).all()
    assert quotes == [list(q) for q in truth["quotes"]]


def test_filters_choose_the_same_rows_as_sql(warehouse: Path, tmp_path: Path) -> None:
    (thread,) = query(
        warehouse, "SELECT thread_id FROM main.threads ORDER BY number_of_posts DESC LIMIT 1"
    )[0]
    cases = {
        ("--deleted", "only"): "deleted_at IS NOT NULL",
        ("--deleted", "no", "--op", "yes"): "deleted_at IS NULL AND is_op",
        ("--thread", str(thread), "--has-file", "no"): f"thread_id = {thread} AND NOT has_file",
        ("--board", "/pol/", "--from", "2023-03-27", "--to", "2023-03-27"):
            "post_datetime >= '2023-03-27' AND post_datetime < '2023-03-28'",
        ("--from", "2023-03-27T12:00", "--to", "2023-03-27T13:00"):
            "post_datetime >= '2023-03-27 12:00Z' AND post_datetime < '2023-03-27 13:00Z'",
    }  # fmt: skip
    for args, where in cases.items():
        out = tmp_path / "f.parquet"
        result = polit("export", "posts", *args, "--out", str(out), "--warehouse", str(warehouse))
        assert result.returncode == 0, result.stderr
        table = pq.read_table(out, columns=["board", "post_id"])
        got = sorted(zip(table["board"].to_pylist(), table["post_id"].to_pylist(), strict=True))
        expected = keys(warehouse, where)
        assert got == expected and expected, args


def test_pseudonymized_output_hides_and_is_stable(warehouse: Path, tmp_path: Path) -> None:
    outs = [tmp_path / "a.ndjson", tmp_path / "b.ndjson"]
    for out in outs:
        result = polit("export", "posts", "--pseudonymize", "--format", "ndjson", "--out", str(out),
                       "--warehouse", str(warehouse), POLIT_PSEUDONYM_KEY=KEY)  # fmt: skip
        assert result.returncode == 0, result.stderr
    assert outs[0].read_bytes() == outs[1].read_bytes()  # stable across runs
    text = outs[0].read_text()
    rows = [json.loads(line) for line in text.splitlines()]
    assert "email" not in rows[0]
    text_columns = {"subject", "comment", "comment_html", "file_name"}  # what posters wrote
    values = {
        v for row in rows for k, v in row.items() if k not in text_columns and isinstance(v, str)
    }
    originals = query(warehouse, "SELECT poster_id, poster_name, tripcode, email FROM main.posts")
    for column, column_values in zip(("poster_id", "poster_name", "tripcode", "email"),
                                     zip(*originals, strict=True), strict=True):  # fmt: skip
        found = {v for v in column_values if v}
        if column != "email":
            assert found, column  # the recording has them, so the test can fail
        leaked = found & values
        assert not leaked, (column, sorted(leaked)[:5])
    # the same poster keeps one pseudonym, different posters get different ones
    pairs = query(warehouse, "SELECT poster_id FROM main.posts ORDER BY board, post_id")
    rows.sort(key=lambda r: (r["board"], r["post_id"]))
    mapping: dict[str, set[str]] = {}
    for (original,), row in zip(pairs, rows, strict=True):
        if original:
            assert row["poster_id"] == pseudonym(KEY.encode(), "poster_id", original)
            mapping.setdefault(row["poster_id"], set()).add(original)
    assert all(len(v) == 1 for v in mapping.values())


def test_clear_errors(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.parquet"
    cases = [
        (("posts", "--pseudonymize"), "POLIT_PSEUDONYM_KEY"),
        (("nope",), "no table 'nope'"),
        (("threads", "--country", "US"), "--country does not apply"),
        (("posts", "--format", "xlsx"), "--format is one of"),
        (("posts", "--deleted", "maybe"), "--deleted is one of"),
        (("posts", "--from", "27/03/2023"), "is not a day"),
    ]
    for args, message in cases:
        result = polit("export", *args, "--out", str(out), "--warehouse", str(warehouse),
                       POLIT_PSEUDONYM_KEY="")  # fmt: skip
        assert result.returncode == 1, args
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, args
        assert not out.exists() and not list(tmp_path.glob(".*"))
    missing = polit("export", "posts", "--out", str(out), "--warehouse", str(tmp_path / "n.duckdb"))
    assert missing.returncode == 1 and "no warehouse at" in missing.stderr


def test_a_failed_export_leaves_no_file(warehouse: Path, tmp_path: Path) -> None:
    reader = DuckReader(str(warehouse))
    out = tmp_path / "posts.csv"
    out.write_text("the previous export")

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            export(reader, "posts", out, "csv", Filters(), progress=stop)
    finally:
        reader.close()
    assert out.read_text() == "the previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["posts.csv"]


def test_marts_export_with_their_time_column(warehouse: Path, tmp_path: Path) -> None:
    reader = DuckReader(str(warehouse))
    try:
        out = tmp_path / "t.parquet"
        start = parse_time("2023-03-27")
        result = export(reader, "terms_daily", out, "parquet", Filters(start=start))
        (n,) = query(warehouse, "SELECT count(*) FROM main.terms_daily WHERE day >= '2023-03-27'")[
            0
        ]
        assert result.rows == n == pq.read_metadata(out).num_rows and n > 0
        with pytest.raises(ReadError, match="--thread does not apply"):
            export(reader, "terms_daily", out, "parquet", Filters(threads=(1,)))
    finally:
        reader.close()


def test_country_and_flag_filters(insights_warehouse: Path, tmp_path: Path) -> None:
    """The shared recording has no flags; the synthetic warehouse has."""
    (flag,) = query(insights_warehouse, "SELECT max(flag) FROM main.posts")[0]
    assert flag
    reader = DuckReader(str(insights_warehouse))
    try:
        for filters, where in (
            (Filters(countries=("us", "DE")), "country IN ('US', 'DE')"),
            (Filters(flags=(flag,)), f"flag = '{flag}'"),
        ):
            out = tmp_path / "c.parquet"
            export(reader, "posts", out, "parquet", filters)
            table = pq.read_table(out, columns=["board", "post_id"])
            got = sorted(zip(table["board"].to_pylist(), table["post_id"].to_pylist(), strict=True))
            assert got == keys(insights_warehouse, where)
        assert keys(insights_warehouse, "country IN ('US', 'DE')")
    finally:
        reader.close()
