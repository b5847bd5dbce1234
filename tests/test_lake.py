from datetime import UTC, datetime

import pyarrow as pa
import pytest

from polit.lake.batch import RowBuffer
from polit.lake.schema import POSTS, THREADS
from polit.lake.stats import read_table
from polit.lake.store import Lake

WHEN = datetime(2023, 3, 27, 9, 51, 59, tzinfo=UTC)


def _posts(n: int) -> pa.Table:
    buf = RowBuffer(POSTS)
    for i in range(n):
        buf.add({"board": "pol", "no": i + 1, "thread_no": 1, "observed_at": WHEN, "run_id": "r",
                 "com": "x", "text": "x", "quotes": [1], "urls": []})  # fmt: skip
    return buf.to_table()


def test_layout_and_roundtrip(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    path = lake.write_table("posts", "pol", _posts(3), WHEN, "run1-0")
    assert path.endswith("raw/posts/board=pol/date=2023-03-27/hour=09/run1-0.parquet")
    files = lake.files("posts")
    assert [f.board for f in files] == ["pol"] and files[0].size > 0
    t = read_table(lake, "posts")
    assert t.num_rows == 3 and t.schema == POSTS
    assert t.column("quotes").to_pylist() == [[1], [1], [1]]


def test_zstd_compression(tmp_path):
    import pyarrow.parquet as pq

    lake = Lake(str(tmp_path))
    path = lake.write_table("posts", "pol", _posts(2), WHEN, "r-0")
    meta = pq.ParquetFile(path).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_failed_write_leaves_nothing_visible(tmp_path):
    lake = Lake(str(tmp_path))

    def boom(f):
        f.write(b"PAR1 partial")
        raise RuntimeError("killed mid-write")

    target = lake.path("raw", "posts", "board=pol", "x.parquet")
    with pytest.raises(RuntimeError):
        lake._atomic(target, boom)
    assert list((tmp_path / "raw" / "posts" / "board=pol").iterdir()) == []
    assert lake.files("posts") == []


def test_temp_files_are_invisible_to_readers(tmp_path):
    lake = Lake(str(tmp_path))
    lake.write_table("threads", "pol", RowBuffer(THREADS).to_table(), WHEN, "r-0")
    part = tmp_path / "raw/threads/board=pol/date=2023-03-27/hour=09"
    (part / ".tmp-abc").write_bytes(b"garbage")
    assert len(lake.files("threads")) == 1
    assert read_table(lake, "threads").num_rows == 0


def test_json_documents(tmp_path):
    lake = Lake(f"file://{tmp_path}")
    assert lake.read_json("_polit", "x.json") is None
    lake.write_json({"a": [1, 2]}, "_polit", "x.json")
    assert lake.read_json("_polit", "x.json") == {"a": [1, 2]}
    assert not [p for p in (tmp_path / "_polit").iterdir() if p.name.startswith(".tmp")]
