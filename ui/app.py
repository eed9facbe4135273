"""Web app for the policy-document assistant (Gradio): chat with cited answers, passage lookup.

Start it with ``rag serve`` (http://127.0.0.1:7860, loopback only; ``--host``/``--port`` change
that; the app has no login, so only bind to other interfaces on a trusted network).

HTTP API (the same server; needs only ``pip install gradio_client``)::

    from gradio_client import Client

    client = Client("http://127.0.0.1:7860/")
    answer = client.predict("北约的三大核心任务是什么？", 5, "hybrid", api_name="/ask")
    print(answer["text"])                  # quoted sentences with [1] [2] markers
    for n, c in enumerate(answer["citations"], start=1):
        print(f"[{n}]", c["id"], c["label"])
    if answer["abstained"]:                # nothing found: answer["hits"] are the closest passages
        print([h["id"] for h in answer["hits"][:3]])

    passage = client.predict("SC2022-21", 1, api_name="/lookup")
    print(passage["passage"]["text"], [p["id"] for p in passage["neighbours"]])

``/ask`` takes ``question`` (str; input beyond 2000 characters is cut off and the library
uses at most its first 1000, with a note in ``notes``), ``top_k`` (int 1-50, default 5) and
``mode`` (``"hybrid"``, ``"dense"`` or ``"lexical"``; default ``"hybrid"``). It returns
``Answer.to_dict()``: ``question``, ``text``, ``abstained``, ``mode``, ``notes``, ``signals``,
``citations`` (``id``, ``label``, ``text``, ``spans``) and ``hits`` (``score`` plus the passage
fields ``id``, ``doc_id``, ``doc_title``, ``section``, ``label``, ``text``, ``order``).
``/lookup`` takes ``passage_id`` and ``context`` (neighbours each side, 0-5) and returns
``{"passage": {...}, "neighbours": [{...}, ...]}``. An empty question, a bad option or an
unknown id raises ``gradio_client.exceptions.AppError`` with a readable message. When more
than ``QUEUE_MAX_SIZE`` (64) requests are already waiting, new ones are refused at once:
the client raises ``gradio_client.utils.QueueError("Queue is full! Please try again.")`` and
the browser shows "This application is currently busy. Please try again.".

The "我的文档" tab adds the user's own files (.txt .md .html .pdf .docx) to the library and
removes them again (``ui/documents.py``); that is UI-only, not part of the HTTP API, and the
stored files are never served back.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.errors import QuestionError, RagError
from ui import documents

if TYPE_CHECKING:
    from rag import Answer, Assistant, Passage

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 2000  # hard cap on what the server accepts from a text box or the API
MAX_ID_CHARS = 100
DEFAULT_TOP_K = 5
MAX_UI_TOP_K = 20
MODE_CHOICES = [("混合检索（推荐）", "hybrid"), ("语义检索", "dense"), ("关键词检索", "lexical")]
ASK_CONCURRENCY = 2  # questions answered at the same time (CPU-bound; shared by chat and API)
QUEUE_MAX_SIZE = 64  # waiting requests beyond this get gradio's "busy, try again" message
SNIPPET_CHARS = 70
CLOSEST_SHOWN = 3

TRUNCATED_NOTE = f"问题过长，只保留了前{MAX_INPUT_CHARS}个字符 / question truncated to {MAX_INPUT_CHARS} characters"
EMPTY_PROMPT = "请先输入一个问题，例如“北约的三大核心任务是什么？”，或点击下面的示例问题。"
INTERNAL_ERROR = "出了点问题，这个问题没能回答，请稍后再试。"

EXAMPLES = [
    "北约的三大核心任务是什么？",
    "北约如何看待中华人民共和国？",
    "俄罗斯对盟国安全构成什么威胁？",
    "北约在网络空间方面会采取哪些措施？",
    "《伙伴关系反恐行动计划》的目的是什么？",
    "布拉格峰会通过了哪些反恐措施？",
]

_CITE_MARK = re.compile(r"\[(\d{1,3})\]")
_SPACES = re.compile(r"\s+")
_NEWLINES = re.compile(r"\r\n?|\n")


# ---------------------------------------------------------------- input


def limit_input(text: object, limit: int = MAX_INPUT_CHARS) -> tuple[object, list[str]]:
    """Cut text longer than ``limit`` characters; returns the text and a note if it was cut.

    Anything that is not a string is passed through unchanged (the library rejects it).
    """
    if isinstance(text, str) and len(text) > limit:
        return text[:limit], [TRUNCATED_NOTE]
    return text, []


def _is_blank(text: object) -> bool:
    return text is None or (isinstance(text, str) and not text.strip())


def _as_int(value: object) -> object:
    """Slider/JSON numbers may arrive as floats (5.0); leave anything else to the library's check."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _merge_notes(ui_notes: Sequence[str], answer_notes: Sequence[str]) -> list[str]:
    # The library adds its own truncation note when it cuts the question further; then
    # ours would only repeat it.
    return list(answer_notes) if answer_notes else list(ui_notes)


