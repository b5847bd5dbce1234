"""`polit serve` in a subprocess on a free port, for the tests that talk to it over HTTP."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from bench.dashboard import free_port

POLIT = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "polit")


@contextlib.contextmanager
def serving(warehouse: Path, *args: str) -> Iterator[str]:
    """The base URL of a `polit serve` of this warehouse, up and answering."""
    port = free_port()
    proc = subprocess.Popen(
        [POLIT, "serve", "--warehouse", str(warehouse), "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"polit serve exited: {proc.stderr.read() if proc.stderr else ''}"
                )
            try:
                httpx.get(url + "/boards.json", timeout=60)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
