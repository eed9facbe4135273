"""Turn a :class:`~rag.documents.formats.Document` into citable :class:`~rag.records.Passage` records.

Headings (and heading-like lines such as ``第一章 总则`` or a short ``一、总体要求``
followed by its content) form ``section``, the heading chain in force; they are not
passages. Every other block is one passage, except that a block which clearly
continues the previous one (the previous one does not end a sentence and this one
starts with a lower-case letter or with ``，、；：）`` ...) is joined to it.

Numbering markers are taken out of ``text`` and put in the id and the label
(``<short>`` is ``entry["short"]``, e.g. ``《标题》``):

================  =====================  =======================
marker            id token               label
================  =====================  =======================
``12.`` ``12、``  ``12``                 ``<short>第12段``
``16.2.5``        ``16.2.5``             ``<short>第16.2.5段``
``第三条``        ``art3``               ``<short>第三条``
``二、``          ``s2``                 ``<short>第二部分``
``（三）``        ``i3``                 ``<short>（三）``
``（4）`` ``4）`` ``n4``                 ``<short>（4）``
(none)            ``P<k>``               ``<short><heading>第<m>段``
================  =====================  =======================

The id is ``<doc_id>-<token>`` (``MYDOC-12``, ``MYDOC-art3``, ``MYDOC-P5``, where ``k``
counts unnumbered paragraphs from 1 in document order and ``m`` counts them inside
their heading). When a token repeats inside the document (items restart under
every ``一、`` part, paragraphs restart in every chapter), every paragraph numbered
in that style is qualified, deterministically:

1. by the numbered parents in force: ``MYDOC-s2.i3`` (``二、`` > ``（三）``),
   label ``<short>第二部分（三）``;
2. if still ambiguous, also by the chapter or heading in force: ``MYDOC-c2.1`` for
   paragraph 1 of ``第二章`` (label ``<short>第二章第1段``), or ``c<k>`` with ``k`` the
   heading's position among the document's headings (label with the heading text);
3. if still ambiguous, later occurrences get ``_2``, ``_3``, ... (``MYDOC-c2.1_2``).

Which parent a marker nests under is learned from the order in which the styles
first appear (the usual Chinese order is ``第一章`` > ``一、`` > ``（一）`` > ``1.`` >
``（1）``, but any order works); a heading closes all open numbered parents.

Paragraphs longer than :data:`LONG_PARAGRAPH` characters are split at sentence ends
(``。！？；!?;``) into parts of at most about :data:`PART_SIZE` characters: the first
part keeps the id, the next ones get ``~2``, ``~3`` ... (``MYDOC-12~2``), and each
label ends with ``（k/n）``.

Laws (documents of ``第X条`` articles) are numbered by article, 款 and 项 instead
(``MYDOC-art8``, ``MYDOC-art8.2``, ``MYDOC-art30.i2``); their chapter headings are
normalised (``第一章 总则``) and their adoption lines are not passages: see
:mod:`rag.documents.law`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rag.documents.blocks import Block, Document
from rag.documents.formats import read_document_file
from rag.documents.law import Numbered, chapter_heading, is_law, law_blocks, law_numbers
from rag.errors import CorpusError
from rag.records import Passage
from rag.text.normalize import clean_inline

LONG_PARAGRAPH = 1200
PART_SIZE = 800

_CN = "零〇一二三四五六七八九十百千两"
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_UNITS = "亿万千百十元年月日时倍个度岁美欧英公米吨亩户人次名项家"  # "1.5亿" is an amount, not a marker
_NUM = rf"[{_CN}]{{1,6}}|\d{{1,4}}"
_CHAPTER = re.compile(rf"第\s*({_NUM})\s*(编|部分|章|节)\s*(.*)")
_CHAPTER_RANK = {"编": 7, "部分": 7, "章": 8, "节": 9}
_MARKERS = (
    ("art", re.compile(rf"第\s*({_NUM})\s*条\s*(.*)")),
    ("multi", re.compile(r"(\d{1,3}(?:\.\d{1,3}){2,})[.．、]?\s*(.*)")),
    ("multi", re.compile(rf"(\d{{1,3}}\.\d{{1,3}})(?:[.．、]\s*|\s+|(?=[\u4e00-\u9fff])(?![{_UNITS}]))(.*)")),
    ("num", re.compile(r"(\d{1,3})(?:[.．](?!\d)|、)\s*(.*)")),
    ("part", re.compile(rf"([{_CN}]{{1,4}})、\s*(.*)")),
    ("item", re.compile(rf"[（(]([{_CN}]{{1,4}})[)）]\s*(.*)")),
    ("sub", re.compile(r"[（(](\d{1,3})[)）]\s*(.*)")),
    ("sub", re.compile(r"(\d{1,3})[)）]\s*(.*)")),
    ("sub", re.compile(r"([\u2460-\u2473])\s*(.*)")),
)
_ENUM_HEADING_RANK = {"part": 10, "item": 11}
_HEADING_PUNCT = re.compile(r"[。；！？，：;!?,:]")
_SENTENCE_END = re.compile(r"[。！？；.!?;…]\s*[”’」』\"')）]*$")
_CONTINUES = re.compile(r"[a-z，、。；：）》」』,.;:)]")
_IDEOGRAPH = re.compile(r"[\u4e00-\u9fff]")
_SPLIT_AFTER = re.compile(r"(?<=[。！？；!?;])")


@dataclass(frozen=True)
class _Marker:
    """A numbering marker found at the start of a paragraph."""

    kind: str
    token: str
    label: str
    rest: str


@dataclass
class _Draft:
    """A paragraph on its way to becoming a passage."""

    text: str
    section: tuple[str, ...]
    marker: _Marker | None = None
    parents: tuple[_Marker, ...] = ()
    context: tuple[str, str] | None = None  # (id token, label) of the chapter/heading in force
    keys: list[str] = field(default_factory=list)
    heading: int = 0  # headings before it
    law: tuple[str, str] | None = None  # (id token, label) inside a law's article


def chinese_number(text: str) -> int:
    """Convert a paragraph number written in Arabic or Chinese numerals to an int.

    Args:
        text: ``"12"``, ``"十二"``, ``"二十三"``, ``"一百零五"``, ``"两千"`` ...

    Returns:
        The number.

    Raises:
        ValueError: If ``text`` contains anything but digits or Chinese numerals.
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    total = current = 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
        else:
            raise ValueError(f"not a number: {text!r}")
    return total + current


