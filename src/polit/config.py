"""One typed settings object. Values come from flags, then `POLIT_*` env vars, then defaults.

This module is the only one that reads a `POLIT_*` variable: each field `x` of `Settings` is
`POLIT_X` (lists such as POLIT_BOARDS are comma-separated), and `secret` reads the one
secret (POLIT_PSEUDONYM_KEY), which Settings never stores.

Example:
    >>> s = Settings.from_env({"POLIT_MAX_RPS": "0"})
    >>> s.max_rps
    0.0
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

DEFAULT_API_URL = "https://a.4cdn.org"
DEFAULT_USER_AGENT = "polit/0.1 (research archiver; +https://github.com/polit-data/polit)"
# 4chan's board names are a few lowercase letters or digits (pol, g, r9k, trash); the name
# becomes a URL path and a file name, so anything else is refused before any I/O.
BOARD_NAME = re.compile(r"[a-z0-9]{1,32}")
# Not a setting: `polit transform` hands the models' cursors to dbt in this variable (JSON;
# transform/cursors.py, macro cursor_of); whatever a user sets there is overwritten.
DBT_CURSORS_ENV = "POLIT_CURSORS"


class BoardNameError(ValueError):
    """A board name 4chan cannot have (the CLI exits 2 on it, a usage error)."""


def check_board(name: str) -> str:
    """The board name, without slashes, or BoardNameError.

    >>> check_board("/pol/")
    'pol'
    """
    board = name.strip().strip("/")
    if not BOARD_NAME.fullmatch(board):
        shown = repr(board) if len(board) <= 16 else f"{board[:12]!r}... ({len(board)} chars)"
        raise BoardNameError(f"invalid board {shown}: 1-32 of a-z 0-9, like pol")
    return board


@dataclass(frozen=True)
class Settings:
    """Everything a polit run needs to know. Secrets are never stored here."""

    api_url: str = DEFAULT_API_URL
    lake: str = "./data/lake"
    warehouse: str = "./data/warehouse.duckdb"  # a DuckDB path, duckdb:///… or bigquery://P/D
    max_rps: float = 1.0
    boards: tuple[str, ...] = ("pol",)
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 20.0
    max_retries: int = 6
    max_retry_after: float = 120.0  # a longer Retry-After is not slept: try again next cycle
    max_body_bytes: int = 32 * 1024 * 1024  # per response, compressed and decoded
    bigquery_location: str | None = None  # BigQuery jobs' location; None: the dataset's own
    dbt_project: str | None = None  # a dbt project directory; None: the repository's dbt/
    dbt_threads: int = 4  # dbt's threads on BigQuery (DuckDB builds use one)
    duckdb_memory_limit: str = "4GB"  # of a dbt build on DuckDB (it spills to disk beyond)
    dashboard_url: str = "http://127.0.0.1:8501/"  # where `polit report` links threads to

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from `POLIT_<FIELD>` variables; non-None `overrides` win."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"POLIT_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "boards" in values and isinstance(values["boards"], str | list | tuple):
            values["boards"] = _boards(values["boards"])
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.max_rps < 0:
            raise ValueError(f"max_rps must be >= 0 (0 = unlimited), got {self.max_rps}")
        if not self.boards:
            raise ValueError("at least one board is needed")
        for b in self.boards:
            check_board(b)
        if self.timeout <= 0:
            raise ValueError("timeout must be > 0")
        if self.max_retry_after < 0:
            raise ValueError(f"max_retry_after must be >= 0 seconds, got {self.max_retry_after}")
        if self.max_body_bytes <= 0:
            raise ValueError(f"max_body_bytes must be > 0, got {self.max_body_bytes}")
        if self.dbt_threads < 1:
            raise ValueError(f"dbt_threads must be >= 1, got {self.dbt_threads}")


SECRETS = ("POLIT_PSEUDONYM_KEY",)


def secret(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """A secret from the environment at the moment it is needed, or None when unset; never
    stored in Settings, printed, or given a default.

    >>> secret("POLIT_PSEUDONYM_KEY", {"POLIT_PSEUDONYM_KEY": "k"})
    'k'
    """
    if name not in SECRETS:
        raise KeyError(f"{name} is not a secret polit reads; settings go in Settings")
    value = (os.environ if env is None else env).get(name)
    return value or None


def _boards(raw: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Boards from POLIT_BOARDS or repeated `-b`: each item may hold several, comma-separated."""
    items = [raw] if isinstance(raw, str) else list(raw)
    parts = [p for item in items for p in item.split(",")]
    return tuple(b.strip().strip("/") for b in parts if b.strip())


def _coerce(name: str, raw: str) -> Any:
    if name in ("max_rps", "timeout", "max_retry_after"):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"POLIT_{name.upper()} must be a number, got {raw!r}") from None
    if name in ("max_retries", "max_body_bytes", "dbt_threads"):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"POLIT_{name.upper()} must be an integer, got {raw!r}") from None
    if name == "boards":
        return _boards(raw)
    return raw
