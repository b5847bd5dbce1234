"""Faults, hostile bodies and the rate limit, measured on the server side."""

from __future__ import annotations

import itertools
import logging

import pyarrow.compute as pc

from polit.chan.client import ChanClient
from polit.config import Settings
from polit.crawl.crawler import BoardCrawler
from polit.lake.stats import latest_posts
from polit.lake.store import Lake
from polit.replay.server import ReplayServer
from tests.helpers.replay_helpers import post, replay_crawl, trimmed_recording, write_recording

FAULTS = "500:0.06,503:0.03,429:0.03,timeout:0.02,truncate:0.03,reset:0.03"  # 20% in all


def _latest(lake_dir):
    t = latest_posts(Lake(str(lake_dir)))
    return set(
        zip(
            t["no"].to_pylist(),
            t["thread_no"].to_pylist(),
            pc.is_valid(t["deleted_at"]).to_pylist(),
            t["version"].to_pylist(),
            strict=True,
        )
    )


def test_twenty_percent_faults_lose_nothing(recording, tmp_path, caplog):
    rec = trimmed_recording(recording, tmp_path / "rec", snapshots=3)
    clean = replay_crawl(rec, tmp_path / "clean")
    assert not any(r.errors for r in clean)
    caplog.set_level(logging.WARNING)
    faulty = replay_crawl(
        rec, tmp_path / "faulty", faults=FAULTS, seed=7, settings={"timeout": 1.0},
        retry_errors=True,
    )  # fmt: skip
    assert _latest(tmp_path / "faulty") == _latest(tmp_path / "clean")
    assert len(_latest(tmp_path / "clean")) > 25_000
    messages = " ".join(r.getMessage() for r in caplog.records)
    for sign in ("HTTP 500", "HTTP 503", "HTTP 429", "timeout", "malformed JSON"):
        assert sign in messages, f"no log line for {sign}"
    assert sum(r.requests for r in faulty) > sum(r.requests for r in clean)


def test_default_rate_never_two_requests_in_one_second(tmp_path):
    threads = {n: [post(n)] + [post(n * 10 + k, n) for k in range(3)] for n in (100, 200, 300)}
    rec = write_recording(tmp_path / "rec", [threads, {**threads, 400: [post(400)]}])
    with ReplayServer(rec, faults="429:0.15,500:0.1", seed=3) as srv:
        settings = Settings(api_url=srv.url, lake=str(tmp_path / "lake"))  # default 1 req/s
        assert settings.max_rps == 1.0
        with ChanClient(settings, backoff=0.05) as client:
            for _ in range(2):
                crawler = BoardCrawler(client, Lake(settings.lake), "pol", min_thread_interval=0)
                crawler.cycle()
                crawler.flush()
                srv.next()
        arrivals = sorted(t for t, _, _ in srv.request_log)
    assert len(arrivals) >= 8
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) >= 1.0, f"two requests {min(gaps):.3f} s apart"


def test_hostile_bodies_are_logged_and_the_rest_is_kept(tmp_path, caplog):
    good = {1: [post(1), post(2, 1)], 10: [post(10), post(11, 10)]}
    huge = "A" * (2 * 1024 * 1024) + "<br>" + "&gt;" * 1000
    hostile = {
        20: b'{"posts": [{"no": 20, "resto": 0, "com": "cut',  # truncated
        30: b"not json at all",
        40: [post(40), {"resto": 40, "com": "I have no number"}],
        50: [post(50), post(51, 50, time="yesterday", w="wide", brand_new_field={"x": 1})],
        60: [post(60, com=huge)],
        70: b'{"posts": [{"no": 70, "resto": 0, "com": "caf\xe9 \xff\xfe"}]}',
    }
    rec = write_recording(tmp_path / "rec", [good, {**good, **hostile}, {**good, **hostile}])
    caplog.set_level(logging.WARNING)
    reports = replay_crawl(rec, tmp_path / "lake")
    got = {no for no, *_ in _latest(tmp_path / "lake")}
    # everything usable is kept: the good threads, post 40, both posts of 50, 60 and 70
    assert {1, 2, 10, 11, 40, 50, 51, 60, 70} <= got
    assert not got & {20, 30}
    text = " ".join(r.getMessage() for r in caplog.records)
    for thread in (20, 30, 40, 50, 70):
        assert f"/pol/{thread}" in text or f"/thread/{thread}.json" in text, thread
    assert "malformed JSON" in text and "wrong type" in text and "invalid UTF-8" in text
    assert not any(r.deleted_posts for r in reports)  # an incomplete body proves nothing


def test_an_empty_listing_deletes_nothing(tmp_path):
    threads = {1: [post(1), post(2, 1)], 10: [post(10)]}
    rec = write_recording(tmp_path / "rec", [threads, {}, threads])
    reports = replay_crawl(rec, tmp_path / "lake")
    assert reports[1].failed and "listed no threads" in reports[1].errors[0]
    assert not any(r.deleted_threads or r.deleted_posts for r in reports)
