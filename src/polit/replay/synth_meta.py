"""Everything about a post that is not its text: posters, flags, files, the `now` string."""

from __future__ import annotations

import random
from binascii import b2a_base64
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

# Country flags, skewed like /pol/: the US far ahead, then the Anglosphere and Europe.
COUNTRIES: tuple[tuple[str, str, float], ...] = (
    ("US", "United States", 38.0),
    ("GB", "United Kingdom", 8.0),
    ("CA", "Canada", 6.0),
    ("DE", "Germany", 4.5),
    ("AU", "Australia", 4.0),
    ("PL", "Poland", 2.5),
    ("NL", "Netherlands", 2.0),
    ("FR", "France", 2.0),
    ("SE", "Sweden", 1.8),
    ("BR", "Brazil", 1.8),
    ("FI", "Finland", 1.5),
    ("IE", "Ireland", 1.4),
    ("IT", "Italy", 1.3),
    ("MX", "Mexico", 1.2),
    ("RO", "Romania", 1.1),
    ("ES", "Spain", 1.1),
    ("NZ", "New Zealand", 1.0),
    ("AR", "Argentina", 1.0),
    ("NO", "Norway", 0.9),
    ("DK", "Denmark", 0.8),
    ("PT", "Portugal", 0.8),
    ("BE", "Belgium", 0.8),
    ("AT", "Austria", 0.8),
    ("CH", "Switzerland", 0.7),
    ("HU", "Hungary", 0.7),
    ("CZ", "Czech Republic", 0.7),
    ("GR", "Greece", 0.7),
    ("RS", "Serbia", 0.6),
    ("HR", "Croatia", 0.6),
    ("UA", "Ukraine", 0.6),
    ("RU", "Russian Federation", 0.5),
    ("TR", "Turkey", 0.5),
    ("IL", "Israel", 0.5),
    ("IN", "India", 0.5),
    ("PH", "Philippines", 0.5),
    ("ZA", "South Africa", 0.5),
    ("JP", "Japan", 0.4),
    ("CL", "Chile", 0.4),
    ("LT", "Lithuania", 0.3),
    ("EE", "Estonia", 0.3),
    ("XX", "Unknown", 0.2),
)
# /pol/ meme flags (codes and names from boards.json `troll_flags`).
MEME_FLAGS: tuple[tuple[str, str, float], ...] = (
    ("TR", "Tree Hugger", 1.0),
    ("JH", "Jihadi", 0.7),
    ("PC", "Hippie", 0.8),
    ("NZ", "Nazi", 1.2),
    ("CF", "Confederate", 1.0),
    ("GN", "Gadsden", 1.0),
    ("AC", "Anarcho-Capitalist", 0.8),
    ("AN", "Anarchist", 0.5),
    ("KN", "Kekistani", 0.8),
    ("TM", "Templar", 0.9),
    ("CM", "Communist", 0.6),
    ("EU", "European", 0.6),
    ("WP", "White Supremacist", 0.5),
    ("UN", "United Nations", 0.4),
    ("RE", "Republican", 0.5),
    ("DM", "Democrat", 0.4),
    ("MF", "Muslim", 0.3),
    ("PR", "Pirate", 0.4),
    ("NB", "National Bolshevik", 0.3),
    ("GY", "Gay", 0.3),
    ("BL", "Black Nationalist", 0.2),
)
MEME_SHARE = 0.08
TRIPFAGS = (
    ("Cassandra", "!!Qk3vRt8mPw2"),
    ("Eurofag", "!Fr0gL3gs9a"),
    ("Breadbaker", "!!Zp7YxW1nLk4"),
    ("Sentinel", "!Wt5eRq2uXo"),
)

