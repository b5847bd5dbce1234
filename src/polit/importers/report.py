"""What an import did, for its summary line and `--json`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from polit.lake.ingest import IngestReport

# (input bytes read so far, input bytes in all, posts written so far)
Progress = Callable[[int, int, int], None]


@dataclass
class ImportReport:
    run_id: str
    board: str
    inputs: int = 0  # files read
    threads: int = 0  # thread bodies written
    bulk_threads: int = 0  # of them, those the columnar bulk path read (the rest: parse_thread)
    posts: int = 0  # post rows written
    malformed: int = 0  # input lines or rows skipped, each logged with file:line
    lake_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # posts rejected inside good bodies
    seconds: float = 0.0

    def add(self, part: IngestReport) -> None:
        self.threads += part.threads
        self.bulk_threads += part.bulk_threads
        self.posts += part.posts
        self.lake_files += part.files
        self.problems += part.problems

    @property
    def posts_per_second(self) -> float:
        return self.posts / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        parts = [
            f"run {self.run_id}: {self.inputs} input files",
            f"{self.threads:,} threads",
            f"{self.posts:,} posts into /{self.board}/ ({len(self.lake_files)} lake files)",
            f"{self.malformed:,} malformed skipped",
        ]
        if self.problems:
            parts.append(f"{len(self.problems):,} problems (see the log)")
        parts.append(f"{self.seconds:.1f}s, {self.posts_per_second:,.0f} posts/s")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["lake_files"] = len(self.lake_files)
        out["problems"] = self.problems[:100]
        out["posts_per_second"] = round(self.posts_per_second, 1)
        return out
