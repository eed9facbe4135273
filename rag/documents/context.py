"""The text that is embedded for a passage: the passage with its context.

A bullet alone ("设立一支北约反应部队。") loses what it is an item of, and a sub-item loses
its heading, so passages are embedded with their section path and, for bullets, the
paragraph that introduces the list. Likewise in a law (ids: :mod:`rag.documents.law`) a
later paragraph (款, ``DOC-art8.2``) is embedded with its article's first paragraph
(``DOC-art8``), and an item (项, ``DOC-art30.i2``; 目 ``DOC-art30.i2.m1``) with the 款 that
introduces it: the article's first paragraph, or the later 款 the items follow
(出口管制法 第十二条: the items of its third 款 come with that 款). So "（二）……" alone keeps
what it is an item of. Quotes and citations still use the bare text.
"""

from __future__ import annotations

import re

from rag.records import Passage

_BULLET_ID = re.compile(r"-B\d+$")
_ARTICLE_HEAD = re.compile(r"art\d+(?:_\d+)?")  # id token of an article's first 款
_ARTICLE_PART = re.compile(r"(art\d+(?:_\d+)?)\.")  # id token of a later 款 / an item of an article
_ITEM = re.compile(r"\.[im]\d+")  # 项 / 目 inside an article part's token
SECTION_DEPTH = 2
CONTEXT_VERSION = "2"  # part of the corpus hash: bump when embedding_texts changes


def is_bullet(p: Passage) -> bool:
    return bool(_BULLET_ID.search(p.id))


def is_list_item(p: Passage) -> bool:
    """A bullet of a list, or an item (项 / 目) of a law's article: the passages a list intro
    ("……下列情形之一的：") is answered by."""
    return is_bullet(p) or bool(_ITEM.search(_token(p)))


def _token(p: Passage) -> str:
    return p.id[len(p.doc_id) + 1:] if p.id.startswith(f"{p.doc_id}-") else ""


def article_head(p: Passage) -> str | None:
    """The id of the first paragraph of the article that ``p`` (a later 款 or an item) belongs to.

    Returns:
        ``"DOC-art30"`` for ``DOC-art30.2``, ``DOC-art30.i2``, ``DOC-art30.2.i1~2`` ...; None
        for an article's first paragraph and for every passage that is not in an article.
    """
    match = _ARTICLE_PART.match(_token(p))
    return f"{p.doc_id}-{match.group(1)}" if match else None


def embedding_texts(passages: list[Passage]) -> list[str]:
    """For each passage: innermost section headings; the list intro for bullets, the article's
    first paragraph for a law's later 款, the introducing 款 for its items; then the text."""
    out = []
    intro: dict[str, str] = {}  # doc_id -> text of the last non-bullet passage
    article: dict[str, tuple[str, str, str]] = {}  # doc_id -> (head id, head text, text of its last 款)
    for p in passages:
        parts = [" > ".join(p.section[-SECTION_DEPTH:])] if p.section else []
        head, token = article_head(p), _token(p)
        current = article.get(p.doc_id)
        if head is not None and current is not None and current[0] == head:
            if _ITEM.search(token):
                parts.append(current[2])
            else:
                parts.append(current[1])
                if "~" not in token:
                    article[p.doc_id] = (head, current[1], p.text)
        elif is_bullet(p) and p.doc_id in intro:
            parts.append(intro[p.doc_id])
        else:
            intro[p.doc_id] = p.text
            if _ARTICLE_HEAD.fullmatch(token):
                article[p.doc_id] = (p.id, p.text, p.text)
        parts.append(p.text)
        out.append("\n".join(parts))
    return out
