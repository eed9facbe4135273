"""The index directory: manifest, checksums, staleness, atomic writes (fake encoder)."""

from __future__ import annotations

import json

import pytest

from rag import Assistant
from rag.index.store import MANIFEST, PASSAGES, VECTORS


def load(corpus, idx, enc, notices=None):
    return Assistant.load(corpus_dir=corpus, index_dir=idx, encoder=enc,
                          notice=(notices.append if notices is not None else lambda m: None))


@pytest.fixture
def built(corpus_copy, tmp_path, fake_encoder):
    idx = tmp_path / "idx"
    a = load(corpus_copy, idx, fake_encoder)
    return corpus_copy, idx, a


def test_manifest_records_model_counts_and_checksums(built):
    _, idx, a = built
    m = json.loads((idx / MANIFEST).read_text())
    assert m["model_id"] == "fake-bigram-64" and m["dim"] == 64
    assert m["passage_count"] == len(a.passages) > 100
    assert set(m["files"]) >= {VECTORS, PASSAGES, "sentences.npy"}
    assert m["index_type"] == "IndexFlatIP"
    assert all(len(v) == 64 for v in m["files"].values())


def test_valid_index_is_loaded_not_rebuilt(built, fake_encoder):
    corpus, idx, a = built
    notices = []
    calls = fake_encoder.calls
    b = load(corpus, idx, fake_encoder, notices)
    assert notices == [] and fake_encoder.calls == calls
    assert [p.id for p in b.passages] == [p.id for p in a.passages]


def corrupt_truncate(idx):
    data = (idx / VECTORS).read_bytes()
    (idx / VECTORS).write_bytes(data[: len(data) // 2])


def corrupt_flip(idx):
    data = bytearray((idx / VECTORS).read_bytes())
    data[100] ^= 0xFF
    (idx / VECTORS).write_bytes(bytes(data))


def corrupt_delete(idx):
    (idx / PASSAGES).unlink()


def corrupt_manifest(idx):
    (idx / MANIFEST).write_text("{not json")


def other_model(idx):
    m = json.loads((idx / MANIFEST).read_text())
    m["model_id"] = "some-other-model"
    (idx / MANIFEST).write_text(json.dumps(m))


@pytest.mark.parametrize("damage", [corrupt_truncate, corrupt_flip, corrupt_delete, corrupt_manifest, other_model])
def test_damaged_index_is_detected_and_rebuilt(built, fake_encoder, damage):
    corpus, idx, a = built
    damage(idx)
    notices = []
    b = load(corpus, idx, fake_encoder, notices)
    assert len(notices) == 1 and "building the index" in notices[0]
    assert [p.id for p in b.passages] == [p.id for p in a.passages]
    assert b.ask("北约的核心任务").hits


def test_edited_corpus_triggers_rebuild(built, fake_encoder):
    corpus, idx, _ = built
    f = corpus / "nato-strategic-concept-2022.zh.txt"
    f.write_text(f.read_text(encoding="utf-8").replace("三大核心任务", "三项核心任务"), encoding="utf-8")
    notices = []
    b = load(corpus, idx, fake_encoder, notices)
    assert notices and "corpus" in notices[0]
    assert "三项核心任务" in b.lookup("SC2022-4").text


def test_interrupted_build_keeps_previous_index(built, fake_encoder, monkeypatch):
    corpus, idx, a = built
    before = (idx / MANIFEST).read_text()
    from rag.index import store as index_mod

    def boom(*args, **kwargs):
        raise RuntimeError("killed mid-build")

    monkeypatch.setattr(index_mod, "make_faiss_index", boom)
    with pytest.raises(RuntimeError):
        Assistant.load(corpus_dir=corpus, index_dir=idx, encoder=fake_encoder, rebuild=True, notice=lambda m: None)
    assert (idx / MANIFEST).read_text() == before
    assert not [p for p in idx.parent.iterdir() if ".tmp-" in p.name]
    monkeypatch.undo()
    assert load(corpus, idx, fake_encoder).ask("北约").hits


def test_lookup_and_neighbours(fake_assistant):
    p = fake_assistant.lookup("SC2022-21")
    assert p is not None and p.label == "《北约2022战略概念》第21段"
    assert fake_assistant.lookup(" sc2022-21 ") == p
    assert fake_assistant.lookup("SC2022-999") is None and fake_assistant.lookup(None) is None
    around = [q.id for q in fake_assistant.neighbours("SC2022-21")]
    assert around == ["SC2022-20", "SC2022-21", "SC2022-22"]


def test_modes_return_ranked_hits(fake_assistant):
    for mode in ("hybrid", "dense", "lexical"):
        hits = fake_assistant.ask("北约反应部队", top_k=7, mode=mode).hits
        assert 0 < len(hits) <= 7
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


KILLED_BUILD = r"""
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from rag import Assistant
from tests.conftest import FakeEncoder

class Slow(FakeEncoder):
    def encode_passages(self, texts, progress=False):
        Path({marker!r}).write_text("embedding")
        time.sleep(60)

Assistant.load(corpus_dir={corpus!r}, index_dir={idx!r}, encoder=Slow(), rebuild=True, notice=lambda m: None)
"""


def test_killed_build_leaves_previous_index_usable(built, fake_encoder, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    corpus, idx, a = built
    marker = tmp_path / "marker"
    script = KILLED_BUILD.format(root=str(ROOT), marker=str(marker), corpus=str(corpus), idx=str(idx))
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 60
        while not marker.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert marker.exists(), "the build never started"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    notices = []
    b = load(corpus, idx, fake_encoder, notices)
    assert notices == [] and len(b.passages) == len(a.passages)
