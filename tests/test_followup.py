"""Follow-up questions: which lean on the conversation, how they are understood, and that a
question with no history is answered exactly as before (one that stands alone too, unless its
reading about the last turn is much likelier)."""

from __future__ import annotations

import numpy as np
import pytest

from rag import QuestionError
from rag.followup import (
    MAX_HISTORY,
    Turn,
    about_last,
    check_history,
    leans_on_context,
    new_topic,
    noun_phrases,
    readings,
    swapped,
    turn_of,
)

Q1 = "北约的三大核心任务是什么？"


@pytest.mark.parametrize("q", ["它的第二项任务是什么？", "那俄罗斯呢？", "还有呢？", "具体有哪些？", "为什么？",
                               "怎么做？", "该计划由谁负责？", "这些措施有哪些？", "有什么处罚？",
                               "What about China?", "And Russia?", "Why?", "How is it funded?",
                               "Who runs this plan?", "会和哪些组织合作？", "需要提交哪些材料？",
                               "他在哪一年当选？", "她的职务是什么？", "那项任务的期限是多久？", "北约跟那边有什么合作？", "那头狮子代表什么？",
                               "What do the two have in common?"])
def test_follow_ups_are_recognised(q):
    assert leans_on_context(q)


@pytest.mark.parametrize("q", ["俄罗斯对北约构成什么威胁？", "北约与其他国际组织如何合作？",
                               "北约应该如何应对网络攻击？", "数据安全法规定了哪些数据处理者的义务？",
                               "How does NATO view the People's Republic of China?",
                               "会议通过了关于恐怖主义的哪些决定？"])
def test_self_contained_questions_stand_alone(q):
    assert not leans_on_context(q)


def test_a_follow_up_is_read_about_the_last_turn_as_understood():
    assert readings("它们之间是什么关系？", [Turn(Q1)]) == ["关于北约的三大核心任务，它们之间是什么关系？"]
    # the last turn as understood (its topic and its own words), without question words
    last = Turn("具体有哪些？", understood="关于北约是否认为中国企图掌控某些关键领域，具体有哪些？")
    assert readings("那由谁负责？", [Turn(Q1), last]) == ["关于北约是否认为中国企图掌控某些关键领域，由谁负责？"]
    assert readings("那封信是谁签署的？", [Turn("秘书长转递了谁的来信？")]) == ["关于秘书长转递了谁的来信，那封信是谁签署的？"]
    # 那 before any classifier points back, and stays in the question ("那座工厂", not "座工厂")
    assert readings("那座炸药厂后来怎样了？", [Turn("瓦士本市早年靠什么产业？")]) == \
        ["关于瓦士本市早年靠什么产业，那座炸药厂后来怎样了？"]
    assert readings("具体有哪些？", [Turn("北约是否认为中国企图掌控某些关键领域吗？")]) == \
        ["关于北约是否认为中国企图掌控某些关键领域，具体有哪些？"]
    assert readings("Why?", [Turn("How does NATO see climate change?")]) == ["How does NATO see climate change — Why?"]
    assert readings("为什么？", []) == []


def test_a_run_of_follow_ups_is_read_about_where_it_began_and_the_last_turn_never_a_chain():
    history = [Turn("北约如何看待印太地区？")]
    for q in ["为什么？", "那北约打算怎么做？", "和哪些伙伴？", "目的是什么？"]:
        understood = readings(q, history)[0]
        history.append(Turn(q, understood=understood))
    assert [t.understood for t in history[1:]] == [
        "关于北约如何看待印太地区，为什么？",
        "关于北约如何看待印太地区，为什么，北约打算怎么做？",
        "关于北约如何看待印太地区，北约打算怎么做，和哪些伙伴？",
        "关于北约如何看待印太地区，和哪些伙伴，目的是什么？"]
    english = [Turn("How does NATO see climate change?")]
    for q in ["Why?", "What will it do?", "With whom?"]:
        english.append(Turn(q, understood=readings(q, english)[0]))
    assert english[-1].understood == "How does NATO see climate change — What will it do — With whom?"
    # a turn answered as a whole other question (a swap, or standing alone) starts a new run
    swapped_in = Turn("那俄罗斯呢？", understood="北约如何看待俄罗斯？")
    assert readings("为什么？", [Turn("北约如何看待中国？"), swapped_in]) == ["关于北约如何看待俄罗斯，为什么？"]


