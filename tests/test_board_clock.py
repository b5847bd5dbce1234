"""Which clock times an observation (polit.crawl.clock), and that the replay's Date header
is its snapshot's time, so that a crawl of a recording is timed in the recording's hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from polit.chan.client import ChanClient
from polit.config import Settings
from polit.crawl.clock import AHEAD, BEHIND, newest_time, observed_at
from polit.replay.server import ReplayServer
from tests.helpers.replay_helpers import post, write_recording

BOARD = datetime(2023, 3, 27, 12, tzinfo=UTC)
LOCAL = datetime(2031, 12, 1, tzinfo=UTC)  # years after the board, like a late replay


def test_the_board_clock_wins_unless_implausible():
    assert observed_at(BOARD, LOCAL) == (BOARD, None)
    assert observed_at(BOARD, LOCAL, newest=BOARD + BEHIND) == (BOARD, None)
    # a local clock far behind: the board's is believed up to a day ahead of it
    assert observed_at(BOARD, BOARD - AHEAD)[0] == BOARD
    for date, newest in ((None, None), (BOARD, BOARD + BEHIND + timedelta(seconds=1)),
                         (LOCAL + AHEAD + timedelta(seconds=1), None)):  # fmt: skip
        when, why = observed_at(date, LOCAL, newest)
        assert when == LOCAL and why, (date, newest)


def test_newest_time_reads_post_times_and_archived_on():
    t = int(BOARD.timestamp())
    assert newest_time([{"time": t}, {"time": t - 5, "archived_on": t + 9}, {"time": "x"}]) == (
        BOARD + timedelta(seconds=9)
    )
    assert newest_time([{"no": 1}]) is None
    assert newest_time([{"time": 10**20}]) is None  # beyond datetime: no evidence


def test_the_replay_sends_its_snapshots_time_as_date(tmp_path):
    at = [BOARD, BOARD + timedelta(hours=1)]
    late = post(2, 1, time=int((at[1] + timedelta(minutes=20)).timestamp()))
    rec = write_recording(tmp_path / "rec", [{1: [post(1, time=int(BOARD.timestamp()) - 60)]},
                                             {1: [post(1), late]}], at=at)  # fmt: skip
    with ReplayServer(rec) as srv, ChanClient(Settings(api_url=srv.url, max_rps=0)) as client:
        assert client.threads("pol").date == at[0]
        assert client.thread("pol", 1).date == at[0]
        assert client.thread("pol", 999).date == at[0]  # a 404 too
        srv.next()
        assert client.archive("pol").date == at[1]
        # a snapshot that took a while: never before a post it serves
        assert client.thread("pol", 1).date == at[1] + timedelta(minutes=20)
        assert httpx.get(f"{srv.url}/pol/threads.json").headers["Date"] == (
            "Mon, 27 Mar 2023 13:00:00 GMT"
        )
