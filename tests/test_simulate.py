"""The synthetic board: deterministic, in the recording format, and close to the real one.

One 4-hour run (15-minute cadence) is surveyed once and shared by most tests; the same
survey is made of the real recording (../shared) for the distribution checks.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from polit.replay.simulate import SimulationSummary, generate_threads, simulate
from polit.replay.synth_meta import EasternClock, eastern_offset

# The API's key order: posts, then the OP-only fields.
KEY_ORDER = (
    *("no", "now", "name", "trip", "id", "country", "country_name", "board_flag", "flag_name"),
    *("sub", "com", "filename", "ext", "w", "h", "tn_w", "tn_h", "tim", "filedeleted", "time"),
    *("md5", "fsize", "resto", "sticky", "closed", "archived", "archived_on", "bumplimit"),
    *("imagelimit", "semantic_url", "replies", "images", "unique_ips"),
)
RANK = {key: i for i, key in enumerate(KEY_ORDER)}


@dataclass
class Survey:
    """What one pass over a recording finds; `errors` lists format violations."""

    snapshots: int = 0
    threads_per_snapshot: list[int] = field(default_factory=list)
    max_posts: dict[int, int] = field(default_factory=dict)  # non-sticky threads
    quote: dict[int, bool] = field(default_factory=dict)  # post no -> has a quotelink
    green: dict[int, bool] = field(default_factory=dict)
    vanished: int = 0  # posts gone from a thread that is still listed next time
    returned: int = 0  # posts missing from one snapshot only
    listed_ever: set[int] = field(default_factory=set)
    archive: list[int] = field(default_factory=list)  # the last archive.json
    archive_files: dict[int, list[int]] = field(default_factory=dict)  # no -> snapshots
    pruned_archived: set[int] = field(default_factory=set)
    gone_unarchived: set[int] = field(default_factory=set)
    born_and_gone: set[int] = field(default_factory=set)  # archived between two snapshots
    file_deleted: int = 0  # posts with a file earlier and `filedeleted` later
    md5s: dict[int, str] = field(default_factory=dict)
    cross_thread: dict[int, bool] = field(default_factory=dict)
    flag: dict[int, str] = field(default_factory=dict)  # "meme", "country" or "none"
    hard_links: int = 0
    errors: list[str] = field(default_factory=list)


def survey(root: Path, board: str = "pol") -> Survey:
    s = Survey()
    index = json.loads((root / "recording.json").read_text())
    prev: dict[int, set[int]] = {}
    before: dict[int, set[int]] = {}
    had_file: set[int] = set()
    first_listed = 0  # the newest thread of the first snapshot
    prev_archive: list[int] = []
    for k, snap in enumerate(index["snapshots"]):
        d = root / snap["dir"]
        listed = read_listing(d, s, k)
        current: dict[int, set[int]] = {}
        for no in listed:
            posts = read_body(d / "thread" / f"{no}.json", no, s)
            if posts and not posts[0].get("sticky"):
                current[no] = {p["no"] for p in posts}
                s.max_posts[no] = max(s.max_posts.get(no, 0), len(posts))
            for p in posts:
                note_post(p, s, had_file, board)
        count_vanished(before, prev, current, s)
        archive = read_archive(d, k, prev_archive, s)
        for no in set(prev) - set(current):
            (s.pruned_archived if no in archive else s.gone_unarchived).add(no)
        s.listed_ever |= set(listed)
        first_listed = first_listed or max(listed, default=0)
        before, prev, prev_archive = prev, current, archive
        s.snapshots += 1
    s.archive = prev_archive
    s.gone_unarchived -= set(s.archive)
    s.born_and_gone = {no for no in set(s.archive) - s.listed_ever if no > first_listed}
    return s


def read_listing(d: Path, s: Survey, k: int) -> list[int]:
    pages = json.loads((d / "threads.json").read_text())
    if len(pages) > 10 or any(len(p["threads"]) > 20 for p in pages):
        s.errors.append(f"snapshot {k}: more than 10 pages or 20 threads a page")
    if [p["page"] for p in pages] != list(range(1, len(pages) + 1)):
        s.errors.append(f"snapshot {k}: page numbers")
    listed = [t["no"] for p in pages for t in p["threads"]]
    s.threads_per_snapshot.append(len(listed))
    return listed


def read_body(path: Path, no: int, s: Survey) -> list[dict[str, Any]]:
    if not path.exists():
        s.errors.append(f"{path}: listed without a body")
        return []
    s.hard_links += path.stat().st_nlink > 1
    posts: list[dict[str, Any]] = json.loads(path.read_text())["posts"]
    if posts[0]["no"] != no or posts[0]["resto"] != 0:
        s.errors.append(f"{path}: OP")
    if any(p["resto"] != no for p in posts[1:]):
        s.errors.append(f"{path}: resto")
    numbers = [p["no"] for p in posts]
    times = [p["time"] for p in posts]
    if numbers != sorted(set(numbers)) or times[1:] != sorted(times[1:]):
        s.errors.append(f"{path}: post order")
    for p in posts:
        ranks = [RANK.get(key, -1) for key in p]
        if -1 in ranks or ranks != sorted(ranks):
            s.errors.append(f"{path}: keys of {p['no']}: {list(p)}")
    return posts


def note_post(p: dict[str, Any], s: Survey, had_file: set[int], board: str) -> None:
    com = p.get("com", "")
    s.quote[p["no"]] = 'class="quotelink"' in com
    s.green[p["no"]] = 'class="quote"' in com
    if "md5" in p:
        had_file.add(p["no"])
        s.md5s[p["no"]] = p["md5"]
    if p.get("filedeleted") and p["no"] in had_file:
        had_file.discard(p["no"])
        s.file_deleted += 1
    s.cross_thread[p["no"]] = f'href="/{board}/thread/' in com
    meme, country = "board_flag" in p, "country" in p
    s.flag[p["no"]] = (
        "both" if meme and country else "meme" if meme else "country" if country else "none"
    )


def count_vanished(
    before: dict[int, set[int]], prev: dict[int, set[int]], current: dict[int, set[int]], s: Survey
) -> None:
    for no, posts in current.items():
        if no in prev:
            s.vanished += len(prev[no] - posts)
        if no in before and no in prev:
            s.returned += len((before[no] & posts) - prev[no])


def read_archive(d: Path, k: int, prev_archive: list[int], s: Survey) -> list[int]:
    path = d / "archive.json"
    if not path.exists():
        return prev_archive
    archive: list[int] = json.loads(path.read_text())
    if archive != sorted(set(archive)) or not set(prev_archive) <= set(archive):
        s.errors.append(f"snapshot {k}: archive.json not ascending or shrank")
    new = set(archive) - set(prev_archive)
    folder = d / "archive"
    files = {int(f.stem) for f in folder.glob("*.json")} if folder.exists() else set()
    if files != new:
        s.errors.append(f"snapshot {k}: archive files {len(files)} != newly archived {len(new)}")
    for no in files:
        s.archive_files.setdefault(no, []).append(k)
        op = json.loads((folder / f"{no}.json").read_text())["posts"][0]
        if op.get("archived") != 1 or "archived_on" not in op or "unique_ips" in op:
            s.errors.append(f"snapshot {k}: archived OP {no} fields")
    return archive


# -- fixtures ---------------------------------------------------------------------------

HOURS, SEED, CADENCE = 4.0, 7, 15.0


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulationSummary, list[Any]]:
    out = tmp_path_factory.mktemp("synthetic") / "rec"
    calls: list[Any] = []
    summary = simulate(
        out, HOURS, SEED, cadence_minutes=CADENCE, progress=lambda *call: calls.append(call)
    )
    return out, summary, calls


@pytest.fixture(scope="module")
def synthetic(run: tuple[Path, SimulationSummary, list[Any]]) -> Survey:
    return survey(run[0])


@pytest.fixture(scope="module")
def real(recording: Path) -> Survey:
    return survey(recording)


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# -- determinism ------------------------------------------------------------------------


def test_same_seed_same_files_and_other_seed_differs(tmp_path: Path) -> None:
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        simulate(tmp_path / name, hours=0.5, seed=seed, cadence_minutes=10.0)
    a, b, c = tree(tmp_path / "a"), tree(tmp_path / "b"), tree(tmp_path / "c")
    assert a == b
    assert a.keys() != c.keys()
    assert a["recording.json"] != c["recording.json"]


def test_rerun_replaces_an_earlier_synthetic_recording_only(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    simulate(out, hours=0.2, seed=1, cadence_minutes=6.0)
    first = tree(out)
    simulate(out, hours=0.2, seed=1, cadence_minutes=6.0)
    assert tree(out) == first
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        simulate(foreign, hours=0.1, seed=1)
    assert (foreign / "keep.txt").read_text() == "mine"


# -- format -----------------------------------------------------------------------------


def test_recording_index_and_progress(run: tuple[Path, SimulationSummary, list[Any]]) -> None:
    out, summary, calls = run
    index = json.loads((out / "recording.json").read_text())
    expected = int(HOURS * 60 / CADENCE) + 1
    assert index["board"] == "pol"
    assert index["origin"] == f"polit synthetic board, seed={SEED}"
    assert len(index["snapshots"]) == summary.snapshots == expected
    assert index["snapshots"][0] == {"at": "2023-03-27T00:00:00Z", "dir": "20230327T000000Z"}
    assert all((out / s["dir"] / "threads.json").exists() for s in index["snapshots"])
    assert calls == [(k, expected) for k in range(1, expected + 1)]
    assert summary.bytes_written > 0
    assert not list(out.rglob("*.tmp"))


def test_format_is_valid(synthetic: Survey) -> None:
    assert synthetic.errors == []


def test_archive_files_written_once(synthetic: Survey) -> None:
    assert synthetic.archive, "nothing was archived"
    assert set(synthetic.archive_files) == set(synthetic.archive)
    assert all(len(snaps) == 1 for snaps in synthetic.archive_files.values())


def test_unchanged_threads_are_hard_links(synthetic: Survey) -> None:
    assert synthetic.hard_links > 100


def test_stickies_first_and_closed(run: tuple[Path, SimulationSummary, list[Any]]) -> None:
    out = run[0]
    snap = json.loads((out / "recording.json").read_text())["snapshots"][-1]["dir"]
    pages = json.loads((out / snap / "threads.json").read_text())
    first = pages[0]["threads"][0]
    op = json.loads((out / snap / "thread" / f"{first['no']}.json").read_text())["posts"][0]
    assert op["sticky"] == 1 and op["closed"] == 1 and op["time"] < 1_600_000_000
    listed = [t for p in pages for t in p["threads"]]
    bumped = [t["no"] for t in listed if t["last_modified"] > 1_600_000_000]
    assert len(bumped) >= 190


def test_post_fields_look_like_the_api(run: tuple[Path, SimulationSummary, list[Any]]) -> None:
    out = run[0]
    snap = json.loads((out / "recording.json").read_text())["snapshots"][-1]["dir"]
    posts = [
        p
        for f in sorted((out / snap / "thread").glob("*.json"))
        for p in json.loads(f.read_text())["posts"]
    ]
    with_file = [p for p in posts if "md5" in p]
    assert all(len(p["id"]) == 8 for p in posts)
    assert all(len(str(p["tim"])) == 16 and len(p["md5"]) == 24 for p in with_file)
    assert {p["ext"] for p in with_file} == {".jpg", ".png", ".gif", ".webm", ".mp4"}
    ops = [p for p in posts if p["resto"] == 0 and not p.get("sticky")]
    assert all("md5" in op and op["semantic_url"] and "unique_ips" in op for op in ops)
    assert 0.3 < sum("sub" in op for op in ops) / len(ops) < 0.8
    share = len(with_file) / len(posts)
    assert 0.3 < share < 0.45
    coms = " ".join(p.get("com", "") for p in posts)
    for markup in ("&gt;&gt;&gt;/", "<wbr>", "&#039;", "&quot;", "&amp;", "youtube.com"):
        assert markup in coms


def test_now_is_us_eastern() -> None:
    clock = EasternClock()
    assert clock.now(1679863106) == "03/26/23(Sun)16:38:26"  # from the real recording
    assert eastern_offset(1673740800) == -5  # 2023-01-15, winter
    assert eastern_offset(1688169600) == -4  # 2023-07-01, summer


# -- the model's events happen ----------------------------------------------------------


def test_threads_pruned_into_the_archive(synthetic: Survey) -> None:
    assert len(synthetic.pruned_archived) > 50


def test_deleted_threads_never_archived(synthetic: Survey) -> None:
    assert synthetic.gone_unarchived, "no thread vanished without being archived"
    assert not synthetic.gone_unarchived & set(synthetic.archive)


def test_threads_born_and_archived_between_snapshots(synthetic: Survey) -> None:
    assert synthetic.born_and_gone


def test_posts_deleted_and_glitches(synthetic: Survey) -> None:
    assert synthetic.vanished > 20
    assert synthetic.returned >= 1, "no post vanished once and came back"


def test_file_deleted_mutation(synthetic: Survey) -> None:
    assert synthetic.file_deleted >= 1


def test_reposted_files_share_md5(synthetic: Survey) -> None:
    counts = Counter(synthetic.md5s.values())
    assert sum(n for n in counts.values() if n > 1) / len(synthetic.md5s) > 0.15
    assert sum(1 for n in counts.values() if n == 1) / len(counts) > 0.6


def test_cross_thread_quotes_and_meme_flags(synthetic: Survey) -> None:
    assert sum(synthetic.cross_thread.values()) > 5
    flags = Counter(synthetic.flag.values())
    assert set(flags) == {"meme", "country"}  # every post has exactly one kind of flag
    assert 0.05 < flags["meme"] / len(synthetic.flag) < 0.11


# -- distributions against the real recording -------------------------------------------


def shares(s: Survey) -> dict[str, float]:
    sizes = list(s.max_posts.values())
    posts = len(s.quote)
    return {
        "median posts per thread": statistics.median(sizes),
        "mean posts per thread": statistics.mean(sizes),
        "threads per snapshot": statistics.mean(s.threads_per_snapshot),
        "quotelink share": sum(s.quote.values()) / posts,
        "greentext share": sum(s.green.values()) / posts,
        "vanished share": s.vanished / posts,
    }


def test_distributions_close_to_the_real_board(synthetic: Survey, real: Survey) -> None:
    ours, theirs = shares(synthetic), shares(real)
    for key in ("median posts per thread", "mean posts per thread"):
        assert theirs[key] / 2 <= ours[key] <= theirs[key] * 2, (key, ours, theirs)
    assert 195 <= ours["threads per snapshot"] <= 200
    assert 195 <= theirs["threads per snapshot"] <= 203
    for key in ("quotelink share", "greentext share"):
        assert 0.5 * theirs[key] <= ours[key] <= 1.5 * theirs[key], (key, ours, theirs)
    # Same order of magnitude: the real snapshots are an hour apart, ours 15 minutes.
    assert theirs["vanished share"] / 4 <= ours["vanished share"] <= theirs["vanished share"] * 4


def test_summary_counts(run: tuple[Path, SimulationSummary, list[Any]], synthetic: Survey) -> None:
    summary = run[1]
    # Posts made in 4 hours plus 3 hours of warm-up at 5000 an hour.
    assert 0.8 * 35_000 < summary.posts < 1.2 * 35_000
    assert summary.archived_threads == len(synthetic.archive)
    assert summary.deleted_threads >= len(synthetic.gone_unarchived)
    assert 0.005 < summary.deleted_posts / summary.posts < 0.02
    assert 0.03 < summary.deleted_threads / summary.threads < 0.1


# -- generate_threads -------------------------------------------------------------------


def test_generate_threads_yields_about_n_posts() -> None:
    bodies = list(generate_threads(20_000, seed=5))
    sizes = [len(b["posts"]) for b in bodies]
    assert 20_000 <= sum(sizes) < 20_000 + 500
    assert 3 <= statistics.median(sizes) <= 15
    assert 20 <= statistics.mean(sizes) <= 60
    numbers = []
    for body in bodies:
        op, *replies = body["posts"]
        assert op["resto"] == 0 and op["archived"] == 1
        assert all(p["resto"] == op["no"] for p in replies)
        numbers += [p["no"] for p in body["posts"]]
    assert len(numbers) == len(set(numbers))
    again = next(iter(generate_threads(100, seed=5)))
    assert again == bodies[0]


def test_a_topic_rises_during_the_run() -> None:
    posts = [p for body in generate_threads(30_000, seed=2) for p in body["posts"]]
    third = len(posts) // 3
    early = sum("indictment" in p.get("com", "") for p in posts[:third])
    late = sum("indictment" in p.get("com", "") for p in posts[-third:])
    assert late > 1.5 * early > 0
