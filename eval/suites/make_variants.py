"""Make the PDF and Word copies of two suite laws, so the suite exercises those readers too.

    .venv/bin/python eval/suites/make_variants.py

Reads the Markdown laws in eval/suites/laws/docs/ and writes
  eval/suites/laws-pdf/docs/national-defense-law-2020.pdf   (reportlab, wrapped CJK text,
      first-line indents, larger headings, a running header and page numbers)
  eval/suites/laws-docx/docs/export-control-law-2020.docx   (python-docx, Word heading styles)
The outputs are committed; re-running gives the same text (reportlab and python-docx from the
dev extras). Nothing here is used at run time.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAWS = HERE / "laws" / "docs"
COMMENT = re.compile(r"<!--.*?-->", re.S)


def blocks(md: Path) -> list[tuple[str, str]]:
    """(kind, text) of the Markdown law: 'title', 'h2', 'h3' or 'p' (comments dropped)."""
    out = []
    for line in COMMENT.sub("", md.read_text(encoding="utf-8")).splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("### "):
            out.append(("h3", line[4:].strip()))
        elif line.startswith("## "):
            out.append(("h2", line[3:].strip()))
        elif line.startswith("# "):
            out.append(("title", line[2:].strip()))
        else:
            out.append(("p", line))
    return out


def write_pdf(md: Path, target: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # built-in CID font: no font file needed
    font = "STSong-Light"
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, firstLineIndent=21,
                          wordWrap="CJK", spaceAfter=2)
    styles = {"title": ParagraphStyle("title", fontName=font, fontSize=18, leading=26, alignment=1, spaceAfter=10),
              "h2": ParagraphStyle("h2", fontName=font, fontSize=14, leading=22, alignment=1, spaceBefore=8,
                                   spaceAfter=6),
              "h3": ParagraphStyle("h3", fontName=font, fontSize=12.5, leading=20, alignment=1, spaceAfter=4),
              "p": body}
    title = next(t for k, t in blocks(md) if k == "title")

    def furniture(canvas, doc):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(72, A4[1] - 40, title)
        canvas.drawCentredString(A4[0] / 2, 30, f"- {doc.page} -")
        canvas.restoreState()

    story = []
    for kind, text in blocks(md):
        story.append(Paragraph(text, styles[kind]))
        if kind == "title":
            story.append(Spacer(1, 6))
    target.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(str(target), pagesize=A4, title=title, author="", subject="", creator="",
                            invariant=1, leftMargin=72, rightMargin=72, topMargin=64, bottomMargin=56)
    doc.build(story, onFirstPage=furniture, onLaterPages=furniture)


def write_docx(md: Path, target: Path) -> None:
    import docx

    d = docx.Document()
    for kind, text in blocks(md):
        if kind == "title":
            d.add_heading(text, level=0)
            d.core_properties.title = text
        elif kind in ("h2", "h3"):
            d.add_heading(text, level=int(kind[1]) - 1)
        else:
            d.add_paragraph(text)
    target.parent.mkdir(parents=True, exist_ok=True)
    d.save(str(target))


def main() -> int:
    write_pdf(LAWS / "national-defense-law-2020.md", HERE / "laws-pdf" / "docs" / "national-defense-law-2020.pdf")
    write_docx(LAWS / "export-control-law-2020.md", HERE / "laws-docx" / "docs" / "export-control-law-2020.docx")
    print("wrote laws-pdf/docs/national-defense-law-2020.pdf and laws-docx/docs/export-control-law-2020.docx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
