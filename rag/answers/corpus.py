"""What the answer stage reads about the indexed corpus, in one object: the passages, their
sentences with vectors, corpus statistics (mean vectors, off-topic sentences), term weights
and what the corpus mentions. The assistant builds it; answers never see the assistant."""

from __future__ import annotations

import numpy as np

from rag.answers import answertype
from rag.records import Passage
from rag.retrieval.lexical import LexicalIndex
from rag.text.normalize import CJK
from rag.text.sentences import background_sentences, split_passages


class SentenceTable:
    """Sentences of the indexed passages with their embeddings (computed at index time)."""

    def __init__(self, passages: list[Passage], vectors: np.ndarray):
        self.sentences = split_passages(passages)
        if len(self.sentences) != len(vectors):
            raise ValueError("sentence vectors do not match the passages")
        self.vectors = vectors
        self.by_passage: dict[int, list[int]] = {}
        for j, s in enumerate(self.sentences):
            self.by_passage.setdefault(s.passage_index, []).append(j)


class AnswerCorpus:
    """The indexed corpus as the answer stage sees it."""

    def __init__(self, passages: list[Passage], sentence_vectors: np.ndarray, background_vectors: np.ndarray,
                 lexical: LexicalIndex, passage_vectors: np.ndarray, dim: int):
        self.passages = passages
        self.sentences = SentenceTable(passages, sentence_vectors)
        self.background_vectors = background_vectors
        # Whether each off-topic sentence is Chinese: a question is contrasted with those in the
        # language of the passage it is closest to, so that an English question over Chinese
        # documents compares across languages on both sides (None: vectors of another file)
        lines = background_sentences()
        self.background_chinese = (np.array([bool(CJK.search(t)) for t in lines])
                                   if len(lines) == len(background_vectors) else None)
        self.lexical = lexical
        self.by_id = {p.id: i for i, p in enumerate(passages)}  # passage id -> position
        # The question's mean cosine over the corpus is its cosine with this (used by abstention).
        self.mean_vector = passage_vectors.mean(axis=0) if len(passages) else np.zeros(dim, np.float32)
        # likewise for sentences: the question's mean cosine over every sentence
        self.sentence_mean_vector = (self.sentences.vectors.mean(axis=0) if len(self.sentences.vectors)
                                     else np.zeros(dim, np.float32))
        # Everything a reader sees: titles and headings count as mentions too.
        self.text = "\n".join(f"{p.doc_title}\n{' '.join(p.section)}\n{p.text}" for p in passages).lower()
        self.references = answertype.references(self.text)  # articles/resolutions cited

    def mentions(self, term: str) -> bool:
        """Whether any passage, title or heading contains ``term`` (case-insensitive)."""
        return term.lower() in self.text

    def passage_index(self, passage_id: str) -> int:
        """Position of a passage (by exact id) in :attr:`passages`."""
        return self.by_id[passage_id]

    def terms(self, question: str) -> dict[str, float]:
        """The question's content terms with their IDF weights."""
        # sorted: sums over the terms then come out the same in every process (string hashing varies)
        return {t: self.lexical.idf(t) for t in sorted(set(self.lexical.tokenize(question)))}
