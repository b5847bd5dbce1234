"""Parse the HTML of a 4chan comment (the `com` field of a post).

4chan sends comments as a small, regular subset of HTML:

* quote link ``<a href="#p123" class="quotelink">&gt;&gt;123</a>``; cross-thread
  ``href="/pol/thread/456#p123"``; legacy (2012) ``href="456#p123"`` wrapped in
  ``<span class="quote">``;
* dead quote ``<span class="deadlink">&gt;&gt;123</span>``;
* greentext ``<span class="quote">&gt;text</span>``, line break ``<br>``, ``<wbr>`` inside long
  words and URLs (a break opportunity, not a space);
* spoilers ``<s>``, code ``<pre class="prettyprint">``, bold, sjis/fortune/math spans, the red
  ban message, EXIF tables;
* entities ``&gt; &lt; &amp; &quot; &#039;`` (and ``&#44;`` in old posts).

The parser is a handful of compiled regular expressions plus C-level string methods (no
html.parser): about 7 microseconds per real /pol/ comment. No pattern has nested repetition,
unbounded repeats are possessive, and none crosses a ``<`` or ``>`` while looking for the end
of a tag, so parsing is linear in the input size. It never raises on a ``str``: a ``<`` that
does not start a tag is kept as text, and decimal character references too long for ``int()``
(which makes ``html.unescape`` raise) decode to U+FFFD.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

__all__ = ["Comment", "parse_com"]


@dataclass(frozen=True, slots=True)
class Comment:
    """A parsed comment."""

    text: str
    """Plain text: tags stripped, ``<br>`` as ``"\\n"``, ``<wbr>`` removed, entities decoded."""
    quotes: list[int]
    """Quoted post numbers (quotelinks and dead quotes), unique, in order of appearance."""
    board_links: list[str]
    """Cross-board references (``>>>/g/`` -> ``"/g/"``, ``>>>/g/123`` -> ``"/g/123"``), unique."""
    greentext: list[str]
    """The plain text of each greentext span, with its leading ``">"``."""
    urls: list[str]
    """``http(s)://`` URLs found in the plain text, unique, in order of appearance."""


# A start or end tag other than a line break: "<", a letter or "/", then anything up to the next
# ">" that does not cross another "<" or ">". A "<" not followed by a letter or "/" is text.
_TAG = re.compile(r"<(?![Bb][Rr](?![A-Za-z0-9]))[/A-Za-z][^<>]*+>")
# Line breaks other than the plain "<br>" (which str.replace handles): <BR>, <br/>, <br />...
_BR = re.compile(r"<[Bb][Rr](?![A-Za-z0-9])[^<>]*+>")

# Quote links, matched from their tail so that one literal-prefixed pattern covers the modern
# ("#p123"), cross-thread ("/pol/thread/456#p123") and legacy ("456#p123") hrefs. A raw '"' or
# '>' only occurs in markup (text has them escaped), so this cannot match user text. A link
# whose text is ">>>" is a cross-board link, not a quote.
_QUOTELINK = re.compile(r'#p([0-9]{1,18})" class="quotelink">&gt;&gt;(?!&gt;)')
# Quote links and dead quotes together, in document order (only used when there are deadlinks).
_ANY_QUOTE = re.compile(
    r'#p([0-9]{1,18})" class="quotelink">&gt;&gt;(?!&gt;)'
    r'|<span class="deadlink">&gt;&gt;([0-9]{1,18})(?![0-9])'
)

# Every span start/end tag, to find where each greentext span ends (they may contain
# deadlink spans).
_SPAN = re.compile(r"<(/?)span(?![A-Za-z0-9])([^<>]*+)>")
_GREEN_CLASS = 'class="quote"'
# The common case: a greentext span with no tags inside.
_SIMPLE_GREEN = re.compile(r'<span class="quote">([^<]*+)</span>')

# Cross-board references in the decoded text: >>>/g/ or >>>/g/123.
_BOARD = re.compile(r">>>(/[a-z0-9]++/[0-9]*+)")

# URLs in the decoded text: stop at whitespace and at < > ".
_URL = re.compile(r"(?i:https?)://[^\s<>\"]++")
_URL_TRAILING = ".,;:!?)]'"


def _unescape(text: str) -> str:
    """Exactly ``html.unescape(text)``, faster, and without its ValueError on huge numbers.

    Replacing a complete ``&gt;``/``&lt;``/``&quot;``/``&#039;`` first cannot change the result
    (the tokenizer below never lets an entity end inside one, and the longest-prefix rule for
    named references gives the same answer with ``>``/``"``/``'`` appended), and ``&amp;`` is
    only replaced on its own when every ``&`` left starts one.
    """
    if "&" not in text:
        return text
    text = (
        text.replace("&gt;", ">").replace("&#039;", "'").replace("&quot;", '"').replace("&lt;", "<")
    )
    if "&" not in text:
        return text
    if text.count("&") == text.count("&amp;"):
        return text.replace("&amp;", "&")
    return _CHARREF.sub(_decode_charref, text)


