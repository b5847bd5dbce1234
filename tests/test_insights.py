"""The insight marts (dbt/models/insights) against values computed here, in Python, from the
`posts` and `threads` tables: on the shared recording (crawled, so with deletions and
archives) and on a synthetic board (bulk-ingested, so with flags and repeated images)."""

from __future__ import annotations

import csv
import math
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import duckdb
import pytest

from polit.lake.ingest import ingest_bodies
from polit.lake.store import Lake
from polit.replay.simulate import generate_threads
from polit.transform import transform
from polit.transform.lexicon import ALPHA, WORD, lexicon_csv, vader_lexicon
from tests.helpers.paths import ROOT
from tests.helpers.warehouse import load, replayed_lake

SEEDS = ROOT / "dbt" / "seeds"
STOPWORDS = {row["word"] for row in csv.DictReader((SEEDS / "stopwords.csv").open())}
LEXICON = {row["word"]: float(row["valence"]) for row in csv.DictReader(
    (SEEDS / "vader_lexicon.csv").open())}  # fmt: skip
URL = re.compile(r"(?:https?://|www\.)\S+")
QUOTE = re.compile(r">>\S*")
SPACES = re.compile(r"[\t\n\f\r ]+")  # RE2's \s


def _build(lake: Path, work: Path) -> Path:
    path = work / "warehouse.duckdb"
    load(lake, path)
    transform(str(path), workdir=work / "dbt", quiet=True)
    return path


@pytest.fixture(scope="module")
def recorded(recording, tmp_path_factory) -> SimpleNamespace:
    work = tmp_path_factory.mktemp("insights-recording")
    return _open(_build(replayed_lake(recording, tmp_path_factory), work))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> SimpleNamespace:
    work = tmp_path_factory.mktemp("insights-synthetic")
    lake = work / "lake"
    ingest_bodies(Lake(str(lake)), "pol", generate_threads(30_000, seed=7), run_id="synthetic",
                  observed_at=datetime(2023, 3, 28, tzinfo=UTC))  # fmt: skip
    return _open(_build(lake, work))


def _open(path: Path) -> SimpleNamespace:
    con = duckdb.connect(str(path), read_only=True)
    con.execute("set TimeZone = 'UTC'")

    def rows(sql: str) -> list[tuple]:
        return con.execute(sql).fetchall()

    posts = [
        SimpleNamespace(**dict(zip(COLUMNS, r, strict=True)))
        for r in rows(f"select {', '.join(COLUMNS)} from posts")
    ]
    return SimpleNamespace(path=path, rows=rows, posts=posts)


COLUMNS = (
    "board", "post_id", "thread_id", "is_op", "poster_id", "post_datetime", "deleted_at",
    "first_seen_at", "last_observed_at",
    "subject", "comment", "quotes", "links", "country", "country_name", "flag", "flag_name",
    "troll_country", "file_md5", "file_name", "file_extension", "file_size",
)  # fmt: skip


def hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def dated(posts: list[SimpleNamespace]) -> list[SimpleNamespace]:
    return [p for p in posts if p.post_datetime is not None]


def words(post: SimpleNamespace) -> list[str]:
    text = f"{post.subject or ''} {post.comment or ''}".lower()
    return WORD.findall(QUOTE.sub(" ", URL.sub(" ", text)))


def edges(posts: list[SimpleNamespace]) -> set[tuple[str, int, int]]:
    return {(p.board, p.post_id, q) for p in posts for q in (p.quotes or []) if q != p.post_id}


# -- activity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("board", ["recorded", "synthetic"])
def test_activity_per_hour(board, request):
    wh = request.getfixturevalue(board)
    expect: dict[datetime, list] = defaultdict(lambda: [0, 0, set(), [], []])
    for p in dated(wh.posts):
        row = expect[hour(p.post_datetime)]
        row[0] += 1
        row[1] += bool(p.is_op)
        if p.poster_id is not None:
            row[2].add(p.poster_id)
        row[3].append(p.first_seen_at)
        row[4].append(p.last_observed_at)
    got = {h: (n, t, a, f, last) for h, n, t, a, f, last in wh.rows(
        "select hour, posts, new_threads, active_posters, first_seen_at, last_observed_at"
        " from activity_hourly")}  # fmt: skip
    assert got == {
        h: (n, t, len(ids), min(first), max(last)) for h, (n, t, ids, first, last) in expect.items()
    }
    assert sum(n for n, *_ in got.values()) > 10_000


