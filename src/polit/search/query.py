"""What a search query means: the words of posts (the insight marts' tokenizer) and a small
query language over them.

A post's words are those of `int_post_tokens` (dbt/models/insights): its subject, a space
and its comment, lower case, with URLs and quote links (>>123, >>>/pol/) removed; a word is
a run of letters a-z with inner apostrophes (don't). Accents are folded first (é → e, ﬁ →
fi), so `cafe` finds Café; that is the one difference from the marts, which split there.

>>> words("Nashville: DON'T >>12345 see https://x.com/nashville café")
['nashville', "don't", 'see', 'cafe']

The language: words (all must appear), "a phrase" (these words in a row), `a OR b`, `-word`
or `-"a phrase"` (must not appear) and `prefix*`.

>>> parse('nashville "school shooting" -hoax gun OR rifle* ')
[[nashville], ["school shooting"], [gun, rifle*]] ~ [hoax]
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from polit.transform.lexicon import WORD

# RE2's \S (the marts' regex engine) is every byte but ASCII space, \t, \n, \f and \r
NOT_SPACE = r"[^\t\n\f\r ]"
URLS = re.compile(rf"(?:https?://|www\.){NOT_SPACE}+")
QUOTES = re.compile(rf">>{NOT_SPACE}*")
ITEM = re.compile(r'(-?)"([^"]*)"?|(\S+)')


class QueryError(ValueError):
    """A search query that means nothing; the message says why."""


def fold(text: str) -> str:
    """Lower case without accents.

    >>> fold("Ça VA, Zoë")
    'ca va, zoe'
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize(subject: str | None, comment: str | None) -> str:
    """A post's text as its words are read from: URLs and quote links removed, folded."""
    text = f"{subject or ''} {comment or ''}".lower()
    return fold(QUOTES.sub(" ", URLS.sub(" ", text)))


def words(text: str) -> list[str]:
    return WORD.findall(normalize(None, text))


@dataclass(frozen=True)
class Term:
    """One word, or a phrase (words in a row); `prefix`: its last word is a prefix."""

    words: tuple[str, ...]
    prefix: bool = False

    def __repr__(self) -> str:
        text = " ".join(self.words) + ("*" if self.prefix else "")
        return f'"{text}"' if len(self.words) > 1 else text


@dataclass
class Query:
    """Every group must match (a group: one of its terms); no excluded term may."""

    groups: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"{self.groups} ~ {self.excluded}"

    def required_words(self) -> set[str]:
        """Words every hit has (a prefilter's terms): those of single-term groups."""
        single = [g[0] for g in self.groups if len(g) == 1]
        return {w for t in single for w in (t.words[:-1] if t.prefix else t.words)}


def _term(text: str, phrase: bool) -> Term | None:
    prefix = not phrase and text.endswith("*")
    found = WORD.findall(fold(text.rstrip("*") if prefix else text))
    if not found:
        return None
    return Term(tuple(found), prefix and fold(text.rstrip("*")).endswith(found[-1]))


def parse(text: str) -> Query:
    query = Query()
    pending_or = False
    for m in ITEM.finditer(text):
        negative, phrase, bare = m.group(1), m.group(2), m.group(3)
        if bare == "OR":
            pending_or = bool(query.groups)
            continue
        if phrase is not None:
            term = _term(phrase, phrase=True)
        else:
            negative = "-" if bare.startswith("-") and len(bare) > 1 else ""
            term = _term(bare[1:] if negative else bare, phrase=False)
        if term is None:
            pending_or = False
            continue
        if negative:
            query.excluded.append(term)
        elif pending_or:
            query.groups[-1].append(term)
        else:
            query.groups.append([term])
        pending_or = False
    if not query.groups:
        raise QueryError(
            f"{text!r} has no word to look for (a word is letters a-z, with inner apostrophes; "
            "-word only excludes)"
        )
    return query
