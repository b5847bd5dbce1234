"""The seeds behind the marts' text measures, and where they come from.

`vader_lexicon.csv`: the word entries of VADER's sentiment lexicon (Hutto & Gilbert,
ICWSM 2014), as it ships inside the `vaderSentiment` package (MIT): no download at run
time. Entries that are not plain words (emoticons like `:-)`) are left out, because the
marts' tokenizer keeps only letters and inner apostrophes. `write_lexicon_seed` regenerates
the committed file; a test checks that the two agree.
"""

from __future__ import annotations

import csv
import io
import re
from importlib.resources import files
from pathlib import Path

WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")  # the marts' tokenizer (macro tokens in dbt)
ALPHA = 15  # VADER's normalization constant: tone = s / sqrt(s^2 + ALPHA)


def vader_lexicon() -> dict[str, float]:
    """The word entries of the lexicon in the installed `vaderSentiment` package."""
    text = files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    lexicon: dict[str, float] = {}
    for line in text.splitlines():
        word, valence, *_ = line.split("\t")
        if WORD.fullmatch(word):
            lexicon[word] = float(valence)
    return lexicon


def lexicon_csv(lexicon: dict[str, float]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["word", "valence"])
    for word in sorted(lexicon):
        writer.writerow([word, lexicon[word]])
    return out.getvalue()


def write_lexicon_seed(seeds_dir: Path) -> Path:
    path = seeds_dir / "vader_lexicon.csv"
    path.write_text(lexicon_csv(vader_lexicon()), encoding="utf-8")
    return path