# ---------------------------------------------------------------- library calls


def ask(assistant: Assistant, question: object, top_k: object = DEFAULT_TOP_K,
        mode: object = "hybrid") -> tuple[Answer, list[str]]:
    """Ask the assistant with the server-side input cap; returns the answer and the notes to show.

    Raises QuestionError (empty question, bad options) like :meth:`Assistant.ask`.
    """
    text, ui_notes = limit_input(question)
    answer = assistant.ask(text, top_k=_as_int(top_k), mode=mode)
    return answer, _merge_notes(ui_notes, answer.notes)


def ask_json(assistant: Assistant, question: object, top_k: object = DEFAULT_TOP_K,
             mode: object = "hybrid") -> dict[str, Any]:
    """What the ``/ask`` API endpoint returns: ``Answer.to_dict()`` (notes include the input cap's)."""
    answer, notes = ask(assistant, question, top_k, mode)
    data = answer.to_dict()
    data["notes"] = notes
    return data


def lookup_json(assistant: Assistant, passage_id: object, context: object = 1) -> dict[str, Any]:
    """What the ``/lookup`` API endpoint returns; raises RagError for an unknown id."""
    pid = _clean_id(passage_id)
    if not pid:
        raise RagError("请给出段落编号，例如 SC2022-21 / give a passage id such as SC2022-21")
    p = assistant.lookup(pid)
    if p is None:
        raise RagError(f"没有编号为 {pid!r} 的段落 / no passage with id {pid!r}")
    around = assistant.neighbours(p.id, _context(context))
    return {"passage": p.to_dict(), "neighbours": [q.to_dict() for q in around]}


def _clean_id(passage_id: object) -> str:
    if not isinstance(passage_id, str):
        return ""
    return _SPACES.sub(" ", passage_id[:MAX_ID_CHARS]).strip()


def _context(value: object) -> int:
    try:
        return max(0, min(5, int(value)))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 1


# ---------------------------------------------------------------- HTML (everything escaped)


def esc(value: object) -> str:
    """HTML-escape anything that came from a document or a user (line breaks become ``<br>``).

    No raw newline survives, so a reply stays one raw HTML block for the chatbot's Markdown
    renderer (a blank line would end the block).
    """
    return _NEWLINES.sub("<br>", html.escape(str(value), quote=True))


def highlight(text: str, spans: Iterable[Sequence[int]]) -> str:
    """Escaped ``text`` with ``<mark>`` around each (start, end) span (overlaps merged)."""
    out: list[str] = []
    pos = 0
    for start, end in sorted((int(s), int(e)) for s, e in spans):
        start, end = max(start, pos, 0), min(end, len(text))
        if end <= start:
            continue
        out.append(esc(text[pos:start]))
        out.append(f"<mark>{esc(text[start:end])}</mark>")
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def section_path(p: Passage) -> str:
    return " › ".join((p.doc_title, *p.section))


