"""Benchmarks: `make bench` (`python -m bench.run`) writes bench/results.json and results.md.

Figures are measured on each run, never hard-coded; ratios are always between two
measurements taken side by side in the same run, because the machine is small and noisy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def shared_dir() -> Path:
    """`../shared` next to the project, or `$POLIT_SHARED` (the tests' convention)."""
    env = os.environ.get("POLIT_SHARED")
    return Path(env).resolve() if env else ROOT.parent / "shared"


def recording_path() -> Path:
    return shared_dir() / "fixtures" / "pol-2023-03-27"


_T0 = time.monotonic()


def log(message: str) -> None:
    """A progress line on stderr, with the seconds since the bench started."""
    print(f"[bench {time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def ratio(a: float, b: float) -> float | None:
    """a / b, or None when b is zero."""
    return round(a / b, 2) if b else None


def run_child(module: str, *args: str) -> dict[str, Any]:
    """Run `python -m MODULE ARGS` in a fresh process (clean memory figures); it prints its
    result as the last line of stdout, as JSON."""
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {args[0]} failed with exit {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
