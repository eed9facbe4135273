"""Follow-up questions: whether a question leans on the conversation before it, and the
question as understood with that context. Deterministic and visible (no generated text): the
understood question is the previous question, as understood itself, followed by this one.

"北约的三大核心任务是什么？" then "它的第二项任务是什么？" is understood as
"北约的三大核心任务是什么；它的第二项任务是什么？"; a question that names its own subject
("俄罗斯对北约构成什么威胁？") is left alone.
"""

from __future__ import annotations

import re

from rag.errors import QuestionError
from rag.question import clean_question
from rag.text.normalize import CJK

MAX_HISTORY = 4  # earlier questions kept; older ones are dropped
SHORT_CJK = 5  # a Chinese question of at most this many characters (punctuation aside) leans on context
SHORT_WORDS = 3  # likewise an English question of at most this many words
# Ellipsis and continuation: 那…呢, 还有呢, 具体有哪些; what about, and?
_ZH_ELLIPSIS = re.compile(r"^(?:那么?|还有|另外|此外|而且|并且|再)|呢[？?。]?$|^(?:具体)?(?:有)?哪些[？?]?$")
_EN_ELLIPSIS = re.compile(r"^(?:and|what about|how about|also|what else)\b|^(?:and|why|how|what)\s*\??$", re.I)
# Pronouns and demonstratives that point back: 它, 其, 他们, 该计划, 这些措施; it, they, this plan
_ZH_POINTER = re.compile(r"它|(?<![尤极与])其(?![他它中实余])|他们|她们|(?<!应)该(?=[\u4e00-\u9fff])|这|此[项类条]|上述|前者|后者")
_EN_POINTER = re.compile(r"\b(?:it|its|they|them|their|this|that|these|those|such|he|she|his|her)\b", re.I)
# Bare why/how: 为什么？ 怎么做？ Why? How?
# A Chinese question that opens with a modal or auxiliary has dropped its subject ("会和哪些组织合作？")
_ZH_NO_SUBJECT = re.compile(r"^(?:会(?![议谈员晤见上期场长])|还会|能否|能不能|可以|可不可以|要不要|还要|需要|需不需要|应该|应当|打算|准备)")
_BARE = re.compile(r"^(?:为什么|为何|怎么做|怎么办|如何做|如何|怎样|具体怎么做|why|how|how so|why not)[？?]?$", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORDS = re.compile(r"[A-Za-z]+")
_END = "？?。.!！；; "


def check_history(history: object) -> list[str]:
    """The earlier questions as clean strings, oldest first, at most :data:`MAX_HISTORY`.

    Raises:
        QuestionError: ``history`` is not a list (or tuple) of strings.
    """
    if history is None:
        return []
    if not isinstance(history, list | tuple) or not all(isinstance(h, str) for h in history):
        raise QuestionError("history must be a list of earlier questions (strings) / 对话历史必须是问题文本的列表")
    out = []
    for h in history[-MAX_HISTORY:]:
        try:
            out.append(clean_question(h)[0])
        except QuestionError:
            continue  # an empty earlier turn carries no context
    return out


def leans_on_context(question: str) -> bool:
    """Whether the question cannot stand alone: ellipsis, a pronoun pointing back, a bare
    why/how, a Chinese question opening with a modal (its subject dropped), or a very short question."""
    q = question.strip()
    if _BARE.match(q):
        return True
    if _CJK.search(q):
        if _ZH_ELLIPSIS.search(q) or _ZH_POINTER.search(q) or _ZH_NO_SUBJECT.match(q):
            return True
        return len(_CJK.findall(q)) <= SHORT_CJK
    if _EN_ELLIPSIS.search(q) or _EN_POINTER.search(q):
        return True
    return len(_WORDS.findall(q)) <= SHORT_WORDS


def understand(question: str, history: list[str]) -> str:
    """The question as understood from the conversation (``question`` itself when it stands
    alone or there is no history). ``history``: earlier questions, clean, oldest first."""
    if not history or not leans_on_context(question):
        return question
    previous = understand(history[-1], history[:-1])
    return f"{previous.rstrip(_END)}；{question}"


def understood_note(question: str, understood: str) -> str:
    """How a follow-up was understood, in the question's language (the chat and `rag chat` show it)."""
    return f"按上文理解为：{understood}" if CJK.search(question) else f"Understood as: {understood}"
