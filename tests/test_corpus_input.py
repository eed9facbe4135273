"""A bad document is reported by name and skipped; the rest of the corpus is still indexed."""

from __future__ import annotations

import json

import pytest

from rag import Assistant, RagError

BAD_DOCS = {
    "empty": (b"", "is empty"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "looks binary"),
    "gb18030": ("1. 北约将继续履行三大核心任务。\n".encode("gb18030"), "GB18030"),
    "no-paragraphs": ("这里没有编号段落，只是一行文字。\n".encode(), "paragraph"),
}


@pytest.mark.parametrize("kind", list(BAD_DOCS))
def test_bad_document_is_named_and_skipped(corpus_copy, tmp_path, fake_encoder, kind):
    data, message = BAD_DOCS[kind]
    name = f"extra-{kind}.txt"
    (corpus_copy / name).write_bytes(data)
    catalog = json.loads((corpus_copy / "catalog.json").read_text(encoding="utf-8"))
    catalog.append({"doc_id": "EXTRA", "file": name, "title": "extra", "short": "extra", "source": "test",
                    "date": "2026-01-01", "parser": "strategic_concept"})
    (corpus_copy / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")
    notices = []
    a = Assistant.load(corpus_dir=corpus_copy, index_dir=tmp_path / "idx", encoder=fake_encoder,
                       notice=notices.append)
    problems = [n for n in notices if name in n]
    assert problems and message in problems[0], notices
    assert {p.doc_id for p in a.passages} == {"SC2022", "S2003-85"}
    again = []
    Assistant.load(corpus_dir=corpus_copy, index_dir=tmp_path / "idx", encoder=fake_encoder, notice=again.append)
    assert any(name in n for n in again)  # still reported on later loads, without a rebuild


def test_corpus_with_no_usable_document_is_a_clear_error(tmp_path, fake_encoder):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "only.txt").write_bytes(b"")
    (tmp_path / "c" / "catalog.json").write_text(json.dumps([{
        "doc_id": "X", "file": "only.txt", "title": "t", "short": "s", "source": "s", "date": "d",
        "parser": "strategic_concept"}]))
    with pytest.raises(RagError, match="no document could be indexed"):
        Assistant.load(corpus_dir=tmp_path / "c", index_dir=tmp_path / "idx", encoder=fake_encoder,
                       notice=lambda m: None)
