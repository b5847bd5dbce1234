"""Tests for polit.chan.html: the parser of 4chan's comment HTML."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polit.chan.html import Comment, _unescape, parse_com

# --------------------------------------------------------------------------- helpers


def _coms(node: Any) -> Iterator[str]:
    """Every `com` string in a decoded API document (thread, catalog, ...)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "com" and isinstance(value, str):
                yield value
            else:
                yield from _coms(value)
    elif isinstance(node, list):
        for value in node:
            yield from _coms(value)


def _sample_coms(samples: Path, name: str) -> list[str]:
    return list(_coms(json.loads((samples / name).read_text(encoding="utf-8"))))


class _Reference(HTMLParser):
    """An independent, slow reading of comment HTML with the stdlib parser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.quotes: list[int] = []
        self.greentext: list[str] = []
        self._spans: list[str] = []  # class of each open span
        self._green: list[str] | None = None  # text of the open greentext span
        self._green_at = -1  # span depth of the open greentext span
        self._green_fresh = False  # nothing seen yet inside the open greentext span
        self._anchor_href: str | None = None
        self._anchor_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if self._green_fresh and tag == "a":  # legacy: <span class="quote"><a ...>&gt;&gt;1</a>
            self._green = None
            self._green_at = -1
        self._green_fresh = False
        if tag == "br":
            self.handle_data("\n")
        elif tag == "span":
            self._spans.append(attr.get("class") or "")
            if self._spans[-1] == "deadlink":
                self._anchor_text = []
            if self._spans[-1] == "quote" and self._green is None:
                self._green, self._green_at, self._green_fresh = [], len(self._spans), True
        elif tag == "a" and attr.get("class") == "quotelink":
            self._anchor_href, self._anchor_text = attr.get("href") or "", []

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._spans:
            klass = self._spans.pop()
            if klass == "deadlink":
                m = re.fullmatch(r">>(\d+)", "".join(self._anchor_text))
                if m:
                    self.quotes.append(int(m.group(1)))
                self._anchor_text = []
            if self._green is not None and len(self._spans) < self._green_at:
                self.greentext.append("".join(self._green))
                self._green = None
        elif tag == "a" and self._anchor_href is not None:
            m = re.search(r"#p(\d+)$", self._anchor_href)
            if m and not "".join(self._anchor_text).startswith(">>>"):
                self.quotes.append(int(m.group(1)))
            self._anchor_href = None

    def handle_data(self, data: str) -> None:
        self._green_fresh = False
        self.text.append(data)
        self._anchor_text.append(data)
        if self._green is not None:
            self._green.append(data)

    @classmethod
    def read(cls, com: str) -> _Reference:
        ref = cls()
        ref.feed(com)
        ref.close()
        return ref


def _empty() -> Comment:
    return Comment("", [], [], [], [])


# --------------------------------------------------------------------------- examples


def test_empty() -> None:
    assert parse_com(None) == _empty()
    assert parse_com("") == _empty()
    assert parse_com(None).quotes is not parse_com(None).quotes  # no shared mutable lists


def test_parsed_comment_is_a_complete_frozen_dataclass() -> None:
    # parse_com fills the slots directly; it must set every field the dataclass has.
    assert [f.name for f in dataclasses.fields(Comment)] == [
        "text",
        "quotes",
        "board_links",
        "greentext",
        "urls",
    ]
    c = parse_com('a<br><a href="#p1" class="quotelink">&gt;&gt;1</a>')
    assert c == Comment("a\n>>1", [1], [], [], [])
    assert repr(c) == "Comment(text='a\\n>>1', quotes=[1], board_links=[], greentext=[], urls=[])"
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.text = "x"  # type: ignore[misc]


def test_plain_text_fast_path() -> None:
    c = parse_com("just words, no markup  \n at all")
    assert c == Comment("just words, no markup  \n at all", [], [], [], [])


def test_same_thread_quotelink() -> None:
    c = parse_com('<a href="#p421242625" class="quotelink">&gt;&gt;421242625</a><br>oh wait')
    assert c.text == ">>421242625\noh wait"
    assert c.quotes == [421242625]
    assert c.greentext == []


def test_cross_thread_quotelink() -> None:
    c = parse_com(
        '<a href="/pol/thread/421224816#p421232659" class="quotelink">&gt;&gt;421232659</a>'
        "<br>see this"
    )
    assert c.text == ">>421232659\nsee this"
    assert c.quotes == [421232659]


def test_deadlink() -> None:
    c = parse_com(
        "Previous thread&#039;s life finally ended after 3 years. "
        '<span class="deadlink">&gt;&gt;553409</span><br>Let&#039;s start a new one!'
    )
    assert (
        c.text
        == "Previous thread's life finally ended after 3 years. >>553409\nLet's start a new one!"
    )
    assert c.quotes == [553409]
    assert c.greentext == []


def test_quotes_in_document_order_and_unique() -> None:
    c = parse_com(
        '<a href="#p3" class="quotelink">&gt;&gt;3</a><br>'
        '<span class="deadlink">&gt;&gt;1</span><br>'
        '<a href="/pol/thread/9#p2" class="quotelink">&gt;&gt;2</a><br>'
        '<a href="#p3" class="quotelink">&gt;&gt;3</a><br>'
        '<span class="deadlink">&gt;&gt;1</span>'
    )
    assert c.quotes == [3, 1, 2]


def test_legacy_quote_wrapped_in_span() -> None:
    # /ck/ 2012: relative "thread#post" href, and the link sits in a greentext span.
    c = parse_com(
        '<span class="quote"><a href="3856791#p3856796" class="quotelink">&gt;&gt;3856796</a>'
        "</span><br>you comedian!"
    )
    assert c.text == ">>3856796\nyou comedian!"
    assert c.quotes == [3856796]
    assert c.greentext == []  # the legacy wrapper is not greentext


def test_legacy_comma_entity() -> None:
    assert parse_com("white bread&#44; and some people").text == "white bread, and some people"


def test_cross_board_links() -> None:
    linked = parse_com(
        '<a href="//boards.4chan.org/g/thread/92375000#p92375849" class="quotelink">'
        "&gt;&gt;&gt;/g/92375849</a><br>and "
        '<a href="//boards.4chan.org/int/" class="quotelink">&gt;&gt;&gt;/int/</a>'
    )
    assert linked.text == ">>>/g/92375849\nand >>>/int/"
    assert linked.quotes == []
    assert linked.board_links == ["/g/92375849", "/int/"]

    plain = parse_com(
        "go back to &gt;&gt;&gt;/x/ with your schizo bullshit<br>"
        '<span class="quote">&gt;&gt;&gt;/g/92375849</span><br>&gt;&gt;&gt;/x/ again'
    )
    assert plain.board_links == ["/x/", "/g/92375849"]
    assert plain.greentext == [">>>/g/92375849"]
    assert plain.quotes == []

    dead = parse_com('someone on /toy/ <span class="deadlink">&gt;&gt;&gt;/toy/11053102</span>')
    assert dead.quotes == []
    assert dead.board_links == ["/toy/11053102"]


def test_greentext() -> None:
    c = parse_com(
        '<a href="#p625519" class="quotelink">&gt;&gt;625519</a><br>'
        '<span class="quote">&gt;baneling</span><br>'
        '<span class="quote">&gt;harvest golem</span><br>'
        "so based<br>"
        '<span class="quote">&gt;&gt;With the &quot;help&quot; of Christians</span>'
    )
    assert c.text == (
        '>>625519\n>baneling\n>harvest golem\nso based\n>>With the "help" of Christians'
    )
    assert c.greentext == [">baneling", ">harvest golem", '>>With the "help" of Christians']
    assert c.quotes == [625519]


def test_greentext_containing_links_and_deadlinks() -> None:
    c = parse_com(
        '<span class="quote">&gt;<a href="#p421210943" class="quotelink">&gt;&gt;421210943</a>'
        "(OP)</span><br>"
        '<span class="quote">&gt;see <span class="deadlink">&gt;&gt;5</span> lol</span><br>tail'
    )
    assert c.text == ">>>421210943(OP)\n>see >>5 lol\ntail"
    assert c.greentext == [">>>421210943(OP)", ">see >>5 lol"]
    assert c.quotes == [421210943, 5]
    assert c.board_links == []


def test_spoiler() -> None:
    c = parse_com(
        '<a href="#p393616983" class="quotelink">&gt;&gt;393616983</a><br>'
        "Didn&#039;t you know? <s>:^)</s>"
    )
    assert c.text == ">>393616983\nDidn't you know? :^)"


def test_wbr_inside_url() -> None:
    c = parse_com(
        '<a href="#p628297" class="quotelink">&gt;&gt;628297</a><br>'
        "https://www.origami-shop.com/en/hip<wbr>origami-tome-haciendo-libro-caballi<wbr>"
        "tos-papel-xml-2658_2168_2169-11878.<wbr>html<br><br>"
        "look: https://www.dh-jac.net/db/nishikie/<wbr>results.php?-format=resultsp.htm&amp;f4"
        "<wbr>4=%E7%AB%8B&amp;-max=<wbr>30."
    )
    first = (
        "https://www.origami-shop.com/en/hiporigami-tome-haciendo-libro-caballitos-papel-xml-"
        "2658_2168_2169-11878.html"
    )
    second = (
        "https://www.dh-jac.net/db/nishikie/results.php?-format=resultsp.htm&f44=%E7%AB%8B&-max=30"
    )
    assert c.text == f">>628297\n{first}\n\nlook: {second}."
    assert c.urls == [first, second]


def test_greentext_url_with_wbr() -> None:
    c = parse_com('<span class="quote">&gt;https://www.atlus.co.jp/news/5854/<wbr></span><br>x')
    assert c.greentext == [">https://www.atlus.co.jp/news/5854/"]
    assert c.urls == ["https://www.atlus.co.jp/news/5854/"]


def test_entities() -> None:
    c = parse_com("&gt; &lt; &amp; &quot; &#039; &#39; &#x41; &#65; &amp;gt; &copy; &nbsp;x")
    assert c.text == "> < & \" ' ' A A &gt; \u00a9 \u00a0x"
    assert c.greentext == []  # a ">" in text is not greentext without its span


def test_br_variants() -> None:
    c = parse_com("a<br>b<BR>c<br/>d<br />e<Br>f<br\n>g")
    assert c.text == "a\nb\nc\nd\ne\nf\ng"


def test_whitespace_is_kept() -> None:
    c = parse_com("  two  spaces<br>\n<br>\ttab  ")
    assert c.text == "  two  spaces\n\n\n\ttab  "


def test_code_block() -> None:
    c = parse_com(
        '<pre class="prettyprint">def f(x):<br>    return x &lt; 2 &amp;&amp; x &gt; 0<br></pre>'
        "done"
    )
    assert c.text == "def f(x):\n    return x < 2 && x > 0\ndone"


def test_other_markup_is_stripped() -> None:
    c = parse_com(
        "<b>Hints</b> <u>and</u> <i>tips</i><br>"
        '<span class="sjis">( ´∀`)</span><br>'
        '<span class="fortune" style="color:#0893e1"><br><br><b>Your fortune: Good Luck</b></span>'
        '<br><br><strong style="color: red;">(USER WAS BANNED FOR THIS POST)</strong><br>'
        '<table class="exif" id="exif123"><tr><td colspan="2"><b>Camera-Specific Properties:'
        "</b></td></tr><tr><td>Make</td><td>Canon</td></tr></table>"
    )
    assert c.text == (
        "Hints and tips\n( ´∀`)\n\n\nYour fortune: Good Luck\n\n"
        "(USER WAS BANNED FOR THIS POST)\nCamera-Specific Properties:MakeCanon"
    )
    assert "<" not in c.text
    assert c.greentext == []


def test_admin_links_are_not_quotes() -> None:
    c = parse_com(
        'old thread (<a href="http://boards.4chan.org/po/thread/515222#p515223" target="_blank">'
        "http://boards.4chan.org/po/thread/5<wbr>15222</a>)"
    )
    assert c.text == "old thread (http://boards.4chan.org/po/thread/515222)"
    assert c.quotes == []
    assert c.urls == ["http://boards.4chan.org/po/thread/515222"]


def test_urls() -> None:
    c = parse_com(
        "see https://en.wikipedia.org/wiki/Foo_(bar), (also http://a.b/c)). "
        "HTTPS://X.ORG/Y! &quot;https://q.r/s&quot; https://en.wikipedia.org/wiki/Foo_(bar) "
        "&lt;http://t.u/&gt; https:// nothing ftp://no.pe http://a.b/it&#039;s&#039;"
    )
    assert c.urls == [
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "http://a.b/c",
        "HTTPS://X.ORG/Y",
        "https://q.r/s",
        "http://t.u/",
        "http://a.b/it's",
    ]


def test_stray_angle_brackets_stay_text() -> None:
    assert parse_com("1 < 2 <3 <<< >> <").text == "1 < 2 <3 <<< >> <"
    assert parse_com("a <b").text == "a <b"
    assert parse_com("unclosed <a href=").text == "unclosed <a href="


def test_odd_input() -> None:
    lone = parse_com("\ud800<b>x</b>\udfff")
    assert lone.text == "\ud800x\udfff"
    nul = parse_com("a\x00<br>\x00b&#0;&#x0;")
    assert nul.text == "a\x00\n\x00b\ufffd\ufffd"
    assert parse_com("&#xd800; &#1114112; &#99999999999;").text == "\ufffd \ufffd \ufffd"
    # html.unescape itself raises ValueError on a decimal reference of more than 4300 digits.
    assert parse_com("&#" + "1" * 5000 + ";&#" + "0" * 5000 + "65;").text == "\ufffdA"
    assert parse_com("#p" + "1" * 5000 + '" class="quotelink">&gt;&gt;').quotes == []
    assert parse_com('<span class="deadlink">&gt;&gt;' + "9" * 5000 + "</span>").quotes == []
    assert parse_com('<span class="quote">&gt;never closed<br>still').greentext == [
        ">never closed\nstill"
    ]
    assert parse_com("</span></span><span>x").text == "x"


# --------------------------------------------------------------------------- API samples


def test_samples_legacy_ck_2012(samples: Path) -> None:
    coms = _sample_coms(samples, "thread_ck_moshee-2012.json")
    assert coms
    for com in coms:
        c = parse_com(com)
        assert c.quotes == [int(n) for n in dict.fromkeys(re.findall(r'#p(\d+)"', com))]
        assert "<" not in c.text
        ref = _Reference.read(com)
        assert c.text == "".join(ref.text)
        assert c.greentext == ref.greentext


def test_samples_v_2017(samples: Path) -> None:
    coms = _sample_coms(samples, "thread_v_backendtea-2017.json")
    parsed = [parse_com(com) for com in coms]
    spoiler = next(c for com, c in zip(coms, parsed, strict=True) if "ycyeoj" in com)
    assert spoiler.text == (
        ">>393608804\nhttp://ran.2hu.moe/ycyeoj.7z you can get it from here (pre-english patched)"
    )
    assert spoiler.urls == ["http://ran.2hu.moe/ycyeoj.7z"]
    assert sum(len(c.quotes) for c in parsed) == len(
        {(i, n) for i, com in enumerate(coms) for n in re.findall(r'href="#p(\d+)"', com)}
    )


def test_samples_catalog_deadlinks(samples: Path) -> None:
    coms = _sample_coms(samples, "catalog_po_ritual-2025.json")
    dead = [com for com in coms if "deadlink" in com]
    assert dead
    for com in dead:
        c = parse_com(com)
        for n in re.findall(r'<span class="deadlink">&gt;&gt;(\d+)</span>', com):
            assert int(n) in c.quotes
        for ref in re.findall(r'<span class="deadlink">&gt;&gt;&gt;(/\w+/\d*)</span>', com):
            assert ref in c.board_links


@pytest.mark.parametrize(
    "name",
    [
        "catalog_po_ritual-2025.json",
        "thread_ck_moshee-2012.json",
        "thread_po_ritual-2025.json",
        "thread_v_backendtea-2017.json",
    ],
)
def test_samples_match_reference(samples: Path, name: str) -> None:
    for com in _sample_coms(samples, name):
        c = parse_com(com)
        ref = _Reference.read(com)
        assert c.text == "".join(ref.text), com
        assert c.greentext == ref.greentext, com
        assert c.quotes == list(dict.fromkeys(ref.quotes)), com


# --------------------------------------------------------------------------- the /pol/ recording


@pytest.fixture(scope="module")
def recorded(recording: Path) -> list[tuple[str, Comment]]:
    """Every distinct comment of the recording, parsed."""
    coms: set[str] = set()
    for path in sorted(recording.glob("*/thread/*.json")):
        coms.update(_coms(json.loads(path.read_text(encoding="utf-8"))))
    assert len(coms) > 50_000
    return [(com, parse_com(com)) for com in sorted(coms)]


_MARKUP = ("<br>", "<wbr>", "<a ", "</a>", "<span", "</span>", "<s>", "<b>")


def test_recording_text_has_no_markup(recorded: list[tuple[str, Comment]]) -> None:
    for com, c in recorded:
        for markup in _MARKUP:
            # a user may type "<br>" literally; it then arrives escaped in the source
            assert c.text.count(markup) <= com.count(html.escape(markup)), (markup, com)
        assert "&gt;" not in c.text or "&amp;gt;" in com


def test_recording_quotes(recorded: list[tuple[str, Comment]]) -> None:
    href = re.compile(r'<a href="[^"]*#p(\d+)" class="quotelink">(&gt;&gt;&gt;)?')
    for com, c in recorded:
        assert len(set(c.quotes)) == len(c.quotes)
        for number, cross_board in href.findall(com):
            assert (int(number) in c.quotes) != bool(cross_board), com


def test_recording_greentext_and_urls(recorded: list[tuple[str, Comment]]) -> None:
    lines = 0
    for com, c in recorded:
        assert len(c.greentext) == com.count('<span class="quote">')
        for line in c.greentext:
            assert line.startswith(">")
            assert line in c.text
        for url in c.urls:
            assert url in c.text
        for ref in c.board_links:
            assert ">>>" + ref in c.text
        lines += len(c.greentext)
    assert lines > 10_000


def test_recording_matches_reference_parser(recorded: list[tuple[str, Comment]]) -> None:
    """The whole recording reads the same with the stdlib's HTMLParser."""
    for com, c in recorded:
        ref = _Reference.read(com)
        assert c.text == "".join(ref.text), com
        assert c.greentext == ref.greentext, com
        assert c.quotes == list(dict.fromkeys(ref.quotes)), com


