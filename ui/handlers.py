"""The web app's handlers: input limits, the chat turn, passage lookup and the API's JSON.

Plain functions over an :class:`rag.Assistant` (no gradio): ``chat_turn``, ``lookup_html`` and
``toc_choices`` feed the UI (HTML from ``ui/render.py``); ``ask_json`` and ``lookup_json`` are
what the ``/ask`` and ``/lookup`` API endpoints return. The server cuts a question at
``MAX_INPUT_CHARS`` characters and a passage id at ``MAX_ID_CHARS``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rag.errors import QuestionError, RagError
from rag.followup import turn_of
from ui.render import esc, render_answer, render_error, render_hint, render_question, section_path

if TYPE_CHECKING:
    from rag import Answer, Assistant

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 2000  # hard cap on what the server accepts from a text box or the API
MAX_ID_CHARS = 100
DEFAULT_TOP_K = 5

TRUNCATED_NOTE = f"问题过长，只保留了前{MAX_INPUT_CHARS}个字符 / question truncated to {MAX_INPUT_CHARS} characters"
EMPTY_PROMPT = "请先输入一个问题，例如“北约的三大核心任务是什么？”，或点击下面的示例问题。"
INTERNAL_ERROR = "出了点问题，这个问题没能回答，请稍后再试。"

_SPACES = re.compile(r"\s+")


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
        mode: object = "hybrid", history: object = None) -> tuple[Answer, list[str]]:
    """Ask the assistant with the server-side input cap; returns the answer and the notes to show.
    ``history``: the conversation's earlier questions (each capped like the question).

    Raises QuestionError (empty question, bad options, a history that is not a list of
    strings) like :meth:`Assistant.ask`.
    """
    text, ui_notes = limit_input(question)
    if isinstance(history, list | tuple):  # questions, or turn records (rag.followup.Turn.to_dict)
        history = [limit_input(h)[0] if isinstance(h, str) else
                   {**h, "question": limit_input(h["question"])[0]} if isinstance(h, dict) and isinstance(h.get("question"), str)
                   else h for h in history]
    answer = assistant.ask(text, top_k=_as_int(top_k), mode=mode, history=history)
    return answer, _merge_notes(ui_notes, answer.notes)


def ask_json(assistant: Assistant, question: object, top_k: object = DEFAULT_TOP_K,
             mode: object = "hybrid", history: object = None) -> dict[str, Any]:
    """What the ``/ask`` API endpoint returns: ``Answer.to_dict()`` (notes include the input cap's)."""
    answer, notes = ask(assistant, question, top_k, mode, history)
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


# ---------------------------------------------------------------- UI handlers


def chat_turn(assistant: Assistant, question: object, history: list[dict] | None,
              top_k: object = DEFAULT_TOP_K, mode: object = "hybrid",
              show_scores: bool = False, asked: list[dict] | None = None) -> tuple[list[dict], str]:
    """One chat turn: returns the new history (messages with HTML content) and the new textbox value.
    ``asked``: the conversation's earlier turns (:meth:`rag.followup.Turn.to_dict`; follow-ups
    are understood from them); an answered turn is appended to it.

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
        answer, notes = ask(assistant, question, top_k, mode, list(asked or []))
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
    if asked is not None:
        asked.append(turn_of(answer).to_dict())
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
