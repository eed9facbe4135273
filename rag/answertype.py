"""The kind of answer a question asks for, and whether a quote has one.

"When …?" wants a date and "how many …?" a number. When the sentences picked to answer
hold no date (or no number) at all, they do not answer the question, however close they
are to it in meaning: that is how in-domain questions the documents cannot answer
("芬兰和瑞典是什么时候正式成为北约成员国的？", "How many US nuclear weapons …?") look
once their best quote is in hand.
"""

from __future__ import annotations

import re

ASKS = {
    "date": re.compile(r"什么时候|何时|哪一年|哪年|哪天|哪一天|日期|\bwhen\b|what date|what year|which year", re.I),
    "number": re.compile(r"多少|百分之几|\bhow (?:many|much)\b", re.I),
}
HAS = {
    "date": re.compile(r"\d{1,4}\s*[年月日]|[〇零一二三四五六七八九十]{2,4}年|年底|年初|月底|月初"
                       r"|周[一二三四五六日末]|星期|礼拜|[上下]午|\b(?:19|20)\d\d\b"
                       r"|\b(?:january|february|march|april|june|july|august|september|october|november"
                       r"|december|may \d|\d+ may)\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)days?\b", re.I),
    "number": re.compile(r"\d|[十百千万亿]|[两一二三四五六七八九][个项名支国次年倍类种成]|%|percent", re.I),
}


def expected(question: str) -> tuple[str, ...]:
    """The kinds of answer the question asks for (``"date"``, ``"number"``), if any."""
    return tuple(kind for kind, cue in ASKS.items() if cue.search(question))


def missing(question: str, quote: str) -> str:
    """The first kind of answer the question asks for that ``quote`` does not contain, or ''."""
    return next((kind for kind in expected(question) if not HAS[kind].search(quote)), "")
