"""Comment text for the synthetic board: a small Zipf vocabulary marked up like 4chan.

Everything expensive (drawing words, HTML-escaping) happens once, when a `TextModel` is
built: it keeps pools of ready-made, already escaped lines. Building a comment is then a
handful of random picks and one string join, which is what keeps `generate_threads`
above 200k posts/s.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

# Ordered by how common the word is. The weight of rank r is 1 / (r + 3): Zipf-Mandelbrot,
# which keeps "the" near its real share (a pure 1/r would make every third word "the").
# Tokens with ' " & < > are there on purpose so comments carry every HTML entity.
# Kept as text (one token per word) so the list stays readable.
VOCAB_TEXT = """
the i to a and you is it of that this in they are not be just what for it's no don't
on with so have do like all we but your if people how them about why can he at as
was an will their there or get would more who because one from yes think even only
up out now when white good anon they're that's any then here know right really never
see make want time going thread op world country fuck shit based retarded cope
seethe kek lol lmao bait fake real true glowie fed shill jews government money war
russia ukraine america china europe israel women men kids life nothing everything
same other still back much too well very way over into after years day new old last
next first most many some every these those than its our us me my him her his them
itself got going said says say tell told look see saw need needs want wanted work
works worked free speech vote voted election left right wing liberal conservative
elite elites globalist media news tv propaganda narrative psyop hoax agenda plan
bank banks dollar inflation economy jobs rent housing food gas oil price prices war
nato army soldiers nuke nukes border migrants immigration city cities police cops
court judge law laws rights crime crimes prison trial church god jesus christ bible
pagan faith religion moral morals culture history west western east rome empire
nation nations state states federal based? cope. kek. lol. sauce? source? proof?
why? how? who? when? what? hard easy big small long short high low young old smart
dumb weak strong &amp &lt;3 -&gt; "based" "experts" "democracy" "science"
"journalist" 'tolerance' can't won't didn't isn't wasn't doesn't couldn't shouldn't
i'm you're we're he's she's there's what's who's let's i've you've we've they've
i'll you'll dude bro user fren newfag oldfag boomer zoomer doomer coomer normie
sneed chud cattle sheep npc bot bots ai chatgpt twitter musk elon trump biden
desantis obama hillary putin zelensky macron trudeau soros gates fauci schwab covid
vax vaxxed jab booster lockdown mask masks virus lab leak
"""
VOCAB = tuple(VOCAB_TEXT.split())

# Terms whose share rises during a run, so a trending analysis has something to find.
# (term, base weight, growth): weight at progress p in [0, 1] is base * (1 + growth * p).
TOPICS: tuple[tuple[str, float, float], ...] = (
    ("indictment", 1.0, 9.0),
    ("bank run", 1.0, 6.0),
    ("tiktok ban", 0.8, 5.0),
    ("pension strikes", 1.2, 0.0),
    ("judicial reform", 1.0, 0.0),
    ("gas prices", 1.5, -0.6),
)
TOPIC_TEMPLATES = (
    "the {} is happening",
    "what about the {}?",
    "{} is a psyop",
    "{} thread",
    "anyone following the {}",
    "they're lying about the {}",
    "{} will change everything",
    "{} = nothing burger",
)

URL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("youtube", 34.0),
    ("youtu.be", 10.0),
    ("twitter", 7.0),
    ("x", 3.0),
    ("wikipedia", 4.0),
    ("rumble", 3.0),
    ("bitchute", 2.5),
    ("catbox", 5.0),
    ("telegram", 3.0),
    ("archive", 3.0),
    ("rentry", 1.5),
    ("bbc", 1.5),
)
OTHER_BOARDS = ("g", "k", "b", "int", "biz", "x", "v", "tv", "his", "lit", "sci", "bant")
GENERALS = (
    "/ptg/ - Private Trump General",
    "/brit/pol/ - tea time edition",
    "/uhg/ - Ukraine-Russia War General",
    "/cvg/ - covid vaccine general",
    "/fng/ - French news general",
    "/sg/ - Strikes General",
    "/mlg/ - Metal Lovers General",
)
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
WBR_EVERY = 35  # 4chan breaks words longer than this with <wbr>
LINE_POOL = 8192
GREEN_POOL = 2048
SUBJECT_POOL = 1024
BODY_BITS = 13
BODY_POOL = 1 << BODY_BITS
GREEN_SHARE = 0.20  # replies with a greentext line (0.20 in the real recording)
MORE_LINES_SHARE = 0.45  # chance of each further line in a reply
URL_BITS = 12
URL_POOL = 1 << URL_BITS


def escape(text: str) -> str:
    """HTML-escape the way 4chan does (&#039; rather than &#x27;)."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#039;")
    )