# --------------------------------------------------------------------------- properties

_ANY_CHAR = st.characters(exclude_categories=())  # includes lone surrogates and NUL

_MARKUP_PIECES = [
    "<br>",
    "<BR/>",
    "<wbr>",
    "<",
    ">",
    "<<",
    "<a",
    "</a>",
    '<a href="',
    '<a href="#p',
    '#p12" class="quotelink">&gt;&gt;12</a>',
    '<a href="#p1" class="quotelink">',
    '<a href="/g/thread/1#p2" class="quotelink">&gt;&gt;&gt;/g/2</a>',
    '<span class="quote">',
    '<span class="deadlink">&gt;&gt;',
    "</span>",
    "<span>",
    "<s>",
    "</s>",
    '<pre class="prettyprint">',
    "&",
    "&gt;",
    "&amp;",
    "&#",
    "&#x",
    "&#039;",
    "&quot",
    ";",
    "#",
    "x",
    "7",
    "0",
    "http://",
    "https://a.b/",
    ")",
    ".",
    ">>>/g/",
    "\n",
    " ",
    "\x00",
    "\ud800",
    "é",
]
_MARKUP_SOUP = st.lists(st.sampled_from(_MARKUP_PIECES), max_size=60).map("".join)


def _check_invariants(c: Comment) -> None:
    assert isinstance(c.text, str)
    assert all(isinstance(q, int) and q >= 0 for q in c.quotes)
    assert len(set(c.quotes)) == len(c.quotes)
    assert len(set(c.urls)) == len(c.urls)
    assert len(set(c.board_links)) == len(c.board_links)
    assert all(isinstance(g, str) for g in c.greentext)
    for url in c.urls:
        assert url in c.text
        assert url.lower().startswith(("http://", "https://"))
    for ref in c.board_links:
        assert ">>>" + ref in c.text


