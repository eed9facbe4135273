"""The query encoder's fast path: the sentence-transformers model exported to ONNX, locally.

Exported once from the built model directory (torch + onnx, no network) into
``<data dir>/onnx/<model>/``; at query time only ``onnxruntime`` and ``tokenizers`` are
imported (no torch, no sentence-transformers), which is most of the cold start saved.
The graph includes the pooling and the L2 normalization, so it returns what
``SentenceTransformer.encode_query(..., normalize_embeddings=True)`` returns (cosine 1.0000
on the eval questions). The word-embedding table (250k x 384 of e5's 118M parameters) is
kept out of the graph in a ``.npy`` that is memory-mapped: a question only touches its own
rows, so loading the query model reads ~90 MB instead of ~470 MB. ``quantized``: weights
dynamically quantized to int8 (smaller, but it costs retrieval quality here, so it is not the
default, and it is only made when ``RAG_QUERY_BACKEND=onnx-int8`` asks for it).

One export per model, however many processes start at once: the export runs under an
exclusive file lock (``<data dir>/onnx/.<model>.lock``), the process holding it removes
temporary folders that an interrupted export left behind, and a finished export is moved
into place with one rename.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from rag.paths import data_dir, slug

EXPORT_VERSION = 2  # bump when the exported graph changes
FP32 = "model.onnx"
WORDS = "word_embeddings.npy"
INT8 = "model_int8.onnx"
INFO = "export.json"
_lock = threading.Lock()


def export_dir(model_id: str) -> Path:
    return data_dir() / "onnx" / slug(model_id)


def _source_info(model_dir: Path, model_id: str) -> dict:
    """What the export depends on: the model id, the export code version, the weights' stats."""
    files = {}
    for name in ("model.safetensors", "pytorch_model.bin", "tokenizer.json", "config.json", "modules.json"):
        p = model_dir / name
        if p.is_file():
            st = p.stat()
            files[name] = [st.st_size, int(st.st_mtime)]
    return {"export_version": EXPORT_VERSION, "model_id": model_id, "source": str(model_dir), "files": files}


