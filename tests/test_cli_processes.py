"""Every CLI command, run again and again in fresh processes, exits 0: with the index still to
build and with it ready, with the query model still to export and exported. (A background
thread still inside onnxruntime when a process ended used to abort it with code 134.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.model

LAW = """# 示例管理条例

## 第一章 总则

第一条 为了规范示例管理工作，制定本条例。

第二条 本条例适用于示例的登记、使用和监督。

示例的登记由县级以上人民政府负责。

## 第二章 监督

第三条 有关部门应当加强对示例使用情况的监督检查。
"""
NOTE = "# 工作说明\n\n1. 本说明用于测试添加文件。\n\n2. 添加以后可以删除。\n"


def _tiny_corpus(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "law.md").write_text(LAW, encoding="utf-8")
    (folder / "catalog.json").write_text(json.dumps([{
        "doc_id": "LAW", "file": "law.md", "title": "示例管理条例", "short": "《示例管理条例》",
        "source": "test", "date": "2026-01-01", "parser": "auto"}], ensure_ascii=False), encoding="utf-8")


@pytest.fixture
def env(tmp_path, real_assistant):
    """A fresh data dir holding only the built model (the query model is still to export),
    a tiny corpus, an empty library and no index."""
    model = Path(real_assistant.encoder.path)
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / model.name).symlink_to(model, target_is_directory=True)
    _tiny_corpus(tmp_path / "corpus")
    (tmp_path / "note.md").write_text(NOTE, encoding="utf-8")
    return {**os.environ, "RAG_DATA_DIR": str(data), "RAG_CORPUS_DIR": str(tmp_path / "corpus"),
            "RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_LIBRARY_DIR": str(tmp_path / "library"),
            "RAG_MODEL": "", "RAG_QUERY_BACKEND": ""}


COMMANDS = (
    ("index",),
    ("docs",),
    ("cite", "LAW-art2"),
    ("ask", "示例由谁负责登记？"),
    ("add", "{note}", "--id", "NOTE"),
    ("remove", "NOTE"),
)


def _run(argv, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *argv], env=env, capture_output=True, text=True,
                          timeout=300)


def test_every_command_exits_0_in_fresh_processes(env, tmp_path):
    runs = []
    for state in ("index to build", "ready"):
        for cmd in COMMANDS:
            if state == "index to build":
                subprocess.run(["rm", "-rf", env["RAG_INDEX_DIR"]], check=True)
            argv = [a.format(note=tmp_path / "note.md") for a in cmd]
            out = _run(argv, env)
            runs.append((state, argv[0], out))
            assert out.returncode == 0, f"{state}: rag {' '.join(argv)} -> {out.returncode}\n{out.stderr[-2000:]}"
            assert "terminate called" not in out.stderr and "Traceback" not in out.stderr
    stderr = "".join(r[2].stderr for r in runs)
    assert stderr.count("exporting the query encoder") == 1  # once, by the first `ask`
    onnx = Path(env["RAG_DATA_DIR"]) / "onnx"
    assert [p.name for p in onnx.iterdir() if ".tmp-" in p.name] == []
    assert not list(onnx.glob("*/model_int8.onnx"))  # nothing uses it unless asked for
    answer = next(r[2].stdout for r in runs if r[1] == "ask")
    assert "[1]" in answer or "文件中没有找到相关内容" in answer


def test_rag_chat_through_a_pipe(env):
    turns = "示例由谁负责登记？\n它适用于什么？\n:new\n它适用于什么？\n"
    out = subprocess.run([sys.executable, "-m", "rag.cli", "chat"], input=turns, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("按上文理解为：") == 1  # the 2nd turn, not the 4th
    understood = out.stdout.split("按上文理解为：")[1].split("）")[0]
    assert "示例" in understood and "适用于什么" in understood and "；" not in understood  # one question, not a chain
    assert "failed" not in out.stderr  # the reader and the query encoder were both built
    assert "新对话 / new conversation" in out.stdout
    assert out.stdout.count("出处 / sources:") + out.stdout.count("最接近的段落") == 3
