"""The user's own documents: files copied under the data dir, listed in their own catalog.

``rag add`` checks a file (format, size, at least one paragraph) before copying it in under a
safe name (``files/<DOC_ID><ext>``) and adding a catalog entry; ``rag remove`` takes both
out. The index follows on the next load (rag/build.py embeds only what changed). Writes are
atomic (temp file + rename), so an interrupted add leaves the library as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from rag.documents.ingest import AUTO_PARSER, CATALOG_NAME, load_catalog
from rag.errors import CorpusError
from rag.text.normalize import CJK
from rag.text.segment import words

FILES = "files"
DOC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
MAX_TITLE = 200


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def slug_id(text: str, limit: int = 24) -> str:
    """An upper-case ASCII document id from a file name, Chinese written in pinyin word by word:
    "madrid_declaration 2022" -> MADRID-DECLARATION-2022, 欧盟气候适应战略 -> OUMENG-QIHOU-SHIYING.
    Whole words up to ``limit`` characters; DOC when nothing is left."""
    if CJK.search(text):
        from pypinyin import Style, lazy_pinyin

        text = " ".join("".join(lazy_pinyin(w, style=Style.NORMAL)) for w in words(text))
    parts = re.sub(r"[^A-Za-z0-9]+", " ", text).upper().split()
    out = parts[0][:limit] if parts else "DOC"
    for w in parts[1:]:
        if len(out) + 1 + len(w) > limit:
            break
        out += f"-{w}"
    return out


class ProtectedDocumentError(CorpusError):
    """A seed document cannot be removed."""


class Library:
    """The folder of added documents: ``catalog.json`` plus ``files/``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def catalog_path(self) -> Path:
        return self.root / CATALOG_NAME

    def entries(self) -> list[dict]:
        """The catalog entries (empty when nothing was added yet)."""
        if not self.catalog_path.is_file():
            return []
        return load_catalog(self.root, allow_empty=True)

    def _save(self, entries: list[dict]) -> None:
        _atomic_write(self.catalog_path, json.dumps(entries, ensure_ascii=False, indent=2).encode("utf-8"))

    def add(self, path: Path | str, taken_ids: set[str] | frozenset[str] = frozenset(), title: str | None = None,
            short: str | None = None, doc_id: str | None = None, original_name: str | None = None) -> dict:
        """Check a document and copy it into the library.

        Args:
            path: The file to add (.txt .md .html .pdf .docx).
            taken_ids: Document ids already in use (the seed corpus).
            title: Title (default: the file's metadata title, first heading or name).
            short: Citation name (default: 《title》).
            doc_id: Document id, the prefix of its passage ids (default: from the file name).
            original_name: The name to record when ``path`` is a temporary upload.

        Returns:
            The new catalog entry; a law's also has ``issued``, the adoption / revision
            line(s) under its title (:func:`rag.documents.law.issued`).

        Raises:
            CorpusError: a clear message naming the file when it cannot be added.
        """
        from rag.documents.formats import MAX_BYTES, SUPPORTED, read_document_file
        from rag.documents.law import issued
        from rag.documents.paragraphs import derive_title, parse_document

        path = Path(path)
        name = original_name or path.name
        ext = Path(name).suffix.lower() or path.suffix.lower()
        if not path.is_file():
            raise CorpusError(f"{name}: no such file")
        if ext not in SUPPORTED:
            raise CorpusError(f"{name}: unsupported file type {ext or '(none)'!r}; supported: {' '.join(SUPPORTED)}")
        if path.stat().st_size > MAX_BYTES:
            raise CorpusError(f"{name}: file is larger than {MAX_BYTES // (1024 * 1024)} MB")
        entries = self.entries()
        digest = _sha256(path)
        for e in entries:
            if e.get("sha256") == digest:
                raise CorpusError(f"{name}: already in the library as {e['doc_id']} ({e['title']})")
        taken = {i.lower() for i in taken_ids} | {e["doc_id"].lower() for e in entries}
        if doc_id is not None:
            doc_id = doc_id.strip()
            if not DOC_ID.fullmatch(doc_id):
                raise CorpusError(f"document id {doc_id!r}: use 1-40 ASCII letters, digits, '.', '_' or '-'")
            if doc_id.lower() in taken:
                raise CorpusError(f"document id {doc_id!r} is already used")
        else:
            base = slug_id(Path(name).stem)
            doc_id, n = base, 2
            while doc_id.lower() in taken:
                doc_id, n = f"{base}-{n}", n + 1
        doc = _read_renamed(path, name, ext, read_document_file)
        title = " ".join((title or derive_title(doc, Path(name))).split())[:MAX_TITLE]
        if not title:
            raise CorpusError("the title is empty")
        entry = {"doc_id": doc_id, "file": f"{FILES}/{doc_id}{ext}", "title": title,
                 "short": " ".join((short or f"《{title}》").split())[:MAX_TITLE], "source": name,
                 "date": time.strftime("%Y-%m-%d"), "parser": AUTO_PARSER, "sha256": digest}
        adopted = issued(doc)
        if adopted:  # a law's adoption / revision line(s), e.g. "2021年6月10日第十三届…会议通过"
            entry["issued"] = adopted
        if not parse_document(doc, entry):
            raise CorpusError(f"{name}: no recognisable paragraphs")
        target = self.root / entry["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        self._save([*entries, entry])
        return entry

    def remove(self, doc_id: str, protected: set[str] | frozenset[str] = frozenset()) -> dict:
        """Take a document (by id, case-insensitive) out of the library; returns its entry.

        Args:
            doc_id: The document's id.
            protected: Ids that can never be removed (the seed corpus).

        Raises:
            ProtectedDocumentError: ``doc_id`` is one of ``protected``.
            CorpusError: no such document in the library.
        """
        key = (doc_id or "").strip().lower()
        if key in {i.lower() for i in protected}:
            raise ProtectedDocumentError(f"{doc_id.strip()} is part of the seed corpus and cannot be removed")
        entries = self.entries()
        hit = next((e for e in entries if e["doc_id"].lower() == key), None)
        if hit is None:
            known = ", ".join(e["doc_id"] for e in entries) or "none"
            raise CorpusError(f"no added document {doc_id!r} (added documents: {known})")
        self._save([e for e in entries if e is not hit])
        target = self.root / hit["file"]
        if target.is_file() and target.resolve().is_relative_to(self.root.resolve()):
            target.unlink()
        return hit


def _read_renamed(path: Path, name: str, ext: str, reader):
    """Read ``path`` as a file of type ``ext``; errors name ``name`` (uploads have temporary names)."""
    if path.suffix.lower() == ext and path.name == name:
        return reader(path)
    with tempfile.TemporaryDirectory() as d:
        copy = Path(d) / f"upload{ext}"
        shutil.copyfile(path, copy)
        try:
            return reader(copy)
        except CorpusError as e:
            raise CorpusError(str(e).replace(str(copy), name)) from None
