"""Follow-up questions: which lean on the conversation, how they are understood, and that a
question with no history, or one that stands alone, is answered exactly as before."""

from __future__ import annotations

import numpy as np
import pytest

from rag import QuestionError
from rag.followup import MAX_HISTORY, check_history, leans_on_context, understand

Q1 = "北约的三大核心任务是什么？"


@pytest.mark.parametrize("q", ["它的第二项任务是什么？", "那俄罗斯呢？", "还有呢？", "具体有哪些？", "为什么？",
                               "怎么做？", "该计划由谁负责？", "这些措施有哪些？", "有什么处罚？",
                               "What about China?", "And Russia?", "Why?", "How is it funded?",
                               "Who runs this plan?", "会和哪些组织合作？", "需要提交哪些材料？"])
def test_follow_ups_are_recognised(q):
    assert leans_on_context(q)


@pytest.mark.parametrize("q", ["俄罗斯对北约构成什么威胁？", "北约与其他国际组织如何合作？",
                               "北约应该如何应对网络攻击？", "数据安全法规定了哪些数据处理者的义务？",
                               "How does NATO view the People's Republic of China?",
                               "会议通过了关于恐怖主义的哪些决定？"])
def test_self_contained_questions_stand_alone(q):
    assert not leans_on_context(q)


def test_a_follow_up_is_understood_with_the_previous_question_itself_understood():
    assert understand("它的第二项任务是什么？", [Q1]) == "北约的三大核心任务是什么；它的第二项任务是什么？"
    assert understand("为什么？", [Q1, "那俄罗斯呢？"]) == "北约的三大核心任务是什么；那俄罗斯呢；为什么？"
    assert understand("俄罗斯对北约构成什么威胁？", [Q1]) == "俄罗斯对北约构成什么威胁？"
    assert understand("为什么？", []) == "为什么？"


def test_history_is_checked_and_trimmed():
    assert check_history(None) == [] and check_history([]) == []
    long = [f"问题{i}是什么？" for i in range(10)]
    assert check_history(long) == long[-MAX_HISTORY:]
    assert check_history(["  ", "北约\x00是什么？"]) == ["北约是什么？"]
    for bad in ("北约", [1, 2], [None], {"q": "北约"}):
        with pytest.raises(QuestionError):
            check_history(bad)


def test_no_history_gives_exactly_todays_answer(fake_assistant):
    plain = fake_assistant.ask(Q1)
    for history in (None, []):
        a = fake_assistant.ask(Q1, history=history)
        assert a == plain and a.understood == Q1 and not a.used_context
    assert plain.to_dict()["understood"] == Q1


def test_a_follow_up_uses_the_conversation_and_says_so(fake_assistant):
    a = fake_assistant.ask("它的第二项任务是什么？", history=[Q1])
    assert a.used_context and a.question == "它的第二项任务是什么？"
    assert a.understood == "北约的三大核心任务是什么；它的第二项任务是什么？"
    assert a.to_dict()["understood"] == a.understood
    # a new topic in the same conversation is answered as if asked alone
    alone = fake_assistant.ask("俄罗斯对北约构成什么威胁？")
    assert fake_assistant.ask("俄罗斯对北约构成什么威胁？", history=[Q1]) == alone


def test_a_follow_up_is_searched_with_its_own_words_weighing_more(fake_assistant):
    from rag.retrieval.fusion import fuse

    a = fake_assistant
    understood = "北约的三大核心任务是什么；那俄罗斯呢？"
    hits, vec, _ = a.retrieve(understood, 5, "hybrid", also="那俄罗斯呢？")
    pair = a.encoder.encode_queries([understood, "那俄罗斯呢？"])
    assert np.allclose(vec, pair.sum(axis=0) / np.linalg.norm(pair.sum(axis=0)), atol=1e-6)
    sims = a.similarities(vec)
    lexical = a.lexical.scores(understood) + a.lexical.scores("那俄罗斯呢？")
    expected = fuse(a.dense_scores(vec, sims), lexical)
    assert [h.passage.id for h in hits] == [a.passages[i].id for i in np.argsort(-expected, kind="stable")[:5]]


def test_a_bad_history_is_a_question_error(fake_assistant):
    with pytest.raises(QuestionError):
        fake_assistant.ask("为什么？", history="北约的三大核心任务是什么？")


def test_context_does_not_make_an_off_topic_question_answerable(fake_assistant, monkeypatch):
    from rag.answers import compose

    monkeypatch.setattr(compose, "should_abstain", lambda s, threshold: True)  # the rules run on the understood question
    a = fake_assistant.ask("那俄罗斯呢？", history=[Q1])
    assert a.abstained and a.used_context
