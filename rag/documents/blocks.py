"""What a file reader returns: a document as headings and paragraphs (``Block``s), and the
rules the readers share (where a paragraph starts, which titles can name a document)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from rag.errors import CorpusError
from rag.text.normalize import _CJK, clean_inline


@dataclass(frozen=True)
class Block:
    """One heading or paragraph of a document, in reading order.

    Attributes:
        kind: ``"heading"`` or ``"paragraph"``.
        text: The block's text on one line (lines joined, whitespace normalised).
        level: Heading level 1..6 (0 for paragraphs).
    """

    kind: str
    text: str
    level: int = 0


@dataclass(frozen=True)
class Document:
    """A document read from a file.

    Attributes:
        blocks: Headings and paragraphs in reading order.
        title: Title from the file's metadata (PDF ``/Title``, DOCX core properties,
            HTML ``<title>``) when present and not a placeholder, else None.
    """

    blocks: tuple[Block, ...]
    title: str | None


_CN_NUM = "零〇一二三四五六七八九十百千两"
_UNITS = "亿万千百十元年月日时倍个%％度岁美欧英公千米吨亩户人次名项家"  # "1.5亿" is a number, not a marker
# A line that opens a new paragraph: 1. / 1、 / 1． / 16.2.5 / （一） / (1) / 一、 /
# 第一条 / 第一章 / ① / list bullets.
PARA_START = re.compile(
    rf"""\s*(?:
        \d{{1,3}}(?:[.．](?!\d)|、|[)）])
      | \d{{1,3}}(?:\.\d{{1,3}})+[.．、]?(?=\s|[{_CJK}])(?![{_UNITS}])
      | [（(](?:[{_CN_NUM}]{{1,4}}|\d{{1,3}})[)）]
      | [{_CN_NUM}]{{1,4}}、
      | 第[{_CN_NUM}\d]{{1,6}}[编章节条]
      | [\u2460-\u2473]
      | [-*+•·●▪]\s
    )""",
    re.VERBOSE,
)
_JUNK_TITLE = re.compile(
    r"(?:untitled|anonymous|unknown|无标题|document\d*|文档\d*|microsoft\s+word\s*-.*|.*\.(?:docx?|pdf|wps|txt|html?))",
    re.IGNORECASE,
)
def fail(path: Path, message: str) -> NoReturn:
    """Raise a :class:`CorpusError` that names the file."""
    raise CorpusError(f"{path}: {message}")


def usable_title(title: str | None) -> str | None:
    """The title, whitespace normalised, if it can name a document (at most 200 characters, with a
    letter, not a placeholder like "Untitled" or a file name), else None."""
    if not isinstance(title, str):
        return None
    title = clean_inline(title)
    if not title or len(title) > 200 or _JUNK_TITLE.fullmatch(title):
        return None
    if not any(c.isalpha() for c in title):
        return None
    return title
