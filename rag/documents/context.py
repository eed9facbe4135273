"""The text that is embedded for a passage: the passage with its context.

A bullet alone ("设立一支北约反应部队。") loses what it is an item of, and a sub-item loses
its heading, so passages are embedded with their section path and, for bullets, the
paragraph that introduces the list. Quotes and citations still use the bare text.
"""

from __future__ import annotations

import re

from rag.records import Passage

_BULLET_ID = re.compile(r"-B\d+$")
SECTION_DEPTH = 2
CONTEXT_VERSION = "1"  # part of the corpus hash: bump when embedding_texts changes


def is_bullet(p: Passage) -> bool:
    return bool(_BULLET_ID.search(p.id))


def embedding_texts(passages: list[Passage]) -> list[str]:
    """For each passage: innermost section headings, the list intro for bullets, then the text."""
    out = []
    intro: dict[str, str] = {}  # doc_id -> text of the last non-bullet passage
    for p in passages:
        parts = [" > ".join(p.section[-SECTION_DEPTH:])] if p.section else []
        if is_bullet(p) and p.doc_id in intro:
            parts.append(intro[p.doc_id])
        else:
            intro[p.doc_id] = p.text
        parts.append(p.text)
        out.append("\n".join(parts))
    return out
