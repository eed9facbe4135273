"""The reader: its data (made-unanswerable examples, DRCD conversion, the fixed held-out part),
its windows, its training (resumable, seeded) and the shipped weights' metadata."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from conftest import write_tiny_mrc

from rag.models import mrcdata, readermodel, readertrain
from rag.models.readerwindows import Window, best_span, token_labels

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "rag" / "data" / "reader"


def ex(question, context, answer, article="a"):
    return mrcdata.Example(question, question, context, context.index(answer), answer, "cmrc", article)


def test_made_unanswerable_examples_never_hold_the_answer():
    base = [ex("北京有多少年建城史？", "北京是首都，位于华北平原北部。北京有三千多年建城史。北京很大。", "三千多年", "北京"),
            ex("长江全长多少公里？", "长江是亚洲第一长河，全长6300公里。长江流经十一个省。", "6300公里", "长江"),
            ex("1990年谁当选？", "1990年张三当选。他在1995年退休，之后一直居住在上海。", "张三", "张三")]
    made = mrcdata.made_unanswerable(base * 5, seed=1, share=1.0)
    assert made and all(not m.answerable and m.source.split("-")[-1] in {"drop", "other", "changed"} for m in made)
    for m in made:
        original = next(b for b in base if m.qid.startswith(b.qid))
        assert original.answer not in m.context or m.question != original.question
    changed = [m for m in made if m.source.endswith("changed")]
    assert all("1990" not in m.question for m in changed)


def test_drcd_is_converted_and_answers_refound(tmp_path):
    folder = write_tiny_mrc(tmp_path / "mrc", copies=1)
    exs = mrcdata.read_squad(folder / "drcd-dev.json", "drcd", mrcdata.t2s())
    assert exs and all(e.context[e.start : e.start + len(e.answer)] == e.answer for e in exs)
    assert "长江" in exs[0].context and "長江" not in exs[0].context


def test_heldout_part_is_fixed_by_the_article():
    a = ex("问题？", "上下文里有答案。", "答案", article="某篇文章")
    assert mrcdata.is_heldout(a) == mrcdata.is_heldout(ex("另一个问题？", "别的上下文有答案。", "答案", "某篇文章"))
    share = sum(mrcdata.is_heldout(ex("q", "答案", "答案", f"article {i}")) for i in range(2000)) / 2000
    assert 0.03 < share < 0.08


def test_token_labels_and_best_span_find_the_answer_characters():
    w = Window(ids=(0, 5, 2, 2, 10, 11, 12, 13, 2), context_start=4,
               offsets=((0, 2), (2, 4), (4, 6), (6, 8)), text_index=0)
    assert token_labels(w, 2, 6) == (5, 6)
    assert token_labels(w, 7, 12) == (0, 0)  # runs past the window: "no answer here"
    start = [0.0] * 9
    end = [0.0] * 9
    start[5], end[6] = 5.0, 5.0
    score, a, b = best_span(w, start, end)
    assert (a, b) == (2, 6) and score == 10.0


@pytest.mark.model
def test_training_resumes_where_it_stopped_and_writes_weights_with_metadata(tmp_path):
    mrc = write_tiny_mrc(tmp_path / "mrc")
    cfg = readertrain.Config(layers=1, epochs=1, batch=4, limit=0, eval_every=0, eval_size=4, save_every=1)
    out, ck = tmp_path / "out" / "reader.safetensors", tmp_path / "ck"
    first = readertrain.train(cfg, mrc, out=out, folder=ck, progress=False, max_steps=2)
    assert first.step == 2
    again = readertrain.train(cfg, mrc, out=out, folder=ck, progress=False)
    assert again.step == again.planned_steps > 2
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["steps"] == again.step and meta["code_hash"] == readertrain.code_hash()
    assert set(meta["heldout_scores"]) == {"cmrc", "drcd", "squad2", "cmrc-en"}
    net, _ = readermodel.build_net(readermodel.base_model_dir(), 1)
    assert readermodel.load_delta(net, out)


def test_shipped_weights_have_their_metadata_and_fit_the_base_model():
    weights = SHIPPED / "reader.safetensors"
    if not weights.is_file():
        pytest.skip("no reader weights shipped yet")
    assert weights.stat().st_size <= 40 * 2**20
    meta = json.loads(weights.with_suffix(".json").read_text())
    for key in ("config", "steps", "data_hash", "code_hash", "heldout_scores", "data"):
        assert key in meta
    from safetensors import safe_open

    layers = meta["config"]["layers"]
    with safe_open(str(weights), "pt") as f:
        names = set(f.keys())
        assert f.get_slice("span.weight").get_shape() == [2, 384]
        assert f.get_slice("answerable.weight").get_shape() == [1, 384]
    trained = {n.split(".")[3] for n in names if n.startswith("encoder.encoder.layer.")}
    assert trained == {str(i) for i in range(12 - layers, 12)}
    files = readertrain.data_files(readertrain.MRC_DIR)
    if all(p.is_file() for p in files.values()):
        assert meta["data_hash"] == readertrain.data_hash(list(files.values()))


def test_going_on_from_committed_weights_takes_up_their_place_in_the_data_and_warms_up_again():
    cfg = readertrain.Config(warmup=10, epochs=2.0)
    meta = {"config": dataclasses.asdict(cfg), "steps": 25, "train_seconds": 70}
    state = readertrain._position_of(meta, cfg, per_epoch=20)
    assert (state.step, state.epoch, state.batch_in_epoch, state.seconds, state.rewarm_at) == (25, 1, 5, 70.0, 25)
    assert readertrain._lr_at(25, cfg, 40, state.rewarm_at) < readertrain._lr_at(34, cfg, 40, state.rewarm_at)
    assert readertrain._lr_at(34, cfg, 40, 25) == readertrain._lr_at(34, cfg, 40, 0)
    assert readertrain._lr_at(0, cfg, 40) == 0.1 and readertrain._lr_at(9, cfg, 40) == 1.0
    other = dict(meta, config=dict(meta["config"], layers=cfg.layers + 1))
    assert readertrain._position_of(other, cfg, per_epoch=20) == readertrain.State()
