"""The app in headless Chromium: chat, sources, lookup, adding a document, no script injection (fake encoder)."""

from __future__ import annotations

import re
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest
from gradio.utils import get_upload_folder

from rag import Assistant
from rag.followup import turn_of
from ui import app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOT = Path(__file__).resolve().parents[1] / "eval" / "reports" / "ui-screenshot.png"
XSS = "<img src=x onerror=alert(1)>"
Q = "北约的三大核心任务是什么？"
UPLOAD = "# 高原冰川观测站管理办法\n\n1. 冰川观测站每年五月开展一次冰舌末端位置测量。\n\n2. 观测站站长由省气象局任命，任期三年。\n"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium (apt-get install chromium)"),
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(corpus_copy, fake_encoder, tmp_path):
    """The app on a free loopback port, over a corpus whose paragraph SC2022-21 carries a probe."""
    doc = corpus_copy / "nato-strategic-concept-2022.zh.txt"
    text = doc.read_text(encoding="utf-8")
    old = "21. 我们将大幅加强威慑和防御态势，"
    assert old in text
    doc.write_text(text.replace(old, f"21. 我们将大幅加强威慑和防御态势{XSS}，"), encoding="utf-8")
    assistant = Assistant.load(corpus_dir=corpus_copy, index_dir=tmp_path / "idx", encoder=fake_encoder,
                               library_dir=tmp_path / "lib", notice=lambda m: None)
    demo = app.build_app(assistant)
    _, url, _ = app.launch(demo, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield url, assistant
    finally:
        demo.close()


def test_chat_sources_lookup_upload_and_no_injection(app_url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    url, assistant = app_url
    expected = assistant.ask(Q)
    first = expected.citations[0]
    quoted = first.text[first.spans[0][0]:first.spans[0][1]]

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000}, locale="zh-CN")
            page.set_default_timeout(15_000)
            dialogs: list[str] = []

            def on_dialog(dialog):
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.goto(url)
            chat = page.locator("#rag-chat")
            box = page.locator("#rag-question textarea")

            # An injection probe typed as a question is shown as text and runs nothing.
            box.fill(XSS)
            box.press("Enter")
            expect(chat.locator(".rag-q").last).to_have_text(XSS)
            expect(chat.locator(".rag-reply")).to_have_count(1)
            assert chat.locator("img[src='x']").count() == 0

            # A real question: answer with [1], the cited label, and a source that expands
            # to the full paragraph with the quoted sentence highlighted.
            box.fill(Q)
            box.press("Enter")
            reply = chat.locator(".rag-reply").nth(1)
            expect(reply.locator(".rag-text")).to_contain_text("[1]")
            expect(reply.locator(".rag-text")).to_contain_text(quoted)
            expect(reply).to_contain_text(first.label)
            source = reply.locator("details.rag-src").first
            mark = source.locator("mark").first
            expect(mark).to_be_hidden()
            source.locator("summary").click()
            expect(mark).to_be_visible()
            expect(mark).to_have_text(quoted)

            # Lookup tab: by id (the paragraph's own probe shows as text), unknown id, table of contents.
            page.get_by_role("tab", name="段落查询").click()
            pid = page.locator("#rag-pid textarea, #rag-pid input").first
            out = page.locator("#rag-lookup-out")
            pid.fill("SC2022-21")
            page.locator("#rag-lookup").click()
            current = out.locator(".rag-current")
            expect(current).to_contain_text("拒止任何潜在敌手有机可乘实施侵略")
            expect(current).to_contain_text(XSS)
            expect(out).to_contain_text("北约的核心任务 › 威慑和防御")
            expect(out.locator(".rag-ctx")).to_have_count(3)
            assert out.locator("img[src='x']").count() == 0
            pid.fill("SC2022-999")
            pid.press("Enter")
            expect(out).to_contain_text("没有编号为“SC2022-999”的段落")
            toc = page.locator("#rag-toc input")
            toc.click()
            toc.fill("SC2022-P6")
            page.get_by_role("option", name="SC2022-P6 · ", exact=False).first.click()
            expect(out.locator(".rag-current")).to_contain_text(assistant.lookup("SC2022-P6").text[:20])
            expect(pid).to_have_value("SC2022-P6")

            page.get_by_role("tab", name="问答").click()
            expect(mark).to_be_visible()
            page.wait_for_timeout(300)  # let any injected handler fire before we check
            assert dialogs == []
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # My documents: upload a file with a probe as its title, ask what only it answers, remove it.
            upload = tmp_path / "glacier.md"
            upload.write_text(UPLOAD, encoding="utf-8")
            page.get_by_role("tab", name="我的文档").click()
            page.locator("#rag-upload input[type=file]").set_input_files(str(upload))
            # the upload has finished (gradio 6 shows the name's stem and extension in separate spans)
            expect(page.locator("#rag-upload")).to_contain_text(re.compile(r"glacier\s*\.md"))
            page.locator("#rag-upload-title textarea, #rag-upload-title input").first.fill(f"冰川 {XSS}")
            page.locator("#rag-add").click()
            status = page.locator("#rag-doc-status")
            expect(status).to_contain_text(f"已添加 GLACIER：冰川 {XSS}（2 段）")
            expect(page.locator("#rag-docs")).to_contain_text(f"冰川 {XSS}")
            # gradio's temporary copy of the upload is gone once the file was added
            assert [f for f in Path(get_upload_folder()).glob("*/glacier.md") if f.read_text("utf-8") == UPLOAD] == []
            page.get_by_role("tab", name="问答").click()
            box.fill("冰川观测站站长由谁任命？")
            box.press("Enter")
            reply = chat.locator(".rag-reply").nth(2)
            expect(reply).to_contain_text("GLACIER-2")
            expect(reply).to_contain_text(f"《冰川 {XSS}》第2段")
            page.get_by_role("tab", name="我的文档").click()
            page.locator("#rag-remove-choice input").click()
            page.get_by_role("option", name="GLACIER · ", exact=False).first.click()
            page.locator("#rag-remove").click()
            expect(status).to_contain_text("已删除 GLACIER")
            expect(page.locator("#rag-docs")).not_to_contain_text("GLACIER")
            assert page.locator("img[src='x']").count() == 0
            page.wait_for_timeout(300)
            assert dialogs == []
        finally:
            browser.close()


