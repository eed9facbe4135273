"""Adding and removing documents from the web app (fake encoder, tmp index and tmp library)."""

from __future__ import annotations

import html
import shutil
import threading
import urllib.parse

import pytest

from rag import Assistant
from tests.conftest import CORPUS, FakeEncoder
from tests.test_serving import fetch
from tests.test_ui import XSS, XSS_SHOWN, no_tags_from_input, reply_of, running
from ui import app, documents, handlers

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

DOC = """# 高原冰川观测站管理办法

1. 冰川观测站每年五月开展一次冰舌末端位置测量，测量结果报送省气象局备案。

2. 观测站站长由省气象局任命，任期三年，可以连任一次。

3. 观测数据保存期限不少于三十年，任何单位不得擅自删除。
"""
QUESTION = "冰川观测站站长由谁任命？"  # only the added document answers this
TXT = "城市社区图书馆开放规定\n\n社区图书馆每周一闭馆，其余日期上午九时至晚上九时开放。\n\n借阅图书每次不超过五册，借期为三十天。\n"


@pytest.fixture(scope="session")
def built_index(fake_assistant):
    """The seed corpus's index with the fake encoder (the session's); each test works on a copy."""
    return fake_assistant.paths["index"]


@pytest.fixture
def holder(built_index, tmp_path):
    idx = tmp_path / "idx"
    shutil.copytree(built_index, idx)
    notices = []
    a = Assistant.load(corpus_dir=CORPUS, index_dir=idx, library_dir=tmp_path / "lib", encoder=FakeEncoder(),
                       notice=notices.append)
    assert notices == []  # the copied index was used as is
    return documents.Current(a)


@pytest.fixture
def glacier(tmp_path):
    path = tmp_path / "upload" / "glacier.md"
    path.parent.mkdir()
    path.write_text(DOC, encoding="utf-8")
    return path


def cited(assistant, question=QUESTION):
    history, _ = handlers.chat_turn(assistant, question, [], 5, "hybrid", False)
    answer = assistant.ask(question)
    return [c.id for c in answer.citations], reply_of(history)


# ---------------------------------------------------------------- handlers


def test_add_ask_cite_then_remove(holder, glacier):
    old = holder.current
    assert not any(i.startswith("GLACIER") for i in cited(old)[0])

    ok, message = documents.add_document(holder, str(glacier), f"  冰川 {XSS}  ")
    assert ok and message == f"已添加 GLACIER：冰川 {XSS}（3 段）", message
    assert holder.current is not old  # a new assistant was swapped in; the old one is untouched
    assert not any(i.startswith("GLACIER") for i in cited(old)[0])
    ids, page = cited(holder.current)
    assert ids == ["GLACIER-2"] and "省气象局任命" in page
    no_tags_from_input(page)
    assert html.escape(f"《冰川 {XSS}》第2段") in page  # the citation label carries the user's title, escaped

    status = documents.status_html(message, ok)
    assert XSS_SHOWN in status and "rag-doc-ok" in status
    no_tags_from_input(status)
    table = documents.documents_html(holder.current)
    assert "GLACIER" in table and XSS_SHOWN in table and "我添加的" in table and "内置" in table
    no_tags_from_input(table)
    assert documents.removable_choices(holder.current) == [(f"GLACIER · 冰川 {XSS}", "GLACIER")]
    assert {"GLACIER-1", "GLACIER-2", "GLACIER-3"} <= {v for _, v in handlers.toc_choices(holder.current)}
    looked = handlers.lookup_html(holder.current, "glacier-2")
    assert "任期三年" in looked
    no_tags_from_input(looked)
    stored = holder.current.paths["library"] / "files" / "GLACIER.md"
    assert stored.read_text(encoding="utf-8") == DOC
    assert glacier.exists()  # a file outside gradio's upload folder is never deleted

    ok, message = documents.remove_document(holder, "GLACIER")
    assert ok and message == f"已删除 GLACIER：冰川 {XSS}"
    assert not any(i.startswith("GLACIER") for i in cited(holder.current)[0])
    assert "没有编号为" in handlers.lookup_html(holder.current, "GLACIER-2")
    assert documents.removable_choices(holder.current) == [] and not stored.exists()