def answer_text_html(text: str) -> str:
    """Escaped answer text with the ``[n]`` markers styled."""
    return _CITE_MARK.sub(r'<span class="rag-cite">[\1]</span>', esc(text))


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
        parts.append(f'<div class="rag-text">{answer_text_html(answer.text)}</div>')
        parts.append('<div class="rag-sources-title">出处</div>')
        for n, c in enumerate(answer.citations, start=1):
            hit = by_id.get(c.id)
            path = section_path(hit.passage) if hit else ""
            quoted = "".join(c.text[s:e] for s, e in c.spans) or c.text
            score = hit.score if (hit and show_scores) else None
            parts.append(_source_html(n, c.label, c.id, path, snippet(quoted), highlight(c.text, c.spans), score))
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


# ---------------------------------------------------------------- UI handlers


def chat_turn(assistant: Assistant, question: object, history: list[dict] | None,
              top_k: object = DEFAULT_TOP_K, mode: object = "hybrid",
              show_scores: bool = False) -> tuple[list[dict], str]:
    """One chat turn: returns the new history (messages with HTML content) and the new textbox value.

    Never raises for user input: empty input gets a prompt, QuestionError/RagError their
    message, anything else a generic apology (the traceback goes to the server log only).
    """
    history = list(history or [])
    if _is_blank(question):
        history.append({"role": "assistant", "content": render_hint(EMPTY_PROMPT)})
        return history, ""
    shown, _ = limit_input(question)
    history.append({"role": "user", "content": render_question(str(shown))})
    try:
        answer, notes = ask(assistant, question, top_k, mode)
    except QuestionError as e:
        history.append({"role": "assistant", "content": render_hint(str(e))})
        return history, str(shown)
    except RagError as e:
        history.append({"role": "assistant", "content": render_error(str(e))})
        return history, str(shown)
    except Exception:
        log.exception("answering %r failed", question)
        history.append({"role": "assistant", "content": render_error(INTERNAL_ERROR)})
        return history, str(shown)
    history.append({"role": "assistant", "content": render_answer(answer, bool(show_scores), notes)})
    return history, ""


def lookup_html(assistant: Assistant, passage_id: object, context: object = 1) -> str:
    """The passage with this id, its section path and its neighbours, as HTML (or a friendly message)."""
    pid = _clean_id(passage_id)
    if not pid:
        return render_hint("输入段落编号（例如 SC2022-21 或 S2003-85-16.2.5），或从目录中选择一个段落。")
    p = assistant.lookup(pid)
    if p is None:
        return render_error(f"没有编号为“{pid}”的段落。编号形如 SC2022-21 或 S2003-85-16.2.5，"
                            "可以在上面的目录里浏览全部段落。")
    rows = []
    for q in assistant.neighbours(p.id, _context(context)):
        current = q.id == p.id
        rows.append(
            f'<div class="rag-ctx{" rag-current" if current else ""}">'
            f'<div class="rag-ctx-head"><span class="rag-id">{esc(q.id)}</span>'
            f'<span class="rag-ctx-label">{esc(q.label)}</span></div>'
            f'<div class="rag-para">{esc(q.text)}</div></div>'
        )
    return (
        '<div class="rag-lookup">'
        f'<div class="rag-lookup-head"><span class="rag-label">{esc(p.label)}</span>'
        f'<span class="rag-id">{esc(p.id)}</span></div>'
        f'<div class="rag-path">{esc(section_path(p))}</div>'
        f'{"".join(rows)}</div>'
    )


def toc_choices(assistant: Assistant) -> list[tuple[str, str]]:
    """Dropdown entries for every passage: (``id · label · section``, id)."""
    return [
        (" · ".join(x for x in (p.id, p.label, p.section[-1] if p.section else "") if x), p.id)
        for p in assistant.passages
    ]


# ---------------------------------------------------------------- app

