"""`rag eval` on a user's own files (--docs, --squad) and the suites (--suite), with the fake
encoder: it scores them, and bad input is one clear line and exit code 2."""

from __future__ import annotations

import json

import pytest

from rag import cli
from rag.cli import measure
from tests.conftest import FakeEncoder

LAW = """# 示例管理条例

2024年1月1日 某某会议通过

<!-- INFO END -->

## 第一章 总则

第一条 为了规范示例管理工作，制定本条例。

第二条 本条例适用于示例的登记、使用和监督。

示例的登记由县级以上人民政府负责办理。

第三条 申请登记应当提交下列材料：

（一）申请书；

（二）身份证明。
"""
SQUAD = {"version": "v1", "data": [{"paragraphs": [
    {"context": "长城是中国古代的军事防御工程。它始建于春秋战国时期，绵延上万里。",
     "qas": [{"id": "Q1", "question": "长城始建于什么时期？", "answers": [{"text": "春秋战国时期", "answer_start": 19}]}]},
    {"context": "黄河是中国第二长河，全长约5464公里，流经九个省区。",
     "qas": [{"id": "Q2", "question": "黄河全长多少公里？", "answers": [{"text": "5464公里", "answer_start": 13}]}]},
]}]}


@pytest.fixture
def fake(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(measure, "_encoder", lambda args: FakeEncoder())
    return tmp_path


def write(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_docs_and_questions_are_scored_on_a_throwaway_library(fake, capsys):
    law = fake / "law.md"
    law.write_text(LAW, encoding="utf-8")
    qs = write(fake / "q.jsonl", [
        {"id": "a1", "question": "谁负责办理登记？", "evidence": ["由县级以上人民政府负责办理"]},
        {"id": "a2", "question": "申请要交什么材料？", "evidence": ["申请书"]},
        {"id": "u1", "question": "登记要交多少费用？", "evidence": []},
    ])
    out = fake / "report.json"
    code, stdout, _ = run(capsys, "eval", "--docs", law, "--questions", qs, "--out", out, "--modes", "hybrid")
    assert code == 0 and "hit@5" in stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["passages"] == 6 and report["documents"] == [str(law)]
    assert report["modes"]["hybrid"]["metrics"]["answerable"] == 2
    # the same files again: the cached library and index are reused, nothing is re-added
    code, _, _ = run(capsys, "eval", "--docs", law, "--questions", qs, "--out", out, "--modes", "hybrid")
    assert code == 0 and len(list((fake / "data" / "eval-corpora").iterdir())) == 1


def test_squad_contexts_become_a_document_and_answers_the_evidence(fake, capsys):
    path = fake / "mini.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), encoding="utf-8")
    out = fake / "squad.json"
    code, _, err = run(capsys, "eval", "--squad", path, "--out", out, "--modes", "lexical")
    assert code == 0, err
    rows = json.loads(out.read_text(encoding="utf-8"))["modes"]["lexical"]["rows"]
    assert [r["id"] for r in rows] == ["Q1", "Q2"] and all(r["answerable"] for r in rows)
    assert rows[0]["rel"][0]  # the gold paragraph is found first


@pytest.mark.parametrize("make_argv, message", [
    (lambda d: ["--suite", "no-such-suite"], "unknown suite"),
    (lambda d: ["--squad", _file(d, "broken.json", b"{not json")], "not a readable SQuAD"),
    (lambda d: ["--squad", _squad(d, {"data": [{"paragraphs": []}]})], "no contexts"),
    (lambda d: ["--docs", _file(d, "bad.pdf", b"%PDF-1.4 broken"), "--questions", _q(d)], "cannot use"),
    (lambda d: ["--docs", d / "missing.md", "--questions", _q(d)], "no such document"),
    (lambda d: ["--docs", _file(d, "law.md", LAW.encode()), "--questions", _q(d, "不在文件里的一句话")],
     "evidence in none of the documents"),
    (lambda d: ["--docs", _file(d, "law.md", LAW.encode())], "--docs needs --questions"),
])
def test_bad_input_is_one_line_and_exit_2(fake, capsys, make_argv, message):
    code, _, err = run(capsys, "eval", *make_argv(fake))
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def _squad(d, data):
    p = d / "s.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def _file(d, name, raw: bytes):
    p = d / name
    p.write_bytes(raw)
    return p


def _q(d, span="由县级以上人民政府负责办理"):
    return write(d / "q.jsonl", [{"id": "a1", "question": "谁负责登记？", "evidence": [span]}])
