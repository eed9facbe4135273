"""Sanity checks for the hand-written question sets (no model needed): ``eval/questions.jsonl``,
the set the system was tuned on, and ``eval/heldout.jsonl`` and ``eval/blind.jsonl``, written
later without looking at the system's answers (see eval/README.md)."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SETS = {name: ROOT / "eval" / f"{name}.jsonl" for name in ("questions", "heldout", "blind")}
# at least this many questions, unanswerable ones and English ones
MIX = {"questions": (80, 15, 15), "heldout": (50, 15, 10), "blind": (40, 15, 10)}
DOC_FILES = {
    "SC2022": ROOT / "corpus" / "nato-strategic-concept-2022.zh.txt",
    "S2003-85": ROOT / "corpus" / "un-s-2003-85-nato-counter-terrorism.zh.txt",
}
FIELDS = {"id", "question", "lang", "type", "doc", "evidence"}
LANGS = {"zh", "en"}
TYPES = {"factual", "why", "how", "list", "unanswerable"}
COPY_RUN = 12  # a question may not share this many consecutive characters with its document


def squeeze(text: str) -> str:
    """Remove all whitespace, so PDF hard line breaks and spaces inside dates do not matter."""
    return re.sub(r"\s+", "", text)


@cache
def doc_text(doc: str) -> str:
    """Whitespace-free text of a corpus document."""
    return squeeze(DOC_FILES[doc].read_text(encoding="utf-8"))


@cache
def doc_content(doc: str) -> str:
    """Like :func:`doc_text` but without Markdown link lines, which are not content.

    SC2022 ends with ``[#StrategicConcept](...)``; without this an English question that
    merely names "the Strategic Concept" would count as copying the document.
    """
    lines = DOC_FILES[doc].read_text(encoding="utf-8").splitlines()
    return squeeze("\n".join(line for line in lines if not line.strip().startswith("[")))


@cache
def load_questions(name: str) -> list[dict]:
    lines = SETS[name].read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def answerable() -> list[dict]:
    return [q for name in SETS for q in load_questions(name) if q["type"] != "unanswerable"]


per_set = pytest.mark.parametrize("name", list(SETS))


@per_set
def test_every_line_is_a_json_object(name):
    for n, line in enumerate(SETS[name].read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"blank line {n}"
        assert isinstance(json.loads(line), dict), f"line {n} is not an object"
        assert "\\u" not in line, f"line {n}: write Chinese unescaped (ensure_ascii=False)"


def test_ids_are_unique_across_both_sets():
    ids = [q["id"] for name in SETS for q in load_questions(name)]
    assert [i for i, c in Counter(ids).items() if c > 1] == []


@per_set
def test_fields_and_values(name):
    for q in load_questions(name):
        assert set(q) == FIELDS, q["id"]
        assert isinstance(q["question"], str) and q["question"].strip(), q["id"]
        assert q["lang"] in LANGS, q["id"]
        assert q["type"] in TYPES, q["id"]
        assert q["doc"] is None or q["doc"] in DOC_FILES, q["id"]
        assert isinstance(q["evidence"], list), q["id"]
        assert all(isinstance(s, str) and s.strip() for s in q["evidence"]), q["id"]


@per_set
def test_set_size_and_mix(name):
    qs = load_questions(name)
    total, unanswerable, english = MIX[name]
    assert len(qs) >= total
    assert sum(q["type"] == "unanswerable" for q in qs) >= unanswerable
    assert sum(q["lang"] == "en" for q in qs) >= english


@per_set
def test_unanswerable_questions_have_no_evidence_and_no_doc(name):
    for q in load_questions(name):
        if q["type"] == "unanswerable":
            assert q["evidence"] == [] and q["doc"] is None, q["id"]


def test_answerable_questions_name_a_doc_and_give_evidence():
    for q in answerable():
        assert q["doc"] in DOC_FILES, q["id"]
        assert 1 <= len(q["evidence"]) <= 3, q["id"]


@pytest.mark.parametrize("q", answerable(), ids=lambda q: q["id"])
def test_evidence_occurs_in_named_document(q):
    text = doc_text(q["doc"])
    for span in q["evidence"]:
        assert squeeze(span) in text, f"{q['id']}: {span!r} not in {q['doc']}"


@pytest.mark.parametrize("q", answerable(), ids=lambda q: q["id"])
def test_question_is_paraphrased(q):
    question, text = squeeze(q["question"]), doc_content(q["doc"])
    copied = [
        question[i : i + COPY_RUN]
        for i in range(len(question) - COPY_RUN + 1)
        if question[i : i + COPY_RUN] in text
    ]
    assert copied == [], f"{q['id']} copies {copied[0]!r} from {q['doc']}"
