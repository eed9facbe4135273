"""Lexical retrieval: jieba search-mode segmentation scored by bm25s."""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .records import Hit, Passage

DATA = Path(__file__).with_name("data")
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
CJK = re.compile(r"[\u3400-\u9fff]")  # a CJK ideograph: Chinese text (shared by answer and library)
LATIN = re.compile(r"[A-Za-z]{2}")


def names_and_years(text: str) -> list[str]:
    """Place/person/organisation names (jieba POS tags) and years mentioned in ``text``."""
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
    out = []
    for pair in _pos_tagger.cut(text):
        word = pair.word.strip()
        if len(word) >= 2 and pair.flag in NAME_TAGS and word not in GENERIC_NAMES:
            out.append(word)
    return out + YEAR.findall(text)


class LexicalIndex:
    """BM25 over passages; the tokenizer is any ``str -> list[str]`` callable."""

    def __init__(self, passages: Sequence[Passage], tokenize: Callable[[str], list[str]] | None = None):
        import bm25s

        self.passages = list(passages)
        self.tokenize = tokenize or jieba_tokenizer()
        corpus = [self.tokenize(p.text) or [""] for p in self.passages]
        df: dict[str, int] = {}
        for tokens in corpus:
            for t in set(tokens):
                df[t] = df.get(t, 0) + 1
        self.df = df
        self.bm25 = bm25s.BM25()
        if self.passages:
            self.bm25.index(corpus, show_progress=False)
        self._glossary = None  # English -> Chinese terms, built on the first English question
        self._glossary_lock = threading.Lock()

    def idf(self, term: str) -> float:
        """BM25-style inverse document frequency (terms absent from the corpus get the maximum)."""
        n = len(self.passages)
        df = self.df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def glossary(self):
        """The :class:`rag.crosslingual.Glossary` of this index's vocabulary (built once)."""
        with self._glossary_lock:
            if self._glossary is None:
                from .crosslingual import Glossary

                self._glossary = Glossary(self.df)
        return self._glossary

    def translated_terms(self, query: str) -> dict[str, float]:
        """For a question without Chinese characters: the corpus's Chinese terms for its
        English words, with weights (empty for any other question)."""
        if CJK.search(query) or not LATIN.search(query) or not self.df:
            return {}
        return self.glossary().translate(query)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when no query term is known).

        An English question also scores the Chinese terms its words translate to, each
        weighted by its share of the English word (:mod:`rag.crosslingual`)."""
        vocab = getattr(self.bm25, "vocab_dict", {})
        out = np.zeros(len(self.passages), dtype=np.float32)
        if not self.passages:
            return out
        tokens = [t for t in self.tokenize(query) if t in vocab]
        if tokens:
            out += np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
        translated = [(vocab[t], w) for t, w in self.translated_terms(query).items() if t in vocab]
        if translated:
            ids, weights = zip(*translated, strict=True)
            out += np.asarray(np.asarray(weights, dtype=np.float32) @ self.term_matrix()[list(ids)],
                              dtype=np.float32).ravel()
        return out

    def term_matrix(self):
        """bm25s's precomputed scores as a sparse term x passage matrix (shares its arrays)."""
        import scipy.sparse

        s = self.bm25.scores
        return scipy.sparse.csr_matrix((s["data"], s["indices"], s["indptr"]),
                                       shape=(len(s["indptr"]) - 1, s["num_docs"]), copy=False)

    def search(self, query: str, k: int) -> list[Hit]:
        """Top ``k`` passages with a positive BM25 score, best first."""
        s = self.scores(query)
        order = np.argsort(-s, kind="stable")[:k]
        return [Hit(self.passages[i], float(s[i])) for i in order if s[i] > 0]
