"""User documents: real TXT, Markdown, HTML, PDF and DOCX files become citable passages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from rag.documents import formats
from rag.documents.formats import Block, Document, read_document_file
from rag.documents.paragraphs import chinese_number, derive_title, find_marker, parse_document, parse_file
from rag.documents.pdftext import join_pdf_lines
from rag.errors import CorpusError
from rag.text.normalize import squash


def _entry(doc_id: str, title: str) -> dict:
    return {"doc_id": doc_id, "title": title, "short": f"《{title}》"}


def _parse(path: Path, doc_id: str = "DOC"):
    doc = read_document_file(path)
    title = derive_title(doc, path)
    return title, parse_file(path, _entry(doc_id, title))


def _by_id(passages) -> dict:
    return {p.id: p for p in passages}


def _assert_each_once(passages, sentences) -> None:
    """Every content sentence is found, verbatim modulo whitespace, in exactly one passage."""
    texts = [squash(p.text) for p in passages]
    for sentence in sentences:
        hits = [t for t in texts if squash(sentence) in t]
        assert len(hits) == 1, (sentence, texts)


# --- PDF --------------------------------------------------------------------------------

PDF_TITLE = "关于加强国际合作的意见"
PDF_PAGES = (
    [
        (18, PDF_TITLE),
        (12, "第一章 总则"),
        (12, "1. 为了加强国际合作，推动构建人类命运共同体，促进各国共同发展"),
        (12, "和繁荣，特制定本意见。"),
        (12, "2. 各方应当坚持互利共赢原则，深化务实合作，拓展合作领域，提升"),
        (12, "合作水平，共同应对全球性挑战。"),
        (12, "3. The parties agree to strengthen their mutual inter-"),
        (12, "national cooperation on climate, trade and health."),
        (12, "4. 各国应当加强政策沟通和协调配合，完善合作机制，推动合作成果惠及"),
    ],
    [
        (12, "各国人民，实现共同发展。"),
        (12, "第二章 保障措施"),
        (12, "1. 建立健全工作机制，明确责任分工。"),
        (12, "2. 加强监督检查，确保各项措施落到实处。"),
    ],
)
PDF_SENTENCES = (
    "为了加强国际合作，推动构建人类命运共同体，促进各国共同发展和繁荣，特制定本意见。",
    "各方应当坚持互利共赢原则，深化务实合作，拓展合作领域，提升合作水平，共同应对全球性挑战。",
    "The parties agree to strengthen their mutual international cooperation on climate, trade and health.",
    "各国应当加强政策沟通和协调配合，完善合作机制，推动合作成果惠及各国人民，实现共同发展。",
    "建立健全工作机制，明确责任分工。",
    "加强监督检查，确保各项措施落到实处。",
)


def _cjk_canvas(target, title: str | None = None):
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # built-in CID font: no font file needed
    c = canvas.Canvas(str(target) if isinstance(target, Path) else target)
    if title:
        c.setTitle(title)
    return c


def _write_pdf(path: Path, pages=PDF_PAGES, title: str | None = PDF_TITLE) -> Path:
    c = _cjk_canvas(path, title)
    for number, lines in enumerate(pages, 1):
        c.setFont("STSong-Light", 9)
        c.drawString(72, 810, "国家政策研究中心 内部资料")  # running header
        c.drawString(290, 40, f"- {number} -")  # page number
        y = 770
        for size, text in lines:
            c.setFont("STSong-Light", size)
            c.drawString(72, y, text)
            y -= size * 1.6
        c.showPage()
    c.save()
    return path


def test_reportlab_cid_font_round_trips_through_pypdf(tmp_path):
    from pypdf import PdfReader

    reader = PdfReader(_write_pdf(tmp_path / "a.pdf"))
    assert "为了加强国际合作" in reader.pages[0].extract_text()


def test_pdf_paragraphs_ids_sections_and_furniture(tmp_path):
    title, passages = _parse(_write_pdf(tmp_path / "意见.pdf"), "INTL")
    assert title == PDF_TITLE
    by_id = _by_id(passages)
    assert list(by_id) == ["INTL-c1.1", "INTL-c1.2", "INTL-c1.3", "INTL-c1.4", "INTL-c2.1", "INTL-c2.2"]
    assert by_id["INTL-c1.1"].text == PDF_SENTENCES[0]  # wrapped Chinese joined without a space
    assert by_id["INTL-c1.3"].text == PDF_SENTENCES[2]  # inter- / national rejoined
    assert by_id["INTL-c1.4"].text == PDF_SENTENCES[3]  # continued over the page break
    assert by_id["INTL-c2.1"].label == f"《{PDF_TITLE}》第二章第1段"
    assert by_id["INTL-c1.1"].section == ("第一章总则",)
    assert by_id["INTL-c2.2"].section == ("第二章保障措施",)
    assert [p.order for p in passages] == list(range(len(passages)))
    assert {p.doc_title for p in passages} == {PDF_TITLE}
    _assert_each_once(passages, PDF_SENTENCES)
    everything = "".join(p.text for p in passages)
    assert "内部资料" not in everything and "- 1 -" not in everything
    assert not any(p.text.isdigit() for p in passages)


def test_pdf_title_falls_back_to_big_heading(tmp_path):
    path = _write_pdf(tmp_path / "untitled.pdf", title=None)
    doc = read_document_file(path)
    assert doc.title is None
    assert doc.blocks[0] == Block("heading", PDF_TITLE, 1)
    assert derive_title(doc, path) == PDF_TITLE


def test_join_pdf_lines():
    assert join_pdf_lines(["北约是一个", "防御性联盟。"]) == "北约是一个防御性联盟。"
    assert join_pdf_lines(["the inter-", "national order"]) == "the international order"
    assert join_pdf_lines(["in 2019-", "2020 we", "met"]) == "in 2019-2020 we met"
    assert join_pdf_lines(["NATO is", "北约"]) == "NATO is北约"


# --- DOCX -------------------------------------------------------------------------------

DOCX_TITLE = "数字经济发展规划"


def _write_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.title = DOCX_TITLE
    d.add_heading(DOCX_TITLE, 0)
    d.add_heading("第一章 总体要求", 1)
    d.add_paragraph("1. 坚持创新驱动，加快数字技术研发应用。")
    d.add_paragraph("2. 坚持统筹协调，推动数字经济和实体经济深度融合。")
    d.add_heading("第一节 重点任务", 2)
    d.add_paragraph("（一）加强数字基础设施建设，提升网络覆盖水平。")
    d.add_paragraph("（二）推进产业数字化转型，培育新业态新模式。")
    table = d.add_table(rows=2, cols=2)
    for cell, text in zip(table._cells, ("指标", "目标值", "数字经济核心产业增加值占比", "百分之十"), strict=True):
        cell.text = text
    d.add_heading("第二章 保障措施", 1)
    d.add_paragraph("各地区各部门要高度重视，抓好贯彻落实。")
    d.save(path)
    return path


def test_docx_headings_numbers_and_table(tmp_path):
    title, passages = _parse(_write_docx(tmp_path / "plan.docx"), "DE")
    assert title == DOCX_TITLE
    by_id = _by_id(passages)
    assert list(by_id) == ["DE-1", "DE-2", "DE-i1", "DE-i2", "DE-P1", "DE-P2", "DE-P3", "DE-P4", "DE-P5"]
    assert by_id["DE-1"].text == "坚持创新驱动，加快数字技术研发应用。"
    assert by_id["DE-1"].label == f"《{DOCX_TITLE}》第1段"
    assert by_id["DE-1"].section == ("第一章总体要求",)
    assert by_id["DE-i2"].label == f"《{DOCX_TITLE}》（二）"
    assert by_id["DE-i2"].section == ("第一章总体要求", "第一节重点任务")
    assert [by_id[f"DE-P{k}"].text for k in range(1, 5)] == ["指标", "目标值", "数字经济核心产业增加值占比", "百分之十"]
    assert by_id["DE-P5"].section == ("第二章保障措施",)
    assert by_id["DE-P5"].label == f"《{DOCX_TITLE}》第二章保障措施第1段"


def test_docx_blocks_keep_heading_levels(tmp_path):
    doc = read_document_file(_write_docx(tmp_path / "plan.docx"))
    headings = [(b.text, b.level) for b in doc.blocks if b.kind == "heading"]
    assert headings == [(DOCX_TITLE, 1), ("第一章总体要求", 1), ("第一节重点任务", 2), ("第二章保障措施", 1)]
    assert doc.title == DOCX_TITLE


# --- HTML -------------------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html><head><meta charset="gb2312"><title>城市更新行动方案</title>
<style>p { color: red; }</style><script>var secret = "脚本内容";</script></head>
<body><nav>首页 | 政策 | 联系我们</nav><header>政府网站</header>
<h1>城市更新行动方案</h1>
<h2>一、总体目标</h2>
<p>到2025年，城市更新行动取得<b>明显</b>进展。</p>
<ul><li>（一）完善城市空间结构。</li><li>（二）实施城市生态修复。</li></ul>
<h2>二、重点任务</h2>
<div>推进老旧小区改造，<br>
改善居民居住条件。</div>
<noscript>请启用脚本</noscript>
<footer>版权所有</footer></body></html>
"""


