"""English questions naming what CC-CEDICT has no entry for (a club, a person).

A Chinese name written in pinyin ("Tan Wangsong") reaches its term (谭望嵩) by sound
(rag/retrieval/crosslingual.py); a Latin name the passages quote ("Pennetta") is matched by
BM25 as it is, and no longer counts against answering through the coverage signal
(rag/answers/abstain.py). eval/english-names.jsonl measures both on the CMRC 2018 trial set.
"""

from __future__ import annotations

import numpy as np
import pytest

from rag.answers.abstain import signals
from rag.answers.corpus import AnswerCorpus
from rag.records import Hit, Passage
from rag.retrieval.crosslingual import Glossary, pinyin_spellings
from rag.retrieval.lexical import LexicalIndex
from rag.text.sentences import split_passages

GLOSSES = {
    "棕褐色": ["tan"],
    "中国": ["China"],
    "球队": ["team", "club"],
    "加盟": ["to join"],
}
NAMES = ["谭望嵩", "于海", "北京国安", "国安", "安南", "预案", "吃拿"]


def glossary(vocab=(*GLOSSES, *NAMES)):
    return Glossary(vocab, definitions=GLOSSES.get)


def test_pinyin_spellings_cover_every_reading():
    assert pinyin_spellings("谭望嵩") == {"tanwangsong"}
    assert {"lubu", "lvbu"} <= pinyin_spellings("吕布")  # ü written u or v
    assert {"leqing", "yueqing"} <= pinyin_spellings("乐清")  # 乐 has two readings


def test_a_chinese_name_in_pinyin_brings_its_term():
    out = glossary().translate("Which club did Tan Wangsong join?")
    assert out["谭望嵩"] == 1.0 and out["球队"] == 1.0 and out["加盟"] == 1.0
    assert "棕褐色" not in out  # "Tan" is part of the name here, not the colour


def test_the_longest_run_of_words_wins_and_one_capitalized_word_may_be_a_name():
    g = glossary()
    assert g.translate("Beijing Guoan") == {"北京国安": 1.0}
    assert g.translate("Who is Yu Hai?") == {"于海": 1.0}
    assert g.translate("Kofi Annan's letter") == {"安南": 1.0}


def test_english_words_are_not_read_as_pinyin():
    g = glossary()
    assert g.translate("China") == {"中国": 1.0}  # a word with a gloss, though it spells 吃拿
    assert g.translate("the budget in yuan") == {}  # one lower-case word is no name
    assert g.translate("a tan coat") == {"棕褐色": 1.0}


def test_no_pinyin_index_without_chinese_terms():
    g = Glossary(["国家"], definitions={"国家": ["country"]}.get, readings=lambda t: ())
    assert g.translate("Tan Wangsong's country") == {"国家": 1.0}


def passage(i, text):
    return Passage(id=f"D-{i}", doc_id="D", doc_title="D", section=(), label=f"第{i}段", text=text, order=i)


PASSAGES = [passage(1, "2010年2月，谭望嵩转会加盟河南建业。"),
            passage(2, "2007年，于海加盟荷兰足球甲级联赛维特斯。"),
            passage(3, "2010年3月，渠成租借加盟印度尼西亚足球俱乐部佩西普拉。")]


@pytest.fixture(scope="module")
def lexical():
    return LexicalIndex(PASSAGES)


@pytest.mark.parametrize("question, first", [
    ("Which team did Tan Wangsong join in February 2010?", 0),
    ("Which Dutch club did Yu Hai sign for?", 1),
    ("Which club did Qu Cheng join on loan?", 2),
])
def test_the_named_players_paragraph_comes_first(lexical, question, first):
    s = lexical.scores(question)
    assert int(np.argmax(s)) == first and s[first] > sorted(s)[-2]


def answer_corpus(texts):
    passages = [passage(i, t) for i, t in enumerate(texts, start=1)]
    rng = np.random.default_rng(0)

    def unit(n):
        v = rng.normal(size=(n, 8)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    n_sentences = len(split_passages(passages))
    return AnswerCorpus(passages, unit(n_sentences), unit(2), LexicalIndex(passages), unit(len(passages)), 8)


def test_a_latin_name_the_passage_quotes_is_no_sign_against_answering():
    corpus = answer_corpus(["弗拉维娅·佩内塔（Flavia Pennetta），义大利职业女子网球运动员。她曾获得10次WTA赛事女子单打冠军。",
                            "摩尔甘比足球俱乐部是位于英格兰的足球俱乐部。"])
    hits = [Hit(p, 1.0) for p in corpus.passages]
    q_vec = np.ones(8, np.float32) / np.sqrt(8)
    sims = (np.array([0.8, 0.5], np.float32), np.full(len(corpus.sentences.sentences), 0.5, np.float32))

    english = "How many WTA singles titles did Flavia Pennetta win?"
    terms = corpus.terms(english)
    assert {"pennetta", "wta"} <= set(terms)  # found verbatim in the passage ...
    sig = signals(corpus, english, hits, q_vec, terms, sims)
    assert sig.lang == "en" and sig.coverage == 0.0  # ... but an English question's coverage is 0
    assert sig.unknown_names == ()  # names unknown to the documents are a Chinese question's signal

    chinese = "佩内塔获得过几次WTA冠军？"
    sig = signals(corpus, chinese, hits, q_vec, corpus.terms(chinese), sims)
    assert sig.lang == "zh" and sig.coverage > 0.3
