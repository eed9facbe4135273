"""Fusing ranked lists from several retrievers."""

from __future__ import annotations

from collections.abc import Sequence

from .records import Hit

RRF_K = 60


def rrf(rankings: Sequence[Sequence[Hit]], k: int = RRF_K, weights: Sequence[float] | None = None) -> list[Hit]:
    """Reciprocal-rank fusion: score(p) = sum_i w_i / (k + rank_i(p)), ranks from 1.

    Returns hits carrying the fused score, best first; ties keep first-seen order.
    """
    weights = weights or [1.0] * len(rankings)
    fused: dict[str, float] = {}
    passages = {}
    for ranking, w in zip(rankings, weights):
        for rank, hit in enumerate(ranking, start=1):
            pid = hit.passage.id
            passages.setdefault(pid, hit.passage)
            fused[pid] = fused.get(pid, 0.0) + w / (k + rank)
    order = sorted(fused, key=lambda pid: -fused[pid])
    return [Hit(passages[pid], fused[pid]) for pid in order]