HEADER = (
    '<div class="rag-header"><h1>政策文件问答</h1>'
    '<p>就《北约2022战略概念》和联合国文件 S/2003/85（北约布拉格反恐决定与《伙伴关系反恐行动计划》）提问。'
    '回答只摘录文件原文，每句标注出处段落 [n]，点开出处可看全文；离线运行。'
    '在“我的文档”里可以添加自己的文件（.txt .md .html .pdf .docx）。</p></div>'
)

CSS = """
.gradio-container { max-width: 1080px !important; margin: 0 auto !important; }
.rag-header h1 { font-size: 1.6rem; margin: 0.2rem 0 0.3rem; }
.rag-header p { margin: 0 0 0.4rem; color: var(--body-text-color-subdued); line-height: 1.6; }
.rag-reply, .rag-q, .rag-lookup { line-height: 1.75; font-size: 15px; }
.rag-text { margin-bottom: 0.6rem; }
.rag-cite, .rag-num { color: var(--color-accent); font-weight: 600; font-size: 0.85em;
  margin: 0 0.1em; white-space: nowrap; }
.rag-sources-title { font-size: 0.85em; font-weight: 600; color: var(--body-text-color-subdued);
  margin: 0.5rem 0 0.25rem; letter-spacing: 0.05em; }
.rag-src, .rag-hits { border: 1px solid var(--border-color-primary); border-radius: 8px;
  margin: 0.35rem 0; padding: 0.35rem 0.6rem; background: var(--background-fill-primary); }
.rag-src > summary, .rag-hits > summary { cursor: pointer; }
.rag-src > summary > span { margin-right: 0.5em; }
.rag-label { font-weight: 600; }
.rag-id { font-family: var(--font-mono); font-size: 0.8em; color: var(--body-text-color-subdued);
  background: var(--background-fill-secondary); border-radius: 4px; padding: 0 0.35em; margin: 0 0.35em; }
.rag-score { font-size: 0.8em; color: var(--body-text-color-subdued); }
.rag-snippet { display: block; color: var(--body-text-color-subdued); font-size: 0.9em; margin-left: 1.1em; }
details[open] > summary > .rag-snippet { display: none; }
#rag-chat .icon-button-wrapper.top-panel { display: none; }  /* the "清空对话" button does this */
.rag-path { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 0.4rem 0 0.2rem; }
.rag-para { white-space: normal; }
.rag-para mark { background: #fde68a; color: inherit; padding: 0.05em 0.1em; border-radius: 3px; }
.rag-note { font-size: 0.85em; color: var(--body-text-color-subdued); font-style: italic; margin-bottom: 0.3rem; }
.rag-notfound { border-left: 4px solid #d97706; background: rgba(217, 119, 6, 0.08); padding: 0.45rem 0.7rem;
  border-radius: 4px; font-weight: 600; }
.rag-hint { color: var(--body-text-color-subdued); }
.rag-error { border-left: 4px solid #dc2626; background: rgba(220, 38, 38, 0.07); padding: 0.45rem 0.7rem;
  border-radius: 4px; }
.rag-hits ol { margin: 0.3rem 0 0.2rem 1.2rem; font-size: 0.9em; }
.rag-lookup-head { font-size: 1.1rem; margin-bottom: 0.2rem; }
.rag-ctx { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.5rem 0.8rem;
  margin: 0.5rem 0; color: var(--body-text-color-subdued); }
.rag-ctx.rag-current { border: 2px solid var(--color-accent); color: var(--body-text-color);
  background: var(--background-fill-primary); }
.rag-ctx-head { font-size: 0.85em; margin-bottom: 0.2rem; }
#rag-lookup-out { min-height: 120px; }
.rag-docs { width: 100%; border-collapse: collapse; font-size: 14px; line-height: 1.6; }
.rag-docs th, .rag-docs td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--border-color-primary); }
.rag-docs th { font-weight: 600; color: var(--body-text-color-subdued); }
.rag-docs td.rag-doc-n { text-align: right; }
.rag-docs tr.rag-doc-library td:first-child { border-left: 3px solid var(--color-accent); }
.rag-doc-status { line-height: 1.6; }
#rag-remove-row { align-items: flex-end; }
#rag-remove { max-height: 2.8rem; }
.rag-doc-ok { border-left: 4px solid #16a34a; background: rgba(22, 163, 74, 0.08); padding: 0.45rem 0.7rem;
  border-radius: 4px; }
"""