# (ext, share, typical size in bytes). mp4 is rare: /pol/ only began to accept it late.
FILE_KINDS: tuple[tuple[str, float, int], ...] = (
    (".jpg", 0.55, 110_000),
    (".png", 0.28, 380_000),
    (".webm", 0.09, 2_200_000),
    (".gif", 0.06, 1_100_000),
    (".mp4", 0.02, 2_600_000),
)
MAX_FILESIZE = 4_194_304
MAX_VIDEO_FILESIZE = 3_145_728
IMAGE_SIZES = (
    (1024, 768),
    (1280, 720),
    (1920, 1080),
    (800, 800),
    (750, 1334),
    (1200, 675),
    (640, 480),
    (1080, 1350),
    (500, 500),
    (2048, 1152),
    (1170, 2532),
    (600, 338),
)
VIDEO_SIZES = ((1280, 720), (1920, 1080), (720, 1280), (640, 360), (854, 480))
NAME_WORDS = (
    "pepe",
    "smug",
    "wojak",
    "chad",
    "doomer",
    "map",
    "chart",
    "based",
    "soy",
    "trump",
    "biden",
    "putin",
    "meme",
    "funny",
    "ukr",
    "bank",
    "news",
    "israel",
    "frog",
    "cope",
    "apu",
    "reaction",
    "proof",
    "stats",
    "graph",
    "final",
)
FLAG_BITS = 12
FLAG_POOL = 1 << FLAG_BITS
SHAPE_BITS = 12
SHAPE_POOL = 1 << SHAPE_BITS
TRIP_SHARE = 0.004
POPULAR_POOL = 600  # files that get reposted; a popular subset, not the whole history
REPOST_SHARE = 0.30

Poster = tuple[str, str, str | None, tuple[str, str, str, str]]
"""(id, name, trip or None, (flag key, flag value, flag-name key, flag-name value))."""


class FileInfo(NamedTuple):
    """The parts of an upload that a repost shares (same bytes, so same md5, size, dims)."""

    filename: str
    ext: str
    w: int
    h: int
    tn_w: int  # reply thumbnail (125 px box)
    tn_h: int
    op_tn_w: int  # OP thumbnail (250 px box)
    op_tn_h: int
    fsize: int
    md5: str


