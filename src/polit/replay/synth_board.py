"""The event-driven board behind `simulate` and `generate_threads`.

A `Board` keeps the live threads of one board and a heap of timed events (thread births,
replies, deletions, file deletions). `run_until(t)` plays the events up to time t. Threads
that leave the board by pruning land in `left` for the caller to write or yield; deleted
threads just vanish, as they do on 4chan (a crawler gets 404).

Replies are the hot path (`generate_threads` aims at 200k posts/s), so `_reply` and
`_reply_com` avoid calls: random draws come from pre-drawn tables and posts are built as
dict literals.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from bisect import bisect_left, insort
from collections import OrderedDict
from operator import itemgetter
from typing import Any

from polit.replay.synth_meta import EasternClock, FileInfo, Files, Poster, Posters
from polit.replay.synth_text import (
    OTHER_BOARDS,
    TextModel,
    board_link,
    deadlink,
    quotelink,
    slug,
    thread_link,
)
from polit.replay.synth_thread import Thread, reply_post, without_file

LIVE_THREADS = 200  # 10 pages x 20 threads, stickies included
BUMP_LIMIT = 300
IMAGE_LIMIT = 300
# Threads are born at posts_per_hour / 35.5 an hour: the mean final size is about 38,
# but deleted threads are small, so 35.5 posts per birth keeps the post rate on target.
POSTS_PER_BIRTH = 35.5

# Reply counts: lognormal for ordinary threads plus a share of popular ones. After pruning
# and deletions cut some threads short, final posts per thread come out at mean 38 and
# median 8 (Hine et al.: 38.4 and 7; the 2023 recording has bigger threads, so the median
# leans up a little); tests/test_simulate.py checks them against the real recording.
POPULAR_SHARE = 0.12
REPLIES_MU = 1.9
REPLIES_SIGMA = 1.3

FILE_SHARE = 0.35  # of replies; OPs always have a file
QUOTE_SHARE = 0.78  # replies quoting a post of their thread (0.83 in the real recording)
QUOTE_OP_SHARE = 0.35
MULTI_QUOTE_SHARE = 0.05
NO_TEXT_SHARE = 0.07  # of replies with a file: image only, no `com`
NEW_POSTER_SHARE = 0.5  # the real recording: about 1.9 posts per id in a thread
THREAD_DELETE_SHARE = 0.065
EARLY_ARCHIVE_SHARE = 0.008

# Rare per-reply events share one uniform draw (they are exclusive): cumulative bounds.
SAGE = 0.03  # a reply that does not bump
URL = SAGE + 0.06
TOPIC = URL + 0.05
CROSS_THREAD = TOPIC + 0.004
CROSS_BOARD = CROSS_THREAD + 0.002
DEAD = CROSS_BOARD + 0.002
# A second draw for what happens to the post later.
POST_DELETE = 0.013  # the post vanishes from its thread
FILE_DELETE = POST_DELETE + 0.012  # only for posts with a file: `filedeleted: 1`

BIRTH, REPLY, DELETE_POST, DELETE_FILE, DELETE_THREAD, EARLY_ARCHIVE = range(6)
# Exponential(1) quantiles: EXPO[getrandbits(10)] is an exponential draw without a call.
EXPO = tuple(-math.log(1 - (i + 0.5) / 1024) for i in range(1024))
post_no = itemgetter("no")


class Board:
    def __init__(self, rng: random.Random, board: str, t0: float, posts_per_hour: int) -> None:
        self.rng = rng
        self.board = board
        self.clock = t0
        self.thread_rate = posts_per_hour / POSTS_PER_BIRTH / 3600.0  # births per second
        self.text = TextModel(rng)
        self.people = Posters(rng)
        self.files = Files(rng)
        self.eastern = EasternClock()
        self.next_no = 420_900_000 + rng.randrange(100_000)
        self.heap: list[tuple[float, int, int, Thread | None, int]] = []
        self.seq = itertools.count()
        self.bumps: OrderedDict[int, Thread] = OrderedDict()  # least recently bumped first
        self.stickies: list[Thread] = []
        self.archived: list[int] = []  # every archived OP number, ascending
        self.keep_archive_list = True
        self.left: list[Thread] = []  # archived since the last drain
        self.recent: list[tuple[int, int]] = []  # (op, no) ring for cross-thread quotes
        self.progress = 0.0  # 0..1 through the run; drives the rising topics
        self.created_posts = 0
        self.created_threads = 0
        self.deleted_posts = 0
        self.deleted_threads = 0
        self.archived_threads = 0
        self.last_deleted = 0
        self._push(t0 + rng.expovariate(self.thread_rate), BIRTH, None, 0)

    # -- the event loop -------------------------------------------------------------

    def _push(self, t: float, kind: int, thread: Thread | None, arg: int) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), kind, thread, arg))

    def run_until(self, t: float) -> None:
        heap = self.heap
        pop = heapq.heappop
        reply = self._reply
        while heap and heap[0][0] <= t:
            when, _, kind, thread, arg = pop(heap)
            if kind == REPLY:
                if thread is not None and thread.alive:
                    reply(thread, when)
            elif kind == BIRTH:
                self._birth(when)
            elif thread is not None and thread.alive:
                self._mutate(kind, thread, when, arg)
        self.clock = t

    def _mutate(self, kind: int, thread: Thread, when: float, arg: int) -> None:
        if kind == DELETE_POST:
            self._delete_post(thread, arg, int(when))
        elif kind == DELETE_FILE:
            self._delete_file(thread, arg, int(when))
        elif kind == DELETE_THREAD:
            self._delete_thread(thread)
        elif kind == EARLY_ARCHIVE:
            self._archive(thread, int(when))

    def drain_left(self) -> list[Thread]:
        left, self.left = self.left, []
        return left

    def listing(self) -> list[Thread]:
        """Live threads in threads.json order: stickies, then newest bump first."""
        return self.stickies + list(reversed(self.bumps.values()))

    # -- threads --------------------------------------------------------------------

    def add_sticky(self, t: int, no: int, sub: str, com: str) -> None:
        """Old, closed, reply-less stickies like the two on the real board."""
        poster = self.people.new()
        op = self._op_post(no, t, poster, sub, com)
        self.stickies.append(Thread(no, [op], slug(sub), [], [poster], t, t, sticky=True))

    def _birth(self, when: float) -> None:
        rng = self.rng
        self._push(when + rng.expovariate(self.thread_rate), BIRTH, None, 0)
        t = int(when)
        no = self.next_no
        self.next_no += 1
        self.created_posts += 1
        self.created_threads += 1
        poster = self.people.new()
        raw_sub, sub = self.text.subject() if rng.random() < 0.55 else ("", "")
        raw_first, com = self._op_com()
        op = self._op_post(no, t, poster, sub, com)
        schedule = self._schedule(when, self._reply_count())
        thread = Thread(no, [op], slug(raw_sub or raw_first), schedule, [poster], t, t)
        self.bumps[no] = thread
        while len(self.bumps) + len(self.stickies) > LIVE_THREADS:
            self._archive(next(iter(self.bumps.values())), t)
        if schedule:
            self._push(schedule[0], REPLY, thread, 0)
        roll = rng.random()
        if roll < THREAD_DELETE_SHARE:
            # Janitors remove most bad threads within minutes; the rest later.
            delay = rng.expovariate(1 / 180) if rng.random() < 0.4 else rng.expovariate(1 / 2100)
            self._push(when + 30 + delay, DELETE_THREAD, thread, 0)
        elif roll < THREAD_DELETE_SHARE + EARLY_ARCHIVE_SHARE:
            # A moderator closes and archives the thread at once: it can appear only in
            # archive.json, never in threads.json, which a crawler must cope with.
            self._push(when + rng.uniform(60, 480), EARLY_ARCHIVE, thread, 0)

    def _reply_count(self) -> int:
        """Heavy-tailed: most threads get a few replies, one in seven is a hit.

        A lognormal alone cannot give both median 7 and mean 38 under the bump limit,
        so popular threads are drawn apart, spread from 40 replies up past the limit.
        """
        rng = self.rng
        if rng.random() < POPULAR_SHARE:
            n = int(40 + 320 * rng.random() ** 0.8)
        else:
            n = int(rng.lognormvariate(REPLIES_MU, REPLIES_SIGMA))
        if n > BUMP_LIMIT:
            # Past the bump limit a thread sinks; replies go on until it is pruned.
            n = BUMP_LIMIT + int(rng.expovariate(1 / 40))
        return n

    def _schedule(self, birth: float, n: int) -> list[float]:
        """Reply times: bursts around a few centres, front-loaded, longer for big threads."""
        if n == 0:
            return []
        rng = self.rng
        span = 900.0 * n**0.45 * rng.lognormvariate(0, 0.4)
        k = 1 + n // 10
        centres = [birth + 20 + span * rng.random() ** 1.6 for _ in range(k)]
        rand = rng.random
        bits = rng.getrandbits
        times = [centres[int(rand() * k)] + 90 * EXPO[bits(10)] for _ in range(n)]
        times.sort()
        return times

    def _archive(self, thread: Thread, t: int) -> None:
        del self.bumps[thread.no]
        thread.alive = False
        thread.archived_on = t
        self.archived_threads += 1
        if self.keep_archive_list:
            insort(self.archived, thread.no)
        self.left.append(thread)

    def _delete_thread(self, thread: Thread) -> None:
        del self.bumps[thread.no]
        thread.alive = False
        self.deleted_threads += 1

    # -- posts ----------------------------------------------------------------------

    def _op_post(self, no: int, t: int, poster: Poster, sub: str, com: str) -> dict[str, Any]:
        """An OP with its file (OPs always have one), keys in the API's order."""
        poster_id, name, trip, (k1, v1, k2, v2) = poster
        info = self.files.pick(t)
        post: dict[str, Any] = {"no": no, "now": self.eastern.now(t), "name": name}
        if trip is not None:
            post["trip"] = trip
        post.update({"id": poster_id, k1: v1, k2: v2})
        if sub:
            post["sub"] = sub
        post.update(
            {
                "com": com,
                "filename": info.filename,
                "ext": info.ext,
                "w": info.w,
                "h": info.h,
                "tn_w": info.op_tn_w,
                "tn_h": info.op_tn_h,
                "tim": t * 1_000_000 + self.rng.getrandbits(19),
                "time": t,
                "md5": info.md5,
                "fsize": info.fsize,
                "resto": 0,
            }
        )
        return post

    def _reply(self, thread: Thread, when: float) -> None:
        rng = self.rng
        rand = rng.random
        t = int(when)
        no = self.next_no
        self.next_no += 1
        self.created_posts += 1
        posters = thread.posters
        if rand() < NEW_POSTER_SHARE:
            poster = self.people.new()
            thread.unique += 1
        else:
            # The author of a random earlier post: talkative posters talk more.
            poster = posters[int(rand() * len(posters))]
        posters.append(poster)
        info: FileInfo | None = None
        if rand() < FILE_SHARE and not thread.imagelimit:
            info = self.files.pick(t)
        rare = rand()
        com = self._reply_com(thread, info is not None, rare)
        post = reply_post(no, self.eastern.now(t), poster, com, info, t, thread.no, rng)
        thread.posts.append(post)
        thread.replies += 1
        thread.total_replies += 1
        thread.version += 1
        thread.last_modified = t
        if info is not None:
            thread.images += 1
            if thread.images >= IMAGE_LIMIT:
                thread.imagelimit = 1
        if thread.total_replies <= BUMP_LIMIT and rare >= SAGE:
            thread.last_bump = t
            self.bumps.move_to_end(thread.no)
        if thread.total_replies >= BUMP_LIMIT:
            thread.bumplimit = 1
        if not no & 7:  # every 8th post is enough to pick cross-thread quotes from
            recent = self.recent
            if len(recent) < 512:
                recent.append((thread.no, no))
            else:
                recent[(no >> 3) & 511] = (thread.no, no)
        fate = rand()
        if fate < POST_DELETE:
            # Deletions come late (janitor sweeps, users deleting): seen between snapshots.
            self._push(when + 60 + rng.expovariate(1 / 2700), DELETE_POST, thread, no)
        elif fate < FILE_DELETE and info is not None:
            self._push(when + 60 + rng.expovariate(1 / 1800), DELETE_FILE, thread, no)
        thread.cursor += 1
        if thread.cursor < len(thread.schedule):
            heapq.heappush(
                self.heap, (thread.schedule[thread.cursor], next(self.seq), REPLY, thread, 0)
            )

    def _find(self, thread: Thread, no: int) -> int:
        i = bisect_left(thread.posts, no, key=post_no)
        return i if i < len(thread.posts) and thread.posts[i]["no"] == no else -1

    def _delete_post(self, thread: Thread, no: int, t: int) -> None:
        i = self._find(thread, no)
        if i <= 0:
            return
        post = thread.posts.pop(i)
        if i < len(thread.encoded):
            del thread.encoded[i]
        thread.replies -= 1
        thread.images -= "md5" in post
        thread.version += 1
        thread.last_modified = max(thread.last_modified, t)
        self.deleted_posts += 1
        self.last_deleted = no

    def _delete_file(self, thread: Thread, no: int, t: int) -> None:
        """A mutation: the post stays, its file fields go, `filedeleted: 1` appears."""
        i = self._find(thread, no)
        if i <= 0 or "md5" not in thread.posts[i]:
            return
        thread.posts[i] = without_file(thread.posts[i])
        if i < len(thread.encoded):
            thread.encoded[i] = None
        thread.images -= 1
        thread.version += 1
        thread.last_modified = max(thread.last_modified, t)

    # -- comments -------------------------------------------------------------------

    def _op_com(self) -> tuple[str, str]:
        """(raw first line, com) of an OP: longer than a reply, rarely quoting."""
        rng = self.rng
        text = self.text
        first = rng.getrandbits(13)
        parts = [text.lines[first]]
        for _ in range(1 + int(rng.expovariate(1 / 1.5))):
            parts.append(text.line())
        if rng.random() < 0.25:
            parts.insert(rng.randrange(len(parts) + 1), text.green_line())
        if rng.random() < 0.12:
            parts.append(text.url())
        if rng.random() < 0.1:
            parts.append(text.topic_line(self.progress))
        if self.recent and rng.random() < 0.03:
            op, no = self.recent[rng.randrange(len(self.recent))]
            parts.insert(0, thread_link(self.board, op, no))
        return text.raw_lines[first], "<br>".join(parts)

    def _reply_com(self, thread: Thread, has_file: bool, rare: float) -> str | None:
        """The markup of a reply; `rare` is the shared draw for the uncommon extras."""
        rng = self.rng
        rand = rng.random
        bits = rng.getrandbits
        if has_file and rand() < NO_TEXT_SHARE:
            return None  # image-only reply
        parts = []
        if rand() < QUOTE_SHARE:
            posts = thread.posts
            # The OP, or mostly one of the last few posts: replies answer what was just said.
            if rand() < QUOTE_OP_SHARE:
                target = thread.no
            else:
                target = posts[max(0, len(posts) - 1 - int(5 * EXPO[bits(10)]))]["no"]
            parts.append(f'<a href="#p{target}" class="quotelink">&gt;&gt;{target}</a>')
            if rand() < MULTI_QUOTE_SHARE:
                parts.append(quotelink(posts[int(rand() * len(posts))]["no"]))
        if TOPIC <= rare < DEAD:
            link = self._rare_link(rare)
            if link:
                parts.append(link)
        parts.append(self.text.body())
        if SAGE <= rare < URL:
            parts.append(self.text.url())
        elif URL <= rare < TOPIC:
            parts.append(self.text.topic_line(self.progress))
        return "<br>".join(parts)

    def _rare_link(self, rare: float) -> str | None:
        """A cross-thread, cross-board or dead link, for the few replies that have one."""
        rand = self.rng.random
        if rare < CROSS_THREAD and self.recent:
            op, no = self.recent[int(rand() * len(self.recent))]
            return thread_link(self.board, op, no)
        if rare < CROSS_BOARD:
            return board_link(OTHER_BOARDS[int(rand() * len(OTHER_BOARDS))])
        if rare < DEAD and self.last_deleted:
            return deadlink(self.last_deleted)
        return None
