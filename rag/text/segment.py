"""Chinese word segmentation shared by every stage: one jieba tokenizer with the domain
dictionary and stopwords (``rag/data/``), and the names and years a text mentions."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable

from rag.paths import PACKAGE_DATA as DATA

_lock = threading.Lock()
_segmenter = None
_pos_tagger = None


def _stopwords() -> frozenset[str]:
    words = (DATA / "stopwords.txt").read_text(encoding="utf-8").split()
    return frozenset(w.lower() for w in words)


def _is_content(token: str) -> bool:
    # Drop punctuation, symbols and whitespace tokens; keep letters, digits, CJK.
    return any(unicodedata.category(ch)[0] in "LN" for ch in token)


def jieba_tokenizer() -> Callable[[str], list[str]]:
    """The default tokenizer: jieba search mode with the domain dictionary, minus stopwords.

    One jieba ``Tokenizer`` is shared per process (loading its dictionary takes ~1 s).
    """
    global _segmenter
    with _lock:
        if _segmenter is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            seg = jieba.Tokenizer()
            seg.load_userdict(str(DATA / "userdict.txt"))
            _segmenter = seg
    seg, stop = _segmenter, _stopwords()

    def tokenize(text: str) -> list[str]:
        tokens = (t.strip().lower() for t in seg.cut_for_search(text))
        return [t for t in tokens if t and t not in stop and _is_content(t)]

    return tokenize


def words(text: str) -> list[str]:
    """``text`` cut into words (jieba's accurate mode, the shared segmenter with the domain dictionary)."""
    jieba_tokenizer()
    return _segmenter.lcut(text)


NAME_TAGS = {"ns", "nr", "nrt", "nt"}  # jieba POS tags of place, person and organisation names
GENERIC_NAMES = frozenset({"城市", "国家", "地区", "首都"})  # common nouns jieba tags as places
YEAR = re.compile(r"(?:19|20)\d\d")
LATIN = re.compile(r"[A-Za-z]{2}")


def tagged(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (word, jieba POS tag) pairs, with the shared segmenter's dictionary."""
    jieba_tokenizer()  # makes sure the shared segmenter with the domain dictionary exists
    import jieba.posseg

    with _lock:
        global _pos_tagger
        if _pos_tagger is None:
            # Same main dictionary as jieba.posseg's own tagger (built when the module is
            # imported): copy its word->tag table rather than parse dict.txt a second time.
            tagger = jieba.posseg.POSTokenizer.__new__(jieba.posseg.POSTokenizer)
            tagger.tokenizer = _segmenter
            if _segmenter.dictionary == jieba.posseg.dt.tokenizer.dictionary:
                tagger.word_tag_tab = dict(jieba.posseg.dt.word_tag_tab)
            else:
                tagger.load_word_tag(_segmenter.get_dict_file())
            _pos_tagger = tagger
    return [(p.word, p.flag) for p in _pos_tagger.cut(text)]


def names_and_years(text: str) -> list[str]:
    """Place/person/organisation names (jieba POS tags) and years mentioned in ``text``."""
    out = []
    for word, flag in tagged(text):
        word = word.strip()
        if len(word) >= 2 and flag in NAME_TAGS and word not in GENERIC_NAMES:
            out.append(word)
    return out + YEAR.findall(text)
