"""Turn the documents listed in ``corpus/catalog.json`` into citable passages.

Each catalog entry names a parser (see :data:`PARSERS`). A parser walks the raw
text line by line, collects the lines of each citable paragraph, and returns
:class:`~rag.records.Passage` objects in document order. Passage text keeps every
content character verbatim; only whitespace is normalised (:func:`clean_inline`),
and paragraph numbers, bullet markers, headings and page furniture are left out of
``text`` (numbers live in the id and label, headings in ``section``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import CorpusError
from rag.records import Passage
from rag.text.normalize import clean_inline

INGEST_VERSION = 1  # part of the corpus hash: bump when parsing changes, so indexes are rebuilt
GENERIC_VERSION = 3  # the same for rag/formats.py + rag/pdftext.py + rag/paragraphs.py (users' own documents)
CATALOG_NAME = "catalog.json"
CATALOG_KEYS = ("doc_id", "file", "title", "short", "source", "date", "parser")

@dataclass
class _Draft:
    """A passage whose lines are still being collected."""

    id: str
    section: tuple[str, ...]
    label: str
    lines: list[str] = field(default_factory=list)


def _to_passages(drafts: list[_Draft], entry: dict) -> list[Passage]:
    passages = []
    for order, draft in enumerate(drafts):
        text = clean_inline("\n".join(draft.lines))
        if not text:
            raise CorpusError(f"passage {draft.id} has no text")
        passages.append(
            Passage(draft.id, entry["doc_id"], entry["title"], draft.section, draft.label, text, order)
        )
    return passages


# --- Strategic Concept: Markdown-like text --------------------------------------------

_MD_HEADING = re.compile(r"(#+)\s*(.*)")
_SC_NUMBERED = re.compile(r"(\d+)\.\s+(.*)")
_LINK_LINE = re.compile(r"\[[^\]]*\]\([^)]*\)|(?:https?://|www\.)\S+")
# `##` marks both top-level sections and the three core tasks; only the latter nest
# under the preceding `#` heading (北约的核心任务, cf. paragraph 4).
_SC_CORE_TASKS = ("威慑和防御", "危机预防和管理", "合作安全")


def parse_strategic_concept(text: str, entry: dict) -> list[Passage]:
    """Parse the NATO 2022 Strategic Concept.

    Numbered paragraphs ``1.``-``49.`` become ``<doc_id>-<n>``; unnumbered paragraphs
    (the foreword, or any intro text under a heading) become ``<doc_id>-P<k>``. A
    chunk after a blank line that does not start with a number continues the open
    numbered paragraph; a heading closes it. The title heading, the subtitle under
    it and link-only lines are not content and are skipped.

    Args:
        text: Raw document text.
        entry: The document's catalog entry.

    Returns:
        The passages in document order.

    Raises:
        CorpusError: If the paragraph numbers are not 1, 2, 3, ...
    """
    doc, short = entry["doc_id"], entry["short"]
    drafts: list[_Draft] = []
    title = None
    top = ""  # latest `#` heading, parent of the core-task headings
    section: tuple[str, ...] = ()
    last = None  # draft the previous non-blank line went to
    numbered_open = None  # numbered paragraph a later chunk may continue
    after_blank = True
    expected = 1
    unnumbered = 0
    per_section: dict[tuple[str, ...], int] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            after_blank = True
            continue
        heading = _MD_HEADING.fullmatch(stripped)
        if heading:
            name = clean_inline(heading.group(2))
            if title is None:
                title = name  # the document title is not a section
            else:
                top = name if len(heading.group(1)) == 1 else top
                section = (top, name) if name in _SC_CORE_TASKS else (name,)
            last = numbered_open = None
        elif not section or _LINK_LINE.fullmatch(stripped):
            pass  # subtitle under the title, or a trailing link line
        elif numbered := _SC_NUMBERED.fullmatch(stripped):
            n = int(numbered.group(1))
            if n != expected:
                raise CorpusError(f"paragraph {n} found where {expected} was expected")
            expected += 1
            last = numbered_open = _Draft(f"{doc}-{n}", section, f"{short}第{n}段", [numbered.group(2)])
            drafts.append(last)
        elif last and not after_blank:
            last.lines.append(stripped)  # stray line break inside a paragraph
        elif numbered_open:
            numbered_open.lines.append(stripped)  # paragraph broken by blank lines
            last = numbered_open
        else:
            unnumbered += 1
            per_section[section] = per_section.get(section, 0) + 1
            label = f"{short}{section[-1]}第{per_section[section]}段"
            last = _Draft(f"{doc}-P{unnumbered}", section, label, [stripped])
            drafts.append(last)
        after_blank = False
    return _to_passages(drafts, entry)


# --- S/2003/85: text extracted from a PDF ----------------------------------------------

_FURNITURE = re.compile(r"S/\d{4}/\d+|\d{1,3}")  # document symbol and page-number lines
_NOTE = re.compile(r"\[原件：[^\]]*\]")  # translation note "[原件：英文]", not content
_LETTER_HEADING = re.compile(r"\d{4}年.*的信")
# Top-level numbers need a dot ("1. "), sub-items may omit the last one ("16.1  ").
_PLAN_NUMBER = re.compile(r"(?=\d+\.)(\d+(?:\.\d+)*)\.?\s+(.*)")
_BULLET = re.compile(r"[•-]\s+(.*)")
_PLAN_HEADING = re.compile(r"(序言|目标|机制|行动计划|报告)(?:\s+(.*))?")
# (id part, label prefix after the short name) of the two letters, in order.
_LETTERS = (("L1", " 秘书长来信 "), ("L2", " 附件（罗伯逊来信）"))


class _S2003Parser:
    """One pass over S/2003/85, fed line by line."""

    def __init__(self, entry: dict):
        self.doc, self.short = entry["doc_id"], entry["short"]
        self.drafts: list[_Draft] = []
        self.annex: tuple[str, ...] = ()  # ("附件",) once the annex has started
        self.section: tuple[str, ...] = ()
        self.plan_section: tuple[str, ...] = ()  # the plan title, parent of its headings
        self.part = ""  # "L1", "L2" or "plan"
        self.prefix = ""  # label prefix of the current part
        self.letters = 0
        self.expect_title = False
        self.current: _Draft | None = None  # passage that continuation lines extend
        self.parent: _Draft | None = None  # latest paragraph, owner of following bullets
        self.paragraphs = self.bullets = self.items = 0
        self.last_number: tuple[int, ...] = ()
        self.numbered: dict[str, _Draft] = {}

    def start(self, draft_id: str, label: str, first_line: str, section: tuple[str, ...] = ()) -> _Draft:
        self.current = _Draft(draft_id, section or self.section, label, [first_line])
        self.drafts.append(self.current)
        return self.current

    def feed(self, line: str) -> None:
        stripped = line.strip()
        if not stripped or _FURNITURE.fullmatch(stripped) or _NOTE.fullmatch(stripped):
            return
        name = clean_inline(stripped)
        if self.part != "plan" and _LETTER_HEADING.fullmatch(name):
            if self.letters == len(_LETTERS):
                raise CorpusError(f"unexpected third letter heading: {name!r}")
            self.part, prefix = _LETTERS[self.letters]
            self.prefix = self.short + prefix
            self.letters += 1
            self.section = self.annex + (name,)
            self.current = self.parent = None
            self.paragraphs = self.bullets = 0
        elif self.part != "plan" and name == "附件":
            self.annex = self.section = ("附件",)
        elif name == "附文":
            self.part, self.prefix = "plan", f"{self.short} 附文 "
            self.section = self.annex + ("附文",)
            self.expect_title = True
            self.current = self.parent = None
        elif self.expect_title:
            self.plan_section = self.section = self.section + (name,)
            self.expect_title = False
        elif self.part == "plan":
            self.plan_line(stripped)
        elif self.part:
            self.letter_line(line, stripped)
        else:
            raise CorpusError(f"text before the first letter heading: {stripped[:30]!r}")

    def letter_line(self, line: str, stripped: str) -> None:
        bullet = _BULLET.fullmatch(stripped)
        if stripped.endswith("（签名）"):
            self.start(f"{self.doc}-{self.part}-S", f"{self.prefix}署名", stripped)
        elif bullet and self.parent:
            self.bullets += 1
            self.items += 1
            label = f"{self.parent.label}第{self.items}项"
            self.start(f"{self.doc}-{self.part}-B{self.bullets}", label, bullet.group(1))
        elif line[:1].isspace() or self.current is None:  # letter paragraphs open indented
            self.paragraphs += 1
            self.items = 0
            label = f"{self.prefix}第{self.paragraphs}段"
            self.parent = self.start(f"{self.doc}-{self.part}-{self.paragraphs}", label, stripped)
        else:
            self.current.lines.append(stripped)

    def plan_line(self, stripped: str) -> None:
        heading = _PLAN_HEADING.fullmatch(stripped)
        if heading and (heading.group(2) is None or _PLAN_NUMBER.fullmatch(heading.group(2))):
            self.section = self.plan_section + (heading.group(1),)
            self.current = self.parent = None
            if heading.group(2) is None:
                return
            stripped = heading.group(2)  # heading glued to its first paragraph
        number = _PLAN_NUMBER.fullmatch(stripped)
        bullet = _BULLET.fullmatch(stripped)
        if number:
            num, rest = number.groups()
            key = tuple(int(x) for x in num.split("."))
            if key <= self.last_number:
                raise CorpusError(f"plan item {num} comes after {'.'.join(map(str, self.last_number))}")
            self.last_number = key
            outer_num = num.rpartition(".")[0]
            outer = self.numbered.get(outer_num)
            section = self.section
            if outer and "." in outer_num:  # sub-items of 16.1 etc. carry its title as context
                section += (f"{outer_num} {clean_inline(' '.join(outer.lines))}",)
            self.parent = self.start(f"{self.doc}-{num}", f"{self.prefix}第{num}段", rest, section)
            self.numbered[num] = self.parent
            self.items = 0
        elif bullet and self.parent:
            self.items += 1
            label = f"{self.parent.label}第{self.items}项"
            self.start(f"{self.parent.id}-B{self.items}", label, bullet.group(1), self.parent.section)
        elif self.current:
            self.current.lines.append(stripped)
        else:
            raise CorpusError(f"plan text outside a numbered paragraph: {stripped[:30]!r}")


def parse_s2003_85(text: str, entry: dict) -> list[Passage]:
    """Parse UN document S/2003/85 (two letters and the annexed action plan).

    Letters: an indented line opens a paragraph (``<doc_id>-L1-1``), ``•`` lines are
    bullets (``<doc_id>-L2-B1``), ``...（签名）`` lines are signatures
    (``<doc_id>-L1-S``). Plan: numbered lines open paragraphs and sub-items
    (``<doc_id>-16.2.5``), ``-``/``•`` lines are bullets of the latest one
    (``<doc_id>-9-B1``). Any other line continues the current passage. Page furniture
    and translation notes are dropped; headings become the section path.

    Args:
        text: Raw document text.
        entry: The document's catalog entry.

    Returns:
        The passages in document order.

    Raises:
        CorpusError: If plan numbers go backwards or text appears outside any passage.
    """
    parser = _S2003Parser(entry)
    for line in text.splitlines():
        parser.feed(line)
    return _to_passages(parser.drafts, entry)


PARSERS: dict[str, Callable[[str, dict], list[Passage]]] = {
    "strategic_concept": parse_strategic_concept,
    "s2003_85": parse_s2003_85,
}
AUTO_PARSER = "auto"  # any supported file format, generic paragraph detection (rag/paragraphs.py)


def load_catalog(corpus_dir: Path, allow_empty: bool = False) -> list[dict]:
    """Read and check ``catalog.json`` in ``corpus_dir``.

    Args:
        corpus_dir: Folder holding the catalog and the documents.
        allow_empty: Accept an empty list (a user library with no documents yet).

    Returns:
        One dict per document with the keys in :data:`CATALOG_KEYS`.

    Raises:
        CorpusError: If the catalog is missing, not valid JSON, or an entry lacks a
            key or repeats a ``doc_id``; the message names the catalog file.
    """
    path = Path(corpus_dir) / CATALOG_NAME
    try:
        catalog = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CorpusError(f"{path}: cannot read catalog: {e.strerror or e}") from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorpusError(f"{path}: not valid JSON: {e}") from e
    if not isinstance(catalog, list) or not (catalog or allow_empty):
        raise CorpusError(f"{path}: expected a non-empty JSON list of documents")
    seen = set()
    for i, entry in enumerate(catalog):
        if not isinstance(entry, dict):
            raise CorpusError(f"{path}: entry {i} is not an object")
        missing = [k for k in CATALOG_KEYS if not isinstance(entry.get(k), str) or not entry[k]]
        if missing:
            raise CorpusError(f"{path}: entry {i} lacks {', '.join(missing)}")
        if entry["doc_id"] in seen:
            raise CorpusError(f"{path}: doc_id {entry['doc_id']!r} appears twice")
        seen.add(entry["doc_id"])
    return catalog


def read_document(path: Path, doc_id: str) -> str:
    """A document's text; CorpusError naming the file when it is missing, empty, binary or not UTF-8."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"{path}: cannot read document {doc_id!r}: {e.strerror or e}") from e
    if not raw.strip():
        raise CorpusError(f"{path}: document {doc_id!r} is empty")
    if b"\x00" in raw:
        raise CorpusError(f"{path}: document {doc_id!r} looks binary (NUL bytes), not text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        hint = ""
        try:
            raw.decode("gb18030")
            hint = " (it decodes as GB18030/GBK: convert it with `iconv -f gb18030 -t utf-8`)"
        except UnicodeDecodeError:
            pass
        raise CorpusError(f"{path}: not UTF-8{hint}: {e}") from e


def load_corpus(corpus_dir: Path, on_problem: Callable[[str], None] | None = None) -> list[Passage]:
    """Parse every catalog document into passages.

    Args:
        corpus_dir: Folder holding ``catalog.json`` and the documents it lists.
        on_problem: When given, a document that cannot be read or parsed is reported
            through it and skipped, and the rest of the corpus is still returned; when
            None, the first such problem raises.

    Returns:
        All passages, catalog order then document order; ``order`` is the 0-based
        position inside the passage's own document.

    Raises:
        CorpusError: If the catalog cannot be read, no document yields passages, two
            passages share an id, or (without ``on_problem``) any document fails; the
            message names the file.
    """
    corpus_dir = Path(corpus_dir)
    passages: list[Passage] = []
    for entry in load_catalog(corpus_dir):
        try:
            passages.extend(parse_entry(corpus_dir, entry))
        except CorpusError as e:
            if on_problem is None:
                raise
            on_problem(f"skipped: {e}")
    if not passages:
        raise CorpusError(f"{corpus_dir}: no document could be indexed")
    ids = [p.id for p in passages]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CorpusError(f"{corpus_dir}: duplicate passage ids {duplicates}")
    return passages


def parse_entry(corpus_dir: Path, entry: dict) -> list[Passage]:
    """The passages of one catalog document (``corpus_dir / entry["file"]``).

    Raises:
        CorpusError: naming the file, when it cannot be read or yields no paragraph.
    """
    path = Path(corpus_dir) / entry["file"]
    if entry["parser"] == AUTO_PARSER:  # a user's file: format by extension, generic paragraphs
        from rag.documents.paragraphs import parse_file

        return parse_file(path, entry)
    parser = PARSERS.get(entry["parser"])
    if parser is None:
        raise CorpusError(
            f"{Path(corpus_dir) / CATALOG_NAME}: document {entry['doc_id']!r} names unknown "
            f"parser {entry['parser']!r} (known: {', '.join((*PARSERS, AUTO_PARSER))})"
        )
    text = read_document(path, entry["doc_id"])
    try:
        found = parser(text, entry)
    except CorpusError as e:
        raise CorpusError(f"{path}: {e}") from e
    if not found:
        raise CorpusError(f"{path}: no recognisable paragraphs in document {entry['doc_id']!r}")
    return found