def test_html_with_declared_charset(tmp_path):
    path = tmp_path / "renewal.html"
    path.write_bytes(HTML.encode("gb18030"))
    title, passages = _parse(path, "CITY")
    assert title == "城市更新行动方案"
    assert [(p.id, p.text) for p in passages] == [
        ("CITY-P1", "到2025年，城市更新行动取得明显进展。"),
        ("CITY-i1", "完善城市空间结构。"),
        ("CITY-i2", "实施城市生态修复。"),
        ("CITY-P2", "推进老旧小区改造，改善居民居住条件。"),
    ]
    assert passages[0].section == ("一、总体目标",)
    assert passages[3].section == ("二、重点任务",)
    assert passages[3].label == "《城市更新行动方案》二、重点任务第1段"
    everything = "".join(p.text for p in passages)
    for junk in ("脚本", "首页", "政府网站", "版权", "color"):
        assert junk not in everything


# --- Markdown ---------------------------------------------------------------------------

MARKDOWN = """# 乡村振兴促进条例

## 第一章 总则

第一条 为了全面实施乡村振兴战略，制定本条例。

第二条　本条例适用于本省行政区域内的乡村振兴工作，
包括产业、人才和文化振兴。

## 第二章 产业发展

第三条 各级人民政府应当支持发展乡村产业：
（一）发展特色种植业；
（二）发展乡村旅游业。

16.2.5 本项措施由**农业农村部门**负责实施。
"""


