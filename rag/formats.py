"""Read a user's document file into text blocks (headings and paragraphs).

Only maintained parsers do the format work: pypdf for PDF, python-docx for DOCX,
beautifulsoup4 (stdlib ``html.parser``) for HTML, charset-normalizer as the last
resort for text encodings. This module decides what a paragraph is and drops
what is not content (scripts, navigation, PDF page furniture); it does not number
or cite anything (that is :mod:`rag.paragraphs`).

Paragraph boundaries per format:

* TXT / Markdown: blank lines; a line that opens with a paragraph number, a list
  marker or a chapter/article marker; an indented line (two spaces or an
  ideographic space). A text file without any blank line has one paragraph per
  line (the usual layout of Chinese ``.txt`` files).
* HTML: ``<p>``, ``<li>``, ``<td>``, ``<div>`` and the other block elements.
* DOCX: Word paragraphs and table cells.
* PDF: blank lines, numbered lines, first-line indents, vertical gaps larger than
  the usual line pitch, and a short line that ends a sentence. Lines of one
  paragraph are joined without a space when either side is CJK, hyphenated
  English words are re-joined, otherwise with one space. A paragraph cut by a
  page break continues on the next page unless it ended a sentence. Bare page
  numbers and lines repeated at the top or bottom of most pages are removed.
  Lines in a clearly larger font than the body become headings.
"""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from rag.ingest import CorpusError, clean_inline

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
MAX_BYTES = 50 * 1024 * 1024


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


