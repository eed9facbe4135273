"""Sentence splitting, quoting and abstention (fake encoder: no model)."""

from __future__ import annotations

import pytest

from rag import QuestionError
from rag.answers.abstain import language
from rag.text.sentences import split_sentences


def parts(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_split_on_chinese_end_marks():
    assert parts("第一句。第二句！第三句？第四句；尾巴") == ["第一句。", "第二句！", "第三句？", "第四句；", "尾巴"]


def test_never_split_inside_title_marks_or_quotes():
    text = "我们重申《北大西洋公约。第5条》的承诺。他说“不行。不行。”然后离开。"
    assert parts(text) == ["我们重申《北大西洋公约。第5条》的承诺。", "他说“不行。不行。”", "然后离开。"]


def test_unbalanced_quote_does_not_swallow_the_rest():
    assert parts("他说“不行。然后离开。最后。") == ["他说“不行。", "然后离开。", "最后。"]


def test_spans_skip_whitespace_and_cover_text():
    text = " 甲。  乙。 "
    assert [text[a:b] for a, b in split_sentences(text)] == ["甲。", "乙。"]


def test_language():
    assert language("北约?") == "zh" and language("What is NATO?") == "en"


def test_answer_is_verbatim_and_cited(fake_assistant):
    ans = fake_assistant.ask("北约的三大核心任务是什么？")
    assert not ans.abstained and ans.citations
    for i, c in enumerate(ans.citations, start=1):
        assert f"[{i}]" in ans.text
        passage = fake_assistant.lookup(c.id)
        assert passage is not None and passage.text == c.text
        for a, b in c.spans:
            assert c.text[a:b] and c.text[a:b] in ans.text
    assert len(ans.text) <= 400


@pytest.mark.parametrize("question", ["北约?", "What does NATO say about Russia?", "NATO 反恐 plan 2002?",
                                      "北约" * 5000, "<img src=x onerror=alert(1)>", "\x00北约\ud800"])
def test_odd_questions_answer_or_abstain_cleanly(fake_assistant, question):
    ans = fake_assistant.ask(question)
    assert isinstance(ans.text, str) and ans.text
    assert ans.abstained or ans.citations


def test_long_question_is_truncated_with_a_note(fake_assistant):
    ans = fake_assistant.ask("北约的核心任务" * 2000)
    assert any("truncated" in n for n in ans.notes)


@pytest.mark.parametrize("bad", ["", "   ", "\n\t", "？？？", None, 42])
def test_empty_or_non_text_question_is_a_clear_error(fake_assistant, bad):
    with pytest.raises(QuestionError) as e:
        fake_assistant.ask(bad)
    assert "question" in str(e.value)


@pytest.mark.parametrize("kwargs", [{"mode": "magic"}, {"top_k": 0}, {"top_k": 500}, {"top_k": "5"}])
def test_bad_options_are_clear_errors(fake_assistant, kwargs):
    with pytest.raises(QuestionError):
        fake_assistant.ask("北约", **kwargs)


def test_abstention_text_in_question_language(fake_assistant, monkeypatch):
    from rag.answers import compose as answer

    monkeypatch.setattr(answer, "should_abstain", lambda s, threshold: True)
    zh = fake_assistant.ask("北约的预算是多少？")
    en = fake_assistant.ask("What is NATO's budget?")
    assert zh.abstained and zh.text == answer.NOT_FOUND["zh"] and not zh.citations and zh.hits
    assert en.abstained and en.text == answer.NOT_FOUND["en"]


def test_abstention_follows_the_model_and_unknown_articles():
    from rag.answers.abstain import should_abstain
    from rag.records import Signals

    def sig(p, refs=()):
        return Signals(0.9, 0.1, 0.5, "zh", 0.9, 0.8, (), unknown_references=refs, answerable=p)

    assert should_abstain(sig(0.29), 0.3) and not should_abstain(sig(0.3), 0.3)
    assert should_abstain(sig(0.99, refs=("第4条",)), 0.3)  # an article no document cites


def test_an_off_topic_question_is_refused_whatever_the_model_says(monkeypatch):
    from rag.answers import abstain
    from rag.records import Signals

    monkeypatch.setattr(abstain, "RULES", ("unknown_references", "off_topic"))  # conftest turns it off
    closer_to_everyday = Signals(0.80, 0.1, 0.5, "zh", 0.82, 0.85, answerable=0.99)
    closer_to_documents = Signals(0.90, 0.1, 0.5, "zh", 0.92, 0.85, answerable=0.99)
    assert abstain.should_abstain(closer_to_everyday, 0.3)
    assert not abstain.should_abstain(closer_to_documents, 0.3)


def test_unmentioned_names_and_years_are_found(fake_assistant):
    from rag.text.segment import names_and_years

    found = names_and_years("北约2023年维尔纽斯峰会作出了哪些决定？")
    assert "2023" in found and "维尔纽斯" in found
    assert not fake_assistant.mentions("维尔纽斯") and fake_assistant.mentions("乌克兰")
    assert fake_assistant.mentions("2022")  # in the document title


def test_list_intro_brings_its_items(fake_assistant):
    from rag.answers.pick import expand_lists

    a = fake_assistant
    i = a.passage_index("S2003-85-L2-4")
    intro = a.sentences.sentences[a.sentences.by_passage[i][-1]]
    assert intro.text.endswith("：")
    out = expand_lists(a.corpus, [intro])
    items = [a.passages[s.passage_index].id for s in out[1:]]
    assert items[0] == "S2003-85-L2-B1" and len(items) == 8 and all("-B" in x for x in items)
    assert expand_lists(a.corpus, out) == out  # nothing added twice


def test_a_question_for_a_date_or_number_needs_one_in_the_quote():
    from rag.answers.answertype import expected, missing

    assert expected("芬兰和瑞典是什么时候加入北约的？") == ("date",)
    assert expected("How many troops will the force have?") == ("number",)
    assert expected("北约的三大核心任务是什么？") == ()
    assert missing("行动计划是哪天通过的？", "2001年11月26日由委员会通过。") == ""
    assert missing("北约宣称要守护多少人口？", "保护盟国的十亿公民。") == ""
    assert missing("图书馆哪天闭馆？", "社区图书馆每周一闭馆。") == ""
    assert missing("When does the library close?", "It closes on Mondays and on 24 December.") == ""
    assert missing("When was the Council established?", "理事会取得了成就。") == "date"
    assert missing("德国的国防预算有多少欧元？", "北约已同意为德国提供支助。") == "number"


@pytest.mark.parametrize("question, asks", [
    ("When will the law take effect?", True), ("Since when has it applied?", True),
    ("Does the law say when it takes effect?", True),  # an embedded question after a verb of saying
    ("Do soldiers get priority when passing through train stations?", False),
    ("What must a processor do when a data breach occurs?", False),
    ("By when must the report be filed?", True), ("Until when is the licence valid?", True),
])
def test_when_asks_for_a_date_only_as_a_question_word(question, asks):
    from rag.answers.answertype import expected

    assert ("date" in expected(question)) is asks


def test_the_signals_say_which_kind_of_answer_the_quote_lacks(fake_assistant):
    from rag.answers.answertype import missing
    from rag.evaluation.evaluate import quoted_text

    for q in ("北约战略概念是什么时候通过的？", "北约有多少个成员国？", "北约的三大核心任务是什么？"):
        ans = fake_assistant.ask(q)
        assert ans.signals.missing_answer == missing(q, quoted_text(ans))


def test_a_repeat_is_judged_on_the_text_not_the_cosine():
    from rag.answers.pick import adds_nothing

    # e5 puts these two different statements at cosine 0.957; their text shares little
    assert not adds_nothing("北约的主要宗旨和最大责任是确保集体防御，抵御来自各方的一切威胁。",
                            "北约核能力的根本宗旨是维护和平、防止胁迫和吓阻侵略。")
    assert adds_nothing("北约核能力的根本宗旨是维护和平、防止胁迫和吓阻侵略。",
                        "北约核能力的根本宗旨是维护和平、防止胁迫和吓阻侵略。")
    # a heading inside a sentence repeats it; the sentence does not repeat the heading
    assert adds_nothing("指导方案。", "欧大合会各国将为恐怖主义涉及的具体问题设立指导方案。")
    assert not adds_nothing("欧大合会各国将为恐怖主义涉及的具体问题设立指导方案。", "指导方案。")


def test_a_clause_ending_in_a_semicolon_is_quoted_with_its_completion(fake_assistant):
    import numpy as np

    from rag.answers.features import candidates
    from rag.answers.pick import choose
    from rag.records import Hit

    a = fake_assistant
    p = a.lookup("SC2022-43")
    js = a.sentences.by_passage[a.passage_index(p.id)]
    clause = next(j for j in js if a.sentences.sentences[j].text.endswith("；"))
    sims = np.zeros(len(a.sentences.sentences), dtype=np.float32)
    question = "北约和欧盟在什么领域合作？"
    cands = candidates(a.corpus, question, [Hit(p, 1.0)], {}, sims)
    probabilities = np.array([1.0 if j == clause else 0.0 for _, j in cands.rows])  # only the clause answers
    assert len(p.text) > 150  # else the passage is quoted whole anyway
    texts = [s.text for s in choose(a.corpus, question, cands, probabilities, 0.5, 0.1, 150)]
    assert texts[0].endswith("；") and texts[1].startswith("如军事机动性") and len(texts) == 2


def test_percentages_years_and_articles():
    from rag.answers.answertype import expected, missing, references

    assert "percent" in expected("各盟国把国内生产总值的百分之几用于国防？")
    assert missing("国防开支占百分之几？", "北约将确保防御开支增幅与挑战相适应，覆盖360度。") == "percent"
    assert missing("国防开支占百分之几？", "盟国承诺将国内生产总值的2%用于国防。") == ""
    assert missing("理事会是哪一年成立的？", "理事会在6月5日举行会谈。") == "year"
    assert missing("理事会是哪一年成立的？", "理事会于1997年成立。") == ""
    assert missing("反应部队计划编入多少兵力？", "设立一支北约反应部队。") == "number"  # 一支: "a", not a count
    assert missing("反应部队计划编入多少兵力？", "反应部队将有两万人。") == ""
    assert references("《北大西洋公约》第 5 条与第六条、安理会第1373号决议") == {(5, "条"), (6, "条"), (1373, "号")}
    assert references("Can NATO invoke Article 5 under resolution 1540?") == {(5, "条"), (1540, "号")}
    assert references("第十二条") == {(12, "条")} and references("第三章") == set()


def test_a_question_citing_an_article_the_documents_never_cite_abstains(fake_assistant):
    a = fake_assistant
    assert (5, "条") in a.references and (4, "条") not in a.references
    ans = a.ask("《北大西洋公约》第4条规定了什么？")
    assert ans.abstained and ans.signals.unknown_references == ("第4条",)
    assert a.ask("《北大西洋公约》第5条规定了什么？").signals.unknown_references == ()


def test_a_count_is_not_answered_by_a_date():
    from rag.answers.answertype import missing

    assert missing("北约反应部队计划编入多少兵力？", "该部队将至迟在2004年10月前建立初步作战能力。") == "number"
    assert missing("How many troops will the force have?", "It will be ready by 2006.") == "number"
    assert missing("北约反应部队计划编入多少兵力？", "2004年10月前部署两万人。") == ""
    assert missing("这项任务持续了多少年？", "这项任务持续了二十年。") == ""
    assert missing("这项任务持续了多少个月？", "这项任务持续了6个月。") == ""



def test_off_topic_sentences_are_taken_in_the_language_of_the_closest_passage():
    # An English question over Chinese documents is compared across languages on both sides:
    # against English everyday sentences it would look nearer to everyday talk than the same
    # question asked in Chinese (docs/design.md, Abstention).
    from types import SimpleNamespace

    import numpy as np

    from rag.answers.abstain import _background

    english_like, chinese_like = np.array([1.0, 0.0], np.float32), np.array([0.6, 0.8], np.float32)
    corpus = SimpleNamespace(background_vectors=np.stack([english_like, chinese_like]),
                             background_chinese=np.array([False, True]),
                             passages=[SimpleNamespace(text="北约的三大核心任务"), SimpleNamespace(text="core tasks")])
    question = np.array([1.0, 0.0], np.float32)
    assert _background(corpus, np.array([0.7, 0.1]), question) == pytest.approx(0.6)  # closest passage Chinese
    assert _background(corpus, np.array([0.1, 0.7]), question) == pytest.approx(1.0)  # closest passage English
    assert _background(SimpleNamespace(**{**vars(corpus), "background_chinese": None}),
                       np.array([0.7, 0.1]), question) == pytest.approx(1.0)  # no languages known: all of them


def test_a_date_question_gets_the_best_dated_passage_in_the_last_candidate_slot():
    import numpy as np

    from rag.answers.answertype import with_dated

    texts = ["国家建立数据安全审查制度。", "数据处理者应当履行保护义务。", "国家机关应当依法处理数据。",
             "本法所称数据，是指任何以电子或者其他方式对信息的记录。", "有关部门依照本法履行职责。",
             "违反本法规定的，依法给予处分。", "本法自2021年9月1日起施行。", "1999年的另一个日期。"]
    dated = np.array(["年" in t for t in texts])
    one_law = np.zeros(len(texts), dtype=np.int64)
    scores = np.array([8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    order = list(range(6))
    asked = []

    def mask():
        asked.append(1)
        return dated, one_law

    # the best-scored dated passage beyond the first five takes the fifth place; the rest move down
    assert with_dated("数据安全法是哪一天开始施行的？", order, scores, mask, 5) == [0, 1, 2, 3, 6, 4]
    assert with_dated("When did the Data Security Law come into force?", order, scores, mask, 5) == [0, 1, 2, 3, 6, 4]
    assert with_dated("When did it come into force?", order[:3], scores, mask, 5) == [0, 1, 6]
    # not a date question: untouched, and the passages are never scanned
    asked.clear()
    assert with_dated("数据安全审查由谁负责？", order, scores, mask, 5) == order
    assert not asked
    # a date already among the first five, or none anywhere that is ranked: untouched
    assert with_dated("哪一天施行？", [6, 0, 1, 2, 3], scores, mask, 5) == [6, 0, 1, 2, 3]
    unranked = np.where(dated, -np.inf, scores)
    assert with_dated("哪一天施行？", order, unranked, mask, 5) == order
    assert with_dated("哪一天施行？", [], scores, mask, 5) == []


def test_the_dated_passage_comes_from_the_document_the_first_candidates_come_from():
    import numpy as np

    from rag.answers.answertype import with_dated

    # passages 0-4 and 7 are one law's, 5-6 another's; the other law's commencement article scores higher
    documents = np.array([0, 0, 0, 0, 0, 1, 1, 0])
    dated = np.array([False, False, False, False, False, False, True, True])
    scores = np.array([8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    order = list(range(6))
    assert with_dated("When did the Data Security Law come into force?", order, scores,
                      lambda: (dated, documents), 5) == [0, 1, 2, 3, 7, 4]
    # the first document among the candidates first, then the next one, then any
    documents = np.array([0, 1, 0, 0, 0, 2, 1, 2])
    assert with_dated("哪一天施行？", order, scores, lambda: (dated, documents), 5) == [0, 1, 2, 3, 6, 4]
    documents = np.array([0, 0, 0, 0, 0, 2, 1, 2])
    dated = np.array([False, False, False, False, False, False, True, False])
    assert with_dated("哪一天施行？", order, scores, lambda: (dated, documents), 5) == [0, 1, 2, 3, 6, 4]


def test_search_puts_a_dated_passage_among_the_candidates_of_a_date_question(fake_assistant):
    from rag.answers.answertype import has

    question = "北约什么时候部署快速反应部队？"
    for mode in ("hybrid", "dense", "lexical"):
        hits = fake_assistant.search(question, top_k=5, mode=mode)
        assert any(has("date", h.passage.text) for h in hits), mode
    assert fake_assistant._dated()[0].sum() > 0


def test_the_pos_table_is_the_one_jieba_builds():
    import jieba
    import jieba.posseg

    from rag.text.segment import jieba_tokenizer, tagged, word_tags

    theirs = jieba.posseg.POSTokenizer.__new__(jieba.posseg.POSTokenizer)
    theirs.load_word_tag(jieba.dt.get_dict_file())
    assert word_tags(jieba.dt.get_dict_file()) == theirs.word_tag_tab
    assert len(theirs.word_tag_tab) > 300_000
    # the shared tagger tags as jieba's own tagger over a segmenter with the same domain dictionary
    from rag.paths import PACKAGE_DATA

    jieba_tokenizer()
    segmenter = jieba.Tokenizer()
    segmenter.load_userdict(str(PACKAGE_DATA / "userdict.txt"))
    reference = jieba.posseg.POSTokenizer(segmenter)
    for text in ("北约2023年维尔纽斯峰会作出了哪些决定？", "国家网信部门负责统筹协调网络数据安全和相关监管工作。"):
        assert tagged(text) == [(p.word, p.flag) for p in reference.cut(text)]
    assert jieba.posseg.dt.word_tag_tab  # jieba's module-level tagger keeps a full table
