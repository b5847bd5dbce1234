"""A real GCS emulator (`gcp-storage-emulator`) for the tests, as the session fixture
`gcs_emulator`. Registered in conftest.py through `pytest_plugins`. The emulator ignores
`ifGenerationMatch`; tests/helpers/gcs_preconditions.py adds it (412 on a mismatch, 0 = must not
exist), which the gs:// lease needs.

The emulator runs in a child process on a free port with in-memory storage. The child also
watches its stdin: when pytest exits, even killed, the pipe closes and the emulator exits
with it, so no emulator is ever left behind.

While the fixture is active:
- `STORAGE_EMULATOR_HOST` points at it; gcsfs reads that variable on every request (its
  `_location()`), so a plain `Lake("gs://bucket/prefix")` talks to the emulator;
- fsspec's config gives gcsfs `token="anon"`, so gcsfs never looks for real Google
  credentials (without it, it tries application-default credentials and the metadata
  server first, and would send a developer's real token to the emulator).
Both are restored at the end of the session.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported lazily: gcsfs takes ~2 s to import, and every session loads this
    import gcsfs

START_TIMEOUT = 20.0  # seconds for one start attempt (importing the emulator takes ~1 s)
START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it
PROJECT = "polit-test"

# Run the emulator's own CLI, with generation preconditions added
# (tests/helpers/gcs_preconditions.py: the emulator ignores ifGenerationMatch), plus a thread
# that exits the process when stdin closes.
_CHILD = """
import os, runpy, sys, threading

def _watch_parent():
    sys.stdin.buffer.read()
    os._exit(0)

threading.Thread(target=_watch_parent, daemon=True).start()
runpy.run_path(sys.argv[1])["install"]()
sys.argv = ["gcp-storage-emulator", *sys.argv[2:]]
runpy.run_module("gcp_storage_emulator", run_name="__main__", alter_sys=True)
"""
PRECONDITIONS = Path(__file__).with_name("gcs_preconditions.py")


class EmulatorError(RuntimeError):
    pass


@dataclass
class GcsEmulator:
    url: str  # http://127.0.0.1:<port>, the value of STORAGE_EMULATOR_HOST
    bucket: str
    log: Path  # the emulator's stdout and stderr

    def prefix(self, name: str = "lake") -> str:
        """A fresh, empty `gs://<bucket>/<name>-<unique>` URL."""
        return f"gs://{self.bucket}/{name}-{uuid.uuid4().hex[:12]}"

    def fs(self) -> gcsfs.GCSFileSystem:
        """A new gcsfs client with no cached listings."""
        import gcsfs

        return gcsfs.GCSFileSystem(
            project=PROJECT, token="anon", endpoint_url=self.url, skip_instance_cache=True
        )

    def objects(self, prefix: str = "") -> dict[str, int]:
        """Every object whose name starts with `prefix` ({name: size}), straight from the
        JSON API: no gcsfs, no caches. `prefix` may be a `gs://<bucket>/…` URL."""
        if prefix.startswith("gs://"):
            bucket, _, prefix = prefix[5:].partition("/")
            assert bucket == self.bucket, f"{bucket!r} is not the test bucket {self.bucket!r}"
        out: dict[str, int] = {}
        token = None
        while True:
            query = {"prefix": prefix, "maxResults": "1000"}
            if token:
                query["pageToken"] = token
            page = self._get(f"/storage/v1/b/{self.bucket}/o?{urllib.parse.urlencode(query)}")
            for item in page.get("items", []):
                out[item["name"]] = int(item["size"])
            token = page.get("nextPageToken")
            if not token:
                return out

    def _get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=1) as r:
            return r.status == 200 and r.read() == b"OK"
    except (OSError, urllib.error.URLError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        if proc.stdin is not None:
            proc.stdin.close()  # the child's watcher exits on EOF
        proc.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait(timeout=5)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_emulator(workdir: Path) -> tuple[subprocess.Popen, str, Path]:
    """Start the emulator on a free port; returns (process, url, log). Raises EmulatorError."""
    problems = []
    for attempt in range(1, START_ATTEMPTS + 1):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        log = workdir / f"emulator-{attempt}.log"
        cmd = [sys.executable, "-c", _CHILD, str(PRECONDITIONS), "start", "--host", "127.0.0.1",
               "--port", str(port), "--in-memory", "--quiet"]  # fmt: skip
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, cwd=workdir
            )
        deadline = time.monotonic() + START_TIMEOUT
        why = f"did not answer on {url} within {START_TIMEOUT:.0f} s"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                why = f"exited with status {proc.returncode}"
                break
            if "Address already in use" in log.read_text(errors="replace"):
                why = "the port was taken meanwhile"  # the CLI then hangs instead of exiting
                break
            if _answers(url):
                return proc, url, log
            time.sleep(0.1)
        _stop(proc)
        problems.append(f"attempt {attempt} (port {port}): {why}\n{_tail(log)}")
    raise EmulatorError(
        "gcp-storage-emulator did not start (is it installed in the venv?)\n"
        + "\n\n".join(problems)
    )


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GcsEmulator]:
    import fsspec.config
    import gcsfs

    workdir = tmp_path_factory.mktemp("gcs-emulator")
    try:
        proc, url, log = start_emulator(workdir)
    except EmulatorError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("STORAGE_EMULATOR_HOST", url)
            mp.setitem(fsspec.config.conf, "gs", {"project": PROJECT, "token": "anon"})
            gcsfs.GCSFileSystem.clear_instance_cache()
            emulator = GcsEmulator(url=url, bucket=f"polit-test-{uuid.uuid4().hex[:8]}", log=log)
            try:
                emulator.fs().mkdir(emulator.bucket)
            except Exception as exc:
                pytest.fail(
                    f"could not create a bucket on the emulator at {url}: {exc!r}\n{_tail(log)}",
                    pytrace=False,
                )
            yield emulator
            gcsfs.GCSFileSystem.clear_instance_cache()  # they point at a dead emulator
    finally:
        _stop(proc)