# -- flags ------------------------------------------------------------------------------------


def test_flags_and_replies_received(synthetic):
    received = Counter((b, q) for b, _, q in edges(synthetic.posts))
    expect: Counter[tuple[str, str]] = Counter()
    replies: Counter[tuple[str, str]] = Counter()
    for p in dated(synthetic.posts):
        for kind, code in (("country", p.country), ("meme", p.flag or p.troll_country)):
            if code is not None:
                expect[(kind, code)] += 1
                replies[(kind, code)] += received[(p.board, p.post_id)]
    got = synthetic.rows("select flag_kind, flag, sum(posts), sum(replies_received)"
                         " from flags_hourly group by 1, 2")  # fmt: skip
    assert {(k, f): (n, r) for k, f, n, r in got} == {
        key: (n, replies[key]) for key, n in expect.items()
    }
    assert len({k for k, _ in expect}) == 2, "the synthetic board has both kinds of flag"


# -- terms ------------------------------------------------------------------------------------


def post_terms(post: SimpleNamespace) -> Counter[tuple[str, str]]:
    ws = words(post)
    terms: Counter[tuple[str, str]] = Counter(
        ("word", w) for w in ws if len(w) >= 2 and w not in STOPWORDS
    )
    terms.update(("bigram", f"{a} {b}") for a, b in pairwise(ws)
                 if a != b and a not in STOPWORDS and b not in STOPWORDS)  # fmt: skip
    return terms


def test_stopwords_cover_the_languages_of_pol():
    """Common function words of each language /pol/ posts in (the ones the rising terms
    showed: und, att, det); English content words other lists hold stay terms."""
    languages = {
        "en": "the and of new", "de": "und der nicht ist", "sv": "att och det inte",
        "nl": "het een niet", "es": "los que pero", "fr": "les des pas", "it": "della che non",
        "pt": "uma com para não", "pl": "nie jest się",
    }  # fmt: skip
    for language, common in languages.items():
        missing = set(common.split()) - STOPWORDS
        assert not missing, (language, missing)
    assert len(STOPWORDS) > 4000
    assert not {"war", "trump", "white", "russia"} & STOPWORDS


def test_stopwords_seed_is_what_stopwords_iso_gives():
    """dbt/seeds/stopwords.csv is dbt/scripts/stopwords.py's output (stopwordsiso needed)."""
    pytest.importorskip("stopwordsiso")
    import runpy

    script = runpy.run_path(str(ROOT / "dbt" / "scripts" / "stopwords.py"))
    assert (SEEDS / "stopwords.csv").read_text(encoding="utf-8") == script["seed_csv"]()


def test_terms_per_day_and_trending(recorded):
    daily: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    hourly: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for p in dated(recorded.posts):
        h = hour(p.post_datetime)
        for term, n in post_terms(p).items():
            for table, key in ((daily, (h.date(), *term)), (hourly, (h, *term))):
                table[key][0] += n
                table[key][1] += 1
    got = {(d, k, t): (m, n) for d, k, t, m, n in recorded.rows(
        "select day, term_kind, term, mentions, posts from terms_daily")}  # fmt: skip
    assert got == {key: tuple(v) for key, v in daily.items() if v[1] >= 2}
    assert ("word", "nashville") in {(k, t) for _, k, t in got}  # the news of 2023-03-27
    # pairs of one word twice ("desu desu") are in the posts, and never a term
    repeated = [a for p in dated(recorded.posts) for a, b in pairwise(words(p))
                if a == b and a not in STOPWORDS]  # fmt: skip
    assert len(repeated) > 10
    assert not [t for _, k, t in got if k == "bigram" and t.split()[0] == t.split()[1]]
    assert not set(t for _, k, t in got if k == "word") & STOPWORDS

    # trending: the last 6 hours with posts against the 48 before them (dbt_project vars)
    newest = max(hour(p.post_datetime) for p in dated(recorded.posts))
    active = {hour(p.post_datetime) for p in dated(recorded.posts)}
    back = {h: (newest - h).total_seconds() / 3600 for h in active}
    recent_hours = sum(1 for b in back.values() if b < 6)
    baseline_hours = sum(1 for b in back.values() if 6 <= b < 54)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (h, kind, term), (mentions, _) in hourly.items():
        if back[h] < 6:
            counts[(kind, term)][0] += mentions
        elif back[h] < 54:
            counts[(kind, term)][1] += mentions
    scores = {
        key: ((r + 1) / recent_hours) / ((b + 1) / max(baseline_hours, 1))
        for key, (r, b) in counts.items() if r >= 5
    }  # fmt: skip
    got_scores = {(k, t): s for k, t, s in recorded.rows(
        "select term_kind, term, score from terms_trending")}  # fmt: skip
    assert got_scores.keys() == scores.keys()
    assert all(math.isclose(got_scores[k], s) for k, s in scores.items())
    top = recorded.rows("select term from terms_trending where term_kind = 'word' and rank = 1")
    best = max((k for k in scores if k[0] == "word"), key=lambda k: (scores[k], counts[k][0]))
    assert top == [(best[1],)]


