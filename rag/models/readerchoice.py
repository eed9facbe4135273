"""Which reader a process uses: ``RAG_READER`` chooses, and one reader is loaded per process."""

from __future__ import annotations

import os
import threading

from rag.errors import ModelError

READERS = ("onnx", "onnx-int8", "off")


def load_reader():
    """The reader chosen by ``RAG_READER`` (``onnx``, the default; ``onnx-int8``; ``off``), or
    None when it is off or cannot be had (no weights, no onnxruntime: said once on stderr)."""
    choice = (os.environ.get("RAG_READER") or "onnx").strip().lower()
    if choice not in READERS:
        raise ModelError(f"unknown RAG_READER {choice!r} (choose from {', '.join(READERS)})")
    if choice == "off":
        return None
    with _readers_lock:
        if choice not in _readers:  # one reader per process, whatever the number of assistants
            from rag.models import readeronnx

            _readers[choice] = readeronnx.load_or_export(quantized=choice == "onnx-int8")
        return _readers[choice]


_readers: dict[str, object] = {}
_readers_lock = threading.Lock()
