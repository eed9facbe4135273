"""The test session does not depend on the machine: documents the user added and the user's RAG_*
settings stay out of it, session-wide fixtures included."""

from __future__ import annotations

import os
import subprocess
import sys

from rag.documents.library import Library
from tests.conftest import ROOT

INNER = "tests/test_isolation.py::test_session_fixtures_see_only_the_seed_corpus"


def test_session_fixtures_see_only_the_seed_corpus(fake_assistant):
    assert {s.origin for s in fake_assistant.sources} == {"seed"}
    assert os.environ.get("RAG_READER_CACHE") is None


def test_a_user_library_and_settings_do_not_reach_the_tests(tmp_path):
    doc = tmp_path / "bike.md"
    doc.write_text("# 城市共享单车管理办法\n\n1. 共享单车应当停放在划定的停车区域内。\n", encoding="utf-8")
    library = tmp_path / "user-library"
    Library(library).add(doc)
    env = {**os.environ, "RAG_LIBRARY_DIR": str(library), "RAG_READER_CACHE": str(tmp_path / "cache.jsonl")}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", INNER],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
