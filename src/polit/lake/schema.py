"""Column contracts of the lake's raw tables. Other tools (the loader, dbt) rely on these names.

`raw/posts`: one row per observed post version or tombstone.
`raw/threads`: one row per observed thread state (fetched, archived, deleted).
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

# API post fields we know, under their API names, with their types. Anything else the API
# sends goes to the `extra` JSON column so that nothing is ever dropped.
API_INT_FIELDS = (
    "resto", "time", "tim", "fsize", "w", "h", "tn_w", "tn_h", "filedeleted", "spoiler",
    "custom_spoiler", "m_img", "sticky", "closed", "archived", "archived_on", "replies",
    "images", "bumplimit", "imagelimit", "unique_ips", "since4pass", "tail_size",
)  # fmt: skip
API_STR_FIELDS = (
    "now", "name", "trip", "id", "capcode", "country", "country_name", "board_flag",
    "flag_name", "troll_country", "sub", "com", "filename", "ext", "md5", "semantic_url",
    "email", "tag",
)  # fmt: skip

# Perspective API scores in [0, 1], as imported datasets carry them in a post's
# `perspectives` object (Papasavva et al., ICWSM 2020: these seven): attribute -> column.
# Other attributes of that object stay in `extra`. The API itself never sends them.
SCORE_FIELDS = {
    "TOXICITY": "toxicity", "SEVERE_TOXICITY": "severe_toxicity",
    "INFLAMMATORY": "inflammatory", "PROFANITY": "profanity", "INSULT": "insult",
    "OBSCENE": "obscene", "SPAM": "spam",
}  # fmt: skip

POSTS = pa.schema(
    [
        pa.field("board", pa.string(), nullable=False),
        pa.field("no", pa.int64(), nullable=False),
        pa.field("thread_no", pa.int64(), nullable=False),
        pa.field("observed_at", TS, nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("deleted_at", TS),
        pa.field("version", pa.string()),
        pa.field("text", pa.string()),
        pa.field("quotes", pa.list_(pa.int64())),
        pa.field("urls", pa.list_(pa.string())),
        *[pa.field(n, pa.int64()) for n in API_INT_FIELDS],
        *[pa.field(n, pa.string()) for n in API_STR_FIELDS],
        pa.field("extra", pa.string()),
        # Added later, so last and nullable: files written before them read as nulls.
        *[pa.field(c, pa.float64()) for c in SCORE_FIELDS.values()],
        pa.field("seq", pa.int64()),  # see SEQ
    ]
)

THREADS = pa.schema(
    [
        pa.field("board", pa.string(), nullable=False),
        pa.field("no", pa.int64(), nullable=False),
        pa.field("observed_at", TS, nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("event", pa.string(), nullable=False),  # fetched | archived | deleted
        pa.field("last_modified", pa.int64()),
        pa.field("replies", pa.int64()),
        pa.field("images", pa.int64()),
        pa.field("page", pa.int64()),
        pa.field("sticky", pa.int64()),
        pa.field("closed", pa.int64()),
        pa.field("bumplimit", pa.int64()),
        pa.field("imagelimit", pa.int64()),
        pa.field("unique_ips", pa.int64()),
        pa.field("archived_at", TS),
        pa.field("deleted_at", TS),
        pa.field("seq", pa.int64()),  # see SEQ
    ]
)

# `seq`: the row's place in its board's write order (src/polit/lake/sequence.py), the same
# counter for both tables and every writer of the board. "Newest wins" follows it, not
# `observed_at` (a crawler's clock can be behind). Null in rows written before it existed
# and in imported rows: they count as older than every row with a `seq`.
SEQ = "seq"

TABLES = {"posts": POSTS, "threads": THREADS}
