"""Fusing dense and lexical scores.

Chosen by measurement on eval/questions.jsonl (see README "Numbers"): a weighted sum of
z-scored dense and BM25 scores beat reciprocal-rank fusion (MRR 0.76 vs 0.72 at best k).
"""

from __future__ import annotations

import numpy as np

LEXICAL_WEIGHT = 0.3


def zscore(x: np.ndarray) -> np.ndarray:
    """Standardize scores over the corpus (all zeros stay zeros)."""
    sd = float(x.std())
    return (x - float(x.mean())) / sd if sd > 1e-9 else np.zeros_like(x)


def fuse(dense: np.ndarray, lexical: np.ndarray, weight: float = LEXICAL_WEIGHT) -> np.ndarray:
    """Hybrid score per passage: z(dense) + weight * z(lexical)."""
    return zscore(dense) + weight * zscore(lexical)