def find_marker(text: str) -> _Marker | None:
    """Find the numbering marker at the start of a paragraph.

    Args:
        text: The paragraph's text, whitespace normalised.

    Returns:
        The marker (kind, id token, label, text after the marker), or None when
        the paragraph is not numbered.
    """
    for kind, pattern in _MARKERS:
        match = pattern.fullmatch(text)
        if not match:
            continue
        raw, rest = match.group(1), match.group(2)
        if kind == "multi":
            n = 0
        elif kind == "sub" and not raw.isdigit():
            n = _circled(raw)
        else:
            n = chinese_number(raw)
        return _Marker(kind, _token(kind, raw, n), _label(kind, raw, n), rest.strip())
    return None


def _circled(ch: str) -> int:
    return ord(ch) - 0x2460 + 1


def _token(kind: str, raw: str, n: int) -> str:
    prefix = {"art": "art", "part": "s", "item": "i", "sub": "n"}.get(kind, "")
    return raw if kind == "multi" else f"{prefix}{n}"


def _label(kind: str, raw: str, n: int) -> str:
    if kind == "art":
        return f"第{raw}条"
    if kind == "part":
        return f"第{raw}部分"
    if kind == "item":
        return f"（{raw}）"
    if kind == "sub":
        return f"（{n}）"
    return f"第{raw if kind == 'multi' else n}段"


def derive_title(doc: Document, path: Path) -> str:
    """A display title for a document.

    Args:
        doc: The document as read by :func:`rag.documents.formats.read_document_file`.
        path: Its file (the stem is the last resort).

    Returns:
        The metadata title, else the first heading, else the first short line
        (at most 40 characters, not ending a sentence), else the file stem.
    """
    if doc.title:
        return doc.title
    for block in doc.blocks:
        if block.kind == "heading" and block.text:
            return block.text
    for block in doc.blocks[:5]:
        if len(block.text) <= 40 and not _SENTENCE_END.search(block.text) and not find_marker(block.text):
            return block.text
    return Path(path).stem


def parse_file(path: Path, entry: dict) -> list[Passage]:
    """Read a file and turn it into passages.

    Args:
        path: A file of one of the types in :data:`rag.documents.formats.SUPPORTED`.
        entry: Catalog entry with ``doc_id``, ``title`` and ``short``.

    Returns:
        The passages in document order.

    Raises:
        CorpusError: If the file cannot be read or has no recognisable paragraphs;
            the message names the file.
    """
    doc = read_document_file(Path(path))
    return parse_document(doc, {**entry, "file": str(path)})