def test_markdown_articles_and_multilevel_numbers(tmp_path):
    path = tmp_path / "rural.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    title, passages = _parse(path, "RURAL")
    assert title == "乡村振兴促进条例"
    by_id = _by_id(passages)
    # a law: items belong to their article, chapter headings are written "第二章 产业发展" (tests/test_law.py)
    assert list(by_id) == ["RURAL-art1", "RURAL-art2", "RURAL-art3", "RURAL-art3.i1", "RURAL-art3.i2", "RURAL-16.2.5"]
    assert by_id["RURAL-art1"].text == "为了全面实施乡村振兴战略，制定本条例。"
    assert by_id["RURAL-art1"].label == "《乡村振兴促进条例》第一条"
    assert by_id["RURAL-art2"].text == "本条例适用于本省行政区域内的乡村振兴工作，包括产业、人才和文化振兴。"
    assert by_id["RURAL-art3"].section == ("第二章 产业发展",)
    assert by_id["RURAL-art3.i2"].text == "发展乡村旅游业。"
    assert by_id["RURAL-art3.i2"].label == "《乡村振兴促进条例》第三条第（二）项"
    assert by_id["RURAL-16.2.5"].label == "《乡村振兴促进条例》第16.2.5段"
    assert by_id["RURAL-16.2.5"].text == "本项措施由**农业农村部门**负责实施。"


# --- TXT in four encodings ------------------------------------------------------------