def test_txt_upload_takes_its_title_from_the_file(holder, tmp_path):
    path = tmp_path / "library-rules.txt"
    path.write_text(TXT, encoding="utf-8")
    ok, message = documents.add_document(holder, path, "   ")
    assert ok and message.startswith("已添加 LIBRARY-RULES：城市社区图书馆开放规定（"), message
    assert "LIBRARY-RULES" in cited(holder.current, "社区图书馆每周哪天闭馆？")[0][0]


def test_bad_files_are_refused_with_a_message_and_change_nothing(holder, glacier, tmp_path):
    before = holder.current
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    ok, message = documents.add_document(holder, str(exe))
    assert not ok and message.startswith("不支持的文件类型“.exe”：setup.exe。只能添加 ") and ".docx" in message

    limit = documents.upload_limit()
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:  # sparse: the size is checked before anything reads the file
        f.truncate(limit + 1)
    ok, message = documents.add_document(holder, str(big))
    assert not ok and message.startswith("文件太大：big.txt（") and "上限为" in message

    evil = tmp_path / f"{XSS}.exe"
    ok, message = documents.add_document(holder, str(evil))
    assert not ok
    no_tags_from_input(documents.status_html(message, ok))

    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    ok, message = documents.add_document(holder, empty)
    assert not ok and message.startswith("无法添加 empty.txt"), message

    for nothing in (None, "", 3, ["a.md"]):
        assert documents.add_document(holder, nothing) == (False, documents.NO_FILE)
    ok, message = documents.add_document(holder, str(tmp_path / "gone.md"))
    assert not ok and "找不到" in message
    assert holder.current is before and holder.current.library().entries() == []

    assert documents.add_document(holder, glacier)[0]
    ok, message = documents.add_document(holder, glacier)
    assert not ok and "already in the library as GLACIER" in message
    assert documents.remove_document(holder, "SC2022") == (False, "SC2022 是内置文件，不能删除。")
    assert documents.remove_document(holder, None) == (False, documents.NO_DOC)
    ok, message = documents.remove_document(holder, "NOPE")
    assert not ok and message.startswith("无法删除 NOPE")
    assert [d["doc_id"] for d in holder.current.documents()] == ["SC2022", "S2003-85", "GLACIER"]


def test_failed_reload_rolls_the_library_back(holder, glacier, monkeypatch):
    before = holder.current

    def broken(self, notice=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Assistant, "reloaded", broken)
    assert documents.add_document(holder, glacier) == (False, documents.ADD_FAILED)
    assert holder.current is before and before.library().entries() == []


def test_questions_are_answered_by_the_old_assistant_until_the_new_one_is_loaded(holder, glacier, monkeypatch):
    release, loading = threading.Event(), threading.Event()
    real = Assistant.reloaded

    def slow(self, notice=None):
        loading.set()
        assert release.wait(10)
        return real(self, notice=notice)

    monkeypatch.setattr(Assistant, "reloaded", slow)
    old = holder.current
    results = []
    adding = threading.Thread(target=lambda: results.append(documents.add_document(holder, glacier)))
    adding.start()
    assert loading.wait(10)
    # Mid-add: asking is not blocked, and uses the current (old) assistant.
    assert holder.current is old and not any(i.startswith("GLACIER") for i in cited(holder.current)[0])
    second = threading.Thread(target=lambda: results.append(documents.remove_document(holder, "GLACIER")))
    second.start()  # waits for the add to finish, then removes
    assert not holder.changing.acquire(timeout=0.2)
    release.set()
    adding.join(10)
    second.join(10)
    assert [ok for ok, _ in results] == [True, True], results
    assert holder.current is not old and holder.current.library().entries() == []


# ---------------------------------------------------------------- the app's events and its server


def event(demo, name):
    (fn,) = [f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name]
    return fn


def test_add_and_remove_events_refresh_the_lists(holder, glacier):
    demo = app.build_app(holder)
    assert demo.rag_current is holder
    status, upload, title, remove_choice, table, toc, doc_list = event(demo, "on_add")(str(glacier), XSS)
    assert "已添加 GLACIER" in status and upload is None and title == ""
    assert remove_choice.constructor_args == {"choices": [(f"GLACIER · {XSS}", "GLACIER")], "value": None}
    assert "GLACIER" in table and table == doc_list
    assert "GLACIER-2" in [v for _, v in toc.constructor_args["choices"]]
    for page in (status, table):
        no_tags_from_input(page)

    status, *rest = event(demo, "on_add")(str(glacier), "x")
    assert "rag-error" in status and rest[0] is None and all(r == {"__type__": "update"} for r in rest[1:])
    remove_choice, table, toc, doc_list = event(demo, "on_load")()
    assert "GLACIER" in table

    status, remove_choice, table, toc, doc_list = event(demo, "on_remove")("GLACIER")
    assert "已删除 GLACIER" in status and remove_choice.constructor_args["choices"] == []
    assert "GLACIER" not in table and "GLACIER-2" not in [v for _, v in toc.constructor_args["choices"]]


