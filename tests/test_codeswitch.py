"""Chinese training questions glossed word by word into English (rag.models.codeswitch)."""

from __future__ import annotations

import random

from rag.models import mrcdata
from rag.models.codeswitch import Glosser, code_switched

DICTIONARY = {
    "北约": ["NATO (North Atlantic Treaty Organization) (abbr. for 北大西洋公约组织)"],
    "总部": ["general headquarters"],
    "设": ["to set up"],
    "城市": ["city", "CL:座[zuo4]"],
    "安全": ["safe"],
    "法": ["law"],
    "条款": ["clause (of contract or law)"],
    "立法": ["to legislate", "legislation"],
    "说明": ["to explain in very long words that run on and on"],
}


def glosser(words):
    return Glosser(definitions=DICTIONARY.get, segment=lambda q: words[q])


def test_each_word_becomes_its_gloss_and_a_name_its_pinyin():
    g = glosser({"北约总部设在哪个城市？": ["北约", "总部", "设", "在", "哪个", "城市", "？"],
                 "谭望嵩是谁？": ["谭望嵩", "是", "谁", "？"]})
    rng = random.Random(0)
    assert g.glossed("北约总部设在哪个城市？", rng) == "NATO general headquarters set up in which city?"
    assert g.glossed("谭望嵩是谁？", rng) == "Tanwangsong is who?"


def test_an_unknown_word_is_read_by_its_parts_and_particles_vanish():
    g = glosser({"安全法的条款": ["安全法", "的", "条款"], "本法": ["本法"]})
    rng = random.Random(0)
    assert g.glossed("安全法的条款", rng) == "Safe law clause"
    assert g.glossed("本法", rng) == "This law"


def test_long_explanations_and_classifiers_are_not_glosses():
    g = glosser({"说明": ["说明"]})
    assert g.glossed("说明", random.Random(0)) == "Shuoming"


def test_copies_keep_context_and_answer_and_hold_no_chinese():
    g = Glosser()  # CC-CEDICT and jieba, as training uses them
    exs = [mrcdata.Example(f"q{i}", "北约总部设在哪个城市？", "北约总部设在布鲁塞尔。", 6, "布鲁塞尔", "cmrc", "a")
           for i in range(40)]
    made = code_switched(exs, share=0.5, seed=1, glosser=g)
    assert 5 < len(made) < 35
    for m in made:
        assert m.context == exs[0].context and m.answer == "布鲁塞尔" and m.start == 6
        assert m.qid.endswith("-en") and m.source == "cmrc-en"
        assert "NATO" in m.question and not any("\u4e00" <= ch <= "\u9fff" for ch in m.question)
    assert code_switched(exs, share=0.0, glosser=g) == []
