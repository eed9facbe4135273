"""Whitespace and script rules every stage shares: CJK character classes, squashing
whitespace for comparisons, and the passage whitespace rule."""

from __future__ import annotations

import re

# CJK ideographs, CJK symbols and punctuation (、。《》) and full-width forms (，：（）).
_CJK = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_SPACE_NEAR_CJK = re.compile(rf"\s+(?=[{_CJK}])|(?<=[{_CJK}])\s+")


def squash(text: str) -> str:
    """Remove all whitespace, to compare texts regardless of line breaks and spaces.

    Args:
        text: Any text.

    Returns:
        ``text`` without any whitespace character.
    """
    return "".join(text.split())


def clean_inline(text: str) -> str:
    """Apply the passage whitespace rule to one paragraph's text.

    Lines are joined; whitespace next to a CJK character or CJK punctuation is
    dropped (PDF artifacts such as ``2004年 10月``); other whitespace runs become one
    space, so spaces between Latin words survive.

    Args:
        text: Paragraph text, possibly spread over several lines.

    Returns:
        The paragraph on one line, stripped.
    """
    return " ".join(_SPACE_NEAR_CJK.sub("", text).split())

CJK_CHAR = re.compile(f"[{_CJK}]")  # a CJK character or CJK/full-width punctuation
CJK = re.compile(r"[\u3400-\u9fff]")  # a CJK ideograph: Chinese text
LATIN = re.compile(r"[A-Za-z]{2}")  # an English word (two Latin letters)


def display_width(text: str) -> int:
    """Width of a line without its outer whitespace, a CJK character counting as two."""
    return sum(2 if CJK_CHAR.match(c) else 1 for c in text.strip())
