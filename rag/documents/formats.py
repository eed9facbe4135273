"""Read a user's document file into text blocks (headings and paragraphs).

Only maintained parsers do the format work: pypdf for PDF, python-docx for DOCX,
beautifulsoup4 (stdlib ``html.parser``) for HTML, charset-normalizer as the last
resort for text encodings. This module (and :mod:`rag.documents.pdftext` for PDF) decides
what a paragraph is and drops what is not content (scripts, navigation, PDF page
furniture); it does not number or cite anything (that is :mod:`rag.documents.paragraphs`).

Paragraph boundaries per format:

* TXT / Markdown: blank lines; a line that opens with a paragraph number, a list
  marker or a chapter/article marker; an indented line (two spaces or an
  ideographic space). A text file without any blank line has one paragraph per
  line (the usual layout of Chinese ``.txt`` files). In Markdown, YAML front matter
  (``---`` ... ``---`` at the top), HTML comments (``<!-- ... -->``, also over several
  lines) and lines that hold nothing but links or images are not text; a line that
  was only a comment or links ends a paragraph.
* HTML: ``<p>``, ``<li>``, ``<td>``, ``<div>`` and the other block elements
  (comments are not text).
* DOCX: Word paragraphs and table cells.
* PDF: the text layer's lines, by layout (:mod:`rag.documents.pdftext`): blank lines,
  numbered lines, first-line indents, vertical gaps, a short line that ends a
  sentence; page numbers and running headers and footers are removed, lines in a
  larger font become headings.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

from rag.documents.blocks import PARA_START, Block, Document, fail, usable_title  # noqa: F401 - re-exported
from rag.errors import CorpusError
from rag.text.normalize import CJK_CHAR, clean_inline, display_width  # noqa: F401

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
MAX_BYTES = 50 * 1024 * 1024


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
_MD_LINK = r"""!?\[(?:[^\[\]]|\[[^\]]*\]\([^)]*\))*\]\([^)]*\)|<(?:https?|ftp|mailto):[^>\s]*>|(?:https?://|www\.)\S+"""
_MD_LINKS_ONLY = re.compile(rf"\s*(?:[-*+]\s+)?(?:(?:{_MD_LINK})\s*)+")
_MD_LINK_DEFINITION = re.compile(r" {0,3}\[[^\]]+\]:\s*\S+.*")
_YAML_LINE = re.compile(r"\s|#|-\s|-$|[^\s:][^:]*:(?:\s|$)")
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
        fail(path, f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(SUPPORTED)}")
    raw = _read_bytes(path)
    if suffix == ".pdf":
        from rag.documents.pdftext import read_pdf  # imported here: rag.documents.pdftext imports this module

        return read_pdf(raw, path)
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
        fail(path, "looks binary (NUL bytes), not text")
    candidates = [_normal_codec(declared)] if declared else []
    for codec in (*candidates, "utf-8"):
        text = _decode_or_none(raw, codec)
        if text is not None:
            return _checked_text(text, path)
    text = _decode_or_none(raw, "gb18030")
    if text is not None and _looks_chinese(text):
        return _checked_text(text, path)
    return _checked_text(_detect(raw), path)


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            fail(path, f"file is too large ({size / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB)")
        raw = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"{path}: cannot read file: {e.strerror or e}") from e
    if not raw.strip():
        fail(path, "file is empty")
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
        fail(path, "binary or undecodable text (not UTF-8, UTF-16 or GB18030)")
    text = text.lstrip("\ufeff")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\v")
    if "\x00" in text or controls > max(2, len(text) // 100):
        fail(path, "looks binary (control characters), not text")
    if not text.strip():
        fail(path, "file is empty")
    return text


# --- TXT and Markdown ---------------------------------------------------------------


def _is_indented(line: str) -> bool:
    return line.startswith(("  ", "\t", "\u3000"))


def _text_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    if _hard_wrapped_double_spaced(lines):  # text dumped from a PDF, a blank line after every line
        from rag.documents.pdftext import Line, pdf_blocks

        return pdf_blocks([Line(line, 0) for line in lines if line.strip()])
    one_per_line = not _has_blank_separator(lines)
    blocks: list[Block] = []
    current: list[str] = []
    for line in lines:
        starts = one_per_line or PARA_START.match(line) or _is_indented(line)
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
    widths = sorted(display_width(lines[i]) for i in content)
    wrap = widths[int(0.9 * (len(widths) - 1))]
    at_wrap = sum(1 for w in widths if w >= 0.85 * wrap)
    return blank_after >= 0.8 * (len(content) - 1) and wrap >= 40 and at_wrap >= 0.5 * len(widths)


def _has_blank_separator(lines: list[str]) -> bool:
    content = [i for i, line in enumerate(lines) if line.strip()]
    return any(not lines[i].strip() for i in range(content[0], content[-1])) if content else False


def _paragraph(lines: list[str]) -> Block:
    return Block("paragraph", clean_inline("\n".join(lines)))


def _front_matter_end(lines: list[str]) -> int:
    """The index of the first line after YAML front matter at the top (0 when there is none)."""
    if not lines or lines[0].rstrip() != "---":
        return 0
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            return i + 1 if all(_YAML_LINE.match(line) for line in lines[1:i] if line.strip()) else 0
    return 0


def _strip_comments(line: str, in_comment: bool) -> tuple[str, bool]:
    """``line`` without its HTML comments; ``in_comment``: a comment is open at its start / end."""
    kept, pos = [], 0
    while True:
        if in_comment:
            end = line.find("-->", pos)
            if end < 0:
                return "".join(kept), True
            pos, in_comment = end + 3, False
        start = line.find("<!--", pos)
        if start < 0:
            kept.append(line[pos:])
            return "".join(kept), False
        kept.append(line[pos:start])
        pos, in_comment = start + 4, True


def _markdown_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    current: list[str] = []
    fence: str | None = None
    in_comment = False

    def flush() -> None:
        if current:
            blocks.append(_paragraph(current))
            current.clear()

    lines = text.splitlines()
    for line in lines[_front_matter_end(lines):]:
        if fence is None and (in_comment or "<!--" in line):
            line, in_comment = _strip_comments(line, in_comment)
            if not line.strip():
                flush()  # a comment line ends a paragraph, like a blank line
                continue
        if fence is None and (_MD_LINKS_ONLY.fullmatch(line) or _MD_LINK_DEFINITION.fullmatch(line)):
            flush()
            continue
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
        if not line.strip() or _MD_RULE.fullmatch(line) or heading or PARA_START.match(line):
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
        fail(path, "no text found in the HTML page")
    return Document(tuple(blocks), usable_title(title))


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
        fail(path, "the DOCX file contains no text")
    return Document(tuple(blocks), usable_title(title))


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