def parse_document(doc: Document, entry: dict) -> list[Passage]:
    """Turn a document's blocks into citable passages (ids and labels: see the module docstring).

    Args:
        doc: The document as read by :func:`rag.documents.formats.read_document_file`.
        entry: Catalog entry with ``doc_id``, ``title`` and ``short`` (``file``, when
            present, names the document in error messages).

    Returns:
        The passages in document order, ``order`` counting from 0.

    Raises:
        CorpusError: If the document has no paragraphs.
    """
    blocks = _content_blocks(doc, entry)
    statute = is_law(blocks)
    drafts = _drafts(law_blocks(blocks) if statute else blocks, statute)
    if statute:
        numbers = law_numbers([Numbered(d.marker.kind if d.marker else None, d.marker.token if d.marker else "",
                                        d.marker.label if d.marker else "", d.heading) for d in drafts])
        for draft, number in zip(drafts, numbers, strict=True):
            draft.law = number
    if not drafts:
        name = entry.get("file") or entry["doc_id"]
        raise CorpusError(f"{name}: no recognisable paragraphs in document {entry['doc_id']!r}")
    ids = _assign_ids(drafts, entry)
    return _passages(drafts, ids, entry)


def _content_blocks(doc: Document, entry: dict) -> list[Block]:
    """The blocks without a leading document title (it is not a section)."""
    blocks = [b for b in doc.blocks if b.text]
    if not blocks:
        return []
    first = blocks[0]
    titles = {clean_inline(entry.get("title") or ""), clean_inline(doc.title or "")} - {""}
    if first.text in titles:
        return blocks[1:]
    if first.kind == "heading" and sum(b.kind == "heading" and b.level <= first.level for b in blocks) == 1:
        return blocks[1:]
    return blocks


class _Walker:
    """One pass over the blocks: sections, numbered parents, continuations."""

    def __init__(self) -> None:
        self.sections: list[tuple[int, str]] = []  # (rank, heading text)
        self.parents: list[_Marker] = []
        self.context: tuple[str, str] | None = None
        self.headings = 0
        self.drafts: list[_Draft] = []
        self.pending: _Marker | None = None  # a marker alone on its line
        self.joinable = False  # the last draft may be continued by the next block

    @property
    def section(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.sections)

    def heading(self, rank: int, text: str, context: tuple[str, str] | None = None,
                marker: _Marker | None = None) -> None:
        while self.sections and self.sections[-1][0] >= rank:
            self.sections.pop()
        self.sections.append((rank, text))
        self.headings += 1
        self.context = context or (f"c{self.headings}", text)
        if marker is None:
            self.parents.clear()
        else:
            self.nest(marker)  # 一、总体要求 stays the numbered parent of its items
        self.pending = None
        self.joinable = False

    def nest(self, marker: _Marker) -> tuple[_Marker, ...]:
        """Open ``marker`` as the innermost numbered parent; return its parents."""
        kinds = [m.kind for m in self.parents]
        if marker.kind == "multi":
            self.parents.clear()
        elif marker.kind in kinds:
            del self.parents[kinds.index(marker.kind):]
        parents = tuple(self.parents)
        self.parents.append(marker)
        return parents

    def paragraph(self, text: str, marker: _Marker | None) -> None:
        last = self.drafts[-1] if self.drafts else None
        if marker is None and self.pending is not None:
            marker, self.pending = self.pending, None
            marker = _Marker(marker.kind, marker.token, marker.label, text)
        if marker is None and last and self.joinable and _continues(last.text, text):
            last.text = clean_inline(last.text + "\n" + text)
            return
        if marker is not None and not marker.rest:
            self.nest(marker)
            self.pending = marker
            return
        parents = self.nest(marker) if marker else ()
        body = marker.rest if marker else text
        self.drafts.append(_Draft(body, self.section, marker, parents, self.context, heading=self.headings))
        self.joinable = True


def _continues(previous: str, text: str) -> bool:
    """True when ``text`` clearly goes on with the sentence ``previous`` left open."""
    if _SENTENCE_END.search(previous):
        return False
    if _CONTINUES.match(text):
        return True
    # A long paragraph cut between two ideographs (a stray blank line or page break).
    return len(previous) >= 40 and bool(_IDEOGRAPH.match(previous[-1]) and _IDEOGRAPH.match(text))


def _drafts(blocks: list[Block], statute: bool = False) -> list[_Draft]:
    """Drafts and sections; in a law (``statute``) 编/章/节 nest by kind and no ``（一）`` is a heading."""
    walker = _Walker()
    for i, block in enumerate(blocks):
        text = clean_inline(block.text)
        chapter = _CHAPTER.fullmatch(text)
        if block.kind == "heading" or (chapter and len(text) <= 40 and not _HEADING_PUNCT.search(text)):
            rank = _CHAPTER_RANK[chapter.group(2)] if chapter and block.kind != "heading" else block.level
            if statute:  # 编 > 章 > 节 by kind; any other heading (序言, 附件) ranks with the chapters
                rank, text = chapter_heading(text) or (_CHAPTER_RANK["章"], text)
            walker.heading(rank, text, _chapter_context(chapter) if chapter else None)
            continue
        marker = find_marker(text)
        if marker and not statute and _is_enum_heading(marker, text, blocks[i + 1:i + 2]):
            walker.heading(_ENUM_HEADING_RANK[marker.kind], text, walker.context, marker)
            continue
        walker.paragraph(text, marker)
    return walker.drafts