def _pooling(model_dir: Path) -> tuple[str, bool] | None:
    """(pooling mode, normalize) for a plain Transformer -> Pooling [-> Normalize] model, else None."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        cfg = json.loads((model_dir / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    mode = cfg.get("pooling_mode") or next(
        (k[len("pooling_mode_"):-len("_tokens")] for k, v in cfg.items() if k.startswith("pooling_mode_") and v),
        None)
    mode = {"mean": "mean", "mean_tokens": "mean", "cls": "cls", "cls_token": "cls"}.get(str(mode))
    return (mode, len(kinds) == 3) if mode else None


def export(model_dir: Path, out_dir: Path, model_id: str) -> None:
    """Export the model (transformer + pooling + normalization) to ONNX."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    pooling = _pooling(model_dir)
    if pooling is None:
        raise ValueError("not a Transformer + mean/cls Pooling model")
    mode, _ = pooling

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, inputs_embeds, attention_mask):
            # Position ids from inputs_embeds are 0..n-1 after the padding index, the same as
            # from input_ids for every unpadded token (padding is on the right, and masked).
            h = self.m(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            if mode == "cls":
                v = h[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(h.dtype)
                v = (h * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(v, p=2, dim=1)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        words = model.get_input_embeddings().weight.detach().numpy().astype(np.float32)
        np.save(tmp / WORDS, words, allow_pickle=False)
        ids = torch.tensor([[0, 1000, 2000, 3000, 2], [0, 1000, 2000, 2, 1]])
        mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
        embeds = torch.from_numpy(words[ids.numpy()])
        export_graph(Pooled(model), embeds, mask, tmp / FP32, {"embedding": {0: "batch"}})
        (tmp / INFO).write_text(json.dumps(_source_info(model_dir, model_id), indent=2))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


TOKEN_AXES = {0: "batch", 1: "tokens"}


_EXPORTING = threading.Lock()


def export_graph(module, embeds, mask, path: Path, outputs: dict[str, dict]) -> None:
    """Export a module taking (inputs_embeds, attention_mask) to ONNX at ``path``: batch and
    tokens dynamic, ``outputs`` its output names with their dynamic axes."""
    import warnings

    import torch

    # torch.onnx.export keeps global state: the query encoder's export and the reader's (warmed
    # in a thread on a first start) must not run at once ("GLOBALS.in_onnx_export must be False")
    with _EXPORTING, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (embeds, mask), str(path), input_names=["inputs_embeds", "attention_mask"],
                          output_names=list(outputs), opset_version=17, dynamo=False,
                          dynamic_axes={"inputs_embeds": TOKEN_AXES, "attention_mask": TOKEN_AXES, **outputs})


def is_exported(model_dir: Path, out_dir: Path, model_id: str) -> bool:
    try:
        info = json.loads((out_dir / INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return info == _source_info(model_dir, model_id) and all(
        (out_dir / f).is_file() for f in (FP32, WORDS))


def quantize(out_dir: Path) -> None:
    """Write the int8 copy of an exported model beside it (temp file, then rename)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out_dir / f".{INT8}.tmp-{os.getpid()}"
    try:
        quantize_dynamic(str(out_dir / FP32), str(tmp), weight_type=QuantType.QInt8)
        os.replace(tmp, out_dir / INT8)
    finally:
        tmp.unlink(missing_ok=True)


class ExportLock:
    """An exclusive lock on a model's export folder, across processes (``flock``: released by
    the kernel when the holder exits, however it exits). The holder removes what an export
    that was interrupted left behind: no other process can be exporting while it holds it."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir

    def __enter__(self) -> Path:
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.out_dir.parent / f".{self.out_dir.name}.lock", "a+b")
        fcntl.flock(self._file, fcntl.LOCK_EX)
        for stale in self.out_dir.parent.glob(f".{self.out_dir.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in (self.out_dir.glob(f".{INT8}.tmp-*") if self.out_dir.is_dir() else ()):
            stale.unlink(missing_ok=True)
        return self.out_dir

    def __exit__(self, *exc) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


def threads() -> int:
    """onnxruntime intra-op threads (``RAG_ONNX_THREADS``; default: the CPUs this process may
    use, at most 4). On the 2-core machine, quiet, 2 threads embed a question in 18 ms against
    28 ms for 1 (``rag bench``); 1 thread wins only when other work already fills the cores."""
    default = min(4, len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else 1
    try:
        return max(0, int(os.environ.get("RAG_ONNX_THREADS", str(default))))
    except ValueError:
        return default


def pad_batch(rows, pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Token id rows padded on the right to the longest, and their attention mask."""
    n = max(len(r) for r in rows)
    ids = np.full((len(rows), n), pad_id, np.int64)
    mask = np.zeros((len(rows), n), np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
        mask[i, : len(r)] = 1
    return ids, mask


def open_session(onnx_path: Path, model_dir: Path, n_threads: int | None = None):
    """(onnxruntime session, ``tokenizers.Tokenizer`` of ``model_dir``): the session loads in a
    thread while the tokenizer parses (onnxruntime releases the GIL)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads() if n_threads is None else n_threads
    so.inter_op_num_threads = 1
    # No busy-waiting between runs: the query encoder's threads spinning after a question stole
    # the cores from the reader's session that runs next (reader 53 -> 24 ms, docs/experiments.md)
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    result: dict = {}

    def load_session():
        try:
            result["session"] = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - re-raised below
            result["error"] = e

    t = threading.Thread(target=load_session)
    t.start()
    tokenizer = shared_tokenizer(model_dir)
    t.join()
    if "error" in result:
        raise result["error"]
    return result["session"], tokenizer


_tokenizers: dict[str, object] = {}
_tokenizers_lock = threading.Lock()


def shared_tokenizer(model_dir: Path):
    """One ``tokenizers.Tokenizer`` per tokenizer file and process, without padding or
    truncation (its users cut their own input and change no setting). Parsing XLM-R's 17 MB
    tokenizer.json takes ~0.7 s and holds the GIL, and the query encoder and the reader, loading
    side by side on a first question, read the same file."""
    from tokenizers import Tokenizer

    path = str((Path(model_dir) / "tokenizer.json").resolve())
    with _tokenizers_lock:
        if path not in _tokenizers:
            tokenizer = Tokenizer.from_file(path)
            tokenizer.no_padding()
            tokenizer.no_truncation()
            _tokenizers[path] = tokenizer
        return _tokenizers[path]


class OnnxQueryModel:
    """Question -> unit vector with onnxruntime; same prompt, truncation and tokens as
    sentence-transformers."""

    def __init__(self, model_dir: Path, onnx_path: Path, n_threads: int | None = None):
        self.words = np.load(onnx_path.parent / WORDS, mmap_mode="r", allow_pickle=False)
        cfg = {}
        p = model_dir / "config_sentence_transformers.json"
        if p.is_file():
            cfg = json.loads(p.read_text(encoding="utf-8"))
        self.prompt = (cfg.get("prompts") or {}).get("query", "")
        max_len = 512
        sb = model_dir / "sentence_bert_config.json"
        if sb.is_file():
            max_len = json.loads(sb.read_text(encoding="utf-8")).get("max_seq_length") or max_len
        tc = model_dir / "tokenizer_config.json"
        tcfg = json.loads(tc.read_text(encoding="utf-8")) if tc.is_file() else {}
        max_len = min(int(max_len), int(tcfg.get("model_max_length") or max_len))
        self.session, self.tokenizer = open_session(onnx_path, model_dir, n_threads)
        self.max_len = max_len
        pad = tcfg.get("pad_token")
        pad_id = self.tokenizer.token_to_id(pad) if isinstance(pad, str) else None
        self.pad_id = 0 if pad_id is None else int(pad_id)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), np.float32)
        encs = self.tokenizer.encode_batch([self.prompt + t for t in texts])
        # cut as the tokenizer's own truncation would: <s>, the first tokens, </s>
        n = self.max_len
        ids, mask = pad_batch([e.ids if len(e.ids) <= n else e.ids[:n - 1] + e.ids[-1:] for e in encs], self.pad_id)
        embeds = np.ascontiguousarray(self.words[ids], dtype=np.float32)
        return self.session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0].astype(np.float32)


def load_or_export(model_dir: Path, model_id: str, quantized: bool = False) -> OnnxQueryModel | None:
    """The ONNX query model for a local model directory, exporting it first if needed;
    None (with a one-line notice) when onnxruntime is missing or the export fails."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    if _pooling(model_dir) is None:
        return None
    out = export_dir(model_id)
    with _lock, ExportLock(out):
        if not is_exported(model_dir, out, model_id):
            print(f"[rag] exporting the query encoder to ONNX in {out} (once, ~30 s)", file=sys.stderr, flush=True)
            try:
                export(model_dir, out, model_id)
            except Exception as e:  # noqa: BLE001 - any failure: fall back to torch
                print(f"[rag] ONNX export failed ({type(e).__name__}: {e}); using torch", file=sys.stderr)
                return None
        if quantized and not (out / INT8).is_file():
            print("[rag] quantizing the ONNX query encoder to int8 (once)", file=sys.stderr, flush=True)
            quantize(out)
    return OnnxQueryModel(model_dir, out / (INT8 if quantized else FP32))
