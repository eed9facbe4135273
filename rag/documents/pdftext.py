"""The text layer of a PDF read into headings and paragraphs (the PDF reader of :mod:`rag.documents.formats`).

pypdf extracts each page's text and the position and font size of its text runs; from them
this module builds lines and decides what a paragraph is. Paragraph boundaries: blank lines,
numbered lines, first-line indents, vertical gaps larger than the usual line pitch, and a
short line that ends a sentence. Lines of one paragraph are joined without a space when
either side is CJK, hyphenated English words are re-joined, otherwise with one space. A
paragraph cut by a page break continues on the next page unless it ended a sentence. Bare
page numbers and lines repeated at the top or bottom of most pages are removed. Lines in a
clearly larger font than the body become headings. :mod:`rag.documents.formats` also hands this
module plain text that was dumped from a PDF (hard-wrapped, a blank line after every line),
as lines without positions.
"""

from __future__ import annotations

import io
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rag.documents.blocks import PARA_START, Block, Document, fail, usable_title
from rag.errors import CorpusError
from rag.text.normalize import CJK_CHAR, clean_inline, display_width

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


@dataclass
class Line:
    """One extracted PDF line with its position (None when unknown)."""

    text: str
    page: int
    x: float | None = None
    y: float | None = None
    size: float | None = None


def read_pdf(raw: bytes, path: Path) -> Document:
    """The headings and paragraphs of a PDF's text layer, with its ``/Title`` when usable.

    Raises:
        CorpusError: Naming ``path``, for a corrupt or encrypted PDF, one without a text
            layer, or one with nothing but page headers and numbers.
    """
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            fail(path, "the PDF is encrypted (password protected); save an unprotected copy")
        pages = [_pdf_page_lines(page, n) for n, page in enumerate(reader.pages)]
        title = (reader.metadata or {}).get("/Title")
    except CorpusError:
        raise
    except Exception as e:  # pypdf raises many types (PdfReadError, KeyError, ...) on broken files
        if "decrypt" in str(e).lower() or "encrypt" in str(e).lower():
            raise CorpusError(f"{path}: the PDF is encrypted and cannot be opened ({e})") from e
        raise CorpusError(f"{path}: corrupt or unreadable PDF ({type(e).__name__}: {e})") from e
    if not any(line.text.strip() for page in pages for line in page):
        fail(path, "the PDF has no text layer (a scanned image?): OCR is needed before it can be indexed")
    lines = _drop_furniture(pages)
    blocks = pdf_blocks(lines)
    if not blocks:
        fail(path, "the PDF contains no text besides page headers and numbers")
    return Document(tuple(blocks), usable_title(str(title) if title else None))


def _pdf_page_lines(page, number: int) -> list[Line]:
    """Lines of one page, with the position of each line's first text run."""
    runs: list[tuple[str, float, float, float]] = []

    def visit(text, cm, tm, _font, size) -> None:
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        runs.append((text, x, y, abs(size * tm[3] * cm[3]) or abs(size)))

    text = page.extract_text(visitor_text=visit) or ""
    if "".join(r[0] for r in runs) != text:  # positions do not line up: use the text alone
        return _trim_blank([Line(t, number) for t in text.splitlines()])
    lines: list[Line] = []
    open_line: Line | None = None
    for run_text, x, y, size in runs:
        pieces = run_text.split("\n")
        for i, piece in enumerate(pieces):
            if open_line is None:
                open_line = Line("", number)
                lines.append(open_line)
            if piece.strip() and open_line.y is None and i == 0:
                open_line.x, open_line.y, open_line.size = x, y, size
            open_line.text += piece
            if i < len(pieces) - 1:
                open_line = None
    return _trim_blank(lines)


def _trim_blank(lines: list[Line]) -> list[Line]:
    """Drop blank lines at the start and end of a page (they are not paragraph breaks)."""
    while lines and not lines[-1].text.strip():
        lines.pop()
    while lines and not lines[0].text.strip():
        lines.pop(0)
    return lines


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", "".join(text.split()))


def _edge_indexes(page: list[Line], depth: int = 3) -> list[int]:
    content = [i for i, line in enumerate(page) if line.text.strip()]
    return sorted(set(content[:depth] + content[-depth:]))


