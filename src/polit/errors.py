"""Errors the user can fix. The CLI prints their message as one line and exits 2, whatever
the command (see `polit.cli`); the message says what to do.

Any other error is one line too (`describe`), exit 1; `-vv` shows its traceback.
"""

from __future__ import annotations


class FixableError(Exception):
    """Something in the user's data or set-up stops the command; the message says how to fix it."""

    exit_code = 2


def one_line(text: str) -> str:
    """The first non-empty line of a message (libraries' messages span several)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def describe(exc: BaseException) -> str:
    """An unexpected error as one line: a network error says so and names the variables
    that point at the service; anything else is its type and its first line.

    >>> describe(ValueError("bad\\nsecond line"))
    'ValueError: bad'
    """
    kind = type(exc)
    module = kind.__module__.split(".")[0]
    message = one_line(str(exc)) or kind.__name__
    if module == "aiohttp" or kind.__module__.startswith("google.auth"):
        return (
            f"cannot reach Google Cloud Storage ({message}); check the network, the "
            "credentials, and --lake (or POLIT_LAKE; STORAGE_EMULATOR_HOST for an emulator)"
        )
    return f"{kind.__name__}: {message}"
