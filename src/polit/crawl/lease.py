"""One crawler per lake and board: the lease `polit crawl`, `watch`, `run` and `backfill`
take on each board before they fetch anything.

A lease is `<lake>/_polit/lease/<role>-<board>.json`. The role is `crawl` for the commands
that own the crawl state (`crawl`, `watch`, `run`), and `backfill` for `backfill`, which
keeps no state: a backfill may run beside a crawler, but not beside another backfill.

- Local lake: a lock file (`.<role>-<board>.lock` beside it) held with `fcntl.flock` for
  the life of the process. The kernel drops the lock when the process ends, however it ends
  (exit, exception, SIGTERM, SIGKILL, the OOM killer), so a dead holder never blocks anyone
  and no pid has to be guessed at (pids mean nothing across containers). The `.json` names
  the holder and is removed on a clean release, so a new holder that finds one took over
  from a process that died.
- gs:// lake: an object created only if there is none (`ifGenerationMatch=0`), rewritten and
  deleted only over the generation its holder wrote (`ifGenerationMatch=<generation>`), so
  of two crawlers racing for it exactly one wins. The holder rewrites it every `ttl / 4`
  seconds from a background thread. One that has not been rewritten for `ttl` seconds is
  stale and is taken over. Its age is read from Cloud Storage's own clock (the object's
  `updated` time against the response's `Date`), so no local clock decides.

A holder that finds its gs:// lease taken over (it could not renew it for `ttl`, say the
network was down) calls `on_lost`: `watch` and `backfill` then stop.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import FrameType, TracebackType
from typing import Any

from polit.lake.store import Lake

log = logging.getLogger("polit.lease")

TTL = 300.0  # seconds a gs:// lease lives unrenewed; renewed every TTL / 4
ROLES = ("crawl", "backfill")


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    command: str
    started: str  # ISO 8601, UTC
    token: str  # unique per acquisition: tells a holder its own lease from a successor's
    ttl: float = TTL

    @classmethod
    def me(cls, command: str, ttl: float) -> Holder:
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(os.getpid(), socket.gethostname(), command, started, uuid.uuid4().hex, ttl)

    @classmethod
    def parse(cls, doc: Any) -> Holder | None:
        if not isinstance(doc, dict):
            return None
        try:
            ttl = float(doc.get("ttl", TTL))
            return cls(int(doc["pid"]), str(doc["host"]), str(doc["command"]),
                       str(doc["started"]), str(doc["token"]), ttl)  # fmt: skip
        except (KeyError, TypeError, ValueError):
            return None

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} ({self.command}, since {self.started})"

    def as_strings(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


class LeaseHeld(Exception):
    """Another process holds the lease."""

    def __init__(self, lake: Lake, board: str, role: str, holder: Holder | None) -> None:
        who = holder.describe() if holder else "another process (it has not said who yet)"
        doing = "being crawled" if role == "crawl" else "being backfilled"
        super().__init__(
            f"/{board}/ in {lake.url} is already {doing} by {who}; "
            "stop that one first, or let it finish"
        )
        self.holder = holder


class LeaseLost(Exception):
    """The lease was taken over by another process (it was not renewed in time)."""


class _LocalLease:
    """A lock on `.<role>-<board>.lock` (hidden: readers skip it; never deleted, so every
    process locks the same inode) and, while it is held, the holder's name in
    `<role>-<board>.json`, written atomically and removed on release."""

    def __init__(self, lake: Lake, board: str, role: str, me: Holder) -> None:
        self.lake, self.board, self.role, self.me = lake, board, role, me
        self.doc = ("_polit", "lease", f"{role}-{board}.json")
        self.lock_path = lake.path("_polit", "lease", f".{role}-{board}.lock")
        self.fd: int | None = None

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.lock_path), exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = self._holder(retries=20)  # it may be writing its name right now
            raise LeaseHeld(self.lake, self.board, self.role, holder) from None
        try:
            previous = self._holder()
            if previous is not None:
                log.warning("/%s/: took over the %s lease of %s: that process is gone",
                            self.board, self.role, previous.describe())  # fmt: skip
            self.lake.write_json(asdict(self.me), *self.doc)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def renew(self) -> None:
        """The kernel holds the lock as long as the process lives: nothing to renew."""

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            # no name left: released cleanly, nobody to take over from
            self.lake.fs.rm(self.lake.path(*self.doc))
        except FileNotFoundError:
            pass
        finally:
            os.close(self.fd)  # drops the lock
            self.fd = None

    def _holder(self, retries: int = 0) -> Holder | None:
        for attempt in range(retries + 1):
            try:
                holder = Holder.parse(self.lake.read_json(*self.doc))
            except ValueError:
                holder = None
            if holder is not None or attempt == retries:
                return holder
            time.sleep(0.05)
        return None


class _GcsLease:
    """A conditional object in the bucket (see the module doc). Talks the JSON API through
    the lake's own gcsfs client, which maps 404 to FileNotFoundError and 412 (precondition
    failed) to FileExistsError."""

    def __init__(self, lake: Lake, board: str, role: str, me: Holder) -> None:
        self.lake, self.board, self.role, self.me = lake, board, role, me
        self.path = lake.path("_polit", "lease", f"{role}-{board}.json")
        bucket, key, _ = lake.fs.split_path(self.path)
        self.bucket, self.key = bucket, key
        self.generation: int | None = None

    # -- the three moves -----------------------------------------------------------------
    def acquire(self) -> None:
        for _ in range(5):  # each round is a race someone else won; it cannot go on long
            seen = self._read()
            if seen is None:
                if self._write(0):
                    return
                continue
            generation, holder, age = seen
            if holder is not None and holder.token == self.me.token:
                self.generation = generation  # our own write, whose answer was lost
                return
            ttl = holder.ttl if holder is not None else self.me.ttl
            if age <= ttl:
                raise LeaseHeld(self.lake, self.board, self.role, holder)
            if self._write(generation):
                who = holder.describe() if holder else "an unreadable lease"
                log.warning("/%s/: took over the %s lease of %s: not renewed for %.0f s",
                            self.board, self.role, who, age)  # fmt: skip
                return
        raise LeaseHeld(self.lake, self.board, self.role, None)

    def renew(self) -> None:
        assert self.generation is not None
        if not self._write(self.generation):
            seen = self._read()
            if seen is None or seen[1] is None or seen[1].token != self.me.token:
                who = seen[1].describe() if seen and seen[1] else "nobody"
                raise LeaseLost(f"/{self.board}/: the {self.role} lease is now held by {who}")
            self.generation = seen[0]

    def release(self) -> None:
        if self.generation is None:
            return
        try:
            self.lake.fs.call("DELETE", "b/{}/o/{}", self.bucket, self.key,
                              ifGenerationMatch=str(self.generation))  # fmt: skip
        except (FileNotFoundError, FileExistsError):
            log.warning("/%s/: the %s lease was no longer ours at release", self.board, self.role)
        finally:
            self.generation = None

    # -- the JSON API ----------------------------------------------------------------------
    def _read(self) -> tuple[int, Holder | None, float] | None:
        """(generation, holder, age in seconds by the server's clock), or None if absent."""
        try:
            headers, body = self.lake.fs.call("GET", "b/{}/o/{}", self.bucket, self.key)
        except FileNotFoundError:
            return None
        meta = json.loads(body)
        updated = datetime.fromisoformat(meta["updated"].replace("Z", "+00:00"))
        date = headers.get("Date")
        server_now = parsedate_to_datetime(date) if date else datetime.now(UTC)
        age = (server_now - updated).total_seconds()
        return int(meta["generation"]), Holder.parse(meta.get("metadata") or {}), age

    def _write(self, if_generation: int) -> bool:
        """Write our lease over `if_generation` (0: only if absent). False if it changed."""
        meta = {"name": self.key, "metadata": self.me.as_strings()}
        body = json.dumps(asdict(self.me), sort_keys=True).encode()
        data = (
            b"--==0==\nContent-Type: application/json; charset=UTF-8\n\n"
            + json.dumps(meta).encode()
            + b"\n--==0==\nContent-Type: application/json\n\n"
            + body
            + b"\n--==0==--"
        )
        url = f"{self.lake.fs._location}/upload/storage/v1/b/{self.bucket}/o"
        try:
            out = self.lake.fs.call(
                "POST", url, uploadType="multipart", ifGenerationMatch=str(if_generation),
                headers={"Content-Type": 'multipart/related; boundary="==0=="'},
                data=data, json_out=True,
            )  # fmt: skip
        except FileExistsError:
            return False
        self.generation = int(out["generation"])
        return True


class Leases:
    """The leases of one command on its boards: `with take(...) as leases:` … released after."""

    def __init__(self, held: list[_LocalLease | _GcsLease], on_lost: Callable[[], None]) -> None:
        self.held = held
        self.on_lost = on_lost
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous_sigterm: Any = None
        remote = [lease for lease in held if isinstance(lease, _GcsLease)]
        if remote:
            every = min(lease.me.ttl for lease in remote) / 4
            self._thread = threading.Thread(
                target=self._renew, args=(remote, every), name="polit-lease", daemon=True
            )
            self._thread.start()

    def _renew(self, remote: list[_GcsLease], every: float) -> None:
        last_ok = time.monotonic()
        while not self._stop.wait(every):
            try:
                for lease in remote:
                    lease.renew()
                last_ok = time.monotonic()
            except LeaseLost as exc:
                self._lose(str(exc))
                return
            except Exception as exc:  # a network error: try again, unless it is too late
                if time.monotonic() - last_ok < remote[0].me.ttl:
                    log.warning("could not renew the lease (%s); retrying", exc)
                    continue
                self._lose(f"could not renew the lease for {remote[0].me.ttl:.0f} s ({exc})")
                return

    def _lose(self, why: str) -> None:
        log.error("%s: stopping", why)
        self.lost.set()
        self.on_lost()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for lease in reversed(self.held):
            try:
                lease.release()
            except Exception as exc:  # the lease expires by itself (gs) or dies with us
                log.warning("could not release a lease (%s)", exc)
        self.held = []

    def __enter__(self) -> Leases:
        # SIGTERM's default kills at once; raising SystemExit instead runs every `finally`
        # and releases the leases. Commands with their own SIGTERM handler keep theirs.
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        ):
            self._previous_sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        self.release()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def take(
    lake: Lake,
    boards: Iterable[str],
    command: str,
    role: str = "crawl",
    ttl: float = TTL,
    on_lost: Callable[[], None] = lambda: None,
) -> Leases:
    """Take the `role` lease of every board (in name order) or none: raises LeaseHeld."""
    if role not in ROLES:
        raise ValueError(f"unknown lease role {role!r}")
    me = Holder.me(command, ttl)
    held: list[_LocalLease | _GcsLease] = []
    if not lake.local and lake.protocol not in ("gs", "gcs"):
        log.warning("no lease on %s:// lakes: make sure no other crawler uses %s",
                    lake.protocol, lake.url)  # fmt: skip
        return Leases(held, on_lost)
    kind = _LocalLease if lake.local else _GcsLease
    try:
        for board in sorted(set(boards)):
            lease = kind(lake, board, role, me)
            lease.acquire()
            held.append(lease)
    except BaseException:
        for lease in reversed(held):
            lease.release()
        raise
    return Leases(held, on_lost)
