"""The bulk ingest path (`polit.lake.ingest`): pool workers write what one process writes,
and the two speed-ups it relies on keep their promises."""

import gc
import subprocess
import sys
from datetime import UTC, datetime

import orjson

from polit.lake.ingest import _no_gc, ingest_bodies
from polit.lake.stats import read_table
from polit.lake.store import Lake
from polit.replay.simulate import generate_threads

WHEN = datetime(2023, 3, 27, 12, tzinfo=UTC)


def _rows(lake: Lake) -> list[tuple]:
    t = read_table(lake, "posts").drop_columns(["run_id"])
    return sorted(tuple(r.values()) for r in t.to_pylist())


def test_workers_write_what_one_process_writes(tmp_path):
    bodies = [orjson.dumps(b) for b in generate_threads(3_000, seed=5)]
    one, two = Lake(str(tmp_path / "one")), Lake(str(tmp_path / "two"))
    r1 = ingest_bodies(one, "pol", bodies, "a", observed_at=WHEN, bodies_per_file=20)
    r2 = ingest_bodies(two, "pol", bodies, "b", observed_at=WHEN, bodies_per_file=20, workers=2)
    assert r1.posts == r2.posts >= 3_000 and r1.threads == r2.threads == len(bodies)
    assert len(r2.files) == len(r1.files) > 1
    assert _rows(one) == _rows(two)


PROBE = """
import sys
{init}
import pyarrow as pa
pa.array([1, 2])
print("pandas" in sys.modules)
"""


def _imports_pandas(init: str) -> bool:
    out = subprocess.run([sys.executable, "-c", PROBE.format(init=init)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.strip() == "True"


def test_pool_workers_skip_pyarrows_pandas_import():
    assert _imports_pandas("")  # what pyarrow does on its own (about 2 s per process)
    assert not _imports_pandas("from polit.lake.ingest import _worker_init; _worker_init()")


def test_no_gc_pauses_and_restores_the_collector():
    assert gc.isenabled()
    with _no_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with _no_gc():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