@given(st.text(alphabet=_ANY_CHAR))
def test_never_raises_on_text(s: str) -> None:
    _check_invariants(parse_com(s))


@given(_MARKUP_SOUP)
def test_never_raises_on_markup_soup(s: str) -> None:
    _check_invariants(parse_com(s))


@given(
    st.lists(st.sampled_from(_MARKUP_PIECES), min_size=1, max_size=5).map("".join),
    st.integers(min_value=20_000, max_value=80_000),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_large_generated_inputs(unit: str, repeat: int) -> None:
    _check_invariants(parse_com((unit * (repeat // len(unit) + 1))[: max(repeat, 1)]))


_ENTITY_SOUP = st.lists(
    st.sampled_from(
        [
            "&",
            "&amp;",
            "&gt;",
            "&lt;",
            "&quot;",
            "&#039;",
            "&#",
            "&#x",
            "amp",
            "gt",
            "lt",
            "not",
            "in",
            "quot",
            "copy",
            "a",
            ";",
            "#",
            "x",
            "0",
            "39",
            "41",
            " ",
            "<",
            ">",
            "'",
            '"',
        ]
    ),
    max_size=40,
).map("".join)


@given(st.one_of(_ENTITY_SOUP, st.text(alphabet=_ANY_CHAR)))
def test_unescape_equals_stdlib(s: str) -> None:
    assert _unescape(s) == html.unescape(s)


def _escape_4chan(s: str) -> str:
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#039;")
    )


_LINE_CHUNK = st.text(alphabet=_ANY_CHAR, max_size=12)
_POST_NO = st.integers(min_value=0, max_value=10**15)
_LINE = st.one_of(
    st.tuples(st.just("text"), st.lists(_LINE_CHUNK, min_size=1, max_size=4)),
    st.tuples(st.just("green"), st.lists(_LINE_CHUNK, min_size=1, max_size=4)),
    st.tuples(st.just("quote"), _POST_NO, _LINE_CHUNK),
    st.tuples(st.just("xquote"), _POST_NO, _LINE_CHUNK),
    st.tuples(st.just("dead"), _POST_NO, _LINE_CHUNK),
)


@given(st.lists(_LINE, max_size=12), st.sampled_from([_escape_4chan, html.escape]))
def test_round_trip(lines: list[tuple[Any, ...]], escape: Any) -> None:
    """Build 4chan markup from known lines; parsing gives back exactly what went in."""
    markup: list[str] = []
    text: list[str] = []
    greentext: list[str] = []
    quotes: list[int] = []
    for kind, *rest in lines:
        if kind in ("text", "green"):
            chunks: list[str] = rest[0]
            if kind == "green":
                chunks = [">", *chunks]
            line = "".join(chunks)
            body = "<wbr>".join(escape(chunk) for chunk in chunks)  # <wbr> between chunks
            if line.startswith(">"):
                body = f'<span class="quote">{body}</span>'
                greentext.append(line)
            markup.append(body)
            text.append(line)
        else:
            number, tail = rest
            if kind == "quote":
                link = f'<a href="#p{number}" class="quotelink">&gt;&gt;{number}</a>'
            elif kind == "xquote":
                link = (
                    f'<a href="/pol/thread/{number + 7}#p{number}" class="quotelink">'
                    f"&gt;&gt;{number}</a>"
                )
            else:
                link = f'<span class="deadlink">&gt;&gt;{number}</span>'
            markup.append(link + escape(tail))
            text.append(f">>{number}{tail}")
            quotes.append(number)
    c = parse_com("<br>".join(markup))
    assert c.text == "\n".join(text)
    assert c.greentext == greentext
    assert c.quotes == list(dict.fromkeys(quotes))
    _check_invariants(c)


# --------------------------------------------------------------------------- hostile input

_TWO_MB = 2_000_000


def _fill(unit: str) -> str:
    return (unit * (_TWO_MB // len(unit) + 1))[:_TWO_MB]


_HOSTILE = {
    "lt": _fill("<"),
    "unclosed_href": _fill('<a href="'),
    "tag_name": "<" + "a" * _TWO_MB,
    "real_markup": _fill(
        '<a href="#p123" class="quotelink">&gt;&gt;123</a><br>'
        '<span class="quote">&gt;lol <span class="deadlink">&gt;&gt;5</span></span><br>'
        "https://a.b/c<wbr>d &amp; &#44; "
    ),
    "open_greentext": _fill('<span class="quote">'),
    "nested_spans": _fill("<span>")[: _TWO_MB // 2] + _fill("</span>")[: _TWO_MB // 2],
    "br_variants": _fill("<BR/><br /><Br>"),
    "entities": _fill("&amp;&lt;&#44;&foo;&"),
    "decimal_ref": "&#" + "9" * _TWO_MB,
    "hex_ref": "&#x" + "9" * _TWO_MB,
    "url_parens": "http://x" + ")" * _TWO_MB,
    "urls": _fill("http://a.b/c "),
    "boards": _fill(">>>/g/123 "),
    "href_digits": "#p" + "1" * _TWO_MB + '" class="quotelink">&gt;&gt;',
    "nul_surrogate": _fill("\x00\ud800<a\x00>&#0;&#xd800;"),
}


@pytest.mark.parametrize("name", sorted(_HOSTILE))
def test_hostile_2mb(name: str) -> None:
    com = _HOSTILE[name]
    assert len(com) >= _TWO_MB
    start = time.perf_counter()
    c = parse_com(com)
    elapsed = time.perf_counter() - start
    _check_invariants(c)
    # typically 0.05-0.4 s on one core; a quadratic path would take minutes
    assert elapsed < 3.0, f"{name}: {elapsed:.2f}s"
