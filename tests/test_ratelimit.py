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


# ---- shared between processes: the next slot in a file under flock ------------------------
def test_limiters_on_one_file_share_the_spacing(tmp_path):
    """Two limiters (as two processes would) on one file: starts still one interval apart."""
    clock = FakeClock()
    a, b = (RateLimiter(1.0, clock=clock, sleep=clock.sleep, shared=tmp_path / "slot")
            for _ in range(2))  # fmt: skip
    starts = []
    for limiter in (a, b, b, a, b, a, a):
        limiter.wait()
        starts.append(clock.now)
    gaps = [y - x for x, y in itertools.pairwise(starts)]
    assert all(1.0 <= g < 1.1 for g in gaps), gaps
    b.penalize(30.0)  # a 429 seen by one process holds back the other
    assert a.wait() >= 29.0
    unshared = [RateLimiter(1.0, clock=clock, sleep=clock.sleep) for _ in range(2)]
    assert [lim.wait() for lim in unshared] == [0.0, 0.0]  # what sharing prevents


def test_a_garbage_or_far_future_slot_is_ignored(tmp_path):
    clock = FakeClock()
    path = tmp_path / "slot"
    for content in (b"\xff\xfe garbage", b"1e12", b"-5", b""):
        path.write_bytes(content)
        limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep, shared=path)
        assert limiter.wait() == 0.0, content  # never a wait for a slot that cannot be
        assert 100.0 < float(path.read_text()) <= clock.now + 1.1
        limiter.close()


def test_machine_limiter_shares_per_api_host_in_a_private_directory(tmp_path, monkeypatch):
    import os
    import tempfile

    from polit.chan.ratelimit import machine_limiter

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert machine_limiter(0, "https://a.4cdn.org").shared is None  # 0: nothing shared
    lim = machine_limiter(1.0, "https://a.4cdn.org")
    assert lim.shared == tmp_path / "polit" / "rate-a.4cdn.org"
    assert (
        machine_limiter(1.0, "http://127.0.0.1:9/").shared
        == tmp_path / "polit" / "rate-127.0.0.1_9"
    )
    assert (tmp_path / "polit").stat().st_mode & 0o777 == 0o700
    # a directory others may write to is not used: the user's own one in tmp instead
    os.chmod(tmp_path / "polit", 0o777)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    fallback = machine_limiter(1.0, "https://a.4cdn.org").shared
    assert fallback == tmp_path / "tmp" / f"polit-{os.getuid()}" / "rate-a.4cdn.org"