@contextmanager
def chat_page(url: str):
    """The app's page in headless Chromium (closed afterwards)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000}, locale="zh-CN")
            page.set_default_timeout(15_000)
            page.goto(url)
            yield page
        finally:
            browser.close()


def test_a_follow_up_in_the_chat_shows_how_it_was_understood(app_url):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    url, assistant = app_url
    follow = "它的第二项任务是什么？"
    expected = assistant.ask(follow, history=[turn_of(assistant.ask(Q)).to_dict()])  # as the chat keeps it
    assert expected.used_context and not expected.abstained

    with chat_page(url) as page:
        chat = page.locator("#rag-chat")
        box = page.locator("#rag-question textarea")
        box.fill(Q)
        box.press("Enter")
        expect(chat.locator(".rag-reply")).to_have_count(1)
        assert chat.locator(".rag-understood").count() == 0  # a first question stands alone
        box.fill(follow)
        box.press("Enter")
        second = chat.locator(".rag-reply").nth(1)
        expect(second.locator(".rag-understood")).to_have_text(f"按上文理解为：{expected.understood}")
        expect(second).to_contain_text(expected.citations[0].label)
        # 清空对话 starts a new conversation: the same follow-up now stands alone
        page.get_by_role("button", name="清空对话").click()
        expect(chat.locator(".rag-reply")).to_have_count(0)
        box.fill(follow)
        box.press("Enter")
        expect(chat.locator(".rag-reply")).to_have_count(1)
        assert chat.locator(".rag-understood").count() == 0


def test_a_third_turn_is_searched_with_the_second_answer(app_url):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    url, assistant = app_url
    asked = [Q, "第一项任务是什么？", "这项任务需要哪些能力？"]
    history, answers = [], []
    for q in asked:
        answers.append(assistant.ask(q, history=history))
        history.append(turn_of(answers[-1]).to_dict())
    second, third = turn_of(answers[1]), answers[2]
    # the passage that answered the second turn is among the third's first hits, where asked
    # with the questions alone it is not: the third turn depends on the second answer
    cited = second.cited[0]
    first_hits = [h.passage.id for h in third.hits[:2]]
    assert third.used_context and cited in first_hits
    questions_only = assistant.ask(asked[2], history=asked[:2])
    assert cited not in [h.passage.id for h in questions_only.hits[:2]]

    with chat_page(url) as page:
        page.get_by_text("设置", exact=True).click()  # the settings accordion
        page.get_by_label("显示检索得分").check()
        chat = page.locator("#rag-chat")
        box = page.locator("#rag-question textarea")
        for n, q in enumerate(asked, 1):
            box.fill(q)
            box.press("Enter")
            expect(chat.locator(".rag-reply")).to_have_count(n)
        reply = chat.locator(".rag-reply").nth(2)
        expect(reply.locator(".rag-understood")).to_have_text(f"按上文理解为：{third.understood}")
        ids = reply.locator(".rag-hits .rag-id")
        expect(ids.nth(0)).to_have_text(first_hits[0])
        expect(ids.nth(1)).to_have_text(first_hits[1])
