"""Write dbt/seeds/stopwords.csv from stopwords-iso (PyPI `stopwordsiso`, MIT licence),
the maintained collection of stopword lists by ISO 639-1 code.

The languages are those seen on /pol/: English, German, Swedish, Dutch, Spanish, French,
Italian, Portuguese and Polish. An entry is kept when it is one token as the marts split
text (letters with inner apostrophes: "don't"), lower case; entries with digits, dots,
hyphens or spaces ("i.e.", "dix-sept") never match a token and are left out. A few
fragments of NLTK's English list, which the seed had before, are kept too. English words
that another language's list would drop ("war" and "hat" are German stopwords, "son" a
Spanish and French one) are not stopwords: most of /pol/ is in English.

    pip install stopwordsiso && python dbt/scripts/stopwords.py          # rewrite the seed
    python dbt/scripts/stopwords.py --check                              # exit 1 if stale
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LANGUAGES = ("en", "de", "sv", "nl", "es", "fr", "it", "pt", "pl")
NLTK_FRAGMENTS = ("ain", "hadn", "mightn", "mustn", "needn", "shan")
ENGLISH_WORDS = ("war", "die", "hat", "son", "door", "sin", "hit")
TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
SEED = Path(__file__).resolve().parent.parent / "seeds" / "stopwords.csv"


def stopwords() -> list[str]:
    import stopwordsiso

    words = set(NLTK_FRAGMENTS)
    for language in LANGUAGES:
        words |= {w.strip().lower() for w in stopwordsiso.stopwords(language)}
    english = set(stopwordsiso.stopwords("en"))
    words -= {w for w in ENGLISH_WORDS if w not in english}
    return sorted(w for w in words if TOKEN.fullmatch(w))


def seed_csv() -> str:
    return "".join(f"{w}\n" for w in ["word", *stopwords()])


def main(argv: list[str]) -> int:
    text = seed_csv()
    if "--check" in argv:
        if SEED.read_text(encoding="utf-8") != text:
            print(f"{SEED} is not what stopwords-iso gives: run python {__file__}")
            return 1
        return 0
    SEED.write_text(text, encoding="utf-8")
    print(f"wrote {SEED} ({text.count(chr(10)) - 1} words)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
