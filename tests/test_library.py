"""Bring your own documents: rag add/remove/docs, incremental indexing (fake encoder)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag import Assistant, RagError, cli
from rag.index.store import MANIFEST
from tests.conftest import CORPUS, FakeEncoder

DOC = """# 北极合作白皮书

## 总则

1. 北极理事会是北极事务的主要政府间论坛，各成员国在其中协商一致。

2. 冰上丝绸之路倡议推动北极航道的可持续利用与科学考察合作。

## 附则

3. 本白皮书自发布之日起施行。
"""


class CountingEncoder(FakeEncoder):
    """Counts how many texts were embedded as passages."""

    def __init__(self):
        super().__init__()
        self.embedded = 0

    def encode_passages(self, texts, progress=False):
        self.embedded += len(texts)
        return super().encode_passages(texts, progress)


@pytest.fixture
def setup(tmp_path):
    enc = CountingEncoder()
    lib = tmp_path / "library"
    notices: list[str] = []
    a = Assistant.load(corpus_dir=CORPUS, index_dir=tmp_path / "idx", library_dir=lib, encoder=enc,
                       notice=notices.append)
    doc = tmp_path / "arctic_paper.md"
    doc.write_text(DOC, encoding="utf-8")
    return a, enc, doc, notices, tmp_path


def test_add_embeds_only_the_new_document_and_answers_from_it(setup):
    a, enc, doc, notices, _ = setup
    before, seed_passages = enc.embedded, len(a.passages)
    entry = a.library().add(doc, taken_ids=a.seed_ids())
    assert entry["doc_id"] == "ARCTIC-PAPER" and entry["title"] == "北极合作白皮书"
    b = a.reloaded(notice=notices.append)
    new = [p for p in b.passages if p.doc_id == "ARCTIC-PAPER"]
    assert [p.id for p in new] == ["ARCTIC-PAPER-1", "ARCTIC-PAPER-2", "ARCTIC-PAPER-3"]
    assert new[0].section == ("北极合作白皮书", "总则") or new[0].section[-1] == "总则"
    assert new[1].label.startswith("《北极合作白皮书》")
    assert len(b.passages) == seed_passages + 3
    sentences = sum(1 for s in b.sentences.sentences if s.passage_index >= seed_passages)
    assert enc.embedded - before == 3 + sentences  # passages and their sentences, nothing else
    assert any("added ARCTIC-PAPER" in n for n in notices)
    ans = b.ask("冰上丝绸之路倡议推动什么？", mode="hybrid")
    assert ans.hits[0].passage.id == "ARCTIC-PAPER-2"
    assert not ans.abstained and ans.citations[0].id == "ARCTIC-PAPER-2"
    assert "冰上丝绸之路" in ans.text
    rows = {d["doc_id"]: d for d in b.documents()}
    assert rows["ARCTIC-PAPER"]["passages"] == 3 and rows["ARCTIC-PAPER"]["origin"] == "library"
    assert rows["SC2022"]["origin"] == "seed"


def test_remove_drops_only_its_passages_without_embedding(setup):
    a, enc, doc, notices, tmp_path = setup
    seed_ids = [p.id for p in a.passages]
    a.library().add(doc, taken_ids=a.seed_ids())
    b = a.reloaded(notice=notices.append)
    calls = enc.embedded
    b.library().remove("arctic-paper")
    c = b.reloaded(notice=notices.append)
    assert enc.embedded == calls
    assert [p.id for p in c.passages] == seed_ids
    assert not (tmp_path / "library" / "files" / "ARCTIC-PAPER.md").exists()
    assert all(h.passage.doc_id != "ARCTIC-PAPER" for h in c.ask("冰上丝绸之路倡议推动什么？").hits)
    m = json.loads((tmp_path / "idx" / MANIFEST).read_text())
    assert [d["doc_id"] for d in m["documents"]] == ["SC2022", "S2003-85"]
    assert m["passage_count"] == len(seed_ids)


def test_full_rebuild_equals_incremental(setup):
    a, _, doc, _, tmp_path = setup
    a.library().add(doc, taken_ids=a.seed_ids())
    inc = a.reloaded(notice=lambda m: None)
    full = Assistant.load(corpus_dir=CORPUS, index_dir=tmp_path / "idx2", library_dir=tmp_path / "library",
                          encoder=FakeEncoder(), notice=lambda m: None)
    assert [p.to_dict() for p in inc.passages] == [p.to_dict() for p in full.passages]
    np.testing.assert_allclose(inc.passage_vectors, full.passage_vectors, atol=1e-6)
    np.testing.assert_allclose(inc.sentences.vectors, full.sentences.vectors, atol=1e-6)
    for q in ("北极理事会", "北约的三大核心任务", "反恐伙伴关系行动计划"):
        for mode in ("hybrid", "dense", "lexical"):
            x, y = inc.ask(q, top_k=8, mode=mode), full.ask(q, top_k=8, mode=mode)
            assert [h.passage.id for h in x.hits] == [h.passage.id for h in y.hits]
            assert x.text == y.text


def test_edited_library_file_is_reembedded_alone(setup):
    a, enc, doc, notices, tmp_path = setup
    entry = a.library().add(doc, taken_ids=a.seed_ids())
    a.reloaded(notice=lambda m: None)
    stored = tmp_path / "library" / entry["file"]
    stored.write_text(DOC.replace("本白皮书", "本文件"), encoding="utf-8")
    before = enc.embedded
    b = a.reloaded(notice=notices.append)
    assert b.lookup("ARCTIC-PAPER-3").text == "本文件自发布之日起施行。"
    assert 0 < enc.embedded - before < 20
    assert any("changed ARCTIC-PAPER" in n for n in notices)


@pytest.mark.parametrize("name, data, message", [
    ("virus.exe", b"MZ\x90\x00", "unsupported file type"),
    ("empty.md", b"", "empty"),
    ("image.pdf", b"%PDF-1.4 not really", "arctic"),
])
def test_bad_files_are_refused_with_the_file_named(setup, name, data, message):
    a, _, _, _, tmp_path = setup
    bad = tmp_path / name
    bad.write_bytes(data)
    with pytest.raises(RagError) as e:
        a.library().add(bad, taken_ids=a.seed_ids())
    assert name in str(e.value)
    if message != "arctic":
        assert message in str(e.value)
    assert a.library().entries() == []


def test_duplicate_and_clashing_ids_are_refused(setup):
    a, _, doc, _, _ = setup
    a.library().add(doc, taken_ids=a.seed_ids())
    with pytest.raises(RagError, match="already in the library"):
        a.library().add(doc, taken_ids=a.seed_ids())
    other = doc.with_name("other.md")
    other.write_text(DOC.replace("北极", "南极"), encoding="utf-8")
    with pytest.raises(RagError, match="already used"):
        a.library().add(other, taken_ids=a.seed_ids(), doc_id="SC2022")
    with pytest.raises(RagError, match="ASCII"):
        a.library().add(other, taken_ids=a.seed_ids(), doc_id="../etc")
    with pytest.raises(RagError, match="no added document"):
        a.library().remove("SC2022")


@pytest.fixture
def fake_cli(monkeypatch, tmp_path):
    real_load = Assistant.load.__func__
    enc = FakeEncoder()

    def load(cls, *args, model=None, **kwargs):
        kwargs.update(corpus_dir=CORPUS, index_dir=tmp_path / "idx", encoder=enc)
        return real_load(cls, **kwargs)

    monkeypatch.setattr(Assistant, "load", classmethod(load))


def test_cli_add_docs_ask_remove(fake_cli, capsys, tmp_path):
    doc = tmp_path / "arctic.md"
    doc.write_text(DOC, encoding="utf-8")
    assert cli.main(["add", str(doc), "--title", "北极白皮书", "--id", "ARC"]) == 0
    out = capsys.readouterr().out
    assert "added ARC: 北极白皮书 (3 passages" in out
    assert cli.main(["docs"]) == 0
    out = capsys.readouterr().out
    assert "ARC\t3 passages\tlibrary\t北极白皮书" in out and "SC2022\t" in out
    assert cli.main(["ask", "冰上丝绸之路倡议推动什么？"]) == 0
    assert "ARC-2" in capsys.readouterr().out
    assert cli.main(["remove", "SC2022"]) == 2
    assert "seed corpus" in capsys.readouterr().err
    assert cli.main(["remove", "ARC"]) == 0
    capsys.readouterr()
    assert cli.main(["docs", "--json"]) == 0
    assert "ARC" not in [d["doc_id"] for d in json.loads(capsys.readouterr().out)]


def test_cli_add_reports_each_bad_file(fake_cli, capsys, tmp_path):
    bad = tmp_path / "notes.xyz"
    bad.write_text("x")
    assert cli.main(["add", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "notes.xyz" in err and "unsupported" in err and "Traceback" not in err


def _pdf(path):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    c.setTitle("格陵兰观测报告")
    c.setFont("STSong-Light", 11)
    c.drawString(72, 770, "1. 格陵兰冰盖监测站每年记录冰川消融速度。")
    c.drawString(72, 740, "2. 监测数据向各合作方开放共享。")
    c.drawString(290, 40, "1")
    c.showPage()
    c.save()


def _docx(path):
    import docx

    d = docx.Document()
    d.add_heading("量子通信规划", 1)
    d.add_paragraph("第一条 量子通信卫星网络覆盖全部成员国首都。")
    d.add_paragraph("第二条 本规划由技术委员会解释。")
    d.save(path)


FILES = {  # file name -> (writer, question only this file answers, the passage id that answers it)
    "greenland.pdf": (_pdf, "格陵兰冰盖监测站记录什么？", "GREENLAND-1"),
    "quantum.docx": (_docx, "量子通信卫星网络覆盖哪里？", "QUANTUM-art1"),
    "cables.html": (lambda p: p.write_text(
        "<html><head><title>海底电缆</title></head><body><nav>首页</nav><h1>海底电缆保护</h1>"
        "<p>1. 海底电缆保护区内禁止拖网捕鱼。</p><p>2. 违者依法处理。</p></body></html>", encoding="utf-8"),
        "海底电缆保护区内禁止什么？", "CABLES-1"),
    "rare_earth.txt": (lambda p: p.write_bytes(
        "稀土供应链\n\n一、稀土供应链多元化是优先事项。\n\n二、建立战略储备。\n".encode("gb18030")),
        "稀土供应链的优先事项是什么？", "RARE-EARTH-s1"),
    "arctic.md": (lambda p: p.write_text(DOC, encoding="utf-8"), "冰上丝绸之路倡议推动什么？", "ARCTIC-2"),
}


def test_every_format_is_added_answered_cited_and_removed(setup):
    a, _, _, _, tmp_path = setup
    for name, (write, _, _) in FILES.items():
        write(tmp_path / name)
        a.library().add(tmp_path / name, taken_ids=a.seed_ids())
    b = a.reloaded(notice=lambda m: None)
    for name, (_, question, pid) in FILES.items():
        ans = b.ask(question)
        assert not ans.abstained, name
        assert ans.citations and ans.citations[0].id == pid, (name, [c.id for c in ans.citations])
        quote = ans.citations[0].text
        assert all(quote[s:e] in ans.text for s, e in ans.citations[0].spans)
    for entry in b.library().entries():
        b.library().remove(entry["doc_id"])
    c = b.reloaded(notice=lambda m: None)
    assert {p.doc_id for p in c.passages} == {"SC2022", "S2003-85"}
    for _, question, pid in FILES.values():
        assert pid not in [h.passage.id for h in c.ask(question).hits]


@pytest.mark.parametrize("name,want", [
    ("madrid_declaration 2022", "MADRID-DECLARATION-2022"),
    ("欧盟气候适应战略", "OUMENG-QIHOU-SHIYING"),  # whole words up to 24 characters
    ("北约2022战略概念（草案）", "BEIYUE-2022"),  # 战略概念 is one word of the domain dictionary
    ("中华人民共和国国防白皮书", "ZHONGHUARENMINGONGHEGUO"),
    ("《》——", "DOC"),
    ("x" * 30, "X" * 24),
])
def test_document_ids_come_from_file_names_chinese_in_pinyin(name, want):
    from rag.documents.library import DOC_ID, slug_id

    assert slug_id(name) == want and DOC_ID.fullmatch(want)


def test_seed_documents_cannot_be_removed(tmp_path):
    from rag.documents.library import Library, ProtectedDocumentError

    with pytest.raises(ProtectedDocumentError, match="seed corpus"):
        Library(tmp_path).remove(" sc2022 ", protected={"SC2022"})
    with pytest.raises(RagError, match="no added document"):
        Library(tmp_path).remove("ARC", protected={"SC2022"})
