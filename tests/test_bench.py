"""`rag bench` pure parts: the synthetic corpus, stand-in vectors, a tiny scale run (fake encoder)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.bench import run as benchrun
from rag.bench import scale as scalebench
from rag.bench import speed as bench
from rag.bench import synthetic
from rag.bench import util as benchutil
from rag.text.sentences import split_passages


@pytest.fixture(scope="module")
def seed(fake_assistant):
    return fake_assistant.passages


def test_synthetic_corpus_is_deterministic_and_sized(seed):
    a = synthetic.synthetic_corpus(seed, 300, seed=1)
    b = synthetic.synthetic_corpus(seed, 300, seed=1)
    c = synthetic.synthetic_corpus(seed, 300, seed=2)
    assert len(a) == len(a.passages) == len(a.compositions) == 300
    assert [p.text for p in a.passages] == [p.text for p in b.passages]
    assert [p.text for p in a.passages] != [p.text for p in c.passages]
    assert len({p.id for p in a.passages}) == 300
    assert all(2 <= len(comp) <= 6 for comp in a.compositions)
    assert {len(comp) for comp in a.compositions} == {2, 3, 4, 5, 6}
    assert a.sentence_count == sum(len(comp) for comp in a.compositions)
    assert len(synthetic.synthetic_corpus(seed, 0)) == 0


def test_every_synthetic_passage_is_made_of_real_sentences(seed):
    real = {s.text for s in split_passages(list(seed))}
    corpus = synthetic.synthetic_corpus(seed, 500, seed=3)
    assert set(corpus.sentences) == real
    for p, comp in zip(corpus.passages, corpus.compositions, strict=True):
        parts = [corpus.sentences[j] for j in comp]
        assert all(s in real for s in parts)
        assert p.text == synthetic.join_sentences(parts)


def test_join_sentences_spaces_latin_only():
    assert synthetic.join_sentences(["北约。", "盟国。"]) == "北约。盟国。"
    assert synthetic.join_sentences(["NATO is.", "It was."]) == "NATO is. It was."


@pytest.mark.parametrize("kind", ["fitted", "uniform"])
def test_stand_in_vectors_are_unit_and_deterministic(seed, fake_assistant, kind):
    ref = fake_assistant.sentences.vectors
    v1 = synthetic.stand_in_vectors(1000, seed=5, reference=ref, dim=384, kind=kind)
    v2 = synthetic.stand_in_vectors(1000, seed=5, reference=ref, dim=384, kind=kind)
    assert v1.dtype == np.float32 and v1.shape == (1000, ref.shape[1] if kind == "fitted" else 384)
    assert np.allclose(np.linalg.norm(v1, axis=1), 1, atol=1e-4)
    assert np.array_equal(v1, v2)
    q = synthetic.perturbed_queries(v1, 20, seed=5, reference=ref if kind == "fitted" else None)
    assert q.shape == (20, v1.shape[1]) and np.allclose(np.linalg.norm(q, axis=1), 1, atol=1e-4)


def test_fitted_vectors_keep_the_reference_mean_direction(fake_assistant):
    ref = fake_assistant.sentences.vectors
    v = synthetic.stand_in_vectors(4000, seed=0, reference=ref)
    mean_ref = ref.mean(0) / np.linalg.norm(ref.mean(0))
    mean_v = v.mean(0) / np.linalg.norm(v.mean(0))
    assert float(mean_ref @ mean_v) > 0.95


def test_memo_tokenizer_matches_jieba(seed):
    from rag.retrieval.lexical import jieba_tokenizer

    corpus = synthetic.synthetic_corpus(seed, 200, seed=4)
    base = jieba_tokenizer()
    memo = scalebench.MemoTokenizer(base, corpus)
    agree = sum(memo(p.text) == base(p.text) for p in corpus.passages) / len(corpus)
    assert agree >= 0.9
    assert memo("北约的核心任务") == base("北约的核心任务")


def test_helpers():
    assert scalebench.nice_floor(73_000) == 50_000
    assert scalebench.nice_floor(199_999) == 100_000
    assert scalebench.nice_floor(2_000) == 2_000
    assert scalebench.recall_at(np.array([[1, 2, 3]]), np.array([[3, 2, 9]])) == pytest.approx(2 / 3)
    c = scalebench.crossover([(1000, 0.2), (10_000, 2.0), (100_000, 20.0)], 10.0)
    assert 40_000 < c["crossover_n"] < 60_000
    assert c["largest_measured_fast"] == 10_000 and c["smallest_measured_slow"] == 100_000
    s = benchutil.summary_ms([0.001, 0.002, 0.003])
    assert s["p50"] == pytest.approx(2.0) and s["n"] == 3


def test_quick_scale_run_report(fake_assistant, tmp_path, monkeypatch):
    from rag.assistant import Assistant

    monkeypatch.setattr(Assistant, "load", classmethod(lambda cls, *a, **k: fake_assistant))
    out = tmp_path / "bench.json"
    argv = ["--quick", "--scale-only", "--sizes", "1000", "--vector-sizes", "20000", "--hnsw-max", "20000",
            "--ef-search", "16,64", "--nprobe", "8,64", "--scale-queries", "5", "--ann-queries", "10",
            "--out", str(out)]
    assert benchrun.main(argv) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert out.with_suffix(".png").stat().st_size > 10_000
    sc = report["scale"]
    assert set(sc) >= {"note", "e2e", "vector_only", "recommendation", "targets", "jieba_chars_per_s"}
    (row,) = sc["e2e"]
    assert row["passages"] == 1000 and row["faiss_type"] == "IndexFlatIP" and row["queries"] == 5
    assert row["token_memo_agreement"] >= 0.9
    assert set(row["latency_ms"]) >= {"faiss_top10", "bm25", "fuse_topk", "exact_retrieval", "library_search",
                                      "library_ask_without_encoder"}
    assert all(v["p50"] > 0 and v["p95"] >= v["p50"] for v in row["latency_ms"].values())
    (vec,) = sc["vector_only"]
    assert vec["vectors"] == 20_000 and vec["queries"] == {"real": 10, "perturbed": 10}
    for name in ("hnsw", "ivf"):
        for r in vec[name]["sweep"]:
            assert 0.0 <= r["recall@10_min"] <= r["recall@10"] + 1e-9
            assert 0.0 <= r["recall@10"] <= 1.0
    assert vec["hnsw"]["sweep"][-1]["recall@10"] >= vec["hnsw"]["sweep"][0]["recall@10"] - 0.05
    assert "EXACT_MAX" in sc["recommendation"] or "exact_search" in sc["recommendation"]
    assert "real" not in report


def test_stage_breakdown_with_fake_encoder(fake_assistant):
    questions = ["北约的三大核心任务是什么？", "How does NATO view China?"]
    stages, vecs = bench.stage_breakdown(fake_assistant, questions, passes=1)
    assert set(bench.STAGES) <= set(stages)
    assert vecs.shape == (2, fake_assistant.encoder.dim)
    assert all(stages[s]["mean"] >= 0 for s in bench.STAGES)
    lat = bench.ask_latency(fake_assistant, questions, passes=2)
    assert set(lat) == set(bench.MODES) and lat["hybrid"]["passes"] == 2
