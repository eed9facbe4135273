"""HTML for the web app: answers with their sources, questions, hints and errors.

Pure functions from library objects to HTML strings; every string that came from a document
or a user is escaped, and no newline is emitted, so the chatbot's Markdown renderer treats a
reply as one raw HTML block. The class names are styled by ``ui/style.py``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rag.followup import understood_note

if TYPE_CHECKING:
    from rag import Answer, Passage

SNIPPET_CHARS = 70
CLOSEST_SHOWN = 3

_CITE_MARK = re.compile(r"\[(\d{1,3})\]")
_SPACES = re.compile(r"\s+")
_NEWLINES = re.compile(r"\r\n?|\n")


def esc(value: object) -> str:
    """HTML-escape anything that came from a document or a user (line breaks become ``<br>``).

    No raw newline survives, so a reply stays one raw HTML block for the chatbot's Markdown
    renderer (a blank line would end the block).
    """
    return _NEWLINES.sub("<br>", html.escape(str(value), quote=True))


def _bolded(text: str, lo: int, hi: int, bold: tuple[int, int] | None) -> str:
    """Escaped ``text[lo:hi]`` with ``<strong>`` around the part inside ``bold`` (escaped piece by piece)."""
    if bold is not None:
        a, b = max(bold[0], lo), min(bold[1], hi)
        if a < b:
            return f"{esc(text[lo:a])}<strong>{esc(text[a:b])}</strong>{esc(text[b:hi])}"
    return esc(text[lo:hi])


def highlight(text: str, spans: Iterable[Sequence[int]], bold: tuple[int, int] | None = None) -> str:
    """Escaped ``text`` with ``<mark>`` around each (start, end) span (overlaps merged), and
    ``<strong>`` around the characters of ``bold`` (the answer span), if given."""
    out: list[str] = []
    pos = 0
    for start, end in sorted((int(s), int(e)) for s, e in spans):
        start, end = max(start, pos, 0), min(end, len(text))
        if end <= start:
            continue
        out.append(_bolded(text, pos, start, bold))
        out.append(f"<mark>{_bolded(text, start, end, bold)}</mark>")
        pos = end
    out.append(_bolded(text, pos, len(text), bold))
    return "".join(out)


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def section_path(p: Passage) -> str:
    return " › ".join((p.doc_title, *p.section))


def answer_text_html(text: str, bold: tuple[int, int] | None = None) -> str:
    """Escaped answer text with the ``[n]`` markers styled, and ``<strong>`` around
    ``text[bold[0]:bold[1]]`` (the answer span, see :meth:`rag.Answer.span_in_text`), if given."""
    if bold is None:
        return _CITE_MARK.sub(r'<span class="rag-cite">[\1]</span>', esc(text))
    a, b = bold
    return f"{answer_text_html(text[:a])}<strong>{answer_text_html(text[a:b])}</strong>{answer_text_html(text[b:])}"


def _notes_html(notes: Iterable[str]) -> str:
    return "".join(f'<div class="rag-note">{esc(n)}</div>' for n in notes)


def _score_html(score: float | None) -> str:
    return "" if score is None else f'<span class="rag-score">得分 {score:.3f}</span>'


def _source_html(num: int | None, label: str, pid: str, path: str, snip: str, body: str,
                 score: float | None) -> str:
    num_html = f'<span class="rag-num">[{num}]</span>' if num is not None else ""
    return (
        '<details class="rag-src"><summary>'
        f'{num_html}<span class="rag-label">{esc(label)}</span>'
        f'<span class="rag-id">{esc(pid)}</span>{_score_html(score)}'
        f'<span class="rag-snippet">{esc(snip)}</span>'
        '</summary>'
        f'<div class="rag-path">{esc(path)}</div>'
        f'<div class="rag-para">{body}</div>'
        '</details>'
    )


def _hits_table_html(answer: Answer) -> str:
    rows = "".join(
        f'<li><span class="rag-id">{esc(h.passage.id)}</span> {esc(h.passage.label)} '
        f'{_score_html(h.score)}</li>'
        for h in answer.hits
    )
    return (f'<details class="rag-hits"><summary>检索结果（{len(answer.hits)} 段，{esc(answer.mode)}）</summary>'
            f'<ol>{rows}</ol></details>')


def render_answer(answer: Answer, show_scores: bool = False, notes: Iterable[str] | None = None) -> str:
    """The HTML of one assistant reply: answer with [n] markers and its sources, or a not-found note.

    Every string from the documents or the question is escaped; no newline is emitted, so a
    Markdown renderer treats the whole reply as one raw HTML block.
    """
    by_id = {h.passage.id: h for h in answer.hits}
    parts = [_notes_html(answer.notes if notes is None else notes)]
    if answer.used_context:
        parts.append(f'<div class="rag-understood">{esc(understood_note(answer.question, answer.understood))}</div>')
    if answer.abstained:
        parts.append(f'<div class="rag-notfound">{esc(answer.text)}</div>')
        closest = answer.hits[:CLOSEST_SHOWN]
        if closest:
            parts.append('<div class="rag-sources-title">最接近的段落（仅供参考）</div>')
            for h in closest:
                p = h.passage
                parts.append(_source_html(None, p.label, p.id, section_path(p), snippet(p.text), esc(p.text),
                                          h.score if show_scores else None))
        cls = "rag-reply rag-abstained"
    else:
        where = answer.span_in_text()  # None: no span to show, render as without one
        span = answer.span if where else None
        parts.append(f'<div class="rag-text">{answer_text_html(answer.text, where)}</div>')
        parts.append('<div class="rag-sources-title">出处</div>')
        for n, c in enumerate(answer.citations, start=1):
            hit = by_id.get(c.id)
            path = section_path(hit.passage) if hit else ""
            quoted = "".join(c.text[s:e] for s, e in c.spans) or c.text
            score = hit.score if (hit and show_scores) else None
            bold = (span.start, span.end) if span and span.passage_id == c.id else None
            parts.append(_source_html(n, c.label, c.id, path, snippet(quoted), highlight(c.text, c.spans, bold), score))
        cls = "rag-reply"
    if show_scores and answer.hits:
        parts.append(_hits_table_html(answer))
    return f'<div class="{cls}">{"".join(parts)}</div>'


def render_question(text: str) -> str:
    return f'<div class="rag-q">{esc(_SPACES.sub(" ", text).strip())}</div>'


def render_hint(message: str) -> str:
    return f'<div class="rag-reply rag-hint">{esc(message)}</div>'


def render_error(message: str) -> str:
    return f'<div class="rag-reply rag-error">{esc(message)}</div>'