def test_an_ellipsis_naming_its_own_subject_is_also_read_with_it_swapped_in():
    assert readings("那俄罗斯呢？", [Turn("北约如何看待中国？")]) == [
        "关于北约如何看待中国，俄罗斯？", "俄罗斯如何看待中国？", "北约如何看待俄罗斯？"]
    assert "How does NATO view Russia?" in readings("And Russia?", [Turn("How does NATO view China?")])
    # a whole question that opens with 那 is no fragment
    assert not swapped("那北约还愿意和它保持沟通吗？", Turn("北约如何定性俄罗斯联邦构成的威胁？"))
    assert noun_phrases("How does NATO view the People's Republic of China?") == ["NATO", "People's Republic of China"]
    assert noun_phrases("北约新战略概念确定的三项核心任务分别是什么？") == ["北约新战略概念", "三项核心任务"]


def test_a_swap_keeps_codes_titles_and_what_is_asked_for():
    # the subject is not glued into a document symbol, nor put in 《》 unless it is a title itself
    before = "根据S/2003/85中秘书长的信，布拉格首脑会议核准的《布拉格能力承诺》是要提升北约哪方面的能力？"
    assert not any("S/2003/恐怖主义" in r or "哪恐怖主义" in r for r in swapped("恐怖主义的军事概念呢？", Turn(before)))
    assert not any("《核武器方面》" in r for r in swapped("核武器方面呢？", Turn("按照《北约2022战略概念》，中国试图掌控哪些领域？")))
    assert swapped("那《出口管制法》呢？", Turn("《数据安全法》什么时候施行？")) == ["《出口管制法》什么时候施行？"]
    # an aspect ("经济方面") takes an aspect's place, never the subject's
    assert swapped("经济方面呢？", Turn("行动计划在边境管制上有什么安排？")) == ["行动计划在经济方面有什么安排？"]
    assert swapped("经济方面呢？", Turn("北约在安全方面有什么安排？")) == ["北约在经济方面有什么安排？"]
    assert swapped("核武器方面呢？", Turn("中国试图掌控哪些领域？")) == []


@pytest.mark.parametrize("q", ["换个话题：S/2003/85附文的行动计划对人权作了什么承诺？", "换个问题，对外关系法允许地方开展对外交流吗？",
                               "另一个问题：欧大合会各国打算怎样交流情报？", "再问个别的：北约把什么放在危机管理的核心？",
                               "Separate question: under the Export Control Law, what is the penalty for a forwarder?",
                               "Changing the subject, who chairs the council?"])
def test_a_question_that_changes_the_subject_is_asked_as_with_no_history(q, fake_assistant):
    assert new_topic(q)
    assert fake_assistant.ask(q, history=[Q1, "它们之间是什么关系？"]) == fake_assistant.ask(q)
    # and the next follow-up is read about it without the marker
    assert "换个" not in about_last("它还重申要执行哪些公约？", [Turn(q)]) and "Separate" not in about_last("Why?", [Turn(q)])


@pytest.mark.parametrize("q", ["换个话题，它的总部在哪？", "另外，它还有什么任务？", "换个话题", "Another question: what does it cost?",
                               "北约新战略概念的核心任务是什么？", "新问题的出现对北约意味着什么？",
                               "Another question about NATO is who leads it"])
def test_a_question_that_points_back_is_no_new_topic(q):
    assert not new_topic(q)


def test_history_is_checked_and_trimmed():
    assert check_history(None) == [] and check_history([]) == []
    long = [f"问题{i}是什么？" for i in range(10)]
    assert [t.question for t in check_history(long)] == long[-MAX_HISTORY:]
    assert check_history(["  ", "北约\x00是什么？"]) == [Turn("北约是什么？")]
    record = Turn("这个部门负责什么？", "出口管制部门负责什么？", "管理", ("EC-3",))
    assert check_history([record.to_dict()]) == [record]
    for bad in ("北约", [1, 2], [None], {"q": "北约"}, [{"q": "北约"}], [{"question": "北约", "cited": "EC-3"}],
                [{"question": "北约", "answer": 3}]):
        with pytest.raises(QuestionError):
            check_history(bad)