class Posters:
    """Draws new posters: an 8-character id, a flag, and rarely a name with a tripcode."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        countries = [("country", c, "country_name", n) for c, n, _ in COUNTRIES]
        memes = [("board_flag", c, "flag_name", n) for c, n, _ in MEME_FLAGS]
        country_w = [w * (1 - MEME_SHARE) / sum(w for *_, w in COUNTRIES) for *_, w in COUNTRIES]
        meme_w = [w * MEME_SHARE / sum(w for *_, w in MEME_FLAGS) for *_, w in MEME_FLAGS]
        # Drawn once: indexing a pre-drawn pool is several times cheaper than choices().
        self.flags = rng.choices(countries + memes, weights=country_w + meme_w, k=FLAG_POOL)

    def new(self) -> Poster:
        rng = self.rng
        poster_id = b2a_base64(rng.getrandbits(48).to_bytes(6), newline=False).decode()
        flag = self.flags[rng.getrandbits(FLAG_BITS)]
        if rng.random() < TRIP_SHARE:
            name, trip = rng.choice(TRIPFAGS)
            return poster_id, name, trip, flag
        return poster_id, "Anonymous", None, flag


class Files:
    """Draws uploads; about 30% are reposts of a popular file (same md5)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.kind_cum = _cumulative([s for _, s, _ in FILE_KINDS])
        # Shapes (ext, size, name) are pre-drawn; every fresh upload still gets its own md5.
        self.shapes = [self._shape() for _ in range(SHAPE_POOL)]
        self.popular: list[FileInfo] = []

    def pick(self, time: int) -> FileInfo:
        rng = self.rng
        popular = self.popular
        if popular and rng.random() < REPOST_SHARE:
            # Squaring skews the pick toward the front: a few files are reposted a lot.
            return popular[int(len(popular) * rng.random() ** 2)]
        shape = self.shapes[rng.getrandbits(SHAPE_BITS)]
        md5 = b2a_base64(rng.getrandbits(128).to_bytes(16), newline=False).decode()
        # A file saved from 4chan keeps its 16-digit tim (from the last year) as its name.
        name = shape.filename or str((time - rng.getrandbits(25)) * 1_000_000 + rng.getrandbits(19))
        info = FileInfo(
            name,
            shape.ext,
            shape.w,
            shape.h,
            shape.tn_w,
            shape.tn_h,
            shape.op_tn_w,
            shape.op_tn_h,
            shape.fsize + rng.getrandbits(10),
            md5,
        )
        if len(popular) < POPULAR_POOL:
            popular.append(info)
        elif rng.random() < 0.02:
            popular[rng.randrange(POPULAR_POOL)] = info
        return info

    def _shape(self) -> FileInfo:
        rng = self.rng
        ext, _, typical = rng.choices(FILE_KINDS, cum_weights=self.kind_cum)[0]
        video = ext in (".webm", ".mp4")
        w, h = rng.choice(VIDEO_SIZES if video else IMAGE_SIZES)
        if ext == ".gif":
            w, h = w // 2, h // 2
        limit = (MAX_VIDEO_FILESIZE if video else MAX_FILESIZE) - 1024
        fsize = min(limit, max(2_000, int(typical * rng.lognormvariate(0, 0.8))))
        tn_w, tn_h = thumbnail(w, h, 125)  # replies get 125 px thumbnails, OPs 250 px
        op_tn_w, op_tn_h = thumbnail(w, h, 250)
        return FileInfo(self._filename(), ext, w, h, tn_w, tn_h, op_tn_w, op_tn_h, fsize, "")

    def _filename(self) -> str:
        """A plausible original name; "" means "use a 16-digit timestamp", drawn per file."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            return ""
        if roll < 0.55:
            return f"IMG_{rng.randrange(10000):04d}"
        if roll < 0.62:
            when = datetime(2023, 3, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(2_500_000))
            return f"Screenshot {when:%Y-%m-%d at %H.%M.%S}"
        if roll < 0.67:
            return "image"
        words = rng.sample(NAME_WORDS, rng.randint(1, 3))
        return "_".join(words) if rng.random() < 0.5 else " ".join(words)


def thumbnail(w: int, h: int, box: int) -> tuple[int, int]:
    scale = min(1.0, box / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


class EasternClock:
    """`now` strings in US Eastern time ("03/27/23(Mon)05:51:59"), cached per hour.

    The US rule (since 2007) is written out rather than read from zoneinfo, so the output
    does not depend on the tz database installed on the machine.
    """

    def __init__(self) -> None:
        self.prefix: dict[int, str] = {}
        self.minutes = [f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)]

    def now(self, t: int) -> str:
        hour = t // 3600
        prefix = self.prefix.get(hour)
        if prefix is None:
            if len(self.prefix) > 4096:  # constant memory on month-long runs
                self.prefix.clear()
            prefix = self.prefix[hour] = _hour_prefix(hour * 3600)
        # Eastern time is a whole number of hours from UTC, so minutes:seconds carry over.
        return prefix + self.minutes[t % 3600]


def _hour_prefix(t: int) -> str:
    local = datetime.fromtimestamp(t, UTC) + timedelta(hours=eastern_offset(t))
    return local.strftime("%m/%d/%y(%a)%H:")


def eastern_offset(t: int) -> int:
    """UTC offset in hours of US Eastern time at Unix time t: -4 in summer, -5 in winter."""
    year = datetime.fromtimestamp(t, UTC).year
    start = _nth_sunday(year, 3, 2) + timedelta(hours=7)  # 2:00 EST = 07:00 UTC
    end = _nth_sunday(year, 11, 1) + timedelta(hours=6)  # 2:00 EDT = 06:00 UTC
    return -4 if start.timestamp() <= t < end.timestamp() else -5


def _nth_sunday(year: int, month: int, n: int) -> datetime:
    first = datetime(year, month, 1, tzinfo=UTC)
    days = (6 - first.weekday()) % 7
    return first + timedelta(days=days + 7 * (n - 1))


def _cumulative(weights: list[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out
