"""`rag eval --dialogues`: the file format (suite and turn type) and the report by kind and type."""

from __future__ import annotations

import json

import pytest

from rag.evaluation import dialogues
from rag.evaluation.corpora import EvalInputError


def conversation(**extra) -> dict:
    turns = [{"question": "北约的三大核心任务是什么？", "standalone": "北约的三大核心任务是什么？", "evidence": ["威慑和防御"],
              "type": "first"},
             {"question": "它们之间是什么关系？", "standalone": "北约三大核心任务之间是什么关系？",
              "evidence": ["互为补充"], "type": "pronoun"}]
    return {"id": "t1", "kind": "followup", "lang": "zh", "turns": turns, **extra}


def write(tmp_path, *convs) -> str:
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in convs), encoding="utf-8")
    return str(path)


def test_a_turn_type_outside_the_list_is_named(tmp_path):
    bad = conversation()
    bad["turns"][1]["type"] = "anaphora"
    with pytest.raises(EvalInputError, match=r"d\.jsonl:1: .*'type'"):
        dialogues.load_dialogues(write(tmp_path, bad))


def test_an_empty_suite_is_refused(tmp_path):
    with pytest.raises(EvalInputError, match="'suite'"):
        dialogues.load_dialogues(write(tmp_path, conversation(suite=" ")))


def test_each_conversation_is_asked_of_its_suite_and_reported_by_type(tmp_path, fake_assistant):
    convs = dialogues.load_dialogues(write(tmp_path, conversation(suite="a"), conversation(id="t2")))
    asked_of = []

    def assistant_for(name):
        asked_of.append(name)
        return fake_assistant

    report = dialogues.run(assistant_for, convs)
    assert asked_of == ["a", None]
    assert report["by_kind"]["followup"]["turns"] == 2
    assert list(report["by_type"]) == ["pronoun"] and report["by_type"]["pronoun"]["turns"] == 2
    assert [r["suite"] for r in report["rows"]] == ["a", None]
    assert "  pronoun" in dialogues.format_table(report)


def test_a_typed_switch_is_reported_as_a_switch_wherever_it_comes(tmp_path, fake_assistant):
    typed = conversation(kind="switch")
    typed["turns"].append({"question": "反恐伙伴行动计划是什么？", "standalone": "反恐伙伴行动计划是什么？",
                           "evidence": ["伙伴关系反恐行动计划"], "type": "switch"})
    untyped = conversation(id="t2", kind="switch")
    for t in untyped["turns"]:
        del t["type"]
    report = dialogues.run(lambda name: fake_assistant, dialogues.load_dialogues(write(tmp_path, typed, untyped)))
    # typed: the pronoun turn is a follow-up and the third turn the switch; untyped: the second turn
    assert [r["kind"] for r in report["rows"]] == ["followup", "switch", "switch"]


def test_an_unknown_suite_or_suites_with_docs_fail_before_anything_is_built(tmp_path):
    convs = dialogues.load_dialogues(write(tmp_path, conversation(suite="no-such-suite")))
    never = []
    with pytest.raises(EvalInputError, match="unknown suite 'no-such-suite'"):
        dialogues.assistants(convs, False, lambda: never.append("encoder"), lambda: never.append("default"))
    with pytest.raises(EvalInputError, match="--docs applies only"):
        dialogues.assistants(convs, True, lambda: never.append("encoder"), lambda: never.append("default"))
    assert never == []
