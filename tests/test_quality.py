"""Retrieval and answer quality with the real model on the eval set (regression guards).

The measured numbers live in eval/reports/eval.json (`rag eval`) and eval/reports/unseen.json
(heldout + blind: training data of the shipped answer model, so in-sample here; their
leave-one-out numbers are the seeds row of `rag eval --suite`); these floors sit a little under
them so a change that makes retrieval or answers worse fails here.
"""

from __future__ import annotations

import pytest

from rag.evaluation import evaluate
from tests.conftest import ROOT

pytestmark = pytest.mark.model


UNSEEN = [ROOT / "eval" / "heldout.jsonl", ROOT / "eval" / "blind.jsonl"]


@pytest.fixture(scope="module")
def report(real_assistant):
    questions = evaluate.load_questions(ROOT / "eval" / "questions.jsonl")
    return evaluate.run(real_assistant, questions, k=10)


@pytest.fixture(scope="module")
def unseen(real_assistant):
    return evaluate.run(real_assistant, evaluate.load_question_sets(UNSEEN), modes=("hybrid",), k=10)


def test_hybrid_beats_each_single_mode(report):
    m = {mode: report["modes"][mode]["metrics"] for mode in report["modes"]}
    assert m["hybrid"]["mrr"] > m["dense"]["mrr"] > m["lexical"]["mrr"]
    assert m["hybrid"]["hit@5"] >= m["dense"]["hit@5"]


def test_retrieval_floors(report):
    m = report["modes"]["hybrid"]["metrics"]
    assert m["hit@5"] >= 0.92 and m["mrr"] >= 0.76 and m["ndcg@10"] >= 0.79, m


def test_answer_floors(report):
    m = report["modes"]["hybrid"]["metrics"]
    assert m["answer_contains_evidence"] >= 0.77 and m["citation_accuracy"] >= 0.80, m
    assert m["answerable_rejected"] <= 0.03 and m["unanswerable_rejected"] >= 0.20, m


def test_floors_on_the_later_seed_questions(unseen):
    m = unseen["modes"]["hybrid"]["metrics"]
    assert m["hit@5"] >= 0.93 and m["mrr"] >= 0.86, m
    assert m["answer_contains_evidence"] >= 0.87 and m["citation_accuracy"] >= 0.91, m
    assert m["answerable_rejected"] <= 0.03 and m["unanswerable_rejected"] >= 0.06, m


@pytest.mark.parametrize("question", ["如何做红烧肉？", "今天天气怎么样？", "Who won the 2018 World Cup?",
                                      "How to bake bread?", "Python怎么读取文件？"])
def test_off_topic_questions_are_not_answered(real_assistant, question):
    ans = real_assistant.ask(question)
    assert ans.abstained and not ans.citations and ans.hits


def test_a_name_the_documents_never_mention_is_a_signal(real_assistant):
    # Once a rule, now a feature of the answer model: as a rule it refused more answerable
    # questions than unanswerable ones on the corpora left out (docs/experiments.md).
    ans = real_assistant.ask("北约在台湾问题上持什么立场？")
    assert "台湾" in ans.signals.unknown_names


@pytest.mark.parametrize("question", ["北约的三大核心任务是什么？", "北约?", "What are NATO's core tasks?",
                                      "伙伴关系反恐行动计划的目标是什么？", "How does NATO view China?",
                                      "What does NATO say about China?"])
def test_plain_questions_are_answered(real_assistant, question):
    assert not real_assistant.ask(question).abstained


def test_every_quoted_sentence_is_verbatim_in_its_cited_passage(real_assistant):
    questions = evaluate.load_question_sets([ROOT / "eval" / "questions.jsonl", *UNSEEN])
    for q in questions:
        ans = real_assistant.ask(q["question"])
        for i, c in enumerate(ans.citations, start=1):
            passage = real_assistant.lookup(c.id)
            assert passage.text == c.text
            for a, b in c.spans:
                quote = c.text[a:b]
                assert quote and f"{quote}[{i}]" in ans.text, (q["id"], quote)