FONT_STACK = ["system-ui", "-apple-system", "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
              "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "sans-serif"]


def theme() -> gr.themes.Base:
    # Local font names only: the page must not fetch web fonts (the app runs offline).
    return gr.themes.Default(primary_hue="blue", font=FONT_STACK,
                             font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"])


def build_app(assistant: Assistant | documents.Current, *, concurrency: int = ASK_CONCURRENCY,
              queue_size: int = QUEUE_MAX_SIZE) -> gr.Blocks:
    """The Gradio app over a loaded assistant (queue configured; start it with :func:`launch`).

    ``concurrency`` questions are answered at once (chat and API share the limit); beyond
    ``queue_size`` waiting requests the server refuses new ones with gradio's "busy" message.
    Pass a :class:`ui.documents.Current` to keep a handle on the assistant the app uses after
    documents are added or removed (``demo.rag_current`` is that holder either way).
    """
    holder = assistant if isinstance(assistant, documents.Current) else documents.Current(assistant)

    def on_ask(question, history, top_k, mode, show_scores):
        history, box = chat_turn(holder.current, question, history, top_k, mode, show_scores)
        return history, history, box

    def on_clear():
        return [], [], ""

    def on_lookup(passage_id, context):
        a = holder.current
        found = a.lookup(_clean_id(passage_id))
        return lookup_html(a, passage_id, context), (found.id if found else None)

    def on_pick(passage_id, context):
        return passage_id or "", lookup_html(holder.current, passage_id, context)

    def api_ask(question: str, top_k: int = DEFAULT_TOP_K, mode: str = "hybrid") -> dict:
        """Answer a question with quoted, cited sentences (Answer.to_dict())."""
        try:
            return ask_json(holder.current, question, top_k, mode)
        except RagError as e:
            raise gr.Error(str(e)) from None

    def api_lookup(passage_id: str, context: int = 1) -> dict:
        """A passage by id (e.g. SC2022-21) with `context` neighbours on each side."""
        try:
            return lookup_json(holder.current, passage_id, context)
        except RagError as e:
            raise gr.Error(str(e)) from None

    private: dict[str, Any] = {"api_visibility": "private"}
    asking: dict[str, Any] = {"concurrency_id": "ask", "concurrency_limit": concurrency}

    first = holder.current
    with gr.Blocks(title="政策文件问答", analytics_enabled=False) as demo:
        gr.HTML(HEADER)
        with gr.Tabs():
            with gr.Tab("问答", id="chat"):
                chatbot = gr.Chatbot(
                    label="对话", show_label=False, elem_id="rag-chat", height=560, layout="bubble",
                    sanitize_html=True, render_markdown=True, latex_delimiters=[],
                    feedback_options=None, buttons=[], group_consecutive_messages=False,
                    placeholder="<b>请在下方输入问题</b><br>回答均摘自文件原文，并附出处。",
                )
                history = gr.State([])
                with gr.Row(equal_height=True):
                    question = gr.Textbox(
                        show_label=False, placeholder="输入问题，按回车提问（最多 2000 字）",
                        max_length=MAX_INPUT_CHARS, lines=1, max_lines=4, scale=8, min_width=260, elem_id="rag-question",
                        autofocus=True,
                    )
                    ask_btn = gr.Button("提问", variant="primary", scale=1, min_width=90, elem_id="rag-ask")
                    clear_btn = gr.Button("清空对话", variant="secondary", scale=1, min_width=90)
                examples = gr.Examples([[q] for q in EXAMPLES], inputs=[question], label="示例问题（点击即问）",
                                       examples_per_page=len(EXAMPLES), api_visibility="private")
                with gr.Accordion("设置", open=False):
                    with gr.Row():
                        top_k = gr.Slider(1, MAX_UI_TOP_K, value=DEFAULT_TOP_K, step=1, label="检索段落数", min_width=220)
                        mode = gr.Radio(MODE_CHOICES, value="hybrid", label="检索方式", min_width=260)
                    show_scores = gr.Checkbox(value=False, label="显示检索得分")
            with gr.Tab("段落查询", id="lookup"):
                with gr.Row(equal_height=True):
                    pid = gr.Textbox(label="段落编号", placeholder="例如 SC2022-21", max_length=MAX_ID_CHARS,
                                     scale=3, min_width=200, elem_id="rag-pid")
                    context = gr.Slider(0, 5, value=1, step=1, label="前后各显示几段", scale=2, min_width=200)
                    lookup_btn = gr.Button("查看", variant="primary", scale=1, min_width=80, elem_id="rag-lookup")
                toc = gr.Dropdown(toc_choices(first), value=None, label="目录（全部段落，可输入筛选）",
                                  filterable=True, elem_id="rag-toc")
                lookup_out = gr.HTML(lookup_html(first, ""), elem_id="rag-lookup-out")
                with gr.Accordion("文件列表", open=False):
                    doc_list = gr.HTML(documents.documents_html(first), elem_id="rag-lookup-docs")
            with gr.Tab("我的文档", id="documents") as documents_tab:
                panel = documents.panel(first)

        chat_in = [question, history, top_k, mode, show_scores]
        chat_out = [chatbot, history, question]
        question.submit(on_ask, chat_in, chat_out, **private, **asking)
        ask_btn.click(on_ask, chat_in, chat_out, **private, **asking)
        examples.load_input_event.then(on_ask, chat_in, chat_out, **private, **asking)
        clear_btn.click(on_clear, None, chat_out, queue=False, **private)
        chatbot.clear(on_clear, None, chat_out, queue=False, **private)  # the chatbot's own bin icon

        pid.submit(on_lookup, [pid, context], [lookup_out, toc], **private)
        lookup_btn.click(on_lookup, [pid, context], [lookup_out, toc], **private)
        context.release(on_lookup, [pid, context], [lookup_out, toc], **private)
        toc.input(on_pick, [toc, context], [pid, lookup_out], **private)

        documents.wire(demo, holder, panel, [(toc, lambda a: gr.Dropdown(choices=toc_choices(a))),
                                             (doc_list, documents.documents_html)], private, documents_tab)

        gr.api(api_ask, api_name="ask", **asking)
        gr.api(api_lookup, api_name="lookup")

    demo.queue(default_concurrency_limit=concurrency, max_size=queue_size)
    demo.rag_current = holder
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, **kwargs: Any):
    """Start the server for an app from :func:`build_app` (never a public share link).

    Uploads beyond the library's size limit are refused by gradio already; the user library's
    folder is blocked from gradio's file route (its files are never served back).
    """
    kwargs.setdefault("quiet", False)
    kwargs.setdefault("max_file_size", documents.upload_limit())
    holder = getattr(demo, "rag_current", None)
    library = getattr(holder.current, "paths", {}).get("library") if holder else None
    if library is not None:
        kwargs["blocked_paths"] = [*kwargs.get("blocked_paths", []), str(Path(library).resolve())]
    return demo.launch(
        server_name=host, server_port=port, share=False, show_error=False,
        css=CSS, theme=theme(), footer_links=["api"], run_history=False,
        enable_monitoring=False, mcp_server=False, ssr_mode=False, **kwargs,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(host: str = "127.0.0.1", port: int = 7860, model: str | None = None) -> None:
    """Load the assistant and serve the app until interrupted (what ``rag serve`` runs)."""
    from rag import Assistant

    assistant = Assistant.load(model=model, progress=True)
    if not _is_loopback(host):
        print(f"[rag] warning: serving on {host}: anyone who can reach this address can use the app "
              "(there is no login)", file=sys.stderr)
    launch(build_app(documents.Current(assistant, warm=True)), host, port)
