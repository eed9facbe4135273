"""The "我的文档" panel: the document list, adding a file (upload) and removing an added one.

The app answers with whatever :class:`Current` holds. Adding or removing a document copies the
file into (or out of) the user's library, loads a *new* :class:`rag.Assistant` (the index is
brought up to date incrementally) and only then swaps the reference, so questions keep being
answered by the old assistant meanwhile and requests in flight finish with the object they
started with. Changes are serialized by :attr:`Current.changing`.

Uploaded files are checked here (type and size, whatever the browser claims) and again by the
library; the library stores them under the data dir with safe names and the app never serves
them (the library folder is one of gradio's ``blocked_paths``; gradio's own temporary copy of
the upload is deleted once the file was handled).
"""

from __future__ import annotations

import html
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.documents import formats
from rag.documents.library import ProtectedDocumentError
from rag.errors import RagError

if TYPE_CHECKING:
    from rag import Assistant

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 200
MAX_ID_CHARS = 100
ORIGINS = {"seed": "内置", "library": "我添加的"}

NO_FILE = "请先选择要添加的文件（.txt .md .html .pdf .docx）。"
NO_DOC = "请先在上面选择要删除的文件。"
ADD_FAILED = "添加文件时出错，请稍后再试。"
REMOVE_FAILED = "删除文件时出错，请稍后再试。"


class Current:
    """Holds the assistant the app uses now; replaced (never changed in place) after add/remove.

    With ``warm``, each assistant it holds builds its English glossary in the background
    (~2 s, :mod:`rag.retrieval.crosslingual`), so the first English question does not wait for it.
    """

    def __init__(self, assistant: Assistant, warm: bool = False):
        self.warm = warm
        self.changing = threading.Lock()  # one add/remove at a time; asking never takes it
        self.replace(assistant)

    @property
    def current(self) -> Assistant:
        return self._assistant

    def replace(self, assistant: Assistant) -> None:
        self._assistant = assistant
        glossary = getattr(getattr(assistant, "lexical", None), "glossary", None)
        if self.warm and callable(glossary):
            threading.Thread(target=glossary, name="rag-glossary").start()  # not a daemon: joined at exit


def accepted_types() -> tuple[str, ...]:
    """File extensions the upload accepts (the library's readers)."""
    return tuple(formats.SUPPORTED)


def upload_limit() -> int:
    """Largest file the library accepts, in bytes."""
    return int(formats.MAX_BYTES)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


# ---------------------------------------------------------------- HTML (everything escaped)


def _esc(value: object) -> str:
    return html.escape(" ".join(str(value).split()), quote=True)


def status_html(message: str, ok: bool) -> str:
    cls = "rag-doc-ok" if ok else "rag-error"
    return f'<div class="rag-doc-status {cls}">{_esc(message)}</div>'


def documents_html(assistant: Assistant) -> str:
    """The document list: id, title, origin, passage count."""
    rows = "".join(
        f'<tr class="rag-doc-{_esc(d["origin"])}"><td><span class="rag-id">{_esc(d["doc_id"])}</span></td>'
        f'<td>{_esc(d["title"])}</td><td>{_esc(ORIGINS.get(d["origin"], d["origin"]))}</td>'
        f'<td class="rag-doc-n">{int(d["passages"])}</td></tr>'
        for d in assistant.documents()
    )
    return ('<table class="rag-docs"><thead><tr><th>编号</th><th>标题</th><th>来源</th><th>段落数</th></tr>'
            f'</thead><tbody>{rows}</tbody></table>')


def removable_choices(assistant: Assistant) -> list[tuple[str, str]]:
    """Dropdown entries for the added documents (seed documents cannot be removed)."""
    return [(f"{d['doc_id']} · {' '.join(d['title'].split())}", d["doc_id"])
            for d in assistant.documents() if d["origin"] == "library"]


# ---------------------------------------------------------------- add / remove


