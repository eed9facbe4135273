"""The reader's fast path: the e5 reader (span + answerable heads) exported to ONNX, locally.

Exported once per weights file (torch + onnx, no network) into
``<data dir>/reader-onnx/<first 16 hex of the weights' sha256>/``; at reading time only
``onnxruntime``, ``tokenizers`` and numpy are imported. The graph takes the token embeddings
(``inputs_embeds``) and the attention mask; the word-embedding table (250k x 384, frozen: the
reader never trains it) stays out of the graph in a memory-mapped ``.npy``, as for the query
encoder (``onnxquery``), and is hard-linked from an earlier export when one holds the same table,
so a new weights file costs ~85 MB of disk, not ~470 MB. ``export.json`` records the weights'
sha256, the base model's files and ``EXPORT_VERSION``: a changed one means a new export.

Logits match the torch network (``readermodel.TorchReader``) on every real token; on padding
tokens they differ (the embeddings path numbers positions without looking at the padding) and
are meaningless in both. ``quantized``: weights dynamically quantized to int8 (``quantize``).

One export at a time per weights file, however many processes start at once
(``onnxquery.ExportLock``; temp folder, then one rename). Exports of other weights files left
unused for ``KEEP_DAYS`` are removed after a new export.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from rag.models.onnxquery import FP32, INFO, INT8, TOKEN_AXES, WORDS, ExportLock, export_graph, open_session
from rag.paths import data_dir, sha256_file

EXPORT_VERSION = 1  # bump when the exported graph changes
EXPORT_SECONDS = 30  # about how long an export takes on a 2-core machine (for the notice)
KEEP_DAYS = 14
_lock = threading.Lock()


def export_root() -> Path:
    return data_dir() / "reader-onnx"


def weights_sha256(weights: Path) -> str:
    return sha256_file(weights)


def export_dir(sha: str) -> Path:
    return export_root() / sha[:16]


def _source_info(weights_sha: str, base_dir: Path) -> dict:
    """What an export depends on: the export code, the weights' hash, the base model's files."""
    files = {}
    for name in ("model.safetensors", "config.json", "tokenizer.json"):
        p = base_dir / name
        if p.is_file():
            st = p.stat()
            files[name] = [st.st_size, int(st.st_mtime)]
    return {"export_version": EXPORT_VERSION, "weights_sha256": weights_sha, "base": str(base_dir), "files": files}


def is_exported(out_dir: Path, weights_sha: str, base_dir: Path) -> bool:
    try:
        info = json.loads((out_dir / INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return info == _source_info(weights_sha, base_dir) and all((out_dir / f).is_file() for f in (FP32, WORDS))


def _save_words(words: np.ndarray, dst: Path) -> None:
    """The word-embedding table as ``.npy``: a hard link to an identical table already exported
    (this reader's earlier exports, the query encoder's), else a new file."""
    root = data_dir()
    for cand in sorted((root / "reader-onnx").glob(f"*/{WORDS}")) + sorted((root / "onnx").glob(f"*/{WORDS}")):
        if cand.parent.name.startswith("."):  # an unfinished export
            continue
        try:
            other = np.load(cand, mmap_mode="r", allow_pickle=False)
            if other.shape == words.shape and other.dtype == words.dtype and np.array_equal(other, words):
                os.link(cand, dst)
                return
        except (OSError, ValueError):
            continue
    np.save(dst, words, allow_pickle=False)


def export(weights: Path, out_dir: Path, base_dir: Path | None = None) -> None:
    """Export the reader (the e5 model with ``weights`` laid over it, and its heads) to ONNX:
    inputs ``inputs_embeds`` float32 [batch, tokens, 384] and ``attention_mask`` int64
    [batch, tokens]; outputs ``start``, ``end`` [batch, tokens] and ``answerable`` [batch]."""

    import torch

    from rag.models import readermodel

    weights = Path(weights)
    base_dir = Path(base_dir or readermodel.base_model_dir())
    sha = weights_sha256(weights)
    layers = int(readermodel.shipped_meta(weights)["config"]["layers"])
    net, windower = readermodel.build_net(base_dir, layers, attn="eager")
    if not readermodel.load_delta(net, weights):
        raise ValueError(f"{weights} does not fit the e5 model")
    net.eval()

    class Exported(torch.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.net = n

        def forward(self, inputs_embeds, attention_mask):
            return self.net(inputs_embeds=inputs_embeds, attention_mask=attention_mask)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        words = net.encoder.get_input_embeddings().weight.detach().numpy().astype(np.float32)
        _save_words(words, tmp / WORDS)
        ids, mask = windower.batch(windower.windows("问题是什么？", ["一段文字，有答案。", "短"]))
        embeds = torch.from_numpy(words[ids])  # padded: the traced graph keeps the mask
        export_graph(Exported(net), embeds, torch.from_numpy(mask), tmp / FP32,
                     {"start": TOKEN_AXES, "end": TOKEN_AXES, "answerable": {0: "batch"}})
        (tmp / INFO).write_text(json.dumps(_source_info(sha, base_dir), indent=2))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def quantize(out_dir: Path) -> None:
    """Write the int8 copy of an exported reader beside it (temp file, then rename). Per-channel
    weight scales (against fp32, on 50 CMRC windows with a briefly trained reader, 17 best spans
    changed instead of 26 with one scale per tensor; int8 costs answers, so it is not the default)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out_dir / f".{INT8}.tmp-{os.getpid()}"  # the name ExportLock clears when left behind
    try:
        quantize_dynamic(str(out_dir / FP32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, out_dir / INT8)
    finally:
        tmp.unlink(missing_ok=True)


class OnnxReader:
    """Reads with onnxruntime: ``logits(windows)`` as ``readermodel.TorchReader`` gives them."""

    def __init__(self, onnx_path: Path, model_dir: Path, n_threads: int | None = None):
        from rag.models.readerwindows import Windower

        onnx_path = Path(onnx_path)
        self.name = f"{onnx_path.parent.name}/{onnx_path.name}"  # the weights' hash and fp32 or int8
        self.words = np.load(onnx_path.parent / WORDS, mmap_mode="r", allow_pickle=False)
        self.session, tokenizer = open_session(onnx_path, model_dir, n_threads)
        self.windower = Windower(tokenizer)

    def logits(self, windows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start [B, T], end [B, T], answerable [B]) logits for a list of windows."""
        if not windows:
            return np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32), np.zeros(0, np.float32)
        ids, mask = self.windower.batch(windows)
        embeds = np.ascontiguousarray(self.words[ids], dtype=np.float32)
        s, e, a = self.session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})
        return s, e, a


def _prune(keep: Path) -> None:
    """Remove other weights' exports unused for ``KEEP_DAYS`` (skipping any being exported or
    loaded: their lock is held)."""
    import fcntl

    cutoff = time.time() - KEEP_DAYS * 86400
    for d in export_root().iterdir():
        if d == keep or d.name.startswith(".") or not d.is_dir():
            continue
        try:
            if (d / INFO).stat().st_mtime > cutoff:
                continue
        except OSError:
            pass
        try:
            with open(d.parent / f".{d.name}.lock", "a+b") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            continue


def load_or_export(weights: Path | None = None, quantized: bool = False) -> OnnxReader | None:
    """The ONNX reader for ``weights`` (default: the shipped ones), exporting it first if needed;
    None (with a one-line notice) when there are no weights, onnxruntime is missing or the
    export fails."""
    from rag.models import readermodel

    weights = Path(weights) if weights is not None else readermodel.shipped_weights()
    if weights is None or not weights.is_file():
        print("[rag] no reader weights; reading without the reader", file=sys.stderr)
        return None
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("[rag] onnxruntime is not installed; reading without the ONNX reader", file=sys.stderr)
        return None
    try:
        sha = weights_sha256(weights)
        base_dir = readermodel.base_model_dir()
        out = export_dir(sha)
        exported = False
        with _lock, ExportLock(out):
            if not is_exported(out, sha, base_dir):
                print(f"[rag] building the reader (once, ~{EXPORT_SECONDS} s)", file=sys.stderr, flush=True)
                export(weights, out, base_dir)
                exported = True
            if quantized and not (out / INT8).is_file():
                quantize(out)
            reader = OnnxReader(out / (INT8 if quantized else FP32), base_dir)
            try:
                os.utime(out / INFO)  # last used (for _prune)
            except OSError:
                pass
        if exported:
            _prune(out)
        return reader
    except Exception as e:  # noqa: BLE001 - any failure: no fast reader
        print(f"[rag] building the ONNX reader failed ({type(e).__name__}: {e})", file=sys.stderr)
        return None
