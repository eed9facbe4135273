"""The fast query path gives the same results as the plain one (no timings here: `rag bench`)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.store import DenseIndex, make_faiss_index, search_ids
from rag.models.encoder import QueryCache
from rag.retrieval.fusion import top_indices


@pytest.mark.parametrize("n,k", [(10, 3), (5000, 1), (5000, 10), (5000, 4999), (5000, 6000)])
def test_top_indices_equal_a_stable_full_sort(n, k):
    rng = np.random.default_rng(n + k)
    for scores in (rng.random(n).astype(np.float32),
                   rng.integers(0, 4, n).astype(np.float32),  # many ties
                   np.zeros(n, np.float32)):
        expect = np.argsort(-scores, kind="stable")[:k]
        assert np.array_equal(top_indices(scores, k), expect)


def test_query_cache_is_lru():
    c = QueryCache(2)
    a, b, d = (np.full(3, x, np.float32) for x in (1, 2, 3))
    c.put("a", a)
    c.put("b", b)
    assert c.get("a") is a  # "a" is now most recent
    c.put("d", d)
    assert c.get("b") is None and c.get("a") is a and c.get("d") is d
    c.clear()
    assert c.get("a") is None


def test_repeated_question_uses_the_cache(fake_assistant):
    from rag.models.encoder import SentenceTransformerEncoder

    enc = SentenceTransformerEncoder.__new__(SentenceTransformerEncoder)
    enc.cache, enc.dim, calls = QueryCache(8), 4, []

    def uncached(texts):
        calls.append(list(texts))
        return np.ones((len(texts), 4), np.float32) / 2

    enc._encode_uncached = uncached
    first = enc.encode_queries(["x", "y"])
    again = enc.encode_queries(["y", "z", "x"])
    assert calls == [["x", "y"], ["z"]]
    assert np.array_equal(first[0], again[2]) and again.shape == (3, 4)


def test_similarities_once_give_the_same_answer(fake_assistant):
    a = fake_assistant
    q = "北约的三大核心任务是什么？"
    vec = a.encoder.encode_queries([q])[0]
    from rag.answers.compose import compose

    hits = a.search(q, 5, "hybrid", vec)
    plain = compose(question=q, hits=hits, mode="hybrid", notes=[], corpus=a.corpus, query_vec=vec,
                    sims=a.similarities(vec), model=a.answer_model)
    shared = a.ask(q)
    assert shared.text == plain.text and shared.signals == plain.signals
    assert [h.passage.id for h in shared.hits] == [h.passage.id for h in hits]


def test_large_index_is_ivf_with_high_recall():
    import faiss

    rng = np.random.default_rng(0)
    centers = rng.standard_normal((50, 32)).astype(np.float32)
    vecs = centers[rng.integers(0, 50, 3000)] + 0.3 * rng.standard_normal((3000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    index = make_faiss_index(vecs, exact_max=1000)
    assert isinstance(faiss.downcast_index(index), faiss.IndexRefine)
    ivf = faiss.extract_index_ivf(index)
    assert isinstance(faiss.downcast_index(ivf), faiss.IndexIVFPQFastScan) and ivf.nprobe > 0
    dense = DenseIndex([None] * len(vecs), index, {})
    assert np.allclose(dense.vectors(), vecs, atol=1e-6)  # reconstructable for the Assistant
    q = vecs[:20]
    truth = np.argsort(-(q @ vecs.T), axis=1)[:, :10]
    _, found = index.search(q, 10)
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95
    found = [search_ids(index, v, 50) for v in q]  # other k: ~REFINE_CANDIDATES re-scored
    truth = np.argsort(-(q @ vecs.T), axis=1)[:, :50]
    assert np.mean([len(set(f) & set(t)) / 50 for f, t in zip(found, truth, strict=True)]) >= 0.95


def test_odd_dimensions_get_scalar_codes():
    from rag.index.store import ivf_spec

    assert ivf_spec(1024, 384) == "IVF1024,PQ192x4fs,RFlat" and ivf_spec(64, 15) == "IVF64,SQ8,RFlat"


def test_ivf_search_parameters_survive_a_write_and_read(tmp_path):
    import faiss

    from rag.index.store import IVF_NPROBE, IVF_REFINE, tune

    vecs = np.random.default_rng(1).standard_normal((3000, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    faiss.write_index(make_faiss_index(vecs, exact_max=1000), str(tmp_path / "i.faiss"))
    index = tune(faiss.read_index(str(tmp_path / "i.faiss")))
    assert faiss.extract_index_ivf(index).nprobe == IVF_NPROBE
    assert faiss.downcast_index(index).k_factor == IVF_REFINE


def _approximate_twin(a):
    """The same passages, vectors and encoder as ``a`` behind an IVF index (every list probed)."""
    import faiss

    from rag.assistant import Assistant
    from rag.index.store import make_ivf_index

    index = make_ivf_index(a.passage_vectors, nlist=4)
    faiss.extract_index_ivf(index).nprobe = 4
    twin = Assistant(DenseIndex(a.passages, index, {}), a.encoder, a.sentences.vectors, a.background_vectors,
                     lexical=a.lexical)
    assert twin.approximate and not a.approximate
    return twin


QUESTIONS = ["北约的三大核心任务是什么？", "布拉格峰会通过了哪些反恐措施？", "What are NATO's core tasks?",
             "北约如何看待中华人民共和国？", "网络空间", "民事应急规划", "今天天气怎么样", "核武器的作用是什么？"]


def test_approximate_index_gives_the_exact_answers_when_candidates_cover_the_corpus(fake_assistant):
    twin = _approximate_twin(fake_assistant)
    assert len(twin.stats_rows) == len(twin.passages)  # small corpus: the sample is everything
    for q in QUESTIONS:
        for mode in ("hybrid", "dense", "lexical"):
            exact, approx = fake_assistant.ask(q, 5, mode), twin.ask(q, 5, mode)
            assert approx.text == exact.text and approx.abstained == exact.abstained, (q, mode)
            assert [h.passage.id for h in approx.hits] == [h.passage.id for h in exact.hits], (q, mode)
            np.testing.assert_allclose([h.score for h in approx.hits], [h.score for h in exact.hits], atol=1e-5)
            if exact.signals is not None:
                assert abs(approx.signals.dense_margin - exact.signals.dense_margin) < 1e-5
                assert abs(approx.signals.sentence_margin - exact.signals.sentence_margin) < 1e-5


def test_approximate_index_scores_candidates_exactly(fake_assistant, monkeypatch):
    import rag.assistant as assistant_module

    monkeypatch.setattr(assistant_module, "STATS_SAMPLE", 30)
    monkeypatch.setattr(assistant_module, "DENSE_CANDIDATES", 15)
    monkeypatch.setattr(assistant_module, "LEXICAL_CANDIDATES", 15)
    twin = _approximate_twin(fake_assistant)
    n = len(twin.passages)
    same_top = 0
    for q in QUESTIONS:
        vec = twin.encoder.encode_queries([q])[0]
        lexical = twin.lexical.scores(q)
        rows = twin.candidate_rows(vec, lexical)
        assert len(twin.stats_rows) == 30 and set(twin.stats_rows) <= set(rows) and len(rows) < n
        passage, sentence = twin.similarities(vec, lexical)
        assert np.isfinite(passage).sum() == len(rows) and np.all(np.isneginf(np.delete(passage, rows)))
        exact_dense = fake_assistant.dense_scores(vec)
        hits = twin.search(q, 5, "dense", vec, (passage, sentence))
        for h in hits:  # every returned score is the exact one
            assert abs(h.score - exact_dense[twin.passage_index(h.passage.id)]) < 1e-5
        exact_ids = [h.passage.id for h in fake_assistant.search(q, 5, "dense", vec)]
        same_top += [h.passage.id for h in hits][:1] == exact_ids[:1]
        answer = twin.ask(q)
        assert answer.abstained or all(c.id in {h.passage.id for h in answer.hits} for c in answer.citations)
    assert same_top == len(QUESTIONS)  # the ANN index (all lists probed) finds the true best passage