def _clean_title(title: object) -> str | None:
    if not isinstance(title, str):
        return None
    return " ".join(title[: MAX_TITLE_CHARS * 2].split())[:MAX_TITLE_CHARS] or None


def prepare(holder: Current) -> None:
    """Start loading the model that embeds added documents, if the encoder has one to load."""
    start = getattr(holder.current.encoder, "prepare_passages", None)
    if callable(start):
        start()


def check_upload(path: Path, name: str) -> None:
    """Refuse a file by its extension and size before anything reads it (RagError, in Chinese)."""
    ext = Path(name).suffix.lower()
    types = accepted_types()
    if ext not in types:
        shown = f"“{ext}”" if ext else "（无扩展名）"
        raise RagError(f"不支持的文件类型{shown}：{name}。只能添加 {' '.join(types)} 文件。")
    if not path.is_file():
        raise RagError(f"找不到上传的文件 {name}，请重新选择。")
    limit = upload_limit()
    size = path.stat().st_size
    if size > limit:
        raise RagError(f"文件太大：{name}（{_mb(size)}），上限为 {_mb(limit)}。")


def _discard_upload(path: Path) -> None:
    """Delete gradio's temporary copy of an upload (never anything outside gradio's upload folder)."""
    from gradio.utils import get_upload_folder

    try:
        folder = Path(get_upload_folder()).resolve()
        real = path.resolve()
        if real.is_file() and real.is_relative_to(folder) and real.parent != folder:
            real.unlink()
            real.parent.rmdir()  # gradio's per-upload folder; fails harmlessly if not empty
    except OSError:
        pass


def add_document(holder: Current, file: object, title: object = None) -> tuple[bool, str]:
    """Check and add an uploaded file, then swap in the reloaded assistant.

    Returns (ok, message); the message is for the user ("已添加 DOCID：title（N 段）").
    """
    if not isinstance(file, str | os.PathLike) or not str(file):
        return False, NO_FILE
    path = Path(file)
    name = path.name
    try:
        check_upload(path, name)
        entry, new = _add_checked(holder, path, name, _clean_title(title))
    except RagError as e:
        return False, _failure(path, name, e)
    except Exception:
        log.exception("adding %s failed", name)
        return False, ADD_FAILED
    finally:
        _discard_upload(path)
    passages = next((d["passages"] for d in new.documents() if d["doc_id"] == entry["doc_id"]), 0)
    return True, f"已添加 {entry['doc_id']}：{entry['title']}（{passages} 段）"


def _add_checked(holder: Current, path: Path, name: str, title: str | None) -> tuple[dict, Assistant]:
    with holder.changing:
        old = holder.current
        library = old.library()
        entry = library.add(path, taken_ids=old.seed_ids(), title=title, original_name=name)
        try:
            new = old.reloaded(notice=lambda m: log.info("%s", m))
        except BaseException:
            library.remove(entry["doc_id"])  # keep the library and the served index in step
            raise
        holder.replace(new)
    return entry, new


def _failure(path: Path, name: str, error: RagError) -> str:
    # Readers may name the file by its full path: show only its name (no server paths).
    message = str(error)
    for full in {str(path), str(path.resolve())}:
        message = message.replace(full, name)
    if name in message:  # our own check, or the library's "NAME: reason"
        return message if message.startswith(("不支持", "找不到", "文件太大")) else f"无法添加 {message}"
    return f"无法添加 {name}：{message}"


def remove_document(holder: Current, doc_id: object) -> tuple[bool, str]:
    """Remove an added document (not a seed one), then swap in the reloaded assistant."""
    if not isinstance(doc_id, str) or not doc_id.strip():
        return False, NO_DOC
    key = doc_id.strip()[:MAX_ID_CHARS]
    try:
        with holder.changing:
            old = holder.current
            entry = old.library().remove(key, protected=old.seed_ids())
            holder.replace(old.reloaded(notice=lambda m: log.info("%s", m)))
    except ProtectedDocumentError:
        return False, f"{key} 是内置文件，不能删除。"
    except RagError as e:
        return False, f"无法删除 {key}：{e}"
    except Exception:
        log.exception("removing %s failed", key)
        return False, REMOVE_FAILED
    return True, f"已删除 {entry['doc_id']}：{entry['title']}"


