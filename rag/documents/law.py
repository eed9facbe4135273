"""Chinese laws and regulations: articles (条) with their paragraphs (款) and items (项).

A document is a *law* when its paragraphs open with ``第X条`` article markers (:func:`is_law`:
an article ``第一条``, or at least two articles). In a law, :mod:`rag.documents.paragraphs`
numbers the passages inside articles by article (:func:`law_numbers`), one passage per 款 and
per 项 (``<short>`` is ``entry["short"]``, e.g. ``《出口管制法》``):

=====================================  ================  ====================================
passage                                id token          label
=====================================  ================  ====================================
first 款 of article 8                  ``art8``          ``<short>第八条``
second, third ... 款 of article 8      ``art8.2``        ``<short>第八条第二款``
item （二） of article 30              ``art30.i2``      ``<short>第三十条第（二）项``
item, when an article repeats an       ``art30.2.i1``    ``<short>第三十条第二款第（一）项``
item number (items under two 款)
sub-item ``1.`` / ``（1）`` (目)       ``art30.i2.m1``   ``<short>第三十条第（二）项第1目``
=====================================  ================  ====================================

Labels cite as Chinese law does: when an article has more than one 款, every label names the
款, also the first one's (``第八条第一款``) and an item's (``第十二条第三款第（二）项``, id
``art12.i2``); the ids stay short.

Every unnumbered paragraph after an article's first paragraph, also one after its items, is
the article's next 款, until the next article or heading: text inside an article is never an
unnumbered ``P<k>`` paragraph. Items are numbered by the article alone (``art30.i2`` even
under its second 款); only when an item number repeats inside one article are all that
article's items qualified by their 款 (``art30.1.i1``, ``art30.2.i1``). An article number
that repeats in the document (two laws in one file) gets ``_2``, ``_3`` ... on the article
token, and its 款 and items follow it (``art1_2``, ``art1_2.2``). Text before the first
article (a preamble, 序言) and after a paragraph numbered in another style (``一、``,
``16.2.5``) keeps the generic scheme of :mod:`rag.documents.paragraphs`.

Chapter and section headings (``第一章 总  则``, ``第一节 一般规定``) form the section path,
written ``第一章 总则`` (one space after the number, none inside the name), and nest
编 > 章 > 节 whatever heading level or font size the file gives them, so every format
yields the same path.

The adoption / revision lines under the title (``2021年6月10日 第十三届全国人民代表大会常务委员会
第二十九次会议通过``, ``（1997年3月14日…通过 2020年12月26日…修订）``) date the law; they
are not passages (:func:`law_blocks` drops them, and a title line just above them) and
:func:`issued` returns them for the catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.documents.blocks import Block, Document
from rag.text.normalize import clean_inline

_CN = "零〇一二三四五六七八九十百千两"
_NUM = rf"[{_CN}]{{1,6}}|\d{{1,4}}"
_ARTICLE = re.compile(rf"\s*第\s*(?:{_NUM})\s*条")
_FIRST_ARTICLE = re.compile(r"\s*第\s*(?:一|1)\s*条")
_CHAPTER = re.compile(rf"第\s*({_NUM})\s*(编|部分|章|节)\s*(.*)")
CHAPTER_RANK = {"编": 7, "部分": 7, "章": 8, "节": 9}
_DATE = r"\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?"
_ADOPTION = re.compile(
    rf"[（(]?\s*(?:根据\s*)?{_DATE}.{{0,400}}?(?:通过|修订|修正|公布|批准|发布|施行)\s*[)）]?", re.DOTALL)
_NEXT_EVENT = re.compile(r"(?<=通过|修订|修正|公布|批准|发布|施行)(?=根据|\d{4}\s*年)")
_TITLE_PUNCT = re.compile(r"[。；！？，：;!?,:]")
_DIGITS = re.compile(r"\d+")


def is_law(blocks: list[Block] | tuple[Block, ...]) -> bool:
    """True when the document is made of ``第X条`` articles (a ``第一条`` or at least two)."""
    articles = [b.text for b in blocks if b.kind == "paragraph" and _ARTICLE.match(b.text)]
    return len(articles) >= 2 or any(_FIRST_ARTICLE.match(t) for t in articles)


def chapter_heading(text: str) -> tuple[int, str] | None:
    """The nesting rank and normalised text of a ``第一章 总  则`` heading, else None.

    Args:
        text: A heading or short line, whitespace normalised.

    Returns:
        ``(rank, "第一章 总则")`` (编 7, 章 8, 节 9) or None when ``text`` is not a
        编 / 章 / 节 heading.
    """
    match = _CHAPTER.fullmatch(clean_inline(text))
    if not match:
        return None
    raw, unit, name = match.groups()
    name = clean_inline(name)
    return CHAPTER_RANK[unit], f"第{raw}{unit} {name}" if name else f"第{raw}{unit}"


def _front(blocks: list[Block]) -> list[Block]:
    """The blocks before the first article or chapter heading."""
    for i, block in enumerate(blocks):
        if _ARTICLE.match(block.text) or (len(block.text) <= 40 and chapter_heading(block.text)):
            return blocks[:i]
    return blocks


def _is_adoption(text: str) -> bool:
    return bool(_ADOPTION.fullmatch(text.strip()))


def _unbracket(text: str) -> str:
    """The line without outer brackets, one space between its events (``…通过 2020年…修订``)."""
    text = clean_inline(text)
    if text[:1] in "（(" and text[-1:] in "）)":
        text = text[1:-1].strip()
    return _NEXT_EVENT.sub(" ", text)


def law_blocks(blocks: list[Block]) -> list[Block]:
    """A law's blocks without its adoption lines and the title line just above them.

    Args:
        blocks: The document's content blocks (the title heading already left out).

    Returns:
        The blocks that hold passages and headings.
    """
    front = _front(blocks)
    drop = {i for i, b in enumerate(front) if _is_adoption(b.text)}
    if drop and min(drop) == 1 and _looks_like_title(front[0].text):
        drop.add(0)
    return [b for i, b in enumerate(blocks) if i not in drop]


def _looks_like_title(text: str) -> bool:
    return len(text) <= 60 and not _TITLE_PUNCT.search(text) and not _ARTICLE.match(text)


def issued(doc: Document) -> str | None:
    """The adoption / revision line(s) under a law's title, for the catalog's ``issued`` key.

    Args:
        doc: The document as read by :func:`rag.documents.formats.read_document_file`.

    Returns:
        The line as written, outer brackets removed, whitespace normalised as in passages
        (:func:`~rag.text.normalize.clean_inline`) but with one space between two events
        (``…通过 2020年12月26日…修订``); several lines are joined with a space. None when the
        document is not a law or has no such line.
    """
    blocks = [b for b in doc.blocks if b.text]
    if not is_law(blocks):
        return None
    lines = [_unbracket(b.text) for b in _front(blocks) if _is_adoption(b.text)]
    return " ".join(lines) or None


def chinese_numeral(n: int) -> str:
    """``2`` -> ``二``, ``12`` -> ``十二``, ``105`` -> ``一百零五`` (for 款 numbers and labels)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        tail = "" if not rest else ("零" + digits[rest] if rest < 10 else
                                    (digits[rest // 10] + "十" + (digits[rest % 10] if rest % 10 else "")))
        return digits[n // 100] + "百" + tail
    return str(n)


@dataclass(frozen=True)
class Numbered:
    """What law numbering needs to know about one paragraph.

    Attributes:
        kind: Its numbering marker's kind (``"art"``, ``"item"``, ``"num"``, ``"sub"``,
            ``"multi"``, ``"part"``), None when it is not numbered.
        token: The marker's id token (``"art8"``, ``"i2"``, ``"3"``, ``"n3"``), else ``""``.
        label: The marker's label (``"第八条"``, ``"（二）"``), else ``""``.
        heading: How many headings came before the paragraph (a heading closes an article).
    """

    kind: str | None
    token: str
    label: str
    heading: int


@dataclass
class _Member:
    index: int
    role: str  # "head", "kuan", "item" or "sub"
    kuan: int
    number: int = 0
    label: str = ""
    item: _Member | None = None  # the item a sub-item belongs to
    token: str = ""
    text: str = ""


@dataclass
class _Article:
    token: str
    label: str
    heading: int
    members: list[_Member] = field(default_factory=list)
    kuan: int = 1
    item: _Member | None = None


def law_numbers(paragraphs: list[Numbered]) -> list[tuple[str, str] | None]:
    """Id tokens and labels of the paragraphs inside articles (see the module docstring).

    Args:
        paragraphs: The document's paragraphs in order.

    Returns:
        For each paragraph, ``(id token, label)`` with the label lacking the document's
        short name (``("art8.2", "第八条第二款")``), or None for a paragraph outside every
        article (numbered by the generic scheme).
    """
    articles: list[_Article] = []
    current: _Article | None = None
    seen: dict[str, int] = {}
    for i, p in enumerate(paragraphs):
        if p.kind == "art":
            seen[p.token] = seen.get(p.token, 0) + 1
            token = p.token if seen[p.token] == 1 else f"{p.token}_{seen[p.token]}"
            current = _Article(token, p.label, p.heading)
            current.members.append(_Member(i, "head", 1))
            articles.append(current)
        elif current is None or p.heading != current.heading or p.kind in ("multi", "part"):
            current = None
        elif p.kind is None:
            current.kuan += 1
            current.item = None
            current.members.append(_Member(i, "kuan", current.kuan))
        elif p.kind == "item":
            current.item = _Member(i, "item", current.kuan, _number(p.token), p.label)
            current.members.append(current.item)
        else:  # "num" / "sub": a 目 of the current item
            current.members.append(_Member(i, "sub", current.kuan, _number(p.token), item=current.item))
    out: list[tuple[str, str] | None] = [None] * len(paragraphs)
    used: dict[str, int] = {}
    for article in articles:
        for member in article.members:
            token, label = _name(article, member)
            used[token] = used.get(token, 0) + 1
            out[member.index] = (token if used[token] == 1 else f"{token}_{used[token]}", label)
    return out


def _number(token: str) -> int:
    match = _DIGITS.search(token)
    return int(match.group()) if match else 0


def _name(article: _Article, m: _Member) -> tuple[str, str]:
    """The id token and label of one member of an article (items before their 目)."""
    if m.role == "head":
        m.token, m.text = article.token, article.label + ("第一款" if article.kuan > 1 else "")
    elif m.role == "kuan":
        m.token, m.text = f"{article.token}.{m.kuan}", f"{article.label}第{chinese_numeral(m.kuan)}款"
    elif m.role == "item":
        numbers = [x.number for x in article.members if x.role == "item"]
        qualified = len(set(numbers)) < len(numbers)
        m.token = f"{article.token}.{m.kuan}.i{m.number}" if qualified else f"{article.token}.i{m.number}"
        kuan = f"第{chinese_numeral(m.kuan)}款" if article.kuan > 1 else ""
        m.text = f"{article.label}{kuan}第{m.label}项"
    else:
        parent_token, parent_label = (m.item.token, m.item.text) if m.item else (article.token, article.label)
        m.token, m.text = f"{parent_token}.m{m.number}", f"{parent_label}第{m.number}目"
    return m.token, m.text
