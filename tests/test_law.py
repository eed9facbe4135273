"""Laws: one passage per article paragraph (款) and item (项), the same structure from every file format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.documents.blocks import Block, Document
from rag.documents.context import article_head, embedding_texts
from rag.documents.formats import read_document_file
from rag.documents.law import chapter_heading, chinese_numeral, is_law, issued
from rag.documents.library import Library
from rag.documents.paragraphs import derive_title, parse_document, parse_file
from rag.records import Passage

ROOT = Path(__file__).resolve().parents[1]
LAWS = ROOT / "eval" / "suites" / "laws" / "docs"

TITLE = "中华人民共和国测试管理法"
ADOPTED = "2021年6月10日 第十三届全国人民代表大会常务委员会第二十九次会议通过"
ISSUED = "2021年6月10日第十三届全国人民代表大会常务委员会第二十九次会议通过"  # whitespace normalised
ART1 = "为了规范测试活动，保障测试安全，促进测试技术发展，维护国家利益，制定本法。"
ART2 = ("在中华人民共和国境内开展测试活动及其安全监管，适用本法。在中华人民共和国境外开展测试活动，"
        "损害中华人民共和国国家安全、公共利益或者公民、组织合法权益的，依照本法追究法律责任。")
ART2_2 = "本法所称测试，是指对产品、系统或者服务进行检验和评价的活动。"
ART3 = "测试机构应当履行下列义务："
ITEMS = ("建立健全测试管理制度；", "组织开展测试教育培训；", "采取相应的技术措施和其他必要措施。")
ART3_2 = "测试机构违反前款规定的，由有关主管部门责令改正。"
ART4 = "本法自2021年9月1日起施行。"
# (heading or None, marker, text): the law every format below writes
LAW = (
    ("第一章 总  则", None, None),
    (None, "第一条", ART1),
    (None, "第二条", ART2),
    (None, "", ART2_2),
    ("第二章 测试制度", None, None),
    ("第一节 一般规定", None, None),
    (None, "第三条", ART3),
    *((None, f"（{n}）", item) for n, item in zip("一二三", ITEMS, strict=True)),
    (None, "", ART3_2),
    ("第三章 附  则", None, None),
    (None, "第四条", ART4),
)
GENERAL, RULES, FINAL = ("第一章 总则",), ("第二章 测试制度", "第一节 一般规定"), ("第三章 附则",)
S = "《测试管理法》"
EXPECTED = [
    ("LAW-art1", f"{S}第一条", GENERAL, ART1),
    ("LAW-art2", f"{S}第二条第一款", GENERAL, ART2),
    ("LAW-art2.2", f"{S}第二条第二款", GENERAL, ART2_2),
    ("LAW-art3", f"{S}第三条第一款", RULES, ART3),
    ("LAW-art3.i1", f"{S}第三条第一款第（一）项", RULES, ITEMS[0]),
    ("LAW-art3.i2", f"{S}第三条第一款第（二）项", RULES, ITEMS[1]),
    ("LAW-art3.i3", f"{S}第三条第一款第（三）项", RULES, ITEMS[2]),
    ("LAW-art3.2", f"{S}第三条第二款", RULES, ART3_2),
    ("LAW-art4", f"{S}第四条", FINAL, ART4),
]


def _lines() -> list[tuple[str, str]]:
    """(kind, text): "heading" for 章 and 节, "paragraph" for the rest (marker and text joined)."""
    return [("heading", h) if h else ("paragraph", f"{m} {t}" if m.startswith("第") else m + t) for h, m, t in LAW]


def _md(path: Path) -> None:
    out = [f"# {TITLE}", "", ADOPTED, "", "<!-- INFO END -->", ""]
    for kind, text in _lines():
        out += [("## " if "章" in text[:5] else "### ") + text if kind == "heading" else text, ""]
    path.write_text("\n".join(out), encoding="utf-8")


def _txt(path: Path) -> None:
    lines = [TITLE, "", ADOPTED, ""] + [x for _, text in _lines() for x in (text, "")]
    path.write_text("\n".join(lines), encoding="utf-8")


def _txt_lines(path: Path) -> None:
    """One paragraph per line, ideographic indents, GB18030, the adoption line in brackets."""
    lines = [TITLE, f"（{ADOPTED}）"] + [("" if kind == "heading" else "\u3000\u3000") + text for kind, text in _lines()]
    path.write_bytes("\r\n".join(lines).encode("gb18030"))


def _html(path: Path) -> None:
    body = [f"<h1>{TITLE}</h1>", f'<p align="center">（{ADOPTED}）</p>', "<!-- INFO END -->",
            "<!-- 多行\n注释 -->"]
    for kind, text in _lines():
        body.append(f"<h{2 if '章' in text[:5] else 3}>{text}</h{2 if '章' in text[:5] else 3}>"
                    if kind == "heading" else f"<p>{text}</p>")
    path.write_text(f"<html><head><title>{TITLE}</title></head><body>{''.join(body)}</body></html>",
                    encoding="utf-8")


def _docx(path: Path) -> None:
    """Title style, chapters as plain centred paragraphs, the section as Heading 2 (mixed, as in the wild)."""
    import docx

    d = docx.Document()
    d.add_heading(TITLE, 0)
    d.add_paragraph(ADOPTED)
    for kind, text in _lines():
        if kind == "heading" and "节" in text[:5]:
            d.add_heading(text, 2)
        else:
            d.add_paragraph(text)
    d.save(path)


def _pdf(path: Path) -> None:
    """A 16pt title, body text at 11pt with a two-character first-line indent, wrapped at 30 characters."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    c.setFont("STSong-Light", 16)
    c.drawString(150, 780, TITLE)
    c.setFont("STSong-Light", 11)
    c.drawString(90, 750, ADOPTED)
    y = 720
    for kind, text in _lines():
        if kind == "heading":
            c.drawString(250, y, text)
            y -= 24
            continue
        first, width = True, 28
        while text:
            c.drawString(72 + (22 if first else 0), y, text[:width])
            text, first, width, y = text[width:], False, 30, y - 17
    c.showPage()
    c.save()