def _drop_furniture(pages: list[list[Line]]) -> list[Line | None]:
    """Remove page numbers and running headers/footers; None marks a page break."""
    counts: Counter[str] = Counter()
    for page in pages:
        counts.update({_furniture_key(page[i].text) for i in _edge_indexes(page)})
    repeated = {key for key, n in counts.items() if n >= 2 and n > len(pages) / 2}
    kept: list[Line | None] = []
    for page in pages:
        drop = {
            i for i in _edge_indexes(page)
            if _PAGE_NUMBER.fullmatch(page[i].text) or _furniture_key(page[i].text) in repeated
        }
        if kept:
            kept.append(None)
        kept.extend(line for i, line in enumerate(page) if i not in drop)
    return kept


class _PdfLayout:
    """Document-wide measures that tell paragraph breaks and headings apart."""

    def __init__(self, lines: list[Line]):
        placed = [line for line in lines if line.y is not None and line.text.strip()]
        sizes = Counter(round(line.size or 0, 1) for line in placed for _ in line.text.strip())
        self.body_size = sizes.most_common(1)[0][0] if sizes else 0.0
        widths = sorted(display_width(line.text) for line in lines if line.text.strip())
        self.full_width = widths[int(0.9 * (len(widths) - 1))] if widths else 0
        margins = Counter(round(line.x or 0) for line in placed)
        # The body's left margin: the leftmost position many lines start at (the most common one
        # is the first-line indent when most paragraphs are one or two lines long, as in laws).
        frequent = [x for x, n in margins.items() if n >= 0.1 * len(placed)]
        self.margin = min(frequent) if frequent else None
        pitches = [
            a.y - b.y for a, b in zip(placed, placed[1:], strict=False)
            if a.page == b.page and a.y is not None and b.y is not None and 0 < a.y - b.y < 5 * (a.size or 1)
        ]
        self.pitch = statistics.median(pitches) if pitches else None
        big = sorted({round(line.size or 0, 1) for line in placed if self.is_big(line)}, reverse=True)
        self.heading_levels = {size: min(i + 1, 6) for i, size in enumerate(big)}

    def is_big(self, line: Line) -> bool:
        return bool(line.size and self.body_size and line.size >= 1.25 * self.body_size
                    and len(line.text.strip()) <= 60 and not re.search(r"[。；，]$", line.text.strip()))

    def heading_level(self, line: Line) -> int:
        return self.heading_levels.get(round(line.size or 0, 1), 0) if self.is_big(line) else 0

    def starts_paragraph(self, prev: Line, line: Line) -> bool:
        if PARA_START.match(line.text):
            return True
        if display_width(prev.text) < 0.7 * self.full_width:
            return True  # only the last line of a wrapped paragraph (or a heading) is short
        if _SENTENCE_END.search(prev.text) and display_width(prev.text) < 0.9 * self.full_width:
            return True
        if prev.page != line.page:
            return bool(_SENTENCE_END.search(prev.text)) or self._indented(line)
        if self.pitch and prev.y is not None and line.y is not None and prev.y - line.y > 1.4 * self.pitch:
            return True
        if not self._indented(line):
            return False
        # An indented line opens a paragraph unless it follows the (indented) first line of one;
        # after a line that ends a sentence it does either way: a paragraph whose first line is
        # full and ends with "。" is followed by an indented new one (a law's next 款).
        return bool(_SENTENCE_END.search(prev.text)) or (not self._indented(prev) and not PARA_START.match(prev.text))

    def _indented(self, line: Line) -> bool:
        if line.text.startswith(("\u3000", "  ")):
            return True
        return bool(self.margin is not None and line.x is not None and line.size
                    and line.x > self.margin + 0.9 * line.size)


def pdf_blocks(lines: list[Line | None]) -> list[Block]:
    """Headings and paragraphs from lines in reading order (None marks a page break)."""
    layout = _PdfLayout([line for line in lines if line is not None])
    blocks: list[Block] = []
    current: list[Line] = []
    heading: list[Line] = []

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
        elif CJK_CHAR.match(text[-1]) or CJK_CHAR.match(line[0]):
            text += line
        else:
            text += " " + line
    return clean_inline(text)
