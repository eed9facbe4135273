"""The web app's handlers (fast, fake encoder) and its HTTP API through gradio_client."""

from __future__ import annotations

import contextlib
import html
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from rag import Assistant, QuestionError, RagError
from rag.records import Answer, Citation, Span
from ui import app, handlers, render, style

XSS = "<img src=x onerror=alert(1)>"
XSS_SHOWN = html.escape(XSS)  # what the page source must contain instead
Q = "北约的三大核心任务是什么？"

# gradio's queue calls a pandas API that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")


# ---------------------------------------------------------------- fixtures and helpers


def inject_xss(corpus):
    """Put an HTML injection probe into paragraph SC2022-21 of a corpus copy."""
    doc = corpus / "nato-strategic-concept-2022.zh.txt"
    text = doc.read_text(encoding="utf-8")
    old = "21. 我们将大幅加强威慑和防御态势，"
    assert old in text
    doc.write_text(text.replace(old, f"21. 我们将大幅加强威慑和防御态势{XSS}，"), encoding="utf-8")
    return corpus


@pytest.fixture
def xss_assistant(corpus_copy, fake_encoder, tmp_path):
    return Assistant.load(corpus_dir=inject_xss(corpus_copy), index_dir=tmp_path / "idx",
                          encoder=fake_encoder, notice=lambda m: None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(assistant, launch_kwargs: dict | None = None, **build_kwargs):
    """The app over ``assistant`` on a free loopback port; yields its URL and closes it afterwards."""
    demo = app.build_app(assistant, **build_kwargs)
    _, url, _ = app.launch(demo, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True,
                           **(launch_kwargs or {}))
    try:
        yield url
    finally:
        demo.close()


def reply_of(history):
    assert history[-1]["role"] == "assistant"
    return history[-1]["content"]


def no_tags_from_input(page: str) -> None:
    assert "<img" not in page and "onerror=alert(1)>" not in page


# ---------------------------------------------------------------- chat handler


def test_answer_html_has_markers_labels_sources_and_highlights(fake_assistant):
    history, box = handlers.chat_turn(fake_assistant, Q, [], 5, "hybrid", False)
    expected = fake_assistant.ask(Q, top_k=5, mode="hybrid")
    assert not expected.abstained and expected.citations
    assert box == ""  # the textbox is cleared after an answer
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert Q in history[0]["content"]
    page = reply_of(history)
    assert '<span class="rag-cite">[1]</span>' in page
    assert page.count('class="rag-src"') == len(expected.citations)
    for n, c in enumerate(expected.citations, start=1):
        assert f'<span class="rag-num">[{n}]</span>' in page
        assert html.escape(c.label) in page and c.id in page
        for s, e in c.spans:  # the quoted sentences are highlighted in the full paragraph (span bold or not)
            assert f"<mark>{html.escape(c.text[s:e])}</mark>" in page.replace("<strong>", "").replace("</strong>", "")
    assert "<details" in page and "<summary>" in page
    assert "\n" not in page  # one raw HTML block for the chatbot's Markdown renderer
    assert "得分" not in page


def test_multi_turn_keeps_history(fake_assistant):
    history, _ = handlers.chat_turn(fake_assistant, Q, [], 5, "hybrid", False)
    history, _ = handlers.chat_turn(fake_assistant, "俄罗斯对盟国安全构成什么威胁？", history, 3, "lexical", True)
    assert [m["role"] for m in history] == ["user", "assistant"] * 2
    assert "得分" in history[-1]["content"] and "检索结果（3 段，lexical）" in history[-1]["content"]


def test_abstention_looks_different_and_lists_closest_passages(fake_assistant):
    hits = tuple(fake_assistant.search("今天天气怎么样", 5))
    answer = Answer("今天天气怎么样", "文件中没有找到相关内容。", (), hits, True)
    page = render.render_answer(answer)
    assert "rag-abstained" in page and '<div class="rag-notfound">文件中没有找到相关内容。</div>' in page
    assert "最接近的段落" in page and "rag-cite" not in page and "<mark>" not in page
    for h in hits[: render.CLOSEST_SHOWN]:
        assert h.passage.id in page and html.escape(h.passage.label) in page
    assert hits[render.CLOSEST_SHOWN].passage.id not in page


def test_question_is_escaped(fake_assistant):
    history, _ = handlers.chat_turn(fake_assistant, XSS, [], 5, "hybrid", False)
    assert XSS_SHOWN in history[0]["content"]
    for m in history:
        no_tags_from_input(m["content"])


def test_passage_text_is_escaped_in_answers_and_lookup(xss_assistant):
    assert XSS in xss_assistant.lookup("SC2022-21").text
    question = "我们将大幅加强威慑和防御态势，拒止任何潜在敌手有机可乘实施侵略"
    answer = xss_assistant.ask(question)
    assert "SC2022-21" in [c.id for c in answer.citations] and XSS in answer.text
    for show_scores in (False, True):
        history, _ = handlers.chat_turn(xss_assistant, question, [], 5, "hybrid", show_scores)
        page = reply_of(history)
        assert XSS_SHOWN in page
        no_tags_from_input(page)
    page = handlers.lookup_html(xss_assistant, "SC2022-21")
    assert XSS_SHOWN in page
    no_tags_from_input(page)
    abstained = Answer(question, "文件中没有找到相关内容。", (), answer.hits, True)
    no_tags_from_input(render.render_answer(abstained, show_scores=True))


def test_highlight_escapes_and_tolerates_odd_spans():
    text = "a<b>c&d"
    assert render.highlight(text, [(1, 4)]) == "a<mark>&lt;b&gt;</mark>c&amp;d"
    assert render.highlight(text, [(2, 4), (1, 3), (6, 99), (5, 5)]) == (
        "a<mark>&lt;b</mark><mark>&gt;</mark>c&amp;<mark>d</mark>")
    assert render.highlight(text, []) == "a&lt;b&gt;c&amp;d"


# ---------------------------------------------------------------- the reader's answer span in bold

P1 = "北约将继续履行三大核心任务：威慑和防御。合作安全同样重要。威慑和防御。"  # the last sentence also ends the first
P2 = "盟国将加强韧性。"


def span_answer(passage: str = P1, word: str = "威慑", sentence: int = 2, **kw) -> Answer:
    """An answer quoting P1's first sentence [1], P2 [2], then P1's ``sentence`` [1]; its span is
    ``word`` in that last quoted sentence."""
    s1 = (0, passage.index("。") + 1)
    s3 = _sentence(passage, sentence)
    start = passage.index(word, s3[0])
    text = f"{passage[slice(*s1)]}[1]{P2}[2]{passage[slice(*s3)]}[1]"
    citations = (Citation("SC2022-4", "《北约2022战略概念》第4段", passage, (s1, s3)),
                 Citation("SC2022-5", "《北约2022战略概念》第5段", P2, ((0, len(P2)),)))
    return Answer("北约的核心任务？", text, citations, (), False,
                  span=kw.get("span", Span(word, "SC2022-4", start, start + len(word))))


def _sentence(text: str, k: int) -> tuple[int, int]:
    ends = [i + 1 for i, ch in enumerate(text) if ch == "。"]
    return ([0, *ends][k], ends[k])


def rag_text(page: str) -> str:
    return re.search(r'<div class="rag-text">(.*?)</div>', page).group(1)


def test_span_is_found_in_the_answer_text_through_its_quoted_sentence():
    answer = span_answer()
    a, b = answer.span_in_text()
    assert answer.text[a:b] == "威慑"
    assert a == answer.text.index("威慑和防御。[1]", answer.text.index("[2]"))  # the third quote, not the first
    assert span_answer(span=None).span_in_text() is None
    bad = [Span("威慑", "SC2022-9", 31, 33),  # no such citation
           Span("威慑", "SC2022-4", 0, 2),  # text does not match the passage there
           Span("和防御。合作", "SC2022-4", 16, 22),  # across two sentences
           Span("合作安全", "SC2022-4", 20, 24)]  # a sentence that is not quoted
    for span in bad:
        assert span_answer(span=span).span_in_text() is None, span
    english = Answer("q", "NATO deters.[1] It defends allies.[1]",
                     (Citation("X-1", "X", "NATO deters. It defends allies.", ((0, 12), (13, 31))),), (), False,
                     span=Span("defends", "X-1", 16, 23))
    a, b = english.span_in_text()
    assert english.text[a:b] == "defends" and a == 19


def test_answer_span_is_bold_in_the_answer_and_its_paragraph():
    answer = span_answer()
    page = render.render_answer(answer)
    assert rag_text(page) == ('北约将继续履行三大核心任务：威慑和防御。<span class="rag-cite">[1]</span>'
                              '盟国将加强韧性。<span class="rag-cite">[2]</span>'
                              '<strong>威慑</strong>和防御。<span class="rag-cite">[1]</span>')
    assert page.count("<strong>") == page.count("</strong>") == 2
    assert ('<mark>北约将继续履行三大核心任务：威慑和防御。</mark>合作安全同样重要。'
            '<mark><strong>威慑</strong>和防御。</mark>') in page
    assert "\n" not in page
    plain = render.render_answer(span_answer(span=None))
    assert "<strong>" not in plain
    assert page.replace("<strong>", "").replace("</strong>", "") == plain


def test_answer_span_and_its_paragraph_are_escaped():
    passage = f"北约将继续履行三大核心任务。警惕{XSS}&“攻击”。"
    answer = span_answer(passage, word=f"{XSS}&“攻击", sentence=1)
    page = render.render_answer(answer, show_scores=True)
    no_tags_from_input(page)
    bold = f"<strong>{html.escape(XSS)}&amp;“攻击</strong>"
    assert rag_text(page).count(bold) == 1 and page.count(bold) == 2
    assert f"<mark>警惕{bold}”。</mark>" in page
    assert rag_text(page).startswith('北约将继续履行三大核心任务。<span class="rag-cite">[1]</span>')


def test_no_bold_when_the_answer_abstained():
    answer = Answer("今天天气怎么样", "文件中没有找到相关内容。", (), (), True, span=Span("x", "SC2022-4", 0, 1))
    assert answer.span_in_text() is None and "<strong>" not in render.render_answer(answer)


@pytest.mark.parametrize("blank", ["", "   ", "\n\t", None])
def test_empty_input_gets_a_friendly_prompt(fake_assistant, blank):
    history, box = handlers.chat_turn(fake_assistant, blank, [], 5, "hybrid", False)
    assert [m["role"] for m in history] == ["assistant"]
    assert "请先输入一个问题" in reply_of(history) and "rag-hint" in reply_of(history)
    assert box == ""


def test_question_errors_show_their_message_not_a_traceback(fake_assistant):
    history, box = handlers.chat_turn(fake_assistant, "？？？", [], 5, "hybrid", False)
    assert "请输入一个问题" in reply_of(history) and box == "？？？"
    history, _ = handlers.chat_turn(fake_assistant, Q, [], 5, "fuzzy", False)
    assert "unknown mode" in reply_of(history)
    history, _ = handlers.chat_turn(fake_assistant, Q, [], 0, "hybrid", False)
    assert "top_k" in reply_of(history)
    for m in history:
        assert "Traceback" not in m["content"]


class Failing:
    """An assistant whose ask always raises ``error``."""

    def __init__(self, error):
        self.error = error

    def ask(self, question, top_k=5, mode="hybrid", history=None):
        raise self.error


def test_library_and_unexpected_errors_are_shown_safely():
    history, _ = handlers.chat_turn(Failing(RagError(f"index broken {XSS}")), Q, [], 5, "hybrid", False)
    assert "rag-error" in reply_of(history) and "index broken" in reply_of(history)
    no_tags_from_input(reply_of(history))
    history, _ = handlers.chat_turn(Failing(RuntimeError("secret internals")), Q, [], 5, "hybrid", False)
    assert handlers.INTERNAL_ERROR in reply_of(history) and "secret internals" not in reply_of(history)


def test_over_long_input_is_cut_on_the_server(fake_assistant):
    long_q = Q * 500  # 6500 characters
    assert len(long_q) > handlers.MAX_INPUT_CHARS
    cut, notes = handlers.limit_input(long_q)
    assert len(cut) == handlers.MAX_INPUT_CHARS and notes == [handlers.TRUNCATED_NOTE]
    assert handlers.limit_input(Q) == (Q, [])
    history, _ = handlers.chat_turn(fake_assistant, long_q, [], 5, "hybrid", False)
    assert len(history[0]["content"]) < handlers.MAX_INPUT_CHARS + 100
    assert "问题过长" in reply_of(history) and "rag-note" in reply_of(history)
    data = handlers.ask_json(fake_assistant, long_q)
    assert data["notes"] and len(data["question"]) <= handlers.MAX_INPUT_CHARS


def test_input_cap_note_is_kept_when_the_library_adds_none():
    assert handlers._merge_notes([handlers.TRUNCATED_NOTE], []) == [handlers.TRUNCATED_NOTE]
    assert handlers._merge_notes([handlers.TRUNCATED_NOTE], ["library note"]) == ["library note"]
    assert handlers._merge_notes([], []) == []


def test_ask_json_matches_the_library(fake_assistant):
    data = handlers.ask_json(fake_assistant, Q, 5.0, "dense")  # a float from a slider is fine
    assert data == fake_assistant.ask(Q, top_k=5, mode="dense").to_dict()
    with pytest.raises(QuestionError):
        handlers.ask_json(fake_assistant, "  ")


# ---------------------------------------------------------------- lookup


def test_lookup_shows_paragraph_section_path_and_neighbours(fake_assistant):
    p = fake_assistant.lookup("SC2022-21")
    page = handlers.lookup_html(fake_assistant, "  sc2022-21 ")  # case and spaces forgiven, like the library
    assert html.escape(p.text) in page and html.escape(p.label) in page
    assert " › ".join((p.doc_title, *p.section)) in page
    assert len(re.findall(r'class="rag-ctx( rag-current)?"', page)) == 3 and page.count("rag-current") == 1
    assert "SC2022-20" in page and "SC2022-22" in page
    page = handlers.lookup_html(fake_assistant, "SC2022-21", 0)
    assert len(re.findall(r'class="rag-ctx( rag-current)?"', page)) == 1
    data = handlers.lookup_json(fake_assistant, "SC2022-21", 2)
    assert data["passage"]["id"] == "SC2022-21" and len(data["neighbours"]) == 5


def test_lookup_unknown_or_empty_id_is_friendly(fake_assistant):
    page = handlers.lookup_html(fake_assistant, "SC2022-999")
    assert "没有编号为“SC2022-999”的段落" in page and "rag-error" in page
    page = handlers.lookup_html(fake_assistant, XSS)
    assert XSS_SHOWN in page
    no_tags_from_input(page)
    assert "输入段落编号" in handlers.lookup_html(fake_assistant, "")
    assert "输入段落编号" in handlers.lookup_html(fake_assistant, None)
    with pytest.raises(RagError):
        handlers.lookup_json(fake_assistant, "nope")


def test_table_of_contents_lists_every_passage(fake_assistant):
    choices = handlers.toc_choices(fake_assistant)
    assert [v for _, v in choices] == [p.id for p in fake_assistant.passages]
    label = dict((v, k) for k, v in choices)["SC2022-21"]
    assert label.startswith("SC2022-21 · 《北约2022战略概念》第21段")


# ---------------------------------------------------------------- the running app


def test_api_answers_concurrent_clients_like_the_library(fake_assistant):
    from gradio_client import Client

    questions = [
        (Q, 5, "hybrid"), ("北约如何看待中华人民共和国？", 5, "hybrid"), ("俄罗斯对盟国安全构成什么威胁？", 3, "dense"),
        ("《伙伴关系反恐行动计划》的目的是什么？", 5, "lexical"), ("布拉格峰会通过了哪些反恐措施？", 8, "hybrid"),
        ("北约在网络空间方面会采取哪些措施？", 5, "hybrid"), ("What are NATO's three core tasks?", 5, "dense"),
        ("气候变化对安全有什么影响？", 2, "hybrid"), ("北约的核威慑", 5, "lexical"), ("恐怖主义", 10, "hybrid"),
        ("北约与欧盟的关系", 5, "hybrid"), ("军备控制和不扩散", 5, "dense"), ("乌克兰", 4, "hybrid"),
        ("危机预防和管理包括什么？", 5, "hybrid"), ("民事应急规划", 6, "lexical"), ("伙伴关系", 1, "hybrid"),
    ]
    expected = [fake_assistant.ask(q, top_k=k, mode=m) for q, k, m in questions]
    with running(fake_assistant) as url:
        assert url.startswith("http://127.0.0.1:")
        clients = [Client(url, verbose=False) for _ in range(8)]
        api = clients[0].view_api(print_info=False, return_format="dict")
        assert set(api["named_endpoints"]) == {"/ask", "/lookup"}  # UI events are private

        def work(i):
            return [clients[i].predict(*questions[j], api_name="/ask") for j in (2 * i, 2 * i + 1)]

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = [r for pair in pool.map(work, range(8)) for r in pair]
        elapsed = time.perf_counter() - t0
        assert len(replies) == 16
        for got, want in zip(replies, expected, strict=True):
            assert got["text"] == want.text
            assert [c["id"] for c in got["citations"]] == [c.id for c in want.citations]
            assert got["abstained"] == want.abstained and got["question"] == want.question
        assert elapsed < 30

        looked = clients[0].predict("SC2022-21", 1, api_name="/lookup")
        assert looked["passage"]["id"] == "SC2022-21" and len(looked["neighbours"]) == 3
        from gradio_client.exceptions import AppError

        with pytest.raises(AppError, match="请输入一个问题"):
            clients[0].predict("   ", 5, "hybrid", api_name="/ask")
        with pytest.raises(AppError, match="unknown mode"):
            clients[0].predict(Q, 5, "fuzzy", api_name="/ask")
        with pytest.raises(AppError, match="SC2022-999"):
            clients[0].predict("SC2022-999", 1, api_name="/lookup")


class Slow:
    """Wraps an assistant; every ask takes at least ``delay`` seconds."""

    def __init__(self, inner, delay):
        self.inner, self.delay = inner, delay

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def ask(self, *args, **kwargs):
        time.sleep(self.delay)
        return self.inner.ask(*args, **kwargs)


def test_full_queue_refuses_with_a_busy_message(fake_assistant):
    from gradio_client import Client
    from gradio_client.utils import QueueError

    with running(Slow(fake_assistant, 1.0), concurrency=1, queue_size=1) as url:
        clients = [Client(url, verbose=False) for _ in range(5)]
        start = threading.Barrier(5)

        def one(client):
            start.wait()
            try:
                return client.predict(Q, 5, "hybrid", api_name="/ask")["text"]
            except QueueError as e:
                return e

        with ThreadPoolExecutor(max_workers=5) as pool:
            results = list(pool.map(one, clients))
    refused = [r for r in results if isinstance(r, QueueError)]
    answered = [r for r in results if isinstance(r, str)]
    assert answered and refused, results
    assert all("Queue is full" in str(e) for e in refused)


def test_serve_binds_loopback_by_default_and_never_shares(monkeypatch, capsys, fake_assistant):
    calls = {}

    class FakeDemo:
        local_url = "http://127.0.0.1:7860/"

        def launch(self, **kwargs):
            calls["launch"] = kwargs
            calls["order"] = ["launch"]

        def block_thread(self):
            calls["order"].append("serving")

        def close(self):
            calls["order"].append("closed")

    def fake_load(**kwargs):
        calls["load"] = kwargs
        return fake_assistant

    monkeypatch.setattr(Assistant, "load", fake_load)
    monkeypatch.setattr(app, "build_app", lambda holder: calls.update(holder=holder) or FakeDemo())
    monkeypatch.setattr(app, "_warm_server", lambda url, q: calls["order"].append(f"warm {url}"))
    app.serve()
    assert calls["holder"].current is fake_assistant and calls["holder"].warm
    # the URL is printed once the server has answered a warm-up request, and never before
    assert calls["order"] == ["launch", "warm http://127.0.0.1:7860/", "serving", "closed"]
    assert "Running on local URL:  http://127.0.0.1:7860/" in capsys.readouterr().out
    launched = calls["launch"]
    assert launched["server_name"] == "127.0.0.1" and launched["server_port"] == 7860
    assert launched["share"] is False and launched["css"] == style.CSS
    assert calls["load"]["model"] is None
    assert "warning" not in capsys.readouterr().err
    app.serve(host="0.0.0.0", port=8080, model="some-model")
    assert calls["launch"]["server_name"] == "0.0.0.0" and calls["load"]["model"] == "some-model"
    assert "no login" in capsys.readouterr().err
    assert app._is_loopback("localhost") and app._is_loopback("::1") and not app._is_loopback("example.org")


def test_a_warm_holder_builds_each_assistants_glossary_in_the_background():
    import types

    from ui import documents

    built = threading.Event()
    stub = types.SimpleNamespace(lexical=types.SimpleNamespace(glossary=built.set))
    documents.Current(stub)  # tests and the API-only paths: nothing started
    assert not built.wait(0.2)
    holder = documents.Current(stub, warm=True)
    assert built.wait(5)
    built.clear()
    holder.replace(stub)  # after an add or remove: the new assistant's glossary
    assert built.wait(5)
