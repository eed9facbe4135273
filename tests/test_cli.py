"""The CLI: thin, JSON output readable, errors as one line without a traceback."""

from __future__ import annotations

import json
import sys

import pytest

from rag import cli
from rag.cli import answering
from rag.records import Answer, Citation, Span
from tests.conftest import CORPUS, FakeEncoder


@pytest.fixture
def fake_cli(monkeypatch, tmp_path):
    from rag import Assistant

    real_load = Assistant.load.__func__
    enc = FakeEncoder()

    def load(cls, *args, model=None, **kwargs):
        if model and model != "fake":
            from rag.models.encoder import SentenceTransformerEncoder

            SentenceTransformerEncoder(model)  # raises ModelError for unknown names
        kwargs.update(corpus_dir=CORPUS, index_dir=tmp_path / "idx", encoder=enc)
        return real_load(cls, **kwargs)

    monkeypatch.setattr(Assistant, "load", classmethod(load))


def run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ask_prints_answer_and_sources(fake_cli, capsys):
    code, out, err = run(capsys, "ask", "北约的三大核心任务是什么？")
    assert code == 0 and "[1]" in out and "SC2022" in out


def test_ask_json_keeps_chinese_readable(fake_cli, capsys):
    code, out, _ = run(capsys, "ask", "--json", "-k", "3", "--mode", "lexical", "北约反应部队")
    data = json.loads(out)
    assert code == 0 and data["mode"] == "lexical" and len(data["hits"]) <= 3
    assert "北约" in out and "\\u" not in out


PASSAGE = "北约将继续履行三大核心任务：威慑和防御。合作安全同样重要。威慑和防御。"
SPAN_ANSWER = Answer(
    "北约的核心任务？", "北约将继续履行三大核心任务：威慑和防御。[1]威慑和防御。[1]",
    (Citation("SC2022-4", "《北约2022战略概念》第4段", PASSAGE, ((0, 20), (29, 35))),), (), False,
    span=Span("威慑", "SC2022-4", 29, 31))  # in the second quote, not the first


def test_answer_span_is_plain_when_piped(capsys):
    answering.print_answer(SPAN_ANSWER)
    out = capsys.readouterr().out
    assert "\033" not in out
    assert out.splitlines()[0] == SPAN_ANSWER.text and f"      {PASSAGE}" in out.splitlines()


def test_answer_span_is_bold_on_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    answering.print_answer(SPAN_ANSWER)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "北约将继续履行三大核心任务：威慑和防御。[1]\033[1m威慑\033[0m和防御。[1]"
    assert lines[-1] == "      北约将继续履行三大核心任务：威慑和防御。合作安全同样重要。\033[1m威慑\033[0m和防御。"
    monkeypatch.setenv("NO_COLOR", "1")
    answering.print_answer(SPAN_ANSWER)
    assert "\033" not in capsys.readouterr().out


def test_cite_prints_passage_with_neighbours(fake_cli, capsys):
    code, out, _ = run(capsys, "cite", "SC2022-21")
    assert code == 0 and "▶ [SC2022-21]" in out and "[SC2022-20]" in out and "[SC2022-22]" in out


@pytest.mark.parametrize("argv, message", [
    (("cite", "SC2022-999"), "no passage with id"),
    (("ask", "   "), "question"),
    (("ask", "-k", "0", "北约"), "top_k"),
    (("--model", "no-such-model-xyz", "ask", "北约"), "cannot load embedding model"),
    (("train-reader", "--code-switch", "1.5"), "--code-switch 0-1"),
])
def test_errors_are_one_clear_line(fake_cli, capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_help_is_instant_and_lists_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("index", "ask", "cite", "eval", "serve"):
        assert cmd in out


def test_eval_scores_several_question_sets_as_one(fake_cli, capsys, tmp_path):
    a, b, out = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "report.json"
    a.write_text('{"id": "a1", "question": "北约的三大核心任务是什么？", "evidence": ["三大核心任务"]}\n',
                 encoding="utf-8")
    b.write_text('{"id": "b1", "question": "今天天气怎么样？", "evidence": []}\n', encoding="utf-8")
    code, stdout, _ = run(capsys, "eval", "--modes", "lexical", "--questions", str(a), str(b), "--out", str(out))
    report = json.loads(out.read_text(encoding="utf-8"))
    assert code == 0 and "mrr" in stdout
    assert report["questions"] == 2 and report["question_sets"] == [str(a), str(b)]
    assert [(r["id"], r["set"]) for r in report["modes"]["lexical"]["rows"]] == [("a1", "a"), ("b1", "b")]


@pytest.mark.parametrize("text", ['{"id": "x1"}\n', "[1, 2]\n", ""])
def test_eval_refuses_a_bad_question_set_in_one_line(fake_cli, capsys, tmp_path, text):
    path = tmp_path / "bad.jsonl"
    path.write_text(text, encoding="utf-8")
    code, _, err = run(capsys, "eval", "--questions", str(path), "--out", str(tmp_path / "r.json"))
    assert code == 2 and str(path) in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
