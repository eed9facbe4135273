"""Tests of rag.documents.ingest on the real corpus and on small synthetic inputs (no model)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rag.documents.ingest import load_catalog, load_corpus, parse_s2003_85, parse_strategic_concept
from rag.errors import CorpusError
from rag.text.normalize import clean_inline, squash

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SC_FILE = CORPUS / "nato-strategic-concept-2022.zh.txt"
S2003_FILE = CORPUS / "un-s-2003-85-nato-counter-terrorism.zh.txt"
SC_ENTRY = {"doc_id": "SC2022", "title": "北约2022战略概念", "short": "《北约2022战略概念》"}
S2003_ENTRY = {"doc_id": "S2003-85", "title": "S/2003/85", "short": "S/2003/85"}

START = "\x00"  # marks where the source starts a new paragraph, item or bullet
SENTENCE_END = re.compile(f"(?<=[。！？；：])|{START}")


@pytest.fixture(scope="module")
def passages():
    return load_corpus(CORPUS)


@pytest.fixture(scope="module")
def by_id(passages):
    return {p.id: p for p in passages}


def doc_passages(passages, doc_id):
    return [p for p in passages if p.doc_id == doc_id]


# --- What the source says, worked out here independently of the parsers -------------


def sc_content(source: str) -> str:
    """The Strategic Concept without title/subtitle, headings, numbers and link lines."""
    body = source.split("## 前言", 1)[1]  # everything before is title and subtitle
    out, in_foreword, after_blank = [START], True, True
    for line in body.splitlines():
        s = line.strip()
        if not s:
            after_blank = True
            continue
        if s.startswith("#"):
            out.append(START)
            in_foreword = False
        elif s.startswith("[") and "](" in s:
            pass  # trailing link line
        elif m := re.match(r"\d+\.\s", s):
            out.append(START + s[m.end() :])
        elif in_foreword and after_blank:
            out.append(START + s)  # foreword paragraphs are separated by blank lines
        else:
            out.append(s)
        after_blank = False
    return "\n".join(out)


S2003_HEADINGS = {
    "2003年1月22日秘书长给安全理事会主席的信",
    "附件",
    "2002年12月6日北大西洋公约组织秘书长给秘书长的信",
    "附文",
    "伙伴关系反恐行动计划",
    "序言",
    "目标",
    "机制",
    "行动计划",
    "报告",
}


def s2003_content(source: str) -> str:
    """S/2003/85 without furniture, notes, headings, numbers and bullet markers."""
    out, in_letters = [], True
    for line in source.splitlines():
        s = squash(line)
        if not s or s == "S/2003/85" or s.isdigit():
            continue  # page furniture: no START, a page may break mid-sentence
        in_letters = in_letters and s != "附文"
        if s in S2003_HEADINGS or re.fullmatch(r"\[原件：.*\]", s):
            out.append(START)
        elif m := re.match(r"\s*(?:\d+\.|\d+(?:\.\d+)+\.?)\s+|\s*[•-]\s+", line):
            out.append(START + line[m.end() :])
        elif s.endswith("（签名）") or (in_letters and line[:1].isspace()):
            out.append(START + line)  # signatures; indented lines open letter paragraphs
        else:
            out.append(line)
    return "\n".join(out)


def coverage_problems(content: str, texts: list[str]) -> list[str]:
    """Sentences (and line-level units) of ``content`` not found exactly as often in ``texts``."""
    whole = squash(content.replace(START, ""))
    squashed = [squash(t) for t in texts]
    problems = []
    for unit in {squash(u) for u in SENTENCE_END.split(content)} - {""}:
        in_source, in_passages = whole.count(unit), sum(t.count(unit) for t in squashed)
        if in_source != in_passages:
            problems.append(f"{unit[:30]}: {in_source} in source, {in_passages} in passages")
    return sorted(problems)


def source_starts(content: str) -> list[int]:
    """Offsets (in squashed content) where the source starts a paragraph, item or bullet."""
    pieces = [len(squash(piece)) for piece in content.split(START)]
    offsets = {sum(pieces[:i]) for i in range(1, len(pieces))}
    return sorted(offsets - {sum(pieces)})


def passage_starts(texts: list[str]) -> list[int]:
    lengths = [len(squash(t)) for t in texts]
    return [sum(lengths[:i]) for i in range(len(lengths))]


@pytest.mark.parametrize(
    ("doc_id", "path", "content"), [("SC2022", SC_FILE, sc_content), ("S2003-85", S2003_FILE, s2003_content)]
)
def test_nothing_lost_duplicated_split_or_merged(passages, doc_id, path, content):
    source = content(path.read_text(encoding="utf-8"))
    texts = [p.text for p in doc_passages(passages, doc_id)]
    # Strong form: the passages, in order, are exactly the source's content ...
    assert squash("".join(texts)) == squash(source.replace(START, ""))
    # ... cut exactly where the source starts a paragraph, item or bullet.
    assert passage_starts(texts) == source_starts(source)
    # Readable form: each sentence sits inside one passage as often as in the source.
    assert coverage_problems(source, texts) == []


def test_coverage_checks_catch_dropped_duplicated_split_and_merged_paragraphs(passages):
    source = s2003_content(S2003_FILE.read_text(encoding="utf-8"))
    texts = [p.text for p in doc_passages(passages, "S2003-85")]
    assert coverage_problems(source, texts[:10] + texts[11:])  # paragraph dropped
    assert coverage_problems(source, texts + [texts[20]])  # paragraph duplicated
    split = texts[:5] + [texts[5][:20], texts[5][20:]] + texts[6:]
    assert coverage_problems(source, split)  # a sentence split over two passages
    merged = texts[:5] + [texts[5] + texts[6]] + texts[7:]
    assert passage_starts(merged) != source_starts(source)  # two paragraphs in one passage


def test_order_and_document_fields(passages):
    titles = {e["doc_id"]: e["title"] for e in load_catalog(CORPUS)}
    assert list(dict.fromkeys(p.doc_id for p in passages)) == list(titles)  # catalog order, not interleaved
    for doc_id, title in titles.items():
        docs = doc_passages(passages, doc_id)
        assert [p.order for p in docs] == list(range(len(docs)))
        assert {p.doc_title for p in docs} == {title}
    assert len(doc_passages(passages, "SC2022")) == 58
    assert len(doc_passages(passages, "S2003-85")) == 85


# --- Numbering ------------------------------------------------------------------------

S2003_SUB_ITEMS = [
    f"16.{a}" + (f".{b}" if b else "")
    for a, last in [(1, 5), (2, 7), (3, 4), (4, 5), (5, 3)]
    for b in range(0, last + 1)
]


def test_strategic_concept_numbering(passages):
    ids = [p.id for p in doc_passages(passages, "SC2022")]
    assert ids == [f"SC2022-P{k}" for k in range(1, 10)] + [f"SC2022-{n}" for n in range(1, 50)]


def test_s2003_numbering(passages):
    ids = [p.id for p in doc_passages(passages, "S2003-85")]
    plan = [i.removeprefix("S2003-85-") for i in ids if re.fullmatch(r"S2003-85-[\d.]+", i)]
    assert plan == [str(n) for n in range(1, 17)] + S2003_SUB_ITEMS + ["17", "18"]
    # The sub-items the source itself numbers, including 16.2.3 right after a page break.
    in_source = re.findall(r"^\s*(16(?:\.\d+)+)\.?\s", S2003_FILE.read_text(encoding="utf-8"), re.M)
    assert in_source == S2003_SUB_ITEMS
    assert [i for i in ids if "-L1-" in i] == ["S2003-85-L1-1", "S2003-85-L1-2", "S2003-85-L1-S"]
    letter2 = [f"S2003-85-L2-{n}" for n in range(1, 5)] + [f"S2003-85-L2-B{k}" for k in range(1, 9)]
    letter2 += [f"S2003-85-L2-{n}" for n in range(5, 13)] + ["S2003-85-L2-S"]
    assert [i for i in ids if "-L2-" in i] == letter2
    assert [i for i in ids if "-B" in i and "-L2-" not in i] == [f"S2003-85-9-B{k}" for k in range(1, 6)] + [
        f"S2003-85-16.4.2-B{k}" for k in range(1, 10)
    ]


def test_passage_hygiene(passages):
    ids = [p.id for p in passages]
    assert len(ids) == len(set(ids))
    for p in passages:
        assert p.text and p.text == p.text.strip(), p.id
        assert "\n" not in p.text and "S/2003/85" not in p.text and "http" not in p.text, p.id
        number = re.sub(r"^(SC2022|S2003-85)-(L\d-)?", "", p.id)
        assert not re.match(rf"{re.escape(number)}[.\s]", p.text), p.id  # number lives in id/label
        assert not p.text.startswith(("•", "-", "#")), p.id
        # Whitespace survives only between non-CJK characters (none in this corpus).
        assert " " not in p.text, p.id


# --- Spot checks ------------------------------------------------------------------------


def test_strategic_concept_spot_checks(by_id):
    p44 = by_id["SC2022-44"].text
    assert "对于与任何国家或组织的接触，只要有益于我们的共同安全，我们就会继续保持开放态度。" in p44
    assert p44.endswith("并能够适应不断变化的地缘政治现实。")
    assert by_id["SC2022-49"].text.endswith("我们将继续并肩捍卫我们的安全、价值观和民主生活方式。")
    assert by_id["SC2022-1"].text.startswith("北约决心保卫盟国的自由和安全。")
    assert by_id["SC2022-33"].text.startswith("《核不扩散条约》")
    assert by_id["SC2022-P1"].text.startswith("我们，北约盟国的国家元首和政府首脑")
    assert by_id["SC2022-P6"].text.startswith("我们的新战略概念重申，北约的主要宗旨是在360度全方位方针")
    assert by_id["SC2022-21"].label == "《北约2022战略概念》第21段"
    assert by_id["SC2022-P3"].label == "《北约2022战略概念》前言第3段"
    assert by_id["SC2022-P3"].section == ("前言",)
    assert by_id["SC2022-1"].section == ("宗旨和原则",)
    assert by_id["SC2022-21"].section == ("北约的核心任务", "威慑和防御")
    assert by_id["SC2022-39"].section == ("北约的核心任务", "危机预防和管理")
    assert by_id["SC2022-44"].section == ("北约的核心任务", "合作安全")
    assert by_id["SC2022-47"].section == ("确保北约联盟持续成功",)


def test_s2003_spot_checks(by_id):
    p = by_id["S2003-85-16.2.3"]
    assert p.text.startswith("防空和空中交通管理。盟国和伙伴国将配合北约防空委员会为加强防空和空中治安能力")
    assert p.text.endswith("协助盟国与伙伴国相互交流空中状况资料。")
    assert p.label == "S/2003/85 附文 第16.2.3段"
    assert p.section == ("附件", "附文", "伙伴关系反恐行动计划", "行动计划", "16.2 加强防范以打击恐怖主义")
    assert by_id["S2003-85-16.2.5"].label == "S/2003/85 附文 第16.2.5段"
    assert by_id["S2003-85-16.1"].text == "加强协商和信息交流"
    assert by_id["S2003-85-16.1"].section == ("附件", "附文", "伙伴关系反恐行动计划", "行动计划")
    assert by_id["S2003-85-16.1.1"].text.startswith("政治协商。盟国和伙伴国将定期协商")
    assert by_id["S2003-85-1"].section == ("附件", "附文", "伙伴关系反恐行动计划", "序言")
    assert by_id["S2003-85-1"].text.startswith(
        "2001年9月12日，欧洲-大西洋合作理事会成员国无条件谴责2001年9月11日针对"
    )
    assert by_id["S2003-85-17"].section[-1] == "报告"
    # Dates rejoined without the PDF's spaces and line breaks.
    assert "至迟在2004年10月前尽快建立初步作战能力，并至迟在2006年10月前" in by_id["S2003-85-L2-B1"].text
    assert "并继我2002年6月25日给安全理事会" in by_id["S2003-85-L2-1"].text
    assert (
        "2001年11月26日由公民应急规划高级别委员会/欧大合会通过的并于2002年6月25日"
        in by_id["S2003-85-16.4.2"].text
    )
    # A line break with no blank line, and a continuation line that starts indented.
    assert "并就采取措施有效管制大规模毁灭性装置" in by_id["S2003-85-16.3.3"].text
    assert "北约的涉及安全的民用科学技术小组的专家" in by_id["S2003-85-16.4.4"].text
    assert "同欧大合会各伙伴国协商后,在北大西洋合作" in by_id["S2003-85-10"].text  # ASCII comma kept
    # Letters, bullets and signatures.
    assert (
        by_id["S2003-85-L1-1"].text == "谨向你转递我收到的北大西洋公约组织秘书长2002年12月6日的信（见附件）。"
    )
    assert by_id["S2003-85-L1-1"].label == "S/2003/85 秘书长来信 第1段"
    assert by_id["S2003-85-L1-1"].section == ("2003年1月22日秘书长给安全理事会主席的信",)
    assert by_id["S2003-85-L1-S"].text == "科菲·安南（签名）"
    assert by_id["S2003-85-L2-3"].label == "S/2003/85 附件（罗伯逊来信）第3段"
    assert by_id["S2003-85-L2-3"].section == ("附件", "2002年12月6日北大西洋公约组织秘书长给秘书长的信")
    assert by_id["S2003-85-L2-4"].text == "联盟各国元首和政府首脑尤其决定："
    assert by_id["S2003-85-L2-B2"].label == "S/2003/85 附件（罗伯逊来信）第4段第2项"
    assert by_id["S2003-85-L2-S"].text == "乔治·罗伯逊（签名）"
    assert by_id["S2003-85-9-B1"].label == "S/2003/85 附文 第9段第1项"
    assert by_id["S2003-85-16.4.2-B6"].text == "实验室网络：考虑建立一个永久性实验室和可部署设施的网络。"


# --- Whitespace helpers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("2004年 10月", "2004年10月"),
        ("我 2002 年 6\n\n月 25 日给", "我2002年6月25日给"),
        ("政治协商。 盟国", "政治协商。盟国"),
        ("  North   Atlantic\nTreaty  ", "North Atlantic Treaty"),
        ("北约 NATO 的", "北约NATO的"),
        ("第 1373（2001）号", "第1373（2001）号"),
    ],
)
def test_clean_inline(raw, clean):
    assert clean_inline(raw) == clean


def test_squash():
    assert squash(" a b\n\tc\u3000d\x0c") == "abcd"


# --- Parser behaviour on synthetic snippets ------------------------------------------


def test_strategic_concept_intro_text_under_heading_is_kept():
    text = "# 标题\n\n副标题\n\n## 前言\n\n甲。\n\n乙。\n\n## 部分\n\n引言。\n\n1. 一。\n续\n\n接着。\n\n[x](http://x)\n"
    got = [(p.id, p.label, p.text) for p in parse_strategic_concept(text, SC_ENTRY)]
    assert got == [
        ("SC2022-P1", "《北约2022战略概念》前言第1段", "甲。"),
        ("SC2022-P2", "《北约2022战略概念》前言第2段", "乙。"),
        ("SC2022-P3", "《北约2022战略概念》部分第1段", "引言。"),
        ("SC2022-1", "《北约2022战略概念》第1段", "一。续接着。"),
    ]


def test_strategic_concept_rejects_skipped_number():
    with pytest.raises(CorpusError, match="paragraph 3"):
        parse_strategic_concept("# T\n## A\n1. 一。\n3. 三。\n", SC_ENTRY)


def test_s2003_glued_heading_and_page_furniture():
    text = (
        "附文\n伙伴关系反恐行动计划\n目标 7. 甲乙\n\x0c 4 \n S/2003/85\n丙。\n 行动计划 \n16. 丁：\n - 戊。\n"
    )
    got = [(p.id, p.section[-1], p.text) for p in parse_s2003_85(text, S2003_ENTRY)]
    assert got == [
        ("S2003-85-7", "目标", "甲乙丙。"),
        ("S2003-85-16", "行动计划", "丁："),
        ("S2003-85-16-B1", "行动计划", "戊。"),
    ]


def test_s2003_rejects_text_outside_paragraphs():
    with pytest.raises(CorpusError, match="outside a numbered paragraph"):
        parse_s2003_85("附文\n计划\n序言\n无编号的文字。\n", S2003_ENTRY)


# --- Catalog and error paths ----------------------------------------------------------


def test_catalog():
    catalog = load_catalog(CORPUS)
    assert [(e["doc_id"], e["short"], e["date"], e["parser"]) for e in catalog] == [
        ("SC2022", "《北约2022战略概念》", "2022-06-29", "strategic_concept"),
        ("S2003-85", "S/2003/85", "2003-01-22", "s2003_85"),
    ]
    for entry in catalog:
        assert (CORPUS / entry["file"]).is_file()


@pytest.fixture
def corpus_copy(tmp_path):
    for path in CORPUS.iterdir():
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def edit_catalog(corpus_dir, change):
    path = corpus_dir / "catalog.json"
    catalog = json.loads(path.read_text(encoding="utf-8"))
    change(catalog)
    path.write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")


def test_missing_catalog(tmp_path):
    with pytest.raises(CorpusError, match=r"catalog\.json: cannot read catalog"):
        load_corpus(tmp_path)


def test_malformed_catalog(corpus_copy):
    (corpus_copy / "catalog.json").write_text("[{", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"catalog\.json: not valid JSON"):
        load_catalog(corpus_copy)
    edit_catalog_text = json.dumps([{"doc_id": "X", "file": "x.txt"}])
    (corpus_copy / "catalog.json").write_text(edit_catalog_text, encoding="utf-8")
    with pytest.raises(CorpusError, match=r"catalog\.json: entry 0 lacks title, short, source, date, parser"):
        load_catalog(corpus_copy)


def test_unknown_parser(corpus_copy):
    edit_catalog(corpus_copy, lambda c: c[1].update(parser="nope"))
    with pytest.raises(CorpusError, match=r"catalog\.json: document 'S2003-85' names unknown parser 'nope'"):
        load_corpus(corpus_copy)


def test_missing_document(corpus_copy):
    (corpus_copy / "nato-strategic-concept-2022.zh.txt").unlink()
    with pytest.raises(
        CorpusError, match=r"nato-strategic-concept-2022\.zh\.txt: cannot read document 'SC2022'"
    ):
        load_corpus(corpus_copy)


def test_parse_error_names_the_file(corpus_copy):
    path = corpus_copy / "nato-strategic-concept-2022.zh.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("\n7. ", "\n8. "), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"nato-strategic-concept-2022\.zh\.txt: paragraph 8 found where 7"):
        load_corpus(corpus_copy)


def test_duplicate_doc_id(corpus_copy):
    edit_catalog(corpus_copy, lambda c: c[1].update(doc_id="SC2022"))
    with pytest.raises(CorpusError, match="doc_id 'SC2022' appears twice"):
        load_catalog(corpus_copy)