def _chapter_context(chapter: re.Match) -> tuple[str, str] | None:
    if chapter.group(2) != "章":
        return None
    raw = chapter.group(1)
    return f"c{chinese_number(raw)}", f"第{raw}章"


def _is_enum_heading(marker: _Marker, text: str, following: list[Block]) -> bool:
    """A short ``一、总体要求`` / ``（一）工作目标`` line with its own content below it."""
    if marker.kind not in _ENUM_HEADING_RANK or len(text) > 30 or _HEADING_PUNCT.search(text):
        return False
    if not marker.rest or not following or following[0].kind == "heading":
        return False
    after = find_marker(clean_inline(following[0].text))
    return after is None or after.kind != marker.kind


def _assign_ids(drafts: list[_Draft], entry: dict) -> list[str]:
    for draft in drafts:
        if draft.marker is None or draft.law is not None:
            continue
        path = ".".join(m.token for m in (*draft.parents, draft.marker))
        context = f"{draft.context[0]}.{path}" if draft.context else path
        draft.keys = [draft.marker.token, path, context]
    levels = _levels_by_kind([d for d in drafts if d.law is None])
    ids: list[str] = []
    used = {f"{entry['doc_id']}-{d.law[0]}" for d in drafts if d.law is not None}
    unnumbered = 0
    for draft in drafts:
        if draft.law is not None:
            ids.append(f"{entry['doc_id']}-{draft.law[0]}")
            continue
        if draft.marker is not None:
            token = draft.keys[levels[draft.marker.kind]]
        else:
            unnumbered += 1
            token = f"P{unnumbered}"
        candidate, n = f"{entry['doc_id']}-{token}", 1
        while candidate in used:
            n += 1
            candidate = f"{entry['doc_id']}-{token}_{n}"
        used.add(candidate)
        ids.append(candidate)
    return ids


def _levels_by_kind(drafts: list[_Draft]) -> dict[str, int]:
    """For each marker kind, the first key level at which its tokens are all distinct."""
    levels = {}
    for kind in {d.marker.kind for d in drafts if d.marker is not None}:
        keys = [d.keys for d in drafts if d.marker is not None and d.marker.kind == kind]
        levels[kind] = next((lv for lv in range(3) if len({k[lv] for k in keys}) == len(keys)), 2)
    return levels


def _passage_label(draft: _Draft, pid: str, entry: dict, per_section: Counter) -> str:
    short = entry["short"]
    if draft.law is not None:
        return short + draft.law[1]
    if draft.marker is None:
        per_section[draft.section] += 1
        heading = draft.section[-1] if draft.section else ""
        return f"{short}{heading}第{per_section[draft.section]}段"
    token = pid.removeprefix(f"{entry['doc_id']}-").split("_")[0]
    if token == draft.keys[0]:
        return short + draft.marker.label
    parts = [m.label for m in (*draft.parents, draft.marker)]
    if token == draft.keys[2] and draft.context:
        parts.insert(0, draft.context[1])
    return short + "".join(parts)


def _passages(drafts: list[_Draft], ids: list[str], entry: dict) -> list[Passage]:
    passages: list[Passage] = []
    per_section: Counter = Counter()
    for draft, pid in zip(drafts, ids, strict=True):
        label = _passage_label(draft, pid, entry, per_section)
        parts = split_long(draft.text)
        for k, part in enumerate(parts, 1):
            part_id = pid if k == 1 else f"{pid}~{k}"
            part_label = label if len(parts) == 1 else f"{label}（{k}/{len(parts)}）"
            passages.append(Passage(part_id, entry["doc_id"], entry["title"], draft.section, part_label, part,
                                    len(passages)))
    return passages


def split_long(text: str, limit: int = LONG_PARAGRAPH, size: int = PART_SIZE) -> list[str]:
    """Split a paragraph longer than ``limit`` characters at sentence ends.

    Args:
        text: The paragraph text.
        limit: Paragraphs up to this length are returned whole.
        size: Target maximum part length; a single longer sentence is cut at
            ``size`` characters.

    Returns:
        The parts, in order; joined they give back ``text`` (modulo the spaces
        between parts).
    """
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for sentence in (s for s in _SPLIT_AFTER.split(text) if s):
        while len(sentence) > size:
            if current:
                parts.append(current)
                current = ""
            parts.append(sentence[:size])
            sentence = sentence[size:]
        if current and len(current) + len(sentence) > size:
            parts.append(current)
            current = ""
        current += sentence
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]
