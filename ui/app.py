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

The pieces: ``ui/handlers.py`` (input limits and the plain functions behind the chat, the
lookup and the API), ``ui/render.py`` (the HTML), ``ui/style.py`` (header, CSS, theme) and
``ui/documents.py`` (the 我的文档 tab); this module builds the gradio app, launches and serves it.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from rag.errors import RagError
from rag.followup import MAX_HISTORY
from ui import documents
from ui.handlers import (
    DEFAULT_TOP_K,
    MAX_ID_CHARS,
    MAX_INPUT_CHARS,
    _clean_id,
    ask_json,
    chat_turn,
    lookup_html,
    lookup_json,
    toc_choices,
)
from ui.style import CSS, HEADER, theme

if TYPE_CHECKING:
    from rag import Assistant

MAX_UI_TOP_K = 20
MODE_CHOICES = [("混合检索（推荐）", "hybrid"), ("语义检索", "dense"), ("关键词检索", "lexical")]
ASK_CONCURRENCY = 2  # questions answered at the same time (CPU-bound; shared by chat and API)
QUEUE_MAX_SIZE = 64  # waiting requests beyond this get gradio's "busy, try again" message

EXAMPLES = [
    "北约的三大核心任务是什么？",
    "北约如何看待中华人民共和国？",
    "俄罗斯对盟国安全构成什么威胁？",
    "北约在网络空间方面会采取哪些措施？",
    "《伙伴关系反恐行动计划》的目的是什么？",
    "布拉格峰会通过了哪些反恐措施？",
]


def build_app(assistant: Assistant | documents.Current, *, concurrency: int = ASK_CONCURRENCY,
              queue_size: int = QUEUE_MAX_SIZE) -> gr.Blocks:
    """The Gradio app over a loaded assistant (queue configured; start it with :func:`launch`).

    ``concurrency`` questions are answered at once (chat and API share the limit); beyond
    ``queue_size`` waiting requests the server refuses new ones with gradio's "busy" message.
    Pass a :class:`ui.documents.Current` to keep a handle on the assistant the app uses after
    documents are added or removed (``demo.rag_current`` is that holder either way).
    """
    holder = assistant if isinstance(assistant, documents.Current) else documents.Current(assistant)

    def on_ask(question, history, asked, top_k, mode, show_scores):
        asked = list(asked or [])  # the turns so far; an answered one is appended (later ones may lean on it)
        history, box = chat_turn(holder.current, question, history, top_k, mode, show_scores, asked)
        return history, history, asked[-MAX_HISTORY:], box

    def on_clear():  # a new conversation
        return [], [], [], ""

    def on_lookup(passage_id, context):
        a = holder.current
        found = a.lookup(_clean_id(passage_id))
        return lookup_html(a, passage_id, context), (found.id if found else None)

    def on_pick(passage_id, context):
        return passage_id or "", lookup_html(holder.current, passage_id, context)

    def api_ask(question: str, top_k: int = DEFAULT_TOP_K, mode: str = "hybrid",
                history: list | None = None) -> dict:
        """Answer a question with quoted, cited sentences (Answer.to_dict()); ``history``: the
        conversation's earlier turns, oldest first: questions, or records with ``question``,
        ``understood``, ``answer`` and ``cited`` (a follow-up is understood from them)."""
        try:
            return ask_json(holder.current, question, top_k, mode, history)
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
                asked = gr.State([])  # the conversation's turns (question, understood, answer, cited), for follow-ups
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

        chat_in = [question, history, asked, top_k, mode, show_scores]
        chat_out = [chatbot, history, asked, question]
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
    """Load the assistant and serve the app until interrupted (what ``rag serve`` runs).

    The URL is printed only once the app is warm: the assistant has answered a question in
    each language and the server has answered one request, so the first question a user asks
    is answered as fast as later ones.
    """
    from rag import Assistant
    from rag.assistant import WARM_UP_QUESTIONS

    assistant = Assistant.load(model=model, progress=True)
    if not _is_loopback(host):
        print(f"[rag] warning: serving on {host}: anyone who can reach this address can use the app "
              "(there is no login)", file=sys.stderr)
    print("[rag] warming up the query path (query model, tagger, English glossary) …", file=sys.stderr, flush=True)
    assistant.warm_up()
    demo = build_app(documents.Current(assistant, warm=True))
    launch(demo, host, port, quiet=True, prevent_thread_lock=True)
    _warm_server(demo.local_url, WARM_UP_QUESTIONS[0])
    assistant.forget_queries()  # the warm-up question's vector
    print(f"* Running on local URL:  {demo.local_url}", flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()


def _warm_server(url: str, question: str) -> None:
    """One request through the server's own API (its first request sets up the queue worker)."""
    from gradio_client import Client

    try:
        Client(url, verbose=False).predict(question, 5, "hybrid", api_name="/ask")
    except Exception as e:  # noqa: BLE001 - warming is best effort; serving goes on
        print(f"[rag] warm-up request failed ({type(e).__name__}); serving anyway", file=sys.stderr)