def slug(text: str) -> str:
    """semantic_url: lowercase words joined by '-', cut at 60 characters like the API."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:60].strip("-") or "thread"


def quotelink(no: int) -> str:
    return f'<a href="#p{no}" class="quotelink">&gt;&gt;{no}</a>'


def thread_link(board: str, op: int, no: int) -> str:
    return f'<a href="/{board}/thread/{op}#p{no}" class="quotelink">&gt;&gt;{no}</a>'


def board_link(board: str) -> str:
    return f'<a href="//boards.4chan.org/{board}/" class="quotelink">&gt;&gt;&gt;/{board}/</a>'


def deadlink(no: int) -> str:
    return f'<span class="deadlink">&gt;&gt;{no}</span>'


def with_wbr(url: str) -> str:
    """Escape a URL and break it with <wbr> every 35 raw characters (never inside an entity)."""
    chunks = [url[i : i + WBR_EVERY] for i in range(0, len(url), WBR_EVERY)]
    return "<wbr>".join(escape(c) for c in chunks)


class TextModel:
    """Pools of escaped lines drawn from the Zipf vocabulary, plus the rising topics."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        weights = [1.0 / (rank + 3) for rank in range(1, len(VOCAB) + 1)]
        self.cum = _cumulative(weights)
        self.raw_lines = [self._sentence(2, 16) for _ in range(LINE_POOL)]
        self.lines = [escape(s) for s in self.raw_lines]
        self.green = [
            f'<span class="quote">&gt;{escape(self._sentence(1, 10))}</span>'
            for _ in range(GREEN_POOL)
        ]
        # A reply body is a head (greentext?, first line) plus a tail (more lines, maybe
        # none): two cheap picks at run time, 67 million distinct bodies.
        self.heads = [self._head() for _ in range(BODY_POOL)]
        self.tails = [self._tail() for _ in range(BODY_POOL)]
        self.raw_subjects = [self._subject() for _ in range(SUBJECT_POOL)]
        self.subjects = [escape(s) for s in self.raw_subjects]
        self.topic_lines = [
            [escape(t.format(term)) for t in TOPIC_TEMPLATES] for term, _, _ in TOPICS
        ]
        self.url_cum = _cumulative([w for _, w in URL_DOMAINS])
        self.urls = [self._url() for _ in range(URL_POOL)]
        self.topic_progress = -1.0
        self.topic_cum: list[float] = []

    def _sentence(self, low: int, high: int) -> str:
        rng = self.rng
        # Short lines are the most common, long rants are rare.
        n = min(high, low + int(rng.expovariate(1 / 4.5)))
        words = rng.choices(VOCAB, cum_weights=self.cum, k=n)
        if rng.random() < 0.35:
            words[0] = words[0].capitalize()
        return " ".join(words)

    def _head(self) -> str:
        line = self.lines[self.rng.getrandbits(13)]
        if self.rng.random() < GREEN_SHARE:
            return self.green_line() + "<br>" + line
        return line

    def _tail(self) -> str:
        rng = self.rng
        out = []
        while rng.random() < MORE_LINES_SHARE:
            if rng.random() < 0.3:
                out.append("<br>")  # a blank line
            out.append("<br>" + self.line())
        return "".join(out)

    def body(self) -> str:
        bits = self.rng.getrandbits
        return self.heads[bits(BODY_BITS)] + self.tails[bits(BODY_BITS)]

    def _subject(self) -> str:
        rng = self.rng
        if rng.random() < 0.08:
            return rng.choice(GENERALS)
        text = self._sentence(2, 8)
        return text.upper() if rng.random() < 0.25 else text.title()

    def line(self) -> str:
        return self.lines[self.rng.getrandbits(13)]

    def green_line(self) -> str:
        return self.green[self.rng.getrandbits(11)]

    def subject(self) -> tuple[str, str]:
        """(raw, escaped) subject; raw feeds semantic_url."""
        i = self.rng.getrandbits(10)
        return self.raw_subjects[i], self.subjects[i]

    def topic_line(self, progress: float) -> str:
        if progress != self.topic_progress:  # progress moves in steps: reuse the weights
            weights = [max(0.05, base * (1 + growth * progress)) for _, base, growth in TOPICS]
            self.topic_cum = _cumulative(weights)
            self.topic_progress = progress
        pick = self.rng.choices(self.topic_lines, cum_weights=self.topic_cum)[0]
        return pick[int(self.rng.random() * len(pick))]

    def url(self) -> str:
        return self.urls[self.rng.getrandbits(URL_BITS)]

    def _url(self) -> str:
        kind = self.rng.choices(URL_DOMAINS, cum_weights=self.url_cum)[0][0]
        return with_wbr(self._url_for(kind))

    def _url_for(self, kind: str) -> str:
        r = self.rng
        token = "".join(r.choices(ALNUM, k=11))
        word, other = (w.strip("\"'?.&;<>-").capitalize() or "Rome" for w in r.choices(VOCAB, k=2))
        number = r.randrange(10**18, 10**19)
        urls = {
            "youtube": f"https://www.youtube.com/watch?v={token}",
            "youtu.be": f"https://youtu.be/{token}",
            "twitter": f"https://twitter.com/{word.lower()}{r.randrange(100)}/status/{number}",
            "x": f"https://x.com/{word.lower()}news/status/{number}",
            "wikipedia": f"https://en.wikipedia.org/wiki/{word}_{other}",
            "rumble": f"https://rumble.com/v{token[:5].lower()}-{word.lower()}-exposed.html",
            "bitchute": f"https://www.bitchute.com/video/{token}/",
            "catbox": f"https://files.catbox.moe/{token[:6].lower()}.mp4",
            "telegram": f"https://t.me/{word.lower()}channel/{r.randrange(1, 99999)}",
            "archive": f"https://archive.today/{token[:5]}",
            "rentry": f"https://rentry.org/{word.lower()}",
            "bbc": f"https://www.bbc.co.uk/news/world-{r.randrange(60000000, 65000000)}",
        }
        if kind == "youtube" and r.random() < 0.2:
            return urls[kind] + f"&t={r.randrange(10, 3000)}s"
        return urls[kind]


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out