# CJK ideographs, CJK symbols and punctuation, full-width forms (as rag.ingest).
_CJK = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_CN_NUM = "零〇一二三四五六七八九十百千两"
_UNITS = "亿万千百十元年月日时倍个%％度岁美欧英公千米吨亩户人次名项家"  # "1.5亿" is a number, not a marker
# A line that opens a new paragraph: 1. / 1、 / 1． / 16.2.5 / （一） / (1) / 一、 /
# 第一条 / 第一章 / ① / list bullets.
_PARA_START = re.compile(
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
_SENTENCE_END = re.compile(r"[。！？；!?;：:]\s*[”’」』\"')）]*\s*$")
_PAGE_NUMBER = re.compile(
    r"""\s*(?:
        [-–—－\s]*\d{1,4}[-–—－\s]*
      | 第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?
      | 共\s*\d{1,4}\s*页\s*[,，/]?\s*第\s*\d{1,4}\s*页
      | (?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?
      | \d{1,4}\s*/\s*\d{1,4}
    )\s*""",
    re.VERBOSE | re.IGNORECASE,
)
_JUNK_TITLE = re.compile(
    r"(?:untitled|anonymous|unknown|无标题|document\d*|文档\d*|microsoft\s+word\s*-.*|.*\.(?:docx?|pdf|wps|txt|html?))",
    re.IGNORECASE,
)
_DROP_TAGS = ("script", "style", "nav", "header", "footer", "noscript", "template", "head")
_HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}
_BLOCK_TAGS = frozenset(
    "p li td th div section article main aside blockquote pre dd dt figcaption caption "
    "address ul ol dl table tr tbody thead tfoot form fieldset figure hr body html".split()
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_MD_HEADING = re.compile(r" {0,3}(#{1,6})(?!#)\s*(.*?)(?:\s+#+)?\s*")
_MD_SETEXT = re.compile(r" {0,3}(=+|-+)\s*")
_MD_RULE = re.compile(r" {0,3}(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,})")
_MD_FENCE = re.compile(r" {0,3}(```|~~~)")
_DOCX_HEADING = re.compile(r"(?:heading|标题)\s*([1-9])", re.IGNORECASE)


def read_document_file(path: Path) -> Document:
    """Read a TXT, Markdown, HTML, PDF or DOCX file into blocks.

    Args:
        path: The file; its extension (one of :data:`SUPPORTED`) picks the reader.

    Returns:
        The document's headings and paragraphs in reading order, with its
        metadata title when it has a usable one.

    Raises:
        CorpusError: Naming the file, if the extension is not supported, the file
            cannot be read, is larger than :data:`MAX_BYTES`, is empty, is binary or
            undecodable text, is a corrupt or encrypted PDF, a PDF without a text
            layer, or a corrupt DOCX.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        _fail(path, f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(SUPPORTED)}")
    raw = _read_bytes(path)
    if suffix == ".pdf":
        return _read_pdf(raw, path)
    if suffix == ".docx":
        return _read_docx(raw, path)
    if suffix in (".html", ".htm"):
        return _read_html(raw, path)
    text = decode_text(raw, path)
    blocks = _markdown_blocks(text) if suffix in (".md", ".markdown") else _text_blocks(text)
    return Document(tuple(blocks), None)


def decode_text(raw: bytes, path: Path, declared: str | None = None) -> str:
    """Decode a text file's bytes.

    Tries, in order: a BOM (UTF-8, UTF-16, UTF-32), the declared charset, strict
    UTF-8, strict GB18030 (which covers GBK and GB2312) when the result looks like
    Chinese text, then charset-normalizer's best guess.

    Args:
        raw: The file's bytes.
        path: The file, for error messages.
        declared: A charset the file declares (HTML ``<meta charset>``), if any.

    Returns:
        The text, without a BOM.

    Raises:
        CorpusError: If the bytes look binary or no encoding decodes them.
    """
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if raw.startswith(bom):
            return _checked_text(_decode_or_none(raw, codec), path)
    if b"\x00" in raw:
        _fail(path, "looks binary (NUL bytes), not text")
    candidates = [_normal_codec(declared)] if declared else []
    for codec in (*candidates, "utf-8"):
        text = _decode_or_none(raw, codec)
        if text is not None:
            return _checked_text(text, path)
    text = _decode_or_none(raw, "gb18030")
    if text is not None and _looks_chinese(text):
        return _checked_text(text, path)
    return _checked_text(_detect(raw), path)


def _fail(path: Path, message: str) -> NoReturn:
    raise CorpusError(f"{path}: {message}")


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            _fail(path, f"file is too large ({size / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB)")
        raw = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"{path}: cannot read file: {e.strerror or e}") from e
    if not raw.strip():
        _fail(path, "file is empty")
    return raw


def _decode_or_none(raw: bytes, codec: str) -> str | None:
    try:
        return raw.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _normal_codec(name: str) -> str:
    name = name.lower().strip()
    return "gb18030" if name in ("gb2312", "gbk", "gb_2312-80", "x-gbk", "cp936") else name


def _looks_chinese(text: str) -> bool:
    """True when GB18030-decoded text is mostly ASCII, common CJK and CJK punctuation."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return True
    usual = sum(1 for c in chars if c.isascii() or "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f"
                or "\uff00" <= c <= "\uffef" or c in "“”‘’—…·")
    return usual >= 0.95 * len(chars)


def _detect(raw: bytes) -> str | None:
    from charset_normalizer import from_bytes

    try:
        best = from_bytes(raw).best()
    except Exception:  # the detector is a heuristic: any failure means "unknown"
        return None
    return None if best is None else str(best)


def _checked_text(text: str | None, path: Path) -> str:
    if text is None:
        _fail(path, "binary or undecodable text (not UTF-8, UTF-16 or GB18030)")
    text = text.lstrip("\ufeff")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\v")
    if "\x00" in text or controls > max(2, len(text) // 100):
        _fail(path, "looks binary (control characters), not text")
    if not text.strip():
        _fail(path, "file is empty")
    return text


# --- TXT and Markdown ---------------------------------------------------------------


def _is_indented(line: str) -> bool:
    return line.startswith(("  ", "\t", "\u3000"))


def _text_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    if _hard_wrapped_double_spaced(lines):  # text dumped from a PDF, a blank line after every line
        return _pdf_blocks([_Line(line, 0) for line in lines if line.strip()])
    one_per_line = not _has_blank_separator(lines)
    blocks: list[Block] = []
    current: list[str] = []
    for line in lines:
        starts = one_per_line or _PARA_START.match(line) or _is_indented(line)
        if current and (not line.strip() or starts):
            blocks.append(_paragraph(current))
            current = []
        if line.strip():
            current.append(line)
    if current:
        blocks.append(_paragraph(current))
    return [b for b in blocks if b.text]


def _hard_wrapped_double_spaced(lines: list[str]) -> bool:
    """True for text wrapped at a fixed width with a blank line after (almost) every line."""
    content = [i for i, line in enumerate(lines) if line.strip()]
    if len(content) < 6:
        return False
    blank_after = sum(1 for i in content[:-1] if i + 1 < len(lines) and not lines[i + 1].strip())
    widths = sorted(_display_width(lines[i]) for i in content)
    wrap = widths[int(0.9 * (len(widths) - 1))]
    at_wrap = sum(1 for w in widths if w >= 0.85 * wrap)
    return blank_after >= 0.8 * (len(content) - 1) and wrap >= 40 and at_wrap >= 0.5 * len(widths)


def _has_blank_separator(lines: list[str]) -> bool:
    content = [i for i, line in enumerate(lines) if line.strip()]
    return any(not lines[i].strip() for i in range(content[0], content[-1])) if content else False


def _paragraph(lines: list[str]) -> Block:
    return Block("paragraph", clean_inline("\n".join(lines)))


def _markdown_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    current: list[str] = []
    fence: str | None = None

    def flush() -> None:
        if current:
            blocks.append(_paragraph(current))
            current.clear()

    for line in text.splitlines():
        opener = _MD_FENCE.match(line)
        if fence or opener:
            if opener and (fence is None or opener.group(1) == fence):
                flush()
                fence = None if fence else opener.group(1)
            elif line.strip():
                current.append(line)
            continue
        setext = _MD_SETEXT.fullmatch(line)
        if setext and len(current) == 1:
            blocks.append(Block("heading", clean_inline(current.pop()), 1 if setext.group(1)[0] == "=" else 2))
            continue
        heading = _MD_HEADING.fullmatch(line)
        if not line.strip() or _MD_RULE.fullmatch(line) or heading or _PARA_START.match(line):
            flush()
        if heading and heading.group(2).strip():
            blocks.append(Block("heading", clean_inline(heading.group(2)), len(heading.group(1))))
        elif line.strip() and not _MD_RULE.fullmatch(line) and not heading:
            current.append(line)
    flush()
    return [b for b in blocks if b.text]


# --- HTML -----------------------------------------------------------------------------


def _read_html(raw: bytes, path: Path) -> Document:
    from bs4 import BeautifulSoup, NavigableString, Tag

    declared = _META_CHARSET.search(raw[:8192])
    text = decode_text(raw, path, declared.group(1).decode("ascii") if declared else None)
    try:
        soup = BeautifulSoup(text, "html.parser")
    except Exception as e:  # html.parser is lenient; a failure here means garbage input
        raise CorpusError(f"{path}: cannot parse HTML: {e}") from e
    title = soup.title.get_text() if soup.title else None
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    blocks: list[Block] = []
    inline: list[str] = []

    def flush() -> None:
        joined = clean_inline("".join(inline))
        inline.clear()
        if joined:
            blocks.append(Block("paragraph", joined))

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if type(child) is NavigableString:  # not a comment, CDATA or doctype
                    inline.append(str(child))
            elif not isinstance(child, Tag):
                continue
            elif child.name in _HEADING_TAGS:
                flush()
                heading = clean_inline(child.get_text(" "))
                if heading:
                    blocks.append(Block("heading", heading, _HEADING_TAGS[child.name]))
            elif child.name == "br":
                inline.append("\n")
            elif child.name in _BLOCK_TAGS:
                flush()
                walk(child)
                flush()
            else:
                walk(child)

    walk(soup)
    flush()
    if not blocks:
        _fail(path, "no text found in the HTML page")
    return Document(tuple(blocks), _usable_title(title))


def _usable_title(title: str | None) -> str | None:
    if not isinstance(title, str):
        return None
    title = clean_inline(title)
    if not title or len(title) > 200 or _JUNK_TITLE.fullmatch(title):
        return None
    if not any(c.isalpha() for c in title):
        return None
    return title


# --- DOCX -----------------------------------------------------------------------------


def _read_docx(raw: bytes, path: Path) -> Document:
    import docx

    try:
        document = docx.Document(io.BytesIO(raw))
        blocks = list(_docx_blocks(document))
        title = document.core_properties.title
    except Exception as e:  # python-docx raises zipfile, lxml, KeyError... on broken files
        raise CorpusError(f"{path}: corrupt or unreadable DOCX file ({type(e).__name__}: {e})") from e
    if not blocks:
        _fail(path, "the DOCX file contains no text")
    return Document(tuple(blocks), _usable_title(title))


def _docx_blocks(container) -> Iterator[Block]:
    from docx.table import Table

    for item in container.iter_inner_content():
        if isinstance(item, Table):
            yield from _docx_table(item)
            continue
        text = clean_inline(item.text)
        if not text:
            continue
        level = _docx_heading_level(item.style.name if item.style is not None else "")
        yield Block("heading", text, level) if level else Block("paragraph", text)


def _docx_table(table) -> Iterator[Block]:
    seen = set()  # holds the elements themselves, so lxml keeps one proxy per cell
    for row in table.rows:
        for cell in row.cells:
            if cell._tc in seen:  # a merged cell appears once per grid column it spans
                continue
            seen.add(cell._tc)
            for block in _docx_blocks(cell):
                yield Block("paragraph", block.text)


def _docx_heading_level(style: str | None) -> int:
    style = (style or "").strip()
    if style.lower() in ("title", "标题"):
        return 1
    match = _DOCX_HEADING.fullmatch(style)
    return min(int(match.group(1)), 6) if match else 0


# --- PDF ------------------------------------------------------------------------------


@dataclass
class _Line:
    """One extracted PDF line with its position (None when unknown)."""

    text: str
    page: int
    x: float | None = None
    y: float | None = None
    size: float | None = None


def _read_pdf(raw: bytes, path: Path) -> Document:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            _fail(path, "the PDF is encrypted (password protected); save an unprotected copy")
        pages = [_pdf_page_lines(page, n) for n, page in enumerate(reader.pages)]
        title = (reader.metadata or {}).get("/Title")
    except CorpusError:
        raise
    except Exception as e:  # pypdf raises many types (PdfReadError, KeyError, ...) on broken files
        if "decrypt" in str(e).lower() or "encrypt" in str(e).lower():
            raise CorpusError(f"{path}: the PDF is encrypted and cannot be opened ({e})") from e
        raise CorpusError(f"{path}: corrupt or unreadable PDF ({type(e).__name__}: {e})") from e
    if not any(line.text.strip() for page in pages for line in page):
        _fail(path, "the PDF has no text layer (a scanned image?): OCR is needed before it can be indexed")
    lines = _drop_furniture(pages)
    blocks = _pdf_blocks(lines)
    if not blocks:
        _fail(path, "the PDF contains no text besides page headers and numbers")
    return Document(tuple(blocks), _usable_title(str(title) if title else None))


def _pdf_page_lines(page, number: int) -> list[_Line]:
    """Lines of one page, with the position of each line's first text run."""
    runs: list[tuple[str, float, float, float]] = []

    def visit(text, cm, tm, _font, size) -> None:
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        runs.append((text, x, y, abs(size * tm[3] * cm[3]) or abs(size)))

    text = page.extract_text(visitor_text=visit) or ""
    if "".join(r[0] for r in runs) != text:  # positions do not line up: use the text alone
        return _trim_blank([_Line(t, number) for t in text.splitlines()])
    lines: list[_Line] = []
    open_line: _Line | None = None
    for run_text, x, y, size in runs:
        pieces = run_text.split("\n")
        for i, piece in enumerate(pieces):
            if open_line is None:
                open_line = _Line("", number)
                lines.append(open_line)
            if piece.strip() and open_line.y is None and i == 0:
                open_line.x, open_line.y, open_line.size = x, y, size
            open_line.text += piece
            if i < len(pieces) - 1:
                open_line = None
    return _trim_blank(lines)


def _trim_blank(lines: list[_Line]) -> list[_Line]:
    """Drop blank lines at the start and end of a page (they are not paragraph breaks)."""
    while lines and not lines[-1].text.strip():
        lines.pop()
    while lines and not lines[0].text.strip():
        lines.pop(0)
    return lines


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", "".join(text.split()))


def _edge_indexes(page: list[_Line], depth: int = 3) -> list[int]:
    content = [i for i, line in enumerate(page) if line.text.strip()]
    return sorted(set(content[:depth] + content[-depth:]))


def _drop_furniture(pages: list[list[_Line]]) -> list[_Line | None]:
    """Remove page numbers and running headers/footers; None marks a page break."""
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({_furniture_key(page[i].text) for i in _edge_indexes(page)})
    repeated = {key for key, n in counts.items() if n >= 2 and n > len(pages) / 2}
    kept: list[_Line | None] = []
    for page in pages:
        drop = {
            i for i in _edge_indexes(page)
            if _PAGE_NUMBER.fullmatch(page[i].text) or _furniture_key(page[i].text) in repeated
        }
        if kept:
            kept.append(None)
        kept.extend(line for i, line in enumerate(page) if i not in drop)
    return kept


def _display_width(text: str) -> int:
    return sum(2 if _CJK_CHAR.match(c) else 1 for c in text.strip())


class _PdfLayout:
    """Document-wide measures that tell paragraph breaks and headings apart."""

    def __init__(self, lines: list[_Line]):
        placed = [line for line in lines if line.y is not None and line.text.strip()]
        sizes = Counter(round(line.size or 0, 1) for line in placed for _ in line.text.strip())
        self.body_size = sizes.most_common(1)[0][0] if sizes else 0.0
        widths = sorted(_display_width(line.text) for line in lines if line.text.strip())
        self.full_width = widths[int(0.9 * (len(widths) - 1))] if widths else 0
        margins = Counter(round(line.x or 0) for line in placed)
        self.margin = margins.most_common(1)[0][0] if margins else None
        pitches = [
            a.y - b.y for a, b in zip(placed, placed[1:], strict=False)
            if a.page == b.page and a.y is not None and b.y is not None and 0 < a.y - b.y < 5 * (a.size or 1)
        ]
        self.pitch = statistics.median(pitches) if pitches else None
        big = sorted({round(line.size or 0, 1) for line in placed if self.is_big(line)}, reverse=True)
        self.heading_levels = {size: min(i + 1, 6) for i, size in enumerate(big)}

    def is_big(self, line: _Line) -> bool:
        return bool(line.size and self.body_size and line.size >= 1.25 * self.body_size
                    and len(line.text.strip()) <= 60 and not re.search(r"[。；，]$", line.text.strip()))

    def heading_level(self, line: _Line) -> int:
        return self.heading_levels.get(round(line.size or 0, 1), 0) if self.is_big(line) else 0

    def starts_paragraph(self, prev: _Line, line: _Line) -> bool:
        if _PARA_START.match(line.text):
            return True
        if _display_width(prev.text) < 0.7 * self.full_width:
            return True  # only the last line of a wrapped paragraph (or a heading) is short
        if _SENTENCE_END.search(prev.text) and _display_width(prev.text) < 0.9 * self.full_width:
            return True
        if prev.page != line.page:
            return bool(_SENTENCE_END.search(prev.text)) or self._indented(line)
        if self.pitch and prev.y is not None and line.y is not None and prev.y - line.y > 1.4 * self.pitch:
            return True
        return self._indented(line) and not self._indented(prev) and not _PARA_START.match(prev.text)

    def _indented(self, line: _Line) -> bool:
        if line.text.startswith(("\u3000", "  ")):
            return True
        return bool(self.margin is not None and line.x is not None and line.size
                    and line.x > self.margin + 0.9 * line.size)


def _pdf_blocks(lines: list[_Line | None]) -> list[Block]:
    layout = _PdfLayout([line for line in lines if line is not None])
    blocks: list[Block] = []
    current: list[_Line] = []
    heading: list[_Line] = []

    def flush() -> None:
        if heading:
            level = layout.heading_level(heading[0])
            blocks.append(Block("heading", join_pdf_lines([h.text for h in heading]), level))
            heading.clear()
        if current:
            blocks.append(Block("paragraph", join_pdf_lines([c.text for c in current])))
            current.clear()

    for line in lines:
        if line is None:
            continue  # page break: continuation is decided from the lines around it
        if not line.text.strip():
            flush()
            continue
        level = layout.heading_level(line)
        if level:
            if current or (heading and layout.heading_level(heading[-1]) != level):
                flush()
            heading.append(line)
            continue
        if heading or (current and layout.starts_paragraph(current[-1], line)):
            flush()
        current.append(line)
    flush()
    return [b for b in blocks if b.text]


def join_pdf_lines(lines: list[str]) -> str:
    """Join the lines of one PDF paragraph.

    No space is put between two lines when either side of the break is a CJK
    character or CJK punctuation; an English word hyphenated at the end of a line
    is rejoined (``inter-`` + ``national`` -> ``international``); otherwise the lines
    are joined with one space.

    Args:
        lines: The paragraph's lines in order.

    Returns:
        The paragraph on one line, whitespace normalised.
    """
    text = ""
    for line in (line.strip() for line in lines):
        if not line:
            continue
        if not text:
            text = line
        elif re.search(r"[A-Za-z]-$", text) and line[0].islower():
            text = text[:-1] + line  # inter- / national
        elif re.search(r"\w-$", text) and line[0].isalnum():
            text += line  # 2019- / 2020, COVID- / 19
        elif _CJK_CHAR.match(text[-1]) or _CJK_CHAR.match(line[0]):
            text += line
        else:
            text += " " + line
    return clean_inline(text)