TXT = """关于做好防汛工作的通知

各有关单位：

一、提高思想认识
（一）各单位要充分认识防汛工作的重要性。
（二）要落实防汛责任制。

二、加强监测预警
（一）气象部门要加强天气监测。
1、水利部门要及时发布汛情信息。
2．应急部门要做好抢险准备。
"""
TXT_IDS = ["FX-P1", "FX-s1.i1", "FX-s1.i2", "FX-s2.i1", "FX-1", "FX-2"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_txt_encodings(tmp_path, encoding):
    path = tmp_path / f"notice-{encoding}.txt"
    path.write_bytes(TXT.encode(encoding))
    title, passages = _parse(path, "FX")
    assert title == "关于做好防汛工作的通知"
    by_id = _by_id(passages)
    assert list(by_id) == TXT_IDS
    assert by_id["FX-P1"].text == "各有关单位："
    assert by_id["FX-s2.i1"].label == "《关于做好防汛工作的通知》第二部分（一）"
    assert by_id["FX-s2.i1"].section == ("二、加强监测预警",)
    assert by_id["FX-2"].text == "应急部门要做好抢险准备。"
    assert by_id["FX-2"].section == ("二、加强监测预警",)
    _assert_each_once(passages, ["各有关单位：", "各单位要充分认识防汛工作的重要性。", "要落实防汛责任制。",
                                 "气象部门要加强天气监测。", "水利部门要及时发布汛情信息。", "应急部门要做好抢险准备。"])


def test_txt_without_blank_lines_is_one_paragraph_per_line(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("第一段文字到此结束。\n第二段文字到此结束。\n", encoding="utf-8")
    _, passages = _parse(path, "L")
    assert [(p.id, p.text) for p in passages] == [("L-P1", "第一段文字到此结束。"), ("L-P2", "第二段文字到此结束。")]


# --- numbering --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kind", "token", "label", "rest"), [
    ("1. 北约是防御性联盟。", "num", "1", "第1段", "北约是防御性联盟。"),
    ("12、加强合作。", "num", "12", "第12段", "加强合作。"),
    ("3．完善机制。", "num", "3", "第3段", "完善机制。"),
    ("（一）总体要求。", "item", "i1", "（一）", "总体要求。"),
    ("(十二)其他事项。", "item", "i12", "（十二）", "其他事项。"),
    ("二十三、附则。", "part", "s23", "第二十三部分", "附则。"),
    ("第一条 为了规范管理，制定本办法。", "art", "art1", "第一条", "为了规范管理，制定本办法。"),
    ("第一百零五条　本法自公布之日起施行。", "art", "art105", "第一百零五条", "本法自公布之日起施行。"),
    ("16.2.5 训练和演习。", "multi", "16.2.5", "第16.2.5段", "训练和演习。"),
    ("16.1加强协商和信息交流", "multi", "16.1", "第16.1段", "加强协商和信息交流"),
    ("（3）做好宣传。", "sub", "n3", "（3）", "做好宣传。"),
])
def test_find_marker(text, kind, token, label, rest):
    marker = find_marker(text)
    assert (marker.kind, marker.token, marker.label, marker.rest) == (kind, token, label, rest)


@pytest.mark.parametrize("text", ["1.5亿元用于基础设施。", "2024年是关键之年。", "北约是防御性联盟。", "第一章 总则"])
def test_not_a_marker(text):
    assert find_marker(text) is None


def test_chinese_numbers():
    cases = {"一": 1, "十": 10, "十二": 12, "二十": 20, "九十九": 99, "一百": 100, "百": 100, "一百零五": 105,
             "两千": 2000, "12": 12}
    assert {k: chinese_number(k) for k in cases} == cases


def test_chapter_headings_and_restarting_numbers():
    doc = Document((
        Block("paragraph", "第一章 总则"),
        Block("paragraph", "1. 第一章第一段。"),
        Block("paragraph", "2. 第一章第二段。"),
        Block("paragraph", "第二章 附则"),
        Block("paragraph", "1. 第二章第一段。"),
    ), None)
    passages = parse_document(doc, _entry("LAW", "法"))
    assert [(p.id, p.label, p.section) for p in passages] == [
        ("LAW-c1.1", "《法》第一章第1段", ("第一章总则",)),
        ("LAW-c1.2", "《法》第一章第2段", ("第一章总则",)),
        ("LAW-c2.1", "《法》第二章第1段", ("第二章附则",)),
    ]


