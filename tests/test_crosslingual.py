"""English questions reach Chinese passages through CC-CEDICT (rag/crosslingual.py)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.records import Passage
from rag.retrieval.crosslingual import Glossary
from rag.retrieval.lexical import LexicalIndex

GLOSSES = {
    "威慑": ["to intimidate an enemy by a display of military force", "deterrence"],
    "国家": ["country", "nation", "state"],
    "表示": ["to express", "to state"],
    "防御": ["defense", "to defend"],
    "北约": ["NATO (North Atlantic Treaty Organization) (abbr. for 北大西洋公约组织)"],
    "苹果": ["surname Ping", "CL:个"],
}


def glossary(vocab=GLOSSES):
    return Glossary(vocab, definitions=GLOSSES.get)


def test_a_precise_word_gets_its_term_with_full_weight():
    assert glossary().translate("What does deterrence mean?") == {"威慑": 1.0}


def test_an_ambiguous_word_shares_its_weight():
    assert glossary().translate("Which states?") == {"国家": 0.5, "表示": 0.5}


def test_british_spelling_and_plurals_find_american_glosses():
    assert glossary().translate("collective defence") == {"防御": 1.0}
    assert glossary().translate("NATO's defences") == {"防御": 1.0, "北约": 1.0}


def test_long_explanations_surnames_and_measure_words_are_not_translations():
    g = glossary()
    assert "威慑" not in g.translate("force")
    assert g.translate("Ping") == {} and g.translate("CL") == {}


def test_only_the_vocabulary_is_looked_up():
    assert glossary(["国家"]).translate("the state deters") == {"国家": 1.0}


def test_threads_share_one_glossary():
    from concurrent.futures import ThreadPoolExecutor

    g = glossary()
    texts = ["deterrence and defences of nations", "Which states defend?", "NATO's deterrence"] * 200
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(g.translate, texts)) == [g.translate(t) for t in texts]


def test_cc_cedict_is_read_offline():
    g = Glossary(["威慑", "恐怖主义", "气候"])
    assert g.translate("deterrence against terrorism") == {"威慑": 1.0, "恐怖主义": 1.0}
    assert "气候" in g.translate("How does climate change matter?")


def passage(i, text):
    return Passage(id=f"D-{i}", doc_id="D", doc_title="D", section=(), label=f"第{i}段", text=text, order=i)


@pytest.fixture(scope="module")
def lexical():
    texts = ["北约的威慑和防御能力。", "恐怖主义是直接威胁。", "气候变化影响安全。"]
    return LexicalIndex([passage(i, t) for i, t in enumerate(texts, start=1)])


def test_english_question_scores_the_chinese_passage(lexical):
    s = lexical.scores("How does terrorism threaten us?")
    assert int(np.argmax(s)) == 1 and s[1] > 0 and s[0] == 0


def test_chinese_question_is_not_translated(lexical):
    assert lexical.translated_terms("恐怖主义 terrorism") == {}
    assert np.array_equal(lexical.scores("恐怖主义"), lexical.scores("恐怖主义是什么"))
