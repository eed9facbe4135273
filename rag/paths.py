"""Where things live: the repo's corpus and index folders, and the per-user data dir."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DATA = Path(__file__).with_name("data")  # dictionaries and word lists shipped with the package


def corpus_dir() -> Path:
    """The corpus folder (``RAG_CORPUS_DIR`` overrides the repo's ``corpus/``)."""
    return Path(os.environ.get("RAG_CORPUS_DIR") or ROOT / "corpus")


def index_root() -> Path:
    """Where built indexes go (``RAG_INDEX_DIR`` overrides the repo's ``embeddings/``)."""
    return Path(os.environ.get("RAG_INDEX_DIR") or ROOT / "embeddings")


def data_dir() -> Path:
    """Per-user cache for built models (``RAG_DATA_DIR`` overrides ``~/.cache/rag-policy-zh``)."""
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-policy-zh"
    return Path(os.environ.get("RAG_DATA_DIR") or default)


def library_dir() -> Path:
    """The user's own documents added with `rag add` (``RAG_LIBRARY_DIR`` overrides ``<data dir>/library``)."""
    return Path(os.environ.get("RAG_LIBRARY_DIR") or data_dir() / "library")


def slug(name: str) -> str:
    """A file-name-safe form of a model name, for per-model index folders."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:80] or "model"


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in 1 MB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
