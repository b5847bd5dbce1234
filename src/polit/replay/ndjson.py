"""A synthetic dataset in the thread-per-line NDJSON format of "Raiders of the Lost Kek"
(Papasavva et al., ICWSM 2020), for `polit import ndjson`'s tests and benchmarks.

Bodies are `generate_threads`' final thread bodies, plus what that dataset adds: per post
`entities` (named entities found in the comment) and `perspectives` (the seven Perspective API
scores, pseudo-random but deterministic: same seed, same file), and `extracted_poster_id`
beside `posts`. Posts without a comment get no scores, as in the dataset.
"""

from __future__ import annotations

import gzip
import os
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

import orjson
import zstandard

from polit.lake.schema import SCORE_FIELDS
from polit.replay.simulate import generate_threads

ENTITIES = {
    "Trump": "PERSON", "Biden": "PERSON", "Putin": "PERSON", "China": "GPE",
    "Russia": "GPE", "Israel": "GPE", "Ukraine": "GPE", "America": "GPE", "EU": "ORG",
    "NATO": "ORG", "FBI": "ORG",
}  # fmt: skip


def dataset_threads(n_posts: int, seed: int, board: str = "pol") -> Iterator[dict[str, Any]]:
    """`generate_threads(n_posts, seed, board)` with the dataset's additional keys."""
    rng = random.Random(f"{seed}-perspectives")
    for body in generate_threads(n_posts, seed, board):
        for post in body["posts"]:
            com = post.get("com")
            post["entities"] = entities(com)
            if com:
                post["perspectives"] = scores(rng)
        body["extracted_poster_id"] = body["posts"][0].get("id")
        yield body


def entities(com: str | None) -> list[dict[str, str]]:
    """Named entities of a comment, in the dataset's shape.

    >>> entities("Trump was here")
    [{'entity_text': 'Trump', 'entity_label': 'PERSON'}]
    """
    if not com:
        return []
    return [{"entity_text": w, "entity_label": kind} for w, kind in ENTITIES.items() if w in com]


def scores(rng: random.Random) -> dict[str, float]:
    """Seven correlated scores in [0, 1], most posts low, a long tail of high ones."""
    base = rng.random() ** 2
    return {
        name: round(min(1.0, base * rng.uniform(0.4, 1.3) + rng.uniform(0.0, 0.05)), 6)
        for name in SCORE_FIELDS
    }


def write_ndjson(bodies: Iterable[dict[str, Any]], path: Path) -> tuple[int, int]:
    """Write one body per line, gzip for `.gz`, zstd for `.zst`, else plain, atomically
    (a temporary name, then a rename). Returns (threads, posts)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    threads = posts = 0
    try:
        with _open(tmp, path.suffix) as f:
            for body in bodies:
                f.write(orjson.dumps(body) + b"\n")
                threads += 1
                posts += len(body["posts"])
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return threads, posts


def _open(path: Path, suffix: str) -> IO[bytes]:
    if suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "wb", compresslevel=6))
    if suffix == ".zst":
        return cast(IO[bytes], zstandard.open(path, "wb"))
    return open(path, "wb")