# -- threads, replies, links, images, moderation --------------------------------------------


def test_thread_activity(recorded):
    threads = {r[0]: r[1:] for r in recorded.rows(
        "select thread_id, is_archived, is_deleted, created_at, archived_at, deleted_at,"
        " last_seen_at, number_of_posts, bumplimit_at from threads")}  # fmt: skip
    got = {r[0]: r[1:] for r in recorded.rows(
        "select thread_id, end_state, hours_on_board, reached_bump_limit, posts_per_hour"
        " from thread_activity")}  # fmt: skip
    # threads whose OP was never seen have no creation time: left out
    assert got.keys() == {t for t, row in threads.items() if row[2] is not None}
    for tid, (archived, deleted, created, arch_at, del_at, last, n, bump) in threads.items():
        if created is None:
            continue
        state, hours, bumped, pph = got[tid]
        assert state == ("archived" if archived else "deleted" if deleted else "live")
        end = arch_at if archived else del_at if deleted else last
        assert bumped == (bump is not None)
        assert math.isclose(hours, (end - created).total_seconds() / 3600)
        assert math.isclose(pph, n / max(hours, 1 / 60))
    states = Counter(v[0] for v in got.values())
    assert states["archived"] == 984 and states["live"] > 0  # as the recording has them


def test_thread_topics_fall_back_to_the_op_comment(recorded):
    """A thread without a subject is titled by the first 80 characters of its OP's
    comment, whitespace collapsed (as 4chan's catalog does)."""
    ops = {p.thread_id: p for p in recorded.posts if p.is_op}
    got = dict(recorded.rows("select thread_id, topic from thread_activity"))
    expect = {}
    for tid in got:
        subject, comment = (ops[tid].subject or "").strip(" "), ops[tid].comment or ""
        expect[tid] = subject or SPACES.sub(" ", comment).strip(" ")[:80] or None
    assert got == expect
    untitled = [t for t in got if not (ops[t].subject or "").strip()]
    assert len(untitled) > 400 and all(got[t] for t in untitled if ops[t].comment)  # 511


def test_empty_tiles_say_why(recorded):
    """The recording's posts carry no flag fields: the flag charts say so, rather than
    "no data in these days"."""
    from polit.insights import marts
    from polit.insights.sources import open_source
    from polit.insights.tiles import TILES

    source = open_source(str(recorded.path))
    try:
        board = next(b for b in marts.boards(source) if b.name == "pol")
        data = marts.load_insights(source, board.last(None))
    finally:
        source.close()
    assert recorded.rows("select count(*) from posts where country is not null"
                         " or flag is not null or troll_country is not null") == [(0,)]  # fmt: skip
    flags = next(t for t in TILES if t.name == "flags")
    reasons = [c.why_empty(data) for c in flags.charts if c.build(data) is None]
    assert reasons == [
        "no country flags: this board's posts have no such field",
        "no meme flags: this board's posts have no such field",
    ]


def test_replies_most_quoted_and_share_without_reply(recorded):
    quoted = Counter((b, q) for b, _, q in edges(recorded.posts))
    known = {(p.board, p.post_id): p for p in recorded.posts}
    top = sorted(((n, -k[1]) for k, n in quoted.items() if n >= 2 and k in known), reverse=True)
    got = recorded.rows("select times_quoted, post_id, comment from most_quoted_posts"
                        " order by times_quoted desc, post_id limit 20")  # fmt: skip
    assert [(n, -p) for n, p, _ in got] == top[:20]
    assert all(c == (known[("pol", p)].comment or "")[:280] for _, p, c in got)

    per_hour: dict[datetime, list[int]] = defaultdict(lambda: [0, 0])
    for p in dated(recorded.posts):
        per_hour[hour(p.post_datetime)][0] += 1
        per_hour[hour(p.post_datetime)][1] += (p.board, p.post_id) in quoted
    got_hours = {h: (n, r, s) for h, n, r, s in recorded.rows(
        "select hour, posts, posts_with_reply, share_without_reply"
        " from replies_hourly")}  # fmt: skip
    assert {h: v[:2] for h, v in got_hours.items()} == {h: tuple(v) for h, v in per_hour.items()}
    assert all(math.isclose(s, (n - r) / n) for n, r, s in got_hours.values())
    assert recorded.rows("select count(*) from reply_edges") == [(len(edges(recorded.posts)),)]


