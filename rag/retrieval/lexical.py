"""Lexical retrieval: jieba search-mode segmentation scored by bm25s."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence

import numpy as np

from rag.records import Hit, Passage
from rag.text.normalize import CJK, LATIN
from rag.text.segment import jieba_tokenizer


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
        """The :class:`rag.retrieval.crosslingual.Glossary` of this index's vocabulary (built once)."""
        with self._glossary_lock:
            if self._glossary is None:
                from rag.retrieval.crosslingual import Glossary

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
        weighted by its share of the English word (:mod:`rag.retrieval.crosslingual`)."""
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
