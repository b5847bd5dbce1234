import itertools
import threading
import time

from polit.chan.ratelimit import RateLimiter


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.now += s


def test_spacing_is_at_least_one_interval():
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(5):
        limiter.wait()
        starts.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(g >= 1.0 for g in gaps), gaps
    assert all(g < 1.1 for g in gaps), gaps  # and not much slower than asked


def test_unlimited_never_sleeps():
    clock = FakeClock()
    limiter = RateLimiter(0, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        assert limiter.wait() == 0.0
    assert clock.now == 100.0


def test_penalize_delays_next_request():
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock=clock, sleep=clock.sleep)
    limiter.wait()
    limiter.penalize(5.0)
    assert limiter.wait() >= 5.0


def test_threads_share_one_limit():
    limiter = RateLimiter(20.0)
    stamps = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            limiter.wait()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    # 20 requests at 20/s span at least 19 intervals in all, whatever the scheduler does to
    # single timestamps; four unshared limiters would be done after 4 intervals
    assert stamps[-1] - stamps[0] >= 19 * 0.05 * 0.98