def domain(url: str) -> str | None:
    host = urlsplit(url.lower()).hostname if "://" in url else None
    if host and re.fullmatch(r"[a-z0-9.-]+", host):
        return host.removeprefix("www.")
    return None


def test_top_domains(recorded):
    links: Counter[str] = Counter()
    for p in dated(recorded.posts):
        for url in p.links or []:
            if (d := domain(url)) is not None:
                links[d] += 1
    got = recorded.rows("select domain, sum(links) as n from link_domains_daily"
                        " group by 1 order by n desc, domain limit 10")  # fmt: skip
    assert got == sorted(links.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert got[0][0] == "youtube.com"


def test_image_types_and_repeats(synthetic):
    types = Counter(p.file_extension.lower() for p in dated(synthetic.posts) if p.file_extension)
    got = dict(synthetic.rows("select file_extension, sum(images) from image_types_hourly"
                              " group by 1"))  # fmt: skip
    assert got == dict(types)
    by_md5: dict[str, list[SimpleNamespace]] = defaultdict(list)
    for p in synthetic.posts:
        if p.file_md5:
            by_md5[p.file_md5].append(p)
    repeated = {m: (len(ps), len({p.thread_id for p in ps}), min(p.file_name for p in ps))
                for m, ps in by_md5.items() if len(ps) >= 2}  # fmt: skip
    got_rep = {m: (n, t, name) for m, n, t, name in synthetic.rows(
        "select file_md5, sum(posts), count(distinct thread_id), min(example_file_name)"
        " from image_posts_daily group by 1 having sum(posts) >= 2")}  # fmt: skip
    assert got_rep == repeated and repeated


def test_moderation_per_hour(recorded):
    posts = Counter(hour(p.deleted_at) for p in recorded.posts if p.deleted_at)
    threads = Counter(hour(t) for (t,) in recorded.rows(
        "select deleted_at from threads"
        " where deleted_at is not null and not is_archived"))  # fmt: skip
    got = {h: (p, t) for h, p, t in recorded.rows(
        "select hour, deleted_posts, deleted_threads from moderation_hourly")}  # fmt: skip
    expect = {h: (posts[h], threads[h]) for h in posts.keys() | threads.keys()}
    assert got == expect and sum(p for p, _ in got.values()) == 123


# -- tone -------------------------------------------------------------------------------------


def tone(post: SimpleNamespace) -> float:
    s = sum(LEXICON.get(w, 0.0) for w in words(post))
    return s / math.sqrt(s * s + ALPHA)


def test_tone_per_post_and_per_hour(recorded):
    got = dict(recorded.rows("select post_id, tone from post_tone"))
    posts = dated(recorded.posts)
    assert got.keys() == {p.post_id for p in posts}
    assert all(math.isclose(got[p.post_id], tone(p), abs_tol=1e-12) for p in posts)
    assert sum(1 for v in got.values() if v != 0) > len(got) / 2
    per_hour: dict[datetime, list[float]] = defaultdict(list)
    for p in posts:
        per_hour[hour(p.post_datetime)].append(tone(p))
    for h, n, mean, pos, neg, neu in recorded.rows(
        "select hour, posts, mean_tone, positive_posts, negative_posts, neutral_posts"
        " from tone_hourly"
    ):
        tones = per_hour[h]
        assert n == len(tones) and math.isclose(mean, sum(tones) / n, abs_tol=1e-12)
        assert (pos, neg) == (sum(t >= 0.05 for t in tones), sum(t <= -0.05 for t in tones))
        assert pos + neg + neu == n


def test_lexicon_seed_is_the_packaged_lexicon():
    """dbt/seeds/vader_lexicon.csv is generated from the vaderSentiment package."""
    assert (SEEDS / "vader_lexicon.csv").read_text() == lexicon_csv(vader_lexicon())
    assert len(LEXICON) > 7000 and LEXICON["good"] == 1.9