# ---------------------------------------------------------------- the panel


@dataclass
class Panel:
    upload: gr.File
    title: gr.Textbox
    add: gr.Button
    status: gr.HTML
    remove_choice: gr.Dropdown
    remove: gr.Button
    table: gr.HTML


def panel(assistant: Assistant) -> Panel:
    """The components of the documents tab (call inside a ``gr.Tab``; wire them with :func:`wire`)."""
    limit = upload_limit()
    types = accepted_types()
    hint = f"支持 {' '.join(types)}，不超过 {_mb(limit)}"
    gr.Markdown(f"添加自己的文件后，就可以就它提问、按编号查段落。{hint}。文件只保存在本机。")
    with gr.Row(equal_height=True):
        upload = gr.File(label="选择文件", file_count="single", file_types=list(types), type="filepath",
                         height=130, scale=3, min_width=240, elem_id="rag-upload")
        with gr.Column(scale=2, min_width=220):
            title = gr.Textbox(label="标题（可选，默认取文件里的标题）", max_length=MAX_TITLE_CHARS, lines=1,
                               elem_id="rag-upload-title")
            add = gr.Button("添加到文库", variant="primary", elem_id="rag-add")
    status = gr.HTML("", elem_id="rag-doc-status")
    with gr.Row(elem_id="rag-remove-row"):
        remove_choice = gr.Dropdown(removable_choices(assistant), value=None, label="删除我添加的文件",
                                    scale=3, min_width=240, elem_id="rag-remove-choice")
        remove = gr.Button("删除", variant="stop", scale=1, min_width=80, elem_id="rag-remove")
    table = gr.HTML(documents_html(assistant), elem_id="rag-docs")
    return Panel(upload, title, add, status, remove_choice, remove, table)


def wire(demo: gr.Blocks, holder: Current, p: Panel, refresh: list[tuple[gr.Component, Any]],
         private: dict[str, Any], tab: gr.Tab | None = None) -> None:
    """Events of the panel (and of its ``tab``). ``refresh``: more components to update after a
    change, each with a function of the new assistant returning the update (e.g. the lookup
    tab's table of contents)."""
    extra = [c for c, _ in refresh]

    def updates(a: Assistant) -> list[Any]:
        return [gr.Dropdown(choices=removable_choices(a), value=None), documents_html(a),
                *(fn(a) for _, fn in refresh)]

    def on_add(file, title):
        ok, message = add_document(holder, file, title)
        after = updates(holder.current) if ok else [gr.skip()] * (2 + len(extra))
        return [status_html(message, ok), None, "" if ok else gr.skip(), *after]

    def on_remove(doc_id):
        ok, message = remove_document(holder, doc_id)
        return [status_html(message, ok), *updates(holder.current)]

    def on_load():
        return updates(holder.current)

    changing: dict[str, Any] = {"concurrency_id": "library", "concurrency_limit": 1, **private}
    lists = [p.remove_choice, p.table, *extra]
    p.add.click(on_add, [p.upload, p.title], [p.status, p.upload, p.title, *lists], **changing)
    p.remove.click(on_remove, [p.remove_choice], [p.status, *lists], **changing)
    def on_prepare():
        prepare(holder)

    # Opening the tab or choosing a file starts loading the passage model, so "add" does not wait for it.
    for event in ([tab.select] if tab is not None else []) + [p.upload.upload]:
        event(on_prepare, None, None, queue=False, show_progress="hidden", **private)
    # A page opened later (or reloaded) shows the current lists, not the ones built at start.
    demo.load(on_load, None, lists, queue=False, show_progress="hidden", **private)
