"""Synthetic corpora and stand-in vectors for scale benchmarks (`rag bench`).

Text: every synthetic passage is 2-6 real sentences of the seed corpus (``split_passages``)
drawn at random and concatenated, so jieba and BM25 see realistic text. Deterministic for
a given seed.

Vectors: embedding 10^5-10^6 passages with the real model is too slow for a benchmark, so
the vector side uses stand-ins. ``"fitted"``: samples of a Gaussian with the mean and
covariance of real embeddings (e.g. the index's e5 sentence vectors), normalized; they
have the anisotropy of e5 (mean pairwise cosine ~0.89, like the real passages) and its
eigen-spectrum, which is what makes approximate search easy or hard. ``"uniform"``:
random unit vectors, the worst case for approximate search (no structure at all).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.records import Passage
from rag.text.sentences import split_passages

MIN_SENTENCES = 2
MAX_SENTENCES = 6
DOC_ID = "SYN"


@dataclass(frozen=True)
class SyntheticCorpus:
    """Synthetic passages; ``passages[i].text == join(sentences[j] for j in compositions[i])``."""

    passages: list[Passage]
    compositions: list[tuple[int, ...]]
    sentences: list[str]

    def __len__(self) -> int:
        return len(self.passages)

    @property
    def sentence_count(self) -> int:
        return sum(len(c) for c in self.compositions)

    @property
    def char_count(self) -> int:
        return sum(len(p.text) for p in self.passages)


def seed_sentences(passages: Sequence[Passage]) -> list[str]:
    """The distinct sentences of the seed passages, in corpus order."""
    seen: dict[str, None] = {}
    for s in split_passages(list(passages)):
        seen.setdefault(s.text, None)
    return list(seen)


def join_sentences(parts: Sequence[str]) -> str:
    """Concatenate sentences: directly for Chinese, with a space between Latin-script ends."""
    out: list[str] = []
    for part in parts:
        if out and out[-1][-1:].isascii() and out[-1][-1:].strip() and part[:1].isascii():
            out.append(" ")
        out.append(part)
    return "".join(out)


def synthetic_corpus(
    seed_passages: Sequence[Passage],
    n: int,
    seed: int = 0,
    min_sentences: int = MIN_SENTENCES,
    max_sentences: int = MAX_SENTENCES,
) -> SyntheticCorpus:
    """``n`` passages of ``min_sentences``..``max_sentences`` random real sentences each."""
    sentences = seed_sentences(seed_passages)
    if not sentences:
        raise ValueError("the seed passages have no sentences")
    if not 1 <= min_sentences <= max_sentences:
        raise ValueError("need 1 <= min_sentences <= max_sentences")
    rng = np.random.default_rng(seed)
    counts = rng.integers(min_sentences, max_sentences + 1, size=n)
    picks = rng.integers(0, len(sentences), size=int(counts.sum())).tolist()
    passages: list[Passage] = []
    compositions: list[tuple[int, ...]] = []
    at = 0
    for i, c in enumerate(counts.tolist()):
        comp = tuple(picks[at : at + c])
        at += c
        compositions.append(comp)
        passages.append(Passage(
            id=f"{DOC_ID}-{i + 1}",
            doc_id=DOC_ID,
            doc_title="合成语料 / synthetic corpus",
            section=("synthetic",),
            label=f"合成第{i + 1}段",
            text=join_sentences([sentences[j] for j in comp]),
            order=i,
        ))
    return SyntheticCorpus(passages, compositions, sentences)


class GaussianFit:
    """A Gaussian with the mean and covariance of reference vectors (rows), sampled as unit vectors."""

    def __init__(self, reference: np.ndarray):
        ref = np.asarray(reference, dtype=np.float64)
        if ref.ndim != 2 or len(ref) < 2:
            raise ValueError("need at least two reference vectors")
        self.dim = ref.shape[1]
        self.mean = ref.mean(axis=0).astype(np.float32)
        _, sv, vt = np.linalg.svd(ref - ref.mean(axis=0), full_matrices=False)
        # x = mean + z @ axes with z ~ N(0, I) has the reference covariance.
        self.axes = ((sv[:, None] * vt) / np.sqrt(len(ref) - 1)).astype(np.float32)

    def sample(self, n: int, rng: np.random.Generator, chunk: int = 100_000) -> np.ndarray:
        out = np.empty((n, self.dim), dtype=np.float32)
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            out[a:b] = self.mean + rng.standard_normal((b - a, len(self.axes)), dtype=np.float32) @ self.axes
        return normalize(out)

    def perturb(self, vectors: np.ndarray, rng: np.random.Generator, scale: float = 0.3) -> np.ndarray:
        """Vectors moved by ``scale`` times a draw of the fitted covariance, renormalized."""
        noise = rng.standard_normal((len(vectors), len(self.axes)), dtype=np.float32) @ self.axes
        return normalize(np.asarray(vectors, dtype=np.float32) + scale * noise)


def normalize(x: np.ndarray, chunk: int = 100_000) -> np.ndarray:
    """Rows scaled to unit length, in place (float32)."""
    for a in range(0, len(x), chunk):
        block = x[a : a + chunk]
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        block /= norms
    return x


def uniform_unit_vectors(n: int, dim: int, rng: np.random.Generator, chunk: int = 100_000) -> np.ndarray:
    """Random unit vectors (uniform on the sphere)."""
    out = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        out[a:b] = rng.standard_normal((b - a, dim), dtype=np.float32)
    return normalize(out)


def stand_in_vectors(n: int, seed: int = 0, reference: np.ndarray | None = None, dim: int = 384,
                     kind: str = "fitted") -> np.ndarray:
    """``n`` unit stand-in vectors: ``"fitted"`` to ``reference`` (needed) or ``"uniform"`` (``dim``)."""
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return uniform_unit_vectors(n, dim, rng)
    if kind == "fitted":
        if reference is None:
            raise ValueError("fitted stand-in vectors need reference vectors")
        return GaussianFit(reference).sample(n, rng)
    raise ValueError(f"unknown stand-in vector kind {kind!r}: fitted or uniform")


def perturbed_queries(vectors: np.ndarray, m: int, seed: int = 0, noise: float = 0.3,
                      reference: np.ndarray | None = None) -> np.ndarray:
    """``m`` queries near stored vectors: stored vector + noise, renormalized.

    With ``reference`` the noise follows the fitted covariance (scaled by ``noise``);
    without it, isotropic noise of norm ~``noise``.
    """
    rng = np.random.default_rng(seed + 7919)
    base = vectors[rng.integers(0, len(vectors), size=m)].astype(np.float32, copy=True)
    if reference is not None:
        return GaussianFit(reference).perturb(base, rng, noise)
    dim = vectors.shape[1]
    return normalize(base + rng.standard_normal((m, dim), dtype=np.float32) * (noise / np.sqrt(dim)))
