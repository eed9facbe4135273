"""Fusing dense and lexical scores.

Chosen by measurement on eval/questions.jsonl (see README "Numbers"): a weighted sum of
z-scored dense and BM25 scores beat reciprocal-rank fusion (MRR 0.76 vs 0.72 at best k).
The weight (and ``rag.assistant.DENSE_SENTENCE_WEIGHT``) were checked on the whole eval suite,
leave-one-corpus-out, by eval/experiments/fusion_weights.py: docs/experiments.md
("Retrieval weights on the suite").
"""

from __future__ import annotations

import numpy as np

LEXICAL_WEIGHT = 0.3


def zscore(x: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Standardize scores over the corpus, or over a sample of it (``rows``) when only some
    scores are known (the others are -inf and stay so). All zeros stay zeros."""
    ref = x if rows is None else x[rows]
    sd = float(ref.std()) if len(ref) else 0.0
    return (x - float(ref.mean())) / sd if sd > 1e-9 else np.zeros_like(x)


def fuse(dense: np.ndarray, lexical: np.ndarray, weight: float = LEXICAL_WEIGHT,
         dense_rows: np.ndarray | None = None) -> np.ndarray:
    """Hybrid score per passage: z(dense) + weight * z(lexical); ``dense_rows``: the sample
    the dense statistics come from when not every dense score was computed."""
    return zscore(dense, dense_rows) + weight * zscore(lexical)


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, best first, ties in index order: the same as
    ``np.argsort(-scores, kind="stable")[:k]`` without sorting the whole corpus."""
    n = len(scores)
    if k >= n or n <= 2048:
        return np.argsort(-scores, kind="stable")[:k]
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    neg = -scores
    kth = np.partition(neg, k - 1)[k - 1]
    cand = np.flatnonzero(neg <= kth)  # every score tied with the k-th is kept, in index order
    return cand[np.argsort(neg[cand], kind="stable")][:k]