# html.unescape's own tokenizer (CPython's html._charref): each match is replaced by a function
# of the matched text alone, so decoding each match with html.unescape, memoised, is exact.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_CHARREF_CACHE: dict[str, str] = {}


def _decode_charref(m: re.Match[str]) -> str:
    ref = m.group()
    out = _CHARREF_CACHE.get(ref)
    if out is not None:
        return out
    if len(ref) > 12 and ref[1] == "#" and ref[2] not in "xX":
        # html.unescape int()s every digit, and int() refuses more than 4300 of them: use an
        # equivalent short reference (same code point, or 0x110000, which decodes to U+FFFD).
        digits = ref[2:].rstrip(";").lstrip("0")
        out = unescape("&#1114112;" if len(digits) > 7 else "&#" + (digits or "0") + ";")
    else:
        out = unescape(ref)
    if len(ref) <= 40 and len(_CHARREF_CACHE) < 4096:
        _CHARREF_CACHE[ref] = out
    return out


def _to_text(fragment: str) -> str:
    """Strip tags from an HTML fragment (``<br>`` -> newline) and decode entities."""
    if "<" in fragment:
        fragment = fragment.replace("<br>", "\n")
        stripped = _TAG.sub("", fragment)
        if "<" in stripped:  # rare: <br/>, <BR>... or a "<" that is not a tag
            stripped = _TAG.sub("", _BR.sub("\n", fragment))
        fragment = stripped
    return _unescape(fragment)


def _quotes(html: str) -> list[int]:
    if "deadlink" in html:
        found = [a or b for a, b in _ANY_QUOTE.findall(html)]
    else:
        found = _QUOTELINK.findall(html)
        if not found:
            return []
    if len(found) == 1:
        return [int(found[0])]
    return [int(digits) for digits in dict.fromkeys(found)]


def _greentext(html: str) -> list[str]:
    """The text of each outermost ``<span class="quote">``.

    One pass over the span tags with a depth counter, so nested and unbalanced markup stays
    linear. A quote span whose content starts with a link is the legacy (2012) wrapper around a
    quotelink, not greentext.
    """
    simple = _SIMPLE_GREEN.findall(html)
    if len(simple) == html.count("<span"):  # every span is a greentext span without tags inside
        return [_unescape(inner) for inner in simple]
    out: list[str] = []
    depth = 0  # open spans
    green_depth = -1  # depth outside the open greentext span, -1 if none is open
    start = 0
    for m in _SPAN.finditer(html):
        if m.group(1):  # </span>
            if depth == 0:
                continue  # stray close tag
            depth -= 1
            if depth == green_depth:
                out.append(_to_text(html[start : m.start()]))
                green_depth = -1
        else:
            if (
                green_depth < 0
                and _GREEN_CLASS in m.group(2)
                and not html.startswith("<a ", m.end())
            ):
                green_depth = depth
                start = m.end()
            depth += 1
    if green_depth >= 0:  # unclosed: runs to the end
        out.append(_to_text(html[start:]))
    return out


def _board_links(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in _BOARD.finditer(text)))


def _urls(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for m in _URL.finditer(text):
        url = m.group()
        core = url.rstrip(_URL_TRAILING)
        # Keep one closing parenthesis that balances one in the URL: .../Foo_(bar)
        if len(core) < len(url) and url[len(core)] == ")" and core.count("(") > core.count(")"):
            core = url[: len(core) + 1]
        if not core.endswith("://"):
            seen[core] = None
    return list(seen)


def parse_com(html: str | None) -> Comment:
    """Parse a comment's HTML into plain text, quotes, board links, greentext and URLs.

    Never raises on a ``str``; ``None`` or ``""`` give an empty comment.
    """
    if not html:
        return Comment("", [], [], [], [])
    if "<" in html:
        text = _to_text(html)
        quotes = _quotes(html)
        greentext = _greentext(html) if _GREEN_CLASS in html else []
    else:
        text = _unescape(html)
        quotes = []
        greentext = []
    board_links = _board_links(text) if ">>>/" in text else []
    urls = _urls(text) if "://" in text else []
    comment = _new_object(Comment)
    _set_text(comment, text)
    _set_quotes(comment, quotes)
    _set_board_links(comment, board_links)
    _set_greentext(comment, greentext)
    _set_urls(comment, urls)
    return comment


# The crawler builds one Comment per post. A frozen dataclass's __init__ goes through
# object.__setattr__ once per field; writing the slots through their descriptors does the same
# in a third of the time (tests/test_html.py checks that these cover every field).
_new_object = object.__new__
_set_text = Comment.__dict__["text"].__set__
_set_quotes = Comment.__dict__["quotes"].__set__
_set_board_links = Comment.__dict__["board_links"].__set__
_set_greentext = Comment.__dict__["greentext"].__set__
_set_urls = Comment.__dict__["urls"].__set__