def test_repeated_numbers_without_context_get_suffixes():
    doc = Document((Block("paragraph", "1. 甲。"), Block("paragraph", "1. 乙。")), None)
    assert [p.id for p in parse_document(doc, _entry("R", "R"))] == ["R-1", "R-1_2"]


def test_marker_alone_on_its_line_numbers_the_next_paragraph():
    doc = Document((Block("paragraph", "7."), Block("paragraph", "正文在下一行。")), None)
    [passage] = parse_document(doc, _entry("M", "M"))
    assert (passage.id, passage.text) == ("M-7", "正文在下一行。")


def test_continuation_blocks_are_joined():
    doc = Document((
        Block("paragraph", "The Alliance will continue to strengthen its"),
        Block("paragraph", "deterrence and defence posture."),
        Block("paragraph", "这是另一段。"),
    ), None)
    passages = parse_document(doc, _entry("J", "J"))
    assert [p.text for p in passages] == [
        "The Alliance will continue to strengthen its deterrence and defence posture.", "这是另一段。"]


def test_long_paragraph_is_split_at_sentence_ends():
    sentences = [f"这是第{i}句话，用来测试长段落的切分是否在句末完成。" for i in range(80)]
    doc = Document((Block("paragraph", "5. " + "".join(sentences)),), None)
    passages = parse_document(doc, _entry("LONG", "长"))
    assert [p.id for p in passages][:3] == ["LONG-5", "LONG-5~2", "LONG-5~3"]
    assert all(len(p.text) <= 800 and p.text.endswith("。") for p in passages)
    assert passages[0].label == f"《长》第5段（1/{len(passages)}）"
    assert "".join(p.text for p in passages) == "".join(sentences)


# --- errors -----------------------------------------------------------------------------


def _encrypted_pdf(path: Path, user_password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(_write_pdf(path)))
    writer.encrypt(user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _scanned_pdf(path: Path) -> bytes:
    c = _cjk_canvas(path)
    c.rect(100, 100, 300, 400, fill=1)  # an "image" only: no text layer
    c.showPage()
    c.save()
    return path.read_bytes()


ERRORS = {
    "notes.xyz": (lambda p: b"hello", "supported: .txt"),
    "empty.txt": (lambda p: b"", "empty"),
    "blank.md": (lambda p: b"  \n\n ", "empty"),
    "image.txt": (lambda p: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    "controls.txt": (lambda p: bytes(range(1, 32)) * 20, "binary"),
    "noise.txt": (lambda p: bytes((i * 97 + 31) % 255 + 1 for i in range(3000)), "undecodable"),
    "broken.pdf": (lambda p: b"%PDF-1.4\n1 0 obj garbage\n%%EOF", "PDF"),
    "locked.pdf": (lambda p: _encrypted_pdf(p.with_suffix(".tmp.pdf")), "encrypted"),
    "scan.pdf": (lambda p: _scanned_pdf(p.with_suffix(".tmp.pdf")), "OCR"),
    "broken.docx": (lambda p: b"PK\x03\x04 this is not a real zip", "DOCX"),
    "headings-only.md": (lambda p: "# 标题\n\n## 小节\n".encode(), "no recognisable paragraphs"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_name_the_file(tmp_path, name):
    make, message = ERRORS[name]
    path = tmp_path / name
    path.write_bytes(make(path))
    with pytest.raises(CorpusError) as info:
        _parse(path)
    assert name in str(info.value) and message in str(info.value)
    assert "\n" not in str(info.value)


def test_pdf_with_only_an_owner_password_is_read(tmp_path):
    path = tmp_path / "restricted.pdf"
    path.write_bytes(_encrypted_pdf(tmp_path / "plain.pdf", user_password=""))
    _, passages = _parse(path, "INTL")
    _assert_each_once(passages, PDF_SENTENCES)


def test_too_large_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(formats, "MAX_BYTES", 10)
    path = tmp_path / "big.txt"
    path.write_text("这是一个超过限制的文件。", encoding="utf-8")
    with pytest.raises(CorpusError, match="big.txt.*too large"):
        read_document_file(path)


def test_missing_file_is_a_corpus_error(tmp_path):
    with pytest.raises(CorpusError, match="nothere.pdf"):
        read_document_file(tmp_path / "nothere.pdf")
