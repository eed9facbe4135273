"""Cutting an over-long sentence to the clauses around the answer span (rag.answers.clauses)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.answers.clauses import CLAUSE_ENDS, around_span, clause_cuts
from rag.text.sentences import CLOSERS

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))  # `make fuzz` raises this
FUZZ = settings(max_examples=max(EXAMPLES, 200), deadline=None)

# 经审理查明 … : a judgment's fact section, one sentence of clauses joined by ， and no 。
FACTS = ("经审理查明，2019年3月5日晚，被告人张某驾驶小型轿车行至某路口时，与被害人李某因琐事发生争执，"
         "张某持刀将李某刺伤，经鉴定李某的损伤程度为轻伤二级，案发后张某主动投案并如实供述了自己的罪行")


def cut(start_word: str, text: str = FACTS) -> tuple[int, int]:
    s = text.index(start_word)
    return s, s + len(start_word)


def test_short_text_is_quoted_whole():
    text = "  我们将大幅加强威慑和防御态势，拒止任何潜在敌手有机可乘。"
    assert around_span(text, 5, 9, limit=150) == (0, len(text))
    assert around_span(FACTS, 0, 2, limit=len(FACTS)) == (0, len(FACTS))


def test_grows_by_whole_clauses_shortest_first_within_the_limit():
    s, e = cut("持刀")
    quote = [FACTS[a:b] for a, b in (around_span(FACTS, s, e, limit) for limit in (10, 30, 40, 60))]
    assert quote == [
        "张某持刀将李某刺伤，",  # its own clause: each neighbour would pass 20
        "与被害人李某因琐事发生争执，张某持刀将李某刺伤，",  # the shorter neighbour first (left, 14)
        "与被害人李某因琐事发生争执，张某持刀将李某刺伤，经鉴定李某的损伤程度为轻伤二级，",
        "被告人张某驾驶小型轿车行至某路口时，与被害人李某因琐事发生争执，张某持刀将李某刺伤，经鉴定李某的损伤程度为轻伤二级，",
    ]


def test_own_clause_longer_than_the_limit_is_returned_whole():
    s, e = cut("轻伤二级")
    a, b = around_span(FACTS, s, e, limit=5)
    assert FACTS[a:b] == "经鉴定李某的损伤程度为轻伤二级，"


def test_enumeration_comma_does_not_end_a_clause_but_semicolons_and_colons_do():
    text = "本法所称数据处理，包括数据的收集、存储、使用、加工、传输、提供、公开等；数据安全：是指通过采取必要措施，确保数据处于有效保护状态"
    s, e = cut("加工", text)
    assert text[slice(*around_span(text, s, e, limit=20))] == "包括数据的收集、存储、使用、加工、传输、提供、公开等；"
    s, e = cut("有效保护", text)
    assert text[slice(*around_span(text, s, e, limit=25))] == "是指通过采取必要措施，确保数据处于有效保护状态"


def test_span_across_clauses_keeps_all_its_clauses_and_whitespace_is_trimmed():
    text = "首先，  第一句比较长一些， 第二句也不短，最后一句结束" * 3
    s = text.index("第一句")
    e = text.index("也不短") + 2
    a, b = around_span(text, s, e, limit=10)
    assert text[a:b] == "第一句比较长一些， 第二句也不短，"  # leading spaces left out, inner kept
    assert around_span(text, s - 1, e, limit=10) == (s - 1, b)  # never cuts into the span


def test_numbers_with_ascii_separators_stay_whole():
    text = "The fine was 1,000,000 yuan, paid at 12:30 on Monday; " * 4
    s, e = cut("1,000,000", text)
    assert text[slice(*around_span(text, s, e, limit=20))] == "The fine was 1,000,000 yuan,"


def test_bad_span_is_refused():
    with pytest.raises(ValueError):
        around_span("短句", 1, 5, limit=1)
    with pytest.raises(ValueError):
        around_span("短句", 2, 1)


# ---------------------------------------------------------------- properties

clause_text = st.lists(
    st.tuples(st.text(alphabet="北约威慑防御、和 的abc1", min_size=0, max_size=40),
              st.sampled_from(["，", "；", "：", ",", ";", ":", "、", "。", "，”", " ", ""])),
    max_size=25,
).map(lambda parts: "".join(a + b for a, b in parts))


@st.composite
def cases(draw):
    text = draw(st.one_of(clause_text, st.text(max_size=400)))
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, len(text)))
    limit = draw(st.integers(0, 200))
    return text, start, end, limit


@FUZZ
@given(cases())
def test_result_holds_the_span(case):
    text, start, end, limit = case
    a, b = around_span(text, start, end, limit)
    assert 0 <= a <= start <= end <= b <= len(text)
    assert text[start:end] in text[a:b]
    if len(text) <= limit:
        assert (a, b) == (0, len(text))


@FUZZ
@given(cases())
def test_result_is_within_the_limit_or_the_spans_own_clauses(case):
    text, start, end, limit = case
    a, b = around_span(text, start, end, limit)
    if len(text) > limit and b - a > limit:
        assert (a, b) == around_span(text, start, end, 0)  # limit 0: never grows


@FUZZ
@given(cases())
def test_result_is_whole_clauses_trimmed(case):
    text, start, end, limit = case
    a, b = around_span(text, start, end, limit)
    if len(text) <= limit:
        return
    cuts = clause_cuts(text)
    assert any(c <= a and not text[c:a].strip() for c in cuts)  # a clause start, maybe past whitespace
    assert any(b <= c and not text[b:c].strip() for c in cuts)  # a clause end, maybe before whitespace
    assert a == start or not text[a:a + 1].isspace()
    assert b in (a, end) or not text[b - 1:b].isspace()


@FUZZ
@given(st.one_of(clause_text, st.text(max_size=200)))
def test_clauses_end_after_clause_marks_only(text):
    cuts = clause_cuts(text)
    assert cuts[0] == 0 and cuts[-1] == len(text) and (cuts == sorted(set(cuts)) or cuts == [0, 0] == [0, len(text)])
    for c in cuts[1:-1]:
        assert text[c - 1] in CLAUSE_ENDS or text[c - 1] in CLOSERS
        assert text[:c].rstrip("".join(CLOSERS))[-1] != "、"


@FUZZ
@given(cases(), st.integers(0, 100))
def test_a_larger_limit_gives_a_longer_run_around_the_same_one(case, more):
    text, start, end, limit = case
    a, b = around_span(text, start, end, limit)
    a2, b2 = around_span(text, start, end, limit + more)
    assert a2 <= a and b <= b2


@FUZZ
@given(cases())
def test_no_neighbouring_clause_would_still_fit(case):
    text, start, end, limit = case
    a, b = around_span(text, start, end, limit)
    if len(text) > limit and b - a <= limit:
        assert around_span(text, a, b, limit) == (a, b)  # grown as far as the limit allows
