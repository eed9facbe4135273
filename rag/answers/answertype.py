"""The kind of answer a question asks for, and whether a quote has one.

"When …?" wants a date and "how many …?" a number. When the sentences picked to answer
hold no date (or no number) at all, they do not answer the question, however close they
are to it in meaning: that is how in-domain questions the documents cannot answer
("芬兰和瑞典是什么时候正式成为北约成员国的？", "How many US nuclear weapons …?") look
once their best quote is in hand. "What percentage …?" wants a percentage and "which year …?"
a year, not just any number or date; "一个/一支 …" is an article, not a count.

A question citing a numbered article or resolution ("第4条", "Article 4", "第1540号决议")
that the documents never cite cannot be answered from them: :func:`references`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

# "when" asks for a date as a question word, not as a conjunction ("priority when passing through …")
_AUXILIARIES = "does|did|do|will|would|is|was|are|were|can|could|must|should|shall|has|have|had|may|might"
ASKS = {
    "date": re.compile(r"什么时候|何时|哪一年|哪年|哪天|哪一天|日期|what date|what year|which year"
                       r"|^\W*(?:(?:since|until|till|by|from)\s+)?when\b"  # "When …?", "Since when …?"
                       rf"|\bwhen\s+(?:{_AUXILIARIES})\b"  # "… and when will it …?"
                       r"|\b(?:says?|states?|specif(?:y|ies)|know|decides?|determines?|tells?|indicates?)\s+when\b",
                       re.I),
    "number": re.compile(r"多少|百分之几|\bhow (?:many|much)\b", re.I),
    "percent": re.compile(r"百分之几|百分比|\bwhat (?:percent|percentage)\b", re.I),
    "year": re.compile(r"哪一年|哪年|\b(?:what|which) year\b", re.I),
}
HAS = {
    "date": re.compile(r"\d{1,4}\s*[年月日]|[〇零一二三四五六七八九十]{2,4}年|年底|年初|月底|月初"
                       r"|周[一二三四五六日末]|星期|礼拜|[上下]午|\b(?:19|20)\d\d\b"
                       r"|\b(?:january|february|march|april|june|july|august|september|october|november"
                       r"|december|may \d|\d+ may)\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)days?\b", re.I),
    "number": re.compile(r"\d|[十百千万亿]|[两二三四五六七八九][个项名支国次年倍类种成]|%|percent", re.I),
    "percent": re.compile(r"%|％|百分之|percent", re.I),
    "year": re.compile(r"\d{2,4}\s*年|[〇零一二三四五六七八九]{2,4}年|\b(?:19|20)\d\d\b"),
}
REFERENCE_ZH = re.compile(r"第\s*(\d+|[〇零一二三四五六七八九十]+)\s*([条号])")
REFERENCE_EN = re.compile(r"\b(article|resolution)\s+(\d+)", re.I)
DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0}


def expected(question: str) -> tuple[str, ...]:
    """The kinds of answer the question asks for (``"date"``, ``"number"``), if any."""
    return tuple(kind for kind, cue in ASKS.items() if cue.search(question))


# Calendar dates: "2004年10月", "1999", "12日". "How many …?" is not answered by the number
# of a date ("北约反应部队计划编入多少兵力？" by "至迟在2004年10月前"), unless it also asks when.
CALENDAR = re.compile(r"\d{4}\s*年|\b(?:19|20)\d\d\b|\d{1,2}\s*[月日]|[〇零一二三四五六七八九]{4}年")


def has(kind: str, text: str, kinds: tuple[str, ...] = ()) -> bool:
    """Whether ``text`` holds an answer of ``kind`` (``kinds``: all the question asks for)."""
    text = CALENDAR.sub(" ", text) if kind == "number" and "date" not in kinds else text
    return bool(HAS[kind].search(text))


def missing(question: str, quote: str) -> str:
    """The first kind of answer the question asks for that ``quote`` does not contain, or ''."""
    kinds = expected(question)
    return next((kind for kind in kinds if not has(kind, quote, kinds)), "")


def _number(s: str) -> int | None:
    """``"1540"`` / ``"五"`` / ``"十二"`` / ``"二十"`` as an int (None past 99 in characters)."""
    if s.isdigit():
        return int(s)
    if "十" not in s:
        return DIGITS.get(s) if len(s) == 1 else None
    tens, _, ones = s.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    return (DIGITS.get(tens, 1) if tens else 1) * 10 + (DIGITS.get(ones, 0) if ones else 0)


def references(text: str) -> set[tuple[int, str]]:
    """Numbered articles (条) and resolutions (号) ``text`` cites: "第5条", "第 1373 号",
    "第六条", "Article 5", "resolution 1373" -> {(5, "条"), (1373, "号"), (6, "条")}."""
    found = {(_number(n), unit) for n, unit in REFERENCE_ZH.findall(text)}
    found |= {(int(n), "条" if word.lower() == "article" else "号") for word, n in REFERENCE_EN.findall(text)}
    return {r for r in found if r[0] is not None}


def with_dated(question: str, order: list[int], scores: np.ndarray,
               dated: Callable[[], tuple[np.ndarray, np.ndarray]], slots: int) -> list[int]:
    """``order`` (passage positions, best first) with, for a question asking for a date whose first
    ``slots`` passages hold none, a passage that holds one put in the last of those slots:
    "本法自2021年9月1日起施行。" says nothing else a question shares, so it ranks far below the
    law's other articles ("When did the Data Security Law come into force?"). The passage is the
    best-scored dated one of the document the first slot comes from, else of the next document
    among the slots, else of any document. ``dated()``: per passage, whether it holds a date and
    its document's number (asked for only then); ``scores``: -inf for passages not ranked."""
    slots = min(slots, len(order))
    if not slots or "date" not in expected(question):
        return order
    mask, documents = dated()
    top = np.asarray(order[:slots], dtype=np.int64)
    if mask[top].any():
        return order
    masked = np.where(mask & np.isfinite(scores), scores, -np.inf)
    for document in [*dict.fromkeys(documents[top].tolist()), None]:
        mine = masked if document is None else np.where(documents == document, masked, -np.inf)
        best = int(np.argmax(mine))
        if np.isfinite(mine[best]):
            rest = [i for i in order if i != best]
            return [*rest[:slots - 1], best, *rest[slots - 1:]][:len(order)]
    return order
