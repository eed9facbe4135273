"""Chinese word segmentation shared by every stage: one jieba tokenizer with the domain
dictionary and stopwords (``rag/data/``), and the names and years a text mentions."""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
import unicodedata
from collections.abc import Callable
from typing import BinaryIO

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
    global _pos_tagger
    with _lock:
        if _pos_tagger is None:
            posseg = _posseg()
            tagger = posseg.POSTokenizer.__new__(posseg.POSTokenizer)
            tagger.tokenizer = _segmenter
            tagger.word_tag_tab = word_tags(_segmenter.get_dict_file())
            if not posseg.dt.word_tag_tab:  # jieba's own tagger, for anyone else in the process
                same = posseg.dt.tokenizer.dictionary == _segmenter.dictionary
                posseg.dt.word_tag_tab = dict(tagger.word_tag_tab) if same else word_tags(posseg.dt.get_dict_file())
            _pos_tagger = tagger
    return [(p.word, p.flag) for p in _pos_tagger.cut(text)]


def word_tags(dict_file: BinaryIO) -> dict[str, str]:
    """The word -> POS tag table of a jieba dictionary ("word frequency tag" lines), as
    ``jieba.posseg.POSTokenizer.load_word_tag`` builds it, in one pass over the text rather than
    line by line: half the time, on the way to a new process's first answer."""
    with dict_file as f:
        fields = f.read().decode("utf-8").split()
    if len(fields) % 3:
        raise ValueError("a jieba dictionary line without its POS tag")
    return dict(zip(fields[0::3], fields[2::3], strict=True))


def _posseg():
    """``jieba.posseg``, imported without its module-level tagger parsing the main dictionary
    (``tagged`` builds the table once, faster, and gives that tagger a copy)."""
    import jieba

    if "jieba.posseg" not in sys.modules:
        jieba.dt.get_dict_file = io.BytesIO  # called once, by posseg's import: an empty dictionary
        try:
            import jieba.posseg  # noqa: F401 - imported here, with the empty dictionary
        finally:
            del jieba.dt.get_dict_file
    return sys.modules["jieba.posseg"]


def names_and_years(text: str) -> list[str]:
    """Place/person/organisation names (jieba POS tags) and years mentioned in ``text``."""
    out = []
    for word, flag in tagged(text):
        word = word.strip()
        if len(word) >= 2 and flag in NAME_TAGS and word not in GENERIC_NAMES:
            out.append(word)
    return out + YEAR.findall(text)