def test_no_history_gives_exactly_todays_answer(fake_assistant):
    plain = fake_assistant.ask(Q1)
    for history in (None, []):
        a = fake_assistant.ask(Q1, history=history)
        assert a == plain and a.understood == Q1 and not a.used_context
    assert plain.to_dict()["understood"] == Q1


def test_a_follow_up_is_answered_in_its_likeliest_reading_and_says_so(fake_assistant, monkeypatch):
    tried = []
    answer = type(fake_assistant)._answer

    def spy(self, text, *args, **kwargs):
        tried.append(answer(self, text, *args, **kwargs))
        return tried[-1]

    monkeypatch.setattr(type(fake_assistant), "_answer", spy)
    a = fake_assistant.ask("那中国呢？", history=[Q1, "北约如何看待俄罗斯？"])
    assert a.used_context and a.question == "那中国呢？"
    assert [t.question for t in tried] == readings("那中国呢？", [Turn("北约如何看待俄罗斯？")])
    assert len(tried) > 1 and a.understood in [t.question for t in tried]
    # no reader with the fake encoder: the answer model's probability ranks the readings
    assert a.signals.answerable == max(t.signals.answerable for t in tried if not t.abstained)
    assert a.to_dict()["understood"] == a.understood
    monkeypatch.undo()
    # a new topic in the same conversation is answered as if asked alone
    alone = fake_assistant.ask("俄罗斯对北约构成什么威胁？")
    assert not alone.abstained
    assert fake_assistant.ask("俄罗斯对北约构成什么威胁？", history=[Q1]) == alone


def test_a_question_that_stands_alone_is_read_in_context_only_when_much_likelier(fake_assistant, monkeypatch):
    from rag import assistant as module

    question = "总部设在哪个城市？"  # no word points back, but its subject is the last turn's
    assert not leans_on_context(question)
    alone = fake_assistant.ask(question)
    monkeypatch.setattr(module, "CONTEXT_MARGIN", 2.0)  # no probability beats the plain reading by 2
    assert fake_assistant.ask(question, history=[Q1]) == alone
    monkeypatch.setattr(module, "CONTEXT_MARGIN", -2.0)  # any answered reading in context does
    a = fake_assistant.ask(question, history=[Q1])
    assert a.used_context and a.understood == about_last(question, [Turn(Q1)]) and a.question == question


def test_the_last_answers_passage_is_among_a_follow_ups_first_hits(fake_assistant):
    from rag import assistant as module

    last = fake_assistant.ask(Q1)
    cited = last.citations[0].id
    turn = turn_of(last).to_dict()
    far = fake_assistant.ask("那俄罗斯的威胁呢？")  # asked alone, the passage is not near the top
    a = fake_assistant.ask("那俄罗斯的威胁呢？", history=[turn])
    assert cited in [h.passage.id for h in a.hits[:module.PREFER_RANK + 1]]
    assert len(a.hits) == len(far.hits)


def test_a_follow_up_favours_the_last_answers_document(fake_assistant, monkeypatch):
    from rag import assistant as module

    a = fake_assistant
    last = a.ask(Q1)
    doc = a.passages[a._by_id[last.citations[0].id]].doc_id
    history = [turn_of(last).to_dict()]
    question = "那恐怖主义呢？"  # asked alone, its hits are all from the other document

    def docs(answer):
        return [h.passage.doc_id for h in answer.hits]

    assert doc not in docs(a.ask(question))
    monkeypatch.setattr(module, "SAME_DOCUMENT", 0.0)
    without = a.ask(question, history=history)
    monkeypatch.setattr(module, "SAME_DOCUMENT", 100.0)  # larger than any gap in fused scores
    favoured = a.ask(question, history=history)
    assert set(docs(favoured)) == {doc} != set(docs(without))
    assert a.ask(question).hits == a.ask(question, history=None).hits  # no history, no favour


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
