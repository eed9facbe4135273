"""Splitting passage text into quotable sentences."""

from __future__ import annotations

from dataclasses import dataclass

from rag.paths import PACKAGE_DATA
from rag.records import Passage

SENTENCE_SPLIT_VERSION = "2"
BACKGROUND = PACKAGE_DATA / "background.txt"  # everyday sentences an off-topic question is closer to
ENDERS = "。！？；!?;"
OPENERS = {"《": "》", "“": "”", "「": "」", "『": "』", "‘": "’", "（": "）", "(": ")", "〈": "〉", "【": "】"}
CLOSERS = set(OPENERS.values()) | {'"', "'"}


def split_sentences(text: str, protect: bool = True) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``.

    Splits after 。！？； (and ASCII !?;), never inside 《》, quotes or brackets, and keeps
    closing quotes/brackets that follow the end mark with the sentence. Leading and
    trailing whitespace of each sentence is excluded from its span.
    """
    spans: list[tuple[int, int]] = []
    stack: list[str] = []
    start = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if protect and ch in OPENERS:
            stack.append(OPENERS[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack and i > 0 and text[i - 1] in ENDERS:  # “……。” ends the sentence
                spans.append((start, i + 1))
                start = i + 1
        elif ch in ENDERS and not stack:
            end = i + 1
            while end < n and (text[end] in ENDERS or text[end] in CLOSERS):
                end += 1
            spans.append((start, end))
            start = i = end
            continue
        i += 1
    if stack:  # unbalanced quotes or brackets: protecting them would swallow the rest
        return split_sentences(text, protect=False)
    if start < n:
        spans.append((start, n))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out


@dataclass(frozen=True)
class Sentence:
    """A sentence of a passage: ``passage.text[start:end] == text``."""

    passage_index: int
    start: int
    end: int
    text: str


def split_passages(passages: list[Passage]) -> list[Sentence]:
    """Every sentence of every passage, in corpus order."""
    return [
        Sentence(i, a, b, p.text[a:b])
        for i, p in enumerate(passages)
        for a, b in split_sentences(p.text)
    ]


def background_sentences() -> list[str]:
    """The off-topic sentences a question is contrasted with (rag/data/background.txt)."""
    lines = BACKGROUND.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