def _pdf_pages(path: Path) -> None:
    """Headings in larger fonts, three paragraphs a page, page numbers, the /Title set, no indents."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    c = canvas.Canvas(str(path))
    c.setTitle(TITLE)
    lines = [(18, TITLE), (11, f"（{ADOPTED}）")] + [(14 if "章" in t[:5] else 12.5, t) if kind == "heading" else
                                                     (11, t) for kind, t in _lines()]
    page, y, count = 1, 780, 0
    for size, text in lines:
        if size == 11 and count == 3:
            c.setFont("STSong-Light", 9)
            c.drawString(290, 40, f"- {page} -")
            c.showPage()
            page, y, count = page + 1, 780, 0
        c.setFont("STSong-Light", size)
        count += size == 11
        for start in range(0, len(text), 30):
            c.drawString(72, y, text[start:start + 30])
            y -= size * 1.5
        y -= 6
    c.setFont("STSong-Light", 9)
    c.drawString(290, 40, f"- {page} -")
    c.showPage()
    c.save()


FORMATS = {"law.md": _md, "law.txt": _txt, "law-lines.txt": _txt_lines, "law.html": _html, "law.docx": _docx,
           "law.pdf": _pdf, "law-pages.pdf": _pdf_pages}


def _entry(title: str, doc_id: str = "LAW") -> dict:
    return {"doc_id": doc_id, "title": title, "short": S}


@pytest.fixture(params=list(FORMATS))
def law_file(request, tmp_path) -> Path:
    path = tmp_path / request.param
    FORMATS[request.param](path)
    return path


def test_every_format_gives_the_same_articles_paragraphs_and_items(law_file):
    doc = read_document_file(law_file)
    assert derive_title(doc, law_file) == TITLE
    passages = parse_file(law_file, _entry(TITLE))
    assert [(p.id, p.label, p.section, p.text) for p in passages] == EXPECTED
    for p in passages:
        for junk in ("INFO END", "<!--", "注释", "二十九次会议", TITLE):
            assert junk not in p.text
    assert issued(doc) == ISSUED


def test_the_title_line_is_dropped_even_under_another_title(tmp_path):
    path = tmp_path / "law.txt"
    _txt(path)
    passages = parse_file(path, _entry("测试法（用户给的标题）"))
    assert [p.id for p in passages] == [e[0] for e in EXPECTED]


def test_library_add_records_the_adoption_line(law_file, tmp_path):
    entry = Library(tmp_path / "library").add(law_file)
    assert entry["issued"] == ISSUED
    assert entry["title"] == TITLE and entry["parser"] == "auto"
    [saved] = Library(tmp_path / "library").entries()
    assert saved["issued"] == ISSUED


def test_documents_without_articles_get_no_issued_key(tmp_path):
    path = tmp_path / "notice.md"
    path.write_text(f"# 通知\n\n{ADOPTED}\n\n1. 各单位要做好准备。\n", encoding="utf-8")
    entry = Library(tmp_path / "library").add(path)
    assert "issued" not in entry
    assert [p.id for p in parse_file(path, _entry("通知", "N"))] == ["N-P1", "N-1"]  # as before


# --- the four laws of the eval suite ------------------------------------------------------

REAL = {  # file -> (article count, issued)
    "data-security-law-2021.md": (55, "2021年6月10日第十三届全国人民代表大会常务委员会第二十九次会议通过"),
    "export-control-law-2020.md": (49, "2020年10月17日第十三届全国人民代表大会常务委员会第二十二次会议通过"),
    "foreign-relations-law-2023.md": (45, "2023年6月28日第十四届全国人民代表大会常务委员会第三次会议通过"),
    "national-defense-law-2020.md": (73, "1997年3月14日第八届全国人民代表大会第五次会议通过 "
                                         "2009年8月27日第十一届全国人民代表大会常务委员会第十次会议"
                                         "《关于修改部分法律的决定》修正 "
                                         "2020年12月26日第十三届全国人民代表大会常务委员会第二十四次会议修订"),
}


def _real(name: str) -> tuple[Document, list[Passage]]:
    path = LAWS / name
    doc = read_document_file(path)
    title = derive_title(doc, path)
    return doc, parse_file(path, {"doc_id": "D", "title": title, "short": f"《{title}》"})


@pytest.mark.parametrize("name", list(REAL))
def test_real_laws(name):
    doc, passages = _real(name)
    count, adopted = REAL[name]
    heads = [p for p in passages if re.fullmatch(r"D-art\d+", p.id)]
    assert [p.id for p in heads] == [f"D-art{n}" for n in range(1, count + 1)]
    first = next(i for i, p in enumerate(passages) if p.id == "D-art1")
    assert first == 0  # nothing before the first article: the adoption line and the comment are gone
    assert not [p.id for p in passages[first:] if re.search(r"-P\d", p.id)]
    assert len({p.id for p in passages}) == len(passages)
    assert all(p.section and re.fullmatch(r"第[一二三四五六七八九十]+章 \S+", p.section[0]) for p in passages)
    assert not any("INFO END" in p.text or "会议通过" in p.text for p in passages)
    assert issued(doc) == adopted
    raw = (LAWS / name).read_text(encoding="utf-8")
    paragraphs = [b for b in re.split(r"\n\s*\n", raw.split("<!-- INFO END -->")[1]) if not b.startswith("#")]
    assert len(passages) == len([b for b in paragraphs if b.strip()])  # one passage per paragraph of the text


def test_data_security_law_articles():
    _, passages = _real("data-security-law-2021.md")
    by_id = {p.id: p for p in passages}
    assert by_id["D-art2"].label == "《中华人民共和国数据安全法》第二条第一款"
    assert by_id["D-art2.2"].label == "《中华人民共和国数据安全法》第二条第二款"
    assert by_id["D-art2.2"].text.startswith("在中华人民共和国境外开展数据处理活动")
    assert by_id["D-art2"].section == ("第一章 总则",)
    assert by_id["D-art1"].label == "《中华人民共和国数据安全法》第一条"
    assert "D-art1.2" not in by_id


def test_export_control_law_items_and_sections():
    _, passages = _real("export-control-law-2020.md")
    by_id = {p.id: p for p in passages}
    ids = [p.id for p in passages]
    start = ids.index("D-art12")
    assert ids[start:start + 8] == ["D-art12", "D-art12.2", "D-art12.3", "D-art12.i1", "D-art12.i2",
                                    "D-art12.i3", "D-art12.4", "D-art13"]
    assert by_id["D-art12.i2"].label == "《中华人民共和国出口管制法》第十二条第三款第（二）项"  # items of 款 3
    assert by_id["D-art13.i2"].label == "《中华人民共和国出口管制法》第十三条第（二）项"  # a one-款 article
    assert by_id["D-art12.4"].text.startswith("出口经营者无法确定")
    assert by_id["D-art8"].section == ("第二章 管制政策、管制清单和管制措施", "第一节 一般规定")
    assert by_id["D-art20"].section[0] == "第二章 管制政策、管制清单和管制措施"


# --- numbering rules -------------------------------------------------------------------------


def _doc(*texts: str) -> Document:
    return Document(tuple(Block("paragraph", t) for t in texts), None)


def test_repeated_item_numbers_are_qualified_by_their_paragraph():
    passages = parse_document(_doc("第一条 总则。", "第三十条 有下列情形之一的：", "（一）甲；", "（二）乙。",
                                   "有下列情形之一的，从重处罚：", "（一）丙；", "（二）丁。"), _entry("法"))
    assert [(p.id, p.label) for p in passages][1:] == [
        ("LAW-art30", f"{S}第三十条第一款"),
        ("LAW-art30.1.i1", f"{S}第三十条第一款第（一）项"),
        ("LAW-art30.1.i2", f"{S}第三十条第一款第（二）项"),
        ("LAW-art30.2", f"{S}第三十条第二款"),
        ("LAW-art30.2.i1", f"{S}第三十条第二款第（一）项"),
        ("LAW-art30.2.i2", f"{S}第三十条第二款第（二）项"),
    ]


def test_sub_items_preamble_and_repeated_articles():
    passages = parse_document(_doc("序言第一段。", "第一条 下列事项：", "（一）甲事项：", "1. 子项一；", "2. 子项二。",
                                   "第一条 另一部法律的第一条。", "其第二款。"), _entry("法"))
    assert [(p.id, p.label) for p in passages] == [
        ("LAW-P1", f"{S}第1段"),
        ("LAW-art1", f"{S}第一条"),
        ("LAW-art1.i1", f"{S}第一条第（一）项"),
        ("LAW-art1.i1.m1", f"{S}第一条第（一）项第1目"),
        ("LAW-art1.i1.m2", f"{S}第一条第（一）项第2目"),
        ("LAW-art1_2", f"{S}第一条第一款"),
        ("LAW-art1_2.2", f"{S}第一条第二款"),
    ]


def test_only_documents_with_articles_are_laws():
    assert is_law(_doc("第一条 为了……，制定本法。").blocks)
    assert is_law(_doc("第五条 甲。", "第六条 乙。").blocks)
    assert not is_law(_doc("第三条规定的事项另行通知。", "1. 各单位做好准备。").blocks)
    assert not is_law((Block("heading", "第一条"), Block("paragraph", "正文。")))


def test_chapter_headings_and_numerals():
    assert chapter_heading("第一章 总  则") == (8, "第一章 总则")
    assert chapter_heading("第三节军品出口管理") == (9, "第三节 军品出口管理")
    assert chapter_heading("第二编 物权") == (7, "第二编 物权")
    assert chapter_heading("第一条 总则") is None
    assert [chinese_numeral(n) for n in (1, 10, 12, 20, 35, 100, 105, 120)] == [
        "一", "十", "十二", "二十", "三十五", "一百", "一百零五", "一百二十"]


@pytest.mark.parametrize(("line", "want"), [
    ("（1997年3月14日第八届全国人民代表大会第五次会议通过　根据2009年8月27日第十一届全国人民代表大会常务委员会"
     "第十次会议修正　2020年12月26日第十三届全国人民代表大会常务委员会第二十四次会议修订）",
     "1997年3月14日第八届全国人民代表大会第五次会议通过 根据2009年8月27日第十一届全国人民代表大会常务委员会"
     "第十次会议修正 2020年12月26日第十三届全国人民代表大会常务委员会第二十四次会议修订"),
    ("2021年6月10日 第十三届全国人民代表大会常务委员会第二十九次会议通过", ISSUED),
    ("(2019年3月15日第十三届全国人民代表大会第二次会议通过)", "2019年3月15日第十三届全国人民代表大会第二次会议通过"),
])
def test_issued_lines(line, want):
    doc = Document((Block("heading", "某某法"), Block("paragraph", line), Block("paragraph", "第一条 甲。")), None)
    assert issued(doc) == want
    assert [p.id for p in parse_document(doc, _entry("某某法"))] == ["LAW-art1"]


# --- Markdown and HTML that are not text ----------------------------------------------------


def test_markdown_front_matter_comments_and_link_lines_are_not_text(tmp_path):
    path = tmp_path / "note.md"
    path.write_text(
        "---\ntitle: 测试\ntags:\n  - 法律\n---\n# 测试\n\n[![徽章](https://x.y/b.svg)](https://x.y)\n\n"
        "<!--\n多行注释\n第一条 不是正文\n-->\n第一条 正文<!-- 行内注释 -->继续。\n\n"
        "[返回目录](#top) <https://example.org>\n\n[ref]: https://example.org\n\n第二条 完。\n", encoding="utf-8")
    passages = parse_file(path, _entry("测试", "M"))
    assert [(p.id, p.text) for p in passages] == [("M-art1", "正文继续。"), ("M-art2", "完。")]


def test_html_comments_are_not_text(tmp_path):
    path = tmp_path / "c.html"
    path.write_text("<html><body><h1>法</h1><!-- 注释 --><p>第一条 甲<!-- 行内 -->乙。</p></body></html>",
                    encoding="utf-8")
    assert [p.text for p in parse_file(path, _entry("法", "H"))] == ["甲乙。"]


# --- embedding context ------------------------------------------------------------------------


def test_later_paragraphs_and_items_are_embedded_with_their_articles_first_paragraph():
    passages = [Passage(pid, "LAW", TITLE, section, label, text, i)
                for i, (pid, label, section, text) in enumerate(EXPECTED)]
    texts = dict(zip([p.id for p in passages], embedding_texts(passages), strict=True))
    assert texts["LAW-art3.i2"] == f"第二章 测试制度 > 第一节 一般规定\n{ART3}\n{ITEMS[1]}"
    assert texts["LAW-art3.2"] == f"第二章 测试制度 > 第一节 一般规定\n{ART3}\n{ART3_2}"
    assert texts["LAW-art2.2"] == f"第一章 总则\n{ART2}\n{ART2_2}"
    assert texts["LAW-art3"] == f"第二章 测试制度 > 第一节 一般规定\n{ART3}"
    assert texts["LAW-art4"] == f"第三章 附则\n{ART4}"
    assert [article_head(p) for p in passages] == [
        None, None, "LAW-art2", None, "LAW-art3", "LAW-art3", "LAW-art3", "LAW-art3", None]
    assert [p.text for p in passages] == [e[3] for e in EXPECTED]  # quotes keep the bare text


def test_seed_corpus_has_no_article_parts():
    from rag.documents.ingest import load_corpus

    assert not [p.id for p in load_corpus(ROOT / "corpus") if article_head(p)]


def test_a_preamble_heading_does_not_hold_the_chapters(tmp_path):
    path = tmp_path / "constitution.md"
    path.write_text("# 宪法\n\n## 序言\n\n序言的正文。\n\n## 第一章 总纲\n\n第一条 甲。\n\n乙。\n", encoding="utf-8")
    passages = parse_file(path, _entry("宪法", "X"))
    assert [(p.id, p.section) for p in passages] == [
        ("X-P1", ("序言",)), ("X-art1", ("第一章 总纲",)), ("X-art1.2", ("第一章 总纲",))]


def test_items_of_a_later_paragraph_are_embedded_with_that_paragraph():
    _, passages = _real("export-control-law-2020.md")
    texts = dict(zip([p.id for p in passages], embedding_texts(passages), strict=True))
    by_id = {p.id: p for p in passages}
    section = "第二章 管制政策、管制清单和管制措施 > 第一节 一般规定"
    assert texts["D-art12.i2"] == f"{section}\n{by_id['D-art12.3'].text}\n{by_id['D-art12.i2'].text}"
    assert texts["D-art12.4"] == f"{section}\n{by_id['D-art12'].text}\n{by_id['D-art12.4'].text}"
    assert texts["D-art13.i1"] == f"{section}\n{by_id['D-art13'].text}\n{by_id['D-art13.i1'].text}"
    assert texts["D-art18.2"] == f"{section}\n{by_id['D-art18'].text}\n{by_id['D-art18.2'].text}"
