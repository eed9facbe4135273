"""Cleaning and checking a question before anything searches with it."""

from __future__ import annotations

import re
import unicodedata

from rag.errors import QuestionError

MAX_QUESTION_CHARS = 1000
MODES = ("hybrid", "dense", "lexical")
MAX_TOP_K = 50
_SPACES = re.compile(r"\s+")


def clean_question(question: object) -> tuple[str, list[str]]:
    """Return the question ready for search and any notes for the user.

    Drops control characters and lone surrogates, collapses whitespace and truncates
    long input to ``MAX_QUESTION_CHARS``. Raises QuestionError when nothing is left.
    """
    if not isinstance(question, str):
        raise QuestionError("问题必须是文本 / the question must be text")
    notes: list[str] = []
    text = question.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> '?'
    text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cs"))
    text = _SPACES.sub(" ", text).strip()
    if not text or not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        raise QuestionError("请输入一个问题 / please enter a question")
    if len(text) > MAX_QUESTION_CHARS:
        notes.append(
            f"问题过长，只使用了前{MAX_QUESTION_CHARS}个字符 / question truncated to {MAX_QUESTION_CHARS} characters"
        )
        text = text[:MAX_QUESTION_CHARS]
    return text, notes


def check_options(top_k: object, mode: object) -> tuple[int, str]:
    """Validate ``top_k`` and ``mode``; raises QuestionError with the allowed values."""
    if mode not in MODES:
        raise QuestionError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise QuestionError(f"top_k must be an integer from 1 to {MAX_TOP_K}, got {top_k!r}")
    return top_k, mode
