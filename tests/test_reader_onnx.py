"""The reader exported to ONNX reads as the torch network does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.models import readermodel, readeronnx

pytestmark = pytest.mark.model

ARTICLES = [
    ("国务院通知", "国务院于2017年7月印发《新一代人工智能发展规划》，提出到2030年人工智能理论、技术与应用总体达到世界领先水平。",
     "规划是哪一年印发的？", "2017年"),
    ("数据安全法", "《中华人民共和国数据安全法》自2021年9月1日起施行，共七章五十五条，规定了数据安全制度和保护义务。",
     "数据安全法自何时起施行？", "2021年9月1日"),
    ("个人信息", "个人信息保护法明确，处理个人信息应当具有明确、合理的目的，并应当与处理目的直接相关。",
     "处理个人信息应当具有怎样的目的？", "明确、合理的目的"),
    ("网络安全", "网络运营者应当制定网络安全事件应急预案，及时处置系统漏洞、计算机病毒、网络攻击等安全风险。",
     "网络运营者应当制定什么预案？", "网络安全事件应急预案"),
]
DRCD = [
    ("臺灣", "臺北市是臺灣的政治、經濟與文化中心，總面積約二百七十一平方公里。", "臺北市總面積約多少？", "二百七十一平方公里"),
    ("高雄", "高雄港是臺灣最大的國際商港，位於高雄市，貨櫃吞吐量居全國之冠。", "臺灣最大的國際商港是哪裡？", "高雄港"),
]
SQUAD = [
    ("Policy", "The regulation takes effect on 1 March 2024 and applies to all providers of online services.",
     "When does the regulation take effect?", "1 March 2024"),
    ("Data", "Operators must store personal data collected within the country on local servers.",
     "Where must personal data be stored?", "local servers"),
]


def _squad(items, unanswerable: bool = False) -> dict:
    data = []
    for i, (title, context, question, answer) in enumerate(items):
        qas = [{"id": f"{title}-{i}", "question": question,
                "answers": [{"text": answer, "answer_start": context.index(answer)}]}]
        if unanswerable:
            qas.append({"id": f"{title}-{i}-x", "question": "Who signed it?", "answers": [], "is_impossible": True})
        data.append({"title": title, "paragraphs": [{"context": context, "qas": qas}]})
    return {"version": "test", "data": data}


@pytest.fixture(scope="module")
def base_dir():
    """The built e5 model (resolved before the test moves the data dir into a tmp dir)."""
    return readermodel.base_model_dir()


@pytest.fixture
def tiny_weights(tmp_path, monkeypatch, base_dir):
    from rag.models import readertrain

    monkeypatch.setattr(readermodel, "base_model_dir", lambda: base_dir)
    monkeypatch.setattr(readermodel, "shipped_weights", lambda: None)
    mrc = tmp_path / "mrc"
    mrc.mkdir()
    files = readertrain.data_files(mrc)
    contents = {"cmrc": _squad(ARTICLES), "drcd": _squad(DRCD[:1]), "drcd-test": _squad(DRCD[1:]),
                "squad2": _squad(SQUAD, unanswerable=True)}
    for key, path in files.items():
        path.write_text(json.dumps(contents[key], ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "weights" / "reader.safetensors"
    cfg = readertrain.Config(limit=8, epochs=1, layers=1, eval_size=2, eval_every=0)
    readertrain.train(cfg, mrc_dir=mrc, out=out, folder=tmp_path / "ck", progress=False)
    assert out.is_file() and readermodel.shipped_meta(out)["config"]["layers"] == 1
    return out


def test_onnx_reader_matches_torch(tiny_weights, base_dir, capsys):
    capsys.readouterr()
    reader = readeronnx.load_or_export(tiny_weights)
    assert reader is not None
    assert "building the reader" in capsys.readouterr().err
    out = readeronnx.export_dir(readeronnx.weights_sha256(tiny_weights))
    assert out.parent == readeronnx.export_root() and (out / "model.onnx").is_file()

    net, windower = readermodel.build_net(base_dir, 1)
    assert readermodel.load_delta(net, tiny_weights)
    net.eval()
    torch_reader = readermodel.TorchReader(net, windower)
    contexts = [c for _, c, _, _ in ARTICLES] + ["短句。", "长" * 400]  # padding and a context cut in windows
    windows = reader.windower.windows("数据安全法自何时起施行？", contexts)
    assert windows == windower.windows("数据安全法自何时起施行？", contexts)
    got, want = reader.logits(windows), torch_reader.logits(windows)
    _, mask = windower.batch(windows)
    real = mask.astype(bool)  # padding tokens: meaningless in both
    assert got[0].shape == want[0].shape and got[2].shape == want[2].shape == (len(windows),)
    for a, b in zip(got[:2], want[:2], strict=True):
        assert np.abs(a - b)[real].max() < 1e-4
    assert np.abs(got[2] - want[2]).max() < 1e-4
    one = reader.logits(windows[:1])  # another batch size and length than the export's
    assert np.abs(one[0][0] - want[0][0, : len(windows[0].ids)]).max() < 1e-4

    again = readeronnx.load_or_export(tiny_weights)  # exported once
    assert again is not None and "building" not in capsys.readouterr().err
    int8 = readeronnx.load_or_export(tiny_weights, quantized=True)
    assert int8 is not None and (out / "model_int8.onnx").is_file()
    s8, e8, a8 = int8.logits(windows)
    assert s8.shape == got[0].shape and a8.shape == got[2].shape and np.isfinite(s8).all()


def test_no_weights_no_reader(tmp_path, capsys):
    assert readeronnx.load_or_export(tmp_path / "missing.safetensors") is None
    assert "no reader weights" in capsys.readouterr().err