def upload(url: str, name: str, data: bytes) -> tuple[int, str]:
    """POST a file to gradio's upload route the way the browser does; returns (status, server path)."""
    import httpx

    r = httpx.post(url.rstrip("/") + "/gradio_api/upload", files={"files": (name, data)}, timeout=10)
    return r.status_code, (r.json()[0] if r.status_code == 200 else r.text)


def test_served_app_uses_the_new_document_and_never_serves_the_files(holder, monkeypatch):
    from gradio_client import Client

    monkeypatch.setattr(documents, "upload_limit", lambda: 4096)
    library = holder.current.paths["library"]
    # Even a launch that allowed the library folder would not serve it: launch() blocks it.
    with running(holder, {"allowed_paths": [str(library)]}) as url:
        base = url.rstrip("/")
        status, path = upload(url, "glacier.md", DOC.encode("utf-8"))
        assert status == 200
        file_url = f"{base}/gradio_api/file={urllib.parse.quote(path)}"
        assert fetch(file_url)[0] == 200  # gradio serves a fresh upload back to its uploader ...
        ok, message = documents.add_document(holder, path)
        assert ok, message
        assert fetch(file_url)[0] in (403, 404)  # ... until the app has handled it

        stored = library / "files" / "GLACIER.md"
        assert stored.is_file()
        for probe in (str(stored), str(library / "catalog.json")):
            code, body = fetch(f"{base}/gradio_api/file={urllib.parse.quote(probe)}")
            assert code in (403, 404) and "省气象局".encode() not in body and b'"doc_id"' not in body, probe

        assert upload(url, "big.txt", b"x" * 5000)[0] == 413  # gradio refuses beyond the limit already

        client = Client(url, verbose=False)
        api = client.view_api(print_info=False, return_format="dict")
        assert set(api["named_endpoints"]) == {"/ask", "/lookup"}  # adding and removing are UI-only
        got = client.predict(QUESTION, 5, "hybrid", api_name="/ask")
        assert [c["id"] for c in got["citations"]] == ["GLACIER-2"]
        assert client.predict("GLACIER-3", 0, api_name="/lookup")["passage"]["text"].startswith("观测数据")
        assert documents.remove_document(holder, "GLACIER")[0]
        got = client.predict(QUESTION, 5, "hybrid", api_name="/ask")
        assert not any(c["id"].startswith("GLACIER") for c in got["citations"])


def test_opening_the_documents_tab_or_choosing_a_file_starts_loading_the_passage_model(holder, monkeypatch):
    calls = []
    monkeypatch.setattr(holder.current.encoder, "prepare_passages", lambda: calls.append(1), raising=False)
    demo = app.build_app(holder)
    prepares = [f for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "on_prepare"]
    assert len(prepares) == 2  # the tab's select and the file's upload
    assert {f.api_visibility for f in prepares} == {"private"}
    for f in prepares:
        f.fn()
    assert calls == [1, 1]


def test_passage_model_is_loaded_once_in_the_background():
    import time

    from rag.models.encoder import SentenceTransformerEncoder

    enc = SentenceTransformerEncoder.__new__(SentenceTransformerEncoder)
    enc._model, enc._preparing, enc._lock, loads = None, False, threading.Lock(), []

    def load():
        loads.append(threading.current_thread().name)
        time.sleep(0.2)
        enc._model = object()
        return enc._model

    enc._load_model = load
    for _ in range(5):
        enc.prepare_passages()  # returns at once; later calls while loading start nothing
    deadline = time.time() + 5
    while enc._model is None and time.time() < deadline:
        time.sleep(0.02)
    enc.prepare_passages()  # already loaded: nothing to do
    assert loads == ["rag-passage-model"] and enc._model is not None
