"""Errors the user can fix. The CLI prints their message as one line and exits 2, whatever
the command (see `polit.cli`); the message says what to do."""

from __future__ import annotations


class FixableError(Exception):
    """Something in the user's data or set-up stops the command; the message says how to fix it."""

    exit_code = 2
