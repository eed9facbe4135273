"""Follow-up questions: whether a question leans on the conversation, and the readings of it
that the conversation allows. Deterministic and visible (no generated text): a follow-up is
read as a question about the last turn as it was understood ("关于北约将如何维护海上安全，
具体怎么做？"); after another follow-up, about the topic that one was read about and its own
words, never a chain of every earlier question; an ellipsis that names its own
subject ("那俄罗斯呢？" after "北约如何看待中国？") is also read as the last question with that
subject swapped in ("北约如何看待俄罗斯？"). :meth:`rag.Assistant.ask` answers each reading and
keeps the one the reader finds likeliest to be answered, and searches with the follow-up's own
words and the last answer's passage (docs/design.md, Conversation).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rag.errors import QuestionError
from rag.question import clean_question
from rag.text.normalize import CJK

MAX_HISTORY = 4  # earlier turns kept; older ones are dropped
MAX_SWAPS = 2  # last questions with the subject swapped in, tried
MAX_ANSWER_CHARS = 2000  # of an earlier answer kept in the history
MAX_CITED = 20
SHORT_CJK = 5  # a Chinese question of at most this many characters (punctuation aside) leans on context
SHORT_WORDS = 3  # likewise an English question of at most this many words
# Ellipsis and continuation: 那…呢, 还有呢, 具体有哪些; what about, and?
_ZH_ELLIPSIS = re.compile(r"^(?:那么?|还有|另外|此外|而且|并且|再)|呢[？?。]?$|^(?:具体)?(?:有)?哪些[？?]?$")
_EN_ELLIPSIS = re.compile(r"^(?:and|what about|how about|also|what else)\b|^(?:and|why|how|what)\s*\??$", re.I)
# Pronouns and demonstratives that point back (a closed class of the language): 它, 其, 他, 她们,
# 该计划, 这些措施, 那项任务 (anywhere in the question); it, they, this plan, the two
_CLASSIFIER = "个些项条种类份位次封部名家批样段款届头座只张本篇件台辆架艘棵块把支首间所幅颗枚道场句"
_ZH_POINTER = re.compile(
    rf"(?<!其)[它他她]们?(?![国人乡])|(?<![尤极与])其(?![他它中实余])|(?<!应)该(?=[\u4e00-\u9fff])|这|此[{_CLASSIFIER}]|"
    rf"(?<![那])那(?=[{_CLASSIFIER}边里])|上述|前者|后者|两者")
_EN_POINTER = re.compile(r"\b(?:it|its|they|them|their|this|that|these|those|such|he|she|his|her|him|both|the two)\b",
                         re.I)
# A Chinese question that opens with a modal or auxiliary has dropped its subject ("会和哪些组织合作？")
_ZH_NO_SUBJECT = re.compile(r"^(?:会(?![议谈员晤见上期场长])|还会|能否|能不能|可以|可不可以|要不要|还要|需要|需不需要|应该|应当|打算|准备)")
# Bare why/how: 为什么？ 怎么做？ Why? How?
_BARE = re.compile(r"^(?:为什么|为何|怎么做|怎么办|如何做|如何|怎样|具体怎么做|why|how|how so|why not)[？?]?$", re.I)
_NOUNISH = ("vn", "an", "eng", "j")  # jieba tags that head or join a noun phrase besides n*
_MODIFIERS = ("m", "a", "q", "mq", "b")  # numbers, adjectives, classifiers inside one
_WORDS = re.compile(r"[A-Za-z]+")
_END = "？?。.!！；; "
_EN_NAME = re.compile(r"\b(?:[A-Z][\w'-]*|of|the|and|for|on)(?:\s+(?:[A-Z][\w'-]*|of|the|and|for|on))*")
# An explicit change of topic at the start, set off by punctuation: 换个话题：…, 另一个问题，…, Separate question: …
_ZH_NEW_TOPIC = re.compile(r"^(?:换(?:一)?个(?:话题|问题)|另(?:外)?(?:一)?个(?:话题|问题)|(?:再)?问(?:个|点|一下)?别的(?:问题|事)?|"
                           r"说点别的|题外话|新(?:的)?问题|不相关的问题)(?:吧|啊)?\s*[：:，,。；;！!—-]+\s*")
_EN_NEW_TOPIC = re.compile(r"^(?:(?:a\s+)?(?:separate|different|another|new|unrelated|other)\s+(?:question|topic|subject)|"
                           r"(?:changing|switching|change|switch)\s+(?:the\s+)?(?:topic|subject)s?|"
                           r"on\s+(?:a|an)\s+(?:different|another|unrelated|separate)\s+(?:note|topic|subject)|unrelated(?:ly)?)"
                           r"\b\s*[:;,.!—-]+\s*", re.I)
_ASPECT = re.compile(r"(?:方面|层面)$")  # "经济方面": an aspect of the subject, not a subject
_QUESTION_WORD_END = re.compile(r"(?:哪|什么|多少|几|谁的)$")  # text ending where a question word asks
_EN_QUESTION_WORDS = {"What", "Who", "Which", "When", "Where", "Why", "How", "Does", "Do", "Is", "Are", "Can", "Under",
                      "In", "And", "The", "Of", "For", "On", "A", "An", "According"}


@dataclass(frozen=True)
class Turn:
    """An earlier turn: the question as asked, as understood, and what answered it."""

    question: str
    understood: str = ""  # "" or the question: understood alone
    answer: str = ""  # the answer's span (else its quote); "" when it was "not found"
    cited: tuple[str, ...] = ()  # ids of the passages the answer quoted

    @property
    def meant(self) -> str:
        return self.understood or self.question

    def to_dict(self) -> dict:
        return {"question": self.question, "understood": self.meant, "answer": self.answer, "cited": list(self.cited)}


def turn_of(answer) -> Turn:
    """The history entry for an :class:`rag.records.Answer`."""
    said = "" if answer.abstained else (answer.span.text if answer.span else answer.text)
    return Turn(answer.question, answer.understood, said[:MAX_ANSWER_CHARS],
                () if answer.abstained else tuple(c.id for c in answer.citations)[:MAX_CITED])


def check_history(history: object) -> list[Turn]:
    """The earlier turns, oldest first, at most :data:`MAX_HISTORY`. Each is a question (a
    string) or a mapping with ``question`` and, optionally, ``understood``, ``answer`` (text)
    and ``cited`` (passage ids), as :meth:`Turn.to_dict` writes it.

    Raises:
        QuestionError: ``history`` is not a list (or tuple) of those.
    """
    if history is None:
        return []
    bad = QuestionError("history must be a list of earlier questions (strings, or objects with 'question', "
                        "'understood', 'answer', 'cited') / 对话历史必须是问题文本或问答记录的列表")
    if not isinstance(history, list | tuple):
        raise bad
    out = []
    for h in history[-MAX_HISTORY:]:
        if isinstance(h, str):
            h = {"question": h}
        if not isinstance(h, Mapping) or not isinstance(h.get("question"), str):
            raise bad
        understood, answer, cited = h.get("understood") or "", h.get("answer") or "", h.get("cited") or []
        if (not isinstance(understood, str) or not isinstance(answer, str) or not isinstance(cited, list | tuple)
                or not all(isinstance(c, str) for c in cited)):
            raise bad
        try:
            question = clean_question(h["question"])[0]
        except QuestionError:
            continue  # an empty earlier turn carries no context
        try:
            understood = clean_question(understood)[0] if understood else ""
        except QuestionError:
            understood = ""
        out.append(Turn(question, understood, answer[:MAX_ANSWER_CHARS], tuple(c[:200] for c in cited[:MAX_CITED])))
    return out


def new_topic(question: str) -> bool:
    """Whether the question opens by changing the subject ("换个话题：…", "Separate question: …")
    and nothing after that points back: it is asked as with no history."""
    rest = _after_new_topic(question)
    return bool(rest) and not leans_on_context(rest)


def _after_new_topic(question: str) -> str:
    """What follows an opening "换个话题：" / "Separate question:" ("" without one)."""
    q = question.strip()
    marker = (_ZH_NEW_TOPIC if CJK.search(q) else _EN_NEW_TOPIC).match(q)
    return q[marker.end():].strip() if marker else ""


def leans_on_context(question: str) -> bool:
    """Whether the question cannot stand alone: ellipsis, a pronoun or demonstrative pointing
    back, a bare why/how, a Chinese question opening with a modal (its subject dropped), or a
    very short question."""
    q = question.strip()
    if _BARE.match(q):
        return True
    if CJK.search(q):
        if _ZH_ELLIPSIS.search(q) or _ZH_POINTER.search(q) or _ZH_NO_SUBJECT.match(q):
            return True
        return len(CJK.findall(q)) <= SHORT_CJK
    if _EN_ELLIPSIS.search(q) or _EN_POINTER.search(q):
        return True
    return len(_WORDS.findall(q)) <= SHORT_WORDS


def noun_phrases(text: str) -> list[str]:
    """The noun phrases of ``text`` (none inside another), in order: for Chinese, runs of nouns (with the
    numbers, adjectives and 的 between them) by jieba's tagger; for English, runs of capitalised
    words."""
    if not CJK.search(text):
        found = []
        for m in _EN_NAME.finditer(text):
            words = m.group(0).split()
            while words and (words[0] in _EN_QUESTION_WORDS or words[0].islower()):
                words = words[1:]
            while words and words[-1].islower():
                words = words[:-1]
            if words:
                found.append(" ".join(words))
        return _longest_first(found)
    from rag.text.segment import tagged

    found: list[str] = []
    run: list[str] = []
    pending: list[str] = []  # modifiers waiting for a noun: 三项 核心任务, 北约 的 三大 核心任务

    def flush() -> None:
        if run:
            found.append("".join(run).strip("的"))
            run.clear()

    for word, flag in tagged(text):
        if flag[:1] == "n" or flag in _NOUNISH:
            run.extend([*pending, word])
            pending = []
        elif flag in _MODIFIERS or (word == "的" and run):
            if len(pending) == 2:
                flush()
                pending = pending[1:]
            pending.append(word)
        else:
            flush()
            pending = []
    flush()
    return _longest_first([p for p in found if len(p) >= 2])


def _longest_first(phrases: list[str]) -> list[str]:
    """The phrases not inside a longer one, in their order."""
    kept = set()
    for p in sorted(dict.fromkeys(phrases), key=len, reverse=True):
        if not any(p in q for q in kept):
            kept.add(p)
    return [p for p in dict.fromkeys(phrases) if p in kept]


def swapped(question: str, last: Turn) -> list[str]:
    """For an ellipsis that names its own subject ("那俄罗斯呢？", "And Russia?"): the last
    question with one of its phrases replaced by that subject ("北约如何看待俄罗斯？")."""
    q = question.strip()
    if not (_ZH_ELLIPSIS.search(q) if CJK.search(q) else _EN_ELLIPSIS.search(q)):
        return []
    own = noun_phrases(q.rstrip(_END))
    meant = last.meant
    if not own or len(own[0]) >= len(meant):
        return []
    rest = q.replace(own[0], "")
    if len(CJK.findall(rest)) > SHORT_CJK - 2 or len(_WORDS.findall(rest)) > SHORT_WORDS - 1:
        return []  # more than a fragment around the subject: not "那X呢？"
    title, aspect = f"《{own[0]}》" in q, _ASPECT.search(own[0])
    out = []
    for p in noun_phrases(meant.rstrip(_END)):
        if p.lower() in q.lower() or own[0].lower() in p.lower() or not _swappable(meant, p, title):
            continue
        if not aspect or _ASPECT.search(p):  # a subject for a subject; 经济方面 for 安全方面
            out.append(meant.replace(p, own[0], 1))
        elif slot := re.search(rf"在{re.escape(p)}(?:上|方面|层面)", meant):  # 在边境管制上 -> 在经济方面
            out.append(meant.replace(slot.group(0), f"在{own[0]}", 1))
    return out[:MAX_SWAPS]


def _swappable(text: str, phrase: str, title: bool) -> bool:
    """Whether ``phrase`` (at its first place in ``text``) may be replaced by a subject: not the
    tail of a code it is glued to ("S/2003/85中…"), not what a question word asks for ("哪方面",
    "什么时候"), and a title in 《》 only by another title."""
    at = text.find(phrase)
    if at > 0 and text[at - 1].isascii() and (text[at - 1].isalnum() or text[at - 1] in "/-._"):
        return False
    if _QUESTION_WORD_END.search(text[:at]):
        return False
    return title or text.rfind("《", 0, at + 1) <= text.rfind("》", 0, at + 1)


_EN_TOPIC = " — "  # "How does NATO see climate change — Why?"
_ZH_ASKING = re.compile(rf"^(?:那么|那(?![{_CLASSIFIER}边里])|而|又)|(?:吗|呢)?[？?。！!；;\s]*$")
# What a question asks for, at its end: dropped when it becomes the subject of another ("关于北约的
# 三大核心任务，它们之间是什么关系？", not "关于北约的三大核心任务是什么，…")
_ZH_ASKS_FOR = re.compile(r"(?:分别|具体|主要|都|又)?(?:是什么|是哪些|有哪些|有什么|是谁|是哪个|是哪里|是多少|包括哪些|包括什么)$")


def split_topic(turn: Turn) -> tuple[str, str]:
    """A turn as understood, split into the topic it was read about ("" if none: it stood alone,
    or was read as a whole other question) and the question as asked."""
    u, q = turn.understood, turn.question
    if u and u != q:
        head, tail = ("关于", about(q, "")[2:]) if CJK.search(q) else ("", about(q, ""))  # around the topic
        if u.startswith(head) and u.endswith(tail) and len(u) > len(head) + len(tail):
            return u[len(head):-len(tail)], q
        return "", u
    return "", q


def about(question: str, subject: str) -> str:
    """The question asked about ``subject`` (an earlier question, without its question words):
    "关于北约将如何维护海上安全，具体怎么做？", "How does NATO see climate change — Why?"."""
    if CJK.search(question):
        topic = _asked(subject)
        return f"关于{_ZH_ASKS_FOR.sub('', topic).rstrip('，') or topic}，{_asked(question)}？"
    return f"{_asked(subject)}{_EN_TOPIC}{question.strip()}"


def _asked(question: str) -> str:
    """A question without its question words and marks, and without an opening "换个话题：":
    the form it takes inside another."""
    question = _after_new_topic(question) or question
    if CJK.search(question):
        return _ZH_ASKING.sub("", question).strip() or question
    return question.strip().rstrip(_END)


def subject_of(history: list[Turn]) -> str:
    """What a follow-up to the last turn is about: that turn as understood, its question words
    aside. When the last turn was itself read about an earlier one, the subject is the topic
    it was read about and its own words ("北约如何定性俄罗斯的威胁，北约还愿意和它保持沟通"),
    the topic cut back to where the run of follow-ups began: never a chain of every earlier
    question."""
    topic, own = split_topic(history[-1])
    if not topic:
        return _asked(own)
    sep = "，" if CJK.search(own) else _EN_TOPIC
    if len(history) > 1 and split_topic(history[-2])[0]:
        before = _asked(history[-2].question)
        for nested in (("，" if CJK.search(before) else _EN_TOPIC) + x for x in (before, _ZH_ASKS_FOR.sub("", before))):
            if topic.endswith(nested) and len(topic) > len(nested):
                topic = topic[:-len(nested)]
                break
    return f"{_asked(topic)}{sep}{_asked(own)}"


def about_last(question: str, history: list[Turn]) -> str:
    """The question asked about the last turn: "关于北约将如何维护海上安全，具体怎么做？"."""
    return about(question, subject_of(history))


def readings(question: str, history: list[Turn]) -> list[str]:
    """The question's readings in the conversation, besides the question itself ([] without
    history): about the last turn (:func:`subject_of`), and, for an ellipsis that names its
    own subject ("那俄罗斯呢？"), the last question with that subject swapped in."""
    if not history:
        return []
    out: list[str] = []
    for r in [about_last(question, history), *swapped(question, history[-1])]:
        if r != question and r not in out:
            out.append(r)
    return out


def understood_note(question: str, understood: str) -> str:
    """How a follow-up was understood, in the question's language (the chat and `rag chat` show it)."""
    return f"按上文理解为：{understood}" if CJK.search(question) else f"Understood as: {understood}"
