"""What a recording lets a crawler see, read straight from its files (no crawler code): the
posts any snapshot served, live or archived, and which of them were deleted (served, then
missing from their thread's last copy). `polit demo` compares its capture with it: a post
born and deleted between two snapshots was never visible, so no crawler could have it.

Threads already archived at the first snapshot are left out: a crawl's first cycle only
records the archive as its baseline (`polit backfill` fetches those). A live body counts only
where threads.json says the thread changed (a new `last_modified` or `replies`): the API
tells a crawler to fetch nothing else, and a body missing posts under an unchanged listing
is a glitch of the API (the synthetic board makes them), not a deletion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Visible:
    posts: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)


def visible(recording: Path) -> Visible:
    meta = json.loads((recording / "recording.json").read_text())
    dirs = [recording / s["dir"] for s in meta["snapshots"]]
    baseline_file = dirs[0] / "archive.json"
    baseline = set(json.loads(baseline_file.read_text())) if baseline_file.exists() else set()
    last_copy: dict[int, set[int]] = {}  # thread -> the posts of its last copy
    out = Visible()

    def seen(no: int, body: Path) -> None:
        posts = {p["no"] for p in json.loads(body.read_text())["posts"]}
        last_copy[no] = posts
        out.posts |= posts

    listed_before: dict[int, tuple[object, object]] = {}
    for d in dirs:
        pages = json.loads((d / "threads.json").read_text())
        listed = {t["no"]: (t.get("last_modified"), t.get("replies"))
                  for page in pages for t in page["threads"]}  # fmt: skip
        for no, entry in sorted(listed.items()):
            if listed_before.get(no) != entry:
                seen(no, d / "thread" / f"{no}.json")
        listed_before = listed
        for body in sorted((d / "archive").glob("*.json")):
            if int(body.stem) not in baseline:
                seen(int(body.stem), body)
    out.deleted = out.posts - set().union(*last_copy.values())
    return out
