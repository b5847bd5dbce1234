"""The Python API (`polit.open`): lazy results to pandas and Arrow, filters, read-only SQL,
search, and BigQuery URLs reaching the BigQuery reader."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest

import polit
from polit.search.index import update_index
from polit.warehouse.read import BigQueryReader, ReadError
from tests.helpers.built import recording_warehouse
from tests.helpers.warehouse import query


@pytest.fixture(scope="module")
def warehouse(recording, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("api") / "warehouse.duckdb"
    shutil.copyfile(recording_warehouse(recording, tmp_path_factory), path)
    update_index(str(path))
    return path


def test_models_convert_to_pandas_and_arrow(warehouse: Path) -> None:
    (n,) = query(warehouse, "SELECT count(*) FROM main.posts")[0]
    with polit.open(str(warehouse)) as wh:
        posts = wh.posts.df()
        assert len(posts) == n == wh.posts.count()
        assert posts[["board", "post_id"]].duplicated().sum() == 0
        assert isinstance(wh.threads.arrow(), pa.Table)
        assert "terms_daily" in wh.tables()
        (live,) = query(
            warehouse, "SELECT count(*) FROM main.posts WHERE deleted_at IS NULL AND is_op"
        )[0]
        assert wh.posts.filter(deleted="no", op=True).count() == live
        assert len(wh.posts.limit(7).df()) == 7


def test_sql_is_read_only_and_takes_parameters(warehouse: Path) -> None:
    with polit.open(str(warehouse)) as wh:
        df = wh.sql("SELECT count(*) AS n FROM posts WHERE board = $board", board="pol").df()
        assert df["n"][0] == query(warehouse, "SELECT count(*) FROM main.posts")[0][0]
        with pytest.raises(ReadError, match="only queries"):
            wh.sql("DELETE FROM posts")
        with pytest.raises(ReadError, match="unknown filter"):
            wh.posts.filter(colour="red")


def test_search_is_the_cli_search(warehouse: Path) -> None:
    with polit.open(str(warehouse)) as wh:
        hits = wh.search("nashville", limit=100000)
        words = query(warehouse, "SELECT count(*) FROM main.posts WHERE regexp_matches("
                      "lower(concat(subject, ' ', comment)), '\\bnashville\\b')")  # fmt: skip
        assert hits.total == len(hits) > 0
        assert hits.total <= words[0][0]  # "nashville's" is another word; \b counts it
        newest = wh.search("nashville", sort="new", limit=5, board="pol").df()
        assert list(newest["post_datetime"]) == sorted(newest["post_datetime"], reverse=True)


def test_polars_is_optional(warehouse: Path) -> None:
    with polit.open(str(warehouse)) as wh:
        try:
            import polars  # noqa: F401
        except ImportError:
            with pytest.raises(ReadError, match="pip install polars"):
                wh.posts.limit(1).pl()
        else:
            assert wh.posts.limit(3).pl().height == 3


def test_bigquery_urls_open_the_bigquery_reader(monkeypatch) -> None:
    monkeypatch.setattr("google.cloud.bigquery.Client", lambda project=None: object())
    wh = polit.open("bigquery://proj/ds")
    assert isinstance(wh.reader, BigQueryReader)
    assert wh.reader.dialect.table("posts") == "`proj.ds.posts`"
    with pytest.raises(ReadError, match="no warehouse at"):
        polit.open("/nonexistent/warehouse.duckdb")
