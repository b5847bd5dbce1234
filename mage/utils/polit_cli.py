"""Run the polit CLI from a Mage block: the one place that knows how.

Mage lives in its own virtualenv (mage-ai pins versions that dbt cannot share), so the blocks
do not import polit: they run its executable, named by POLIT_BIN. Everything else (POLIT_API_URL,
POLIT_LAKE, POLIT_WAREHOUSE, POLIT_MAX_RPS, ...) reaches polit through the environment.
"""

from __future__ import annotations

import os
import subprocess

POLIT_BIN = "POLIT_BIN"
TAIL_LINES = 30


class PolitCommandError(RuntimeError):
    """polit could not be started, or exited non-zero."""


def polit_executable() -> str:
    """The polit executable named by POLIT_BIN; a clear error when unset or not executable."""
    path = os.environ.get(POLIT_BIN, "").strip()
    if not path:
        raise PolitCommandError(
            f"{POLIT_BIN} is not set: set it to the polit executable of polit's own "
            "virtualenv, e.g. POLIT_BIN=$PWD/.venv/bin/polit"
        )
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise PolitCommandError(f"{POLIT_BIN}={path} is not an executable file")
    return path


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last `lines` non-empty lines of `text`."""
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def run_polit(*args: str) -> str:
    """Run `polit ARGS...`, print what it printed (Mage logs it) and return its stdout.

    A non-zero exit raises PolitCommandError whose message ends with the tail of polit's
    stderr and stdout, so the failed block shows why.
    """
    command = [polit_executable(), *args]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    for stream in (proc.stdout, proc.stderr):
        if stream.strip():
            print(stream.rstrip())
    if proc.returncode != 0:
        output = "\n".join(t for t in (tail(proc.stderr), tail(proc.stdout)) if t)
        raise PolitCommandError(
            f"`polit {' '.join(args)}` exited with code {proc.returncode}:\n"
            f"{output or '(no output)'}"
        )
    return proc.stdout
