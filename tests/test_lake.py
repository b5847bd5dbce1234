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


def _record_durability(monkeypatch) -> list[tuple[str, str]]:
    """Record every fsync (of a file or a directory, by path) and rename, in order; both
    still happen for real."""
    import os
    import stat

    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        kind = "fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file"
        events.append((kind, os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append(("rename", f"{src} -> {dst}"))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def test_local_writes_fsync_the_file_before_the_rename_and_the_directory_after(
    tmp_path, monkeypatch
):
    lake = Lake(str(tmp_path / "lake"))
    events = _record_durability(monkeypatch)
    path = lake.write_table("posts", "pol", _posts(3), WHEN, "run1-0")
    part = str(tmp_path / "lake/raw/posts/board=pol/date=2023-03-27/hour=09")
    kinds = [k for k, _ in events]
    assert kinds[:3] == ["fsync-file", "rename", "fsync-dir"]
    tmp = events[0][1]
    assert tmp.startswith(part + "/.tmp-")  # the temporary file, under its hidden name
    assert events[1] == ("rename", f"{tmp} -> {path}")
    assert events[2] == ("fsync-dir", part)
    # The write created the partition directories: each new name is made durable too.
    new_dirs = {p for k, p in events[3:] if k == "fsync-dir"}
    created = ["lake/raw/posts/board=pol/date=2023-03-27", "lake/raw/posts/board=pol",
               "lake/raw/posts", "lake/raw", "lake", ""]  # fmt: skip
    assert new_dirs == {str(tmp_path / d) if d else str(tmp_path) for d in created}
    assert read_table(lake, "posts").num_rows == 3

    events.clear()  # into an existing partition: one file, one directory
    lake.write_json({"a": 1}, "raw", "posts", "board=pol", "date=2023-03-27", "hour=09", "x.json")
    assert [k for k, _ in events] == ["fsync-file", "rename", "fsync-dir"]
    assert events[2] == ("fsync-dir", part)


def test_a_failed_fsync_publishes_nothing(tmp_path, monkeypatch):
    import os

    lake = Lake(str(tmp_path))
    lake.write_json({"v": 1}, "_polit", "state", "pol.json")

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="Input/output"):
        lake.write_json({"v": 2}, "_polit", "state", "pol.json")
    assert lake.read_json("_polit", "state", "pol.json") == {"v": 1}  # the old one, whole
    assert [p.name for p in (tmp_path / "_polit" / "state").iterdir()] == ["pol.json"]
