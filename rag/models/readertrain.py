"""`rag train-reader`: fine-tune the e5 model as a reader (answer span + "no answer").

The question and a passage window go in together (``readerwindows``); out come a start and an
end score for every token and a no-answer logit from ``<s>`` (SQuAD 2.0 style: windows without
the answer point their span at ``<s>`` too). Only the top ``layers`` transformer layers and the
two heads are trained; the embeddings and lower layers stay as e5 has them, so the shipped file
holds just what differs (``readermodel``).

Training is resumable: every ``save_every`` steps the trained tensors and AdamW's moments go to
``<data dir>/reader-train/`` (safetensors + JSON, never pickle); a new run continues from there,
or, on a machine without it, from the committed weights. The data order is fixed by the seed,
so a resumed run sees the batches an unbroken one would have.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rag.models import mrcdata, readermodel
from rag.models.readereval import score_set
from rag.models.readerwindows import Windower, token_labels
from rag.paths import data_dir

MRC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "corpus-extra" / "mrc"


@dataclass
class Config:
    layers: int = 6  # top transformer layers trained
    lr: float = 2e-4
    head_lr: float = 1e-3
    batch: int = 16
    epochs: float = 2.0
    warmup: int = 200
    seed: int = 13
    unanswered_window_share: float = 0.3  # windows of answerable questions without the answer, kept
    made_share: float = 0.5  # Chinese answerable questions that also yield a made-unanswerable one
    code_switch_share: float = 0.0  # Chinese questions also asked glossed into English (codeswitch.py)
    limit: int = 0  # examples per set (0: all); for smoke tests
    threads: int = 0  # torch threads (0: torch's default); 1 keeps training steady beside other work
    save_every: int = 100
    eval_every: int = 1000
    eval_size: int = 300  # held-out questions per set scored at each evaluation

    def in_range(self) -> bool:
        """Whether the settings `rag train-reader` takes are ones it can train with."""
        return (self.epochs > 0 and 1 <= self.layers <= 12 and self.lr > 0 and self.batch >= 1
                and 0 <= self.code_switch_share <= 1)


CLI_SETTINGS = ("layers", "lr", "batch", "epochs", "seed", "limit", "eval_every", "save_every", "eval_size",
                "threads", "code_switch_share")  # the Config fields `rag train-reader` sets


@dataclass
class State:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    planned_steps: int = 0
    seconds: float = 0.0
    scores: dict = field(default_factory=dict)
    rewarm_at: int = 0  # the step the optimiser's moments started from zero (0, or a resume from weights)


def train_dir() -> Path:
    return data_dir() / "reader-train"


def code_hash() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in ("readertrain.py", "readermodel.py", "readerwindows.py", "mrcdata.py", "codeswitch.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def data_hash(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:16]


def data_files(mrc_dir: Path) -> dict[str, Path]:
    return {
        "cmrc": mrc_dir / "cmrc2018-train.json",
        "drcd": mrc_dir / "drcd-dev.json",
        "drcd-test": mrc_dir / "drcd-test.json",
        "squad2": mrc_dir / "squad2-dev-subset.json",
    }


def load_sets(mrc_dir: Path, limit: int = 0, heldout_only: bool = False,
              code_switch: float = 0.0) -> tuple[list[mrcdata.Example], dict[str, list[mrcdata.Example]]]:
    """(training examples, held-out examples per set). DRCD is converted to simplified. The
    held-out parts get made-unanswerable examples of their own (fixed seed); ``cmrc-en`` is
    CMRC's, every question glossed into English. ``code_switch``: the share of the Chinese
    training questions (answerable or made unanswerable) also trained on glossed into English."""
    from rag.models import codeswitch

    files = data_files(mrc_dir)
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        from rag.errors import RagError

        raise RagError(f"training data not found: {', '.join(missing)} (give --data DIR)")
    convert = mrcdata.t2s()
    cmrc = mrcdata.read_squad(files["cmrc"], "cmrc")
    drcd = mrcdata.read_squad(files["drcd"], "drcd", convert) + mrcdata.read_squad(files["drcd-test"], "drcd", convert)
    squad = mrcdata.read_squad(files["squad2"], "squad2")
    if limit:
        cmrc, drcd, squad = cmrc[:limit], drcd[:limit], squad[:limit]
    train, held = [], {}
    for name, exs, by in (("cmrc", cmrc, "article"), ("drcd", drcd, "article"), ("squad2", squad, "context")):
        share = 10 if name == "squad2" else 20
        held[name] = [e for e in exs if mrcdata.is_heldout(e, share, by)]
        part = [e for e in exs if not mrcdata.is_heldout(e, share, by)]
        train.extend(part)
        if name != "squad2":
            held[name] += mrcdata.made_unanswerable(held[name], seed=7)
    glosser = codeswitch.Glosser()
    held["cmrc-en"] = codeswitch.code_switched(held["cmrc"], share=1.0, seed=7, glosser=glosser)
    if heldout_only:
        return [], held
    zh = [e for e in train if e.source in ("cmrc", "drcd")]
    made = mrcdata.made_unanswerable(zh, share=Config.made_share)
    train.extend(made)
    train.extend(codeswitch.code_switched(zh + made, share=code_switch, glosser=glosser))
    return train, held


def build_windows(windower: Windower, examples, cfg: Config):
    """(ids, start label, end label, has-answer label) per training window, in a fixed order."""
    rng = random.Random(cfg.seed)
    out = []
    for ex in examples:
        wins = windower.windows(ex.question, [ex.context])
        if ex.answerable:
            labelled = [(w, *token_labels(w, ex.start, ex.start + len(ex.answer))) for w in wins]
            for w, s, e in labelled:
                if s > 0 or rng.random() < cfg.unanswered_window_share:
                    out.append((w.ids, w.context_start, s, e, int(s > 0)))
        else:
            w = rng.choice(wins)
            out.append((w.ids, w.context_start, 0, 0, 0))
    return out


def batches_for_epoch(windows, cfg: Config, epoch: int) -> list[list[int]]:
    """Batches of window indices: shuffled, then sorted by length within pools of 50 batches
    (less padding), then the batches shuffled; fixed by the seed and the epoch."""
    rng = random.Random(cfg.seed * 1000 + epoch)
    order = list(range(len(windows)))
    rng.shuffle(order)
    pool = cfg.batch * 50
    batches = []
    for i in range(0, len(order), pool):
        chunk = sorted(order[i : i + pool], key=lambda k: len(windows[k][0]))
        batches.extend(chunk[j : j + cfg.batch] for j in range(0, len(chunk), cfg.batch))
    rng.shuffle(batches)
    return batches


def _tensors(windows, idx, pad: int):
    import torch

    rows = [windows[k] for k in idx]
    n = max(len(r[0]) for r in rows)
    ids = torch.full((len(rows), n), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    allowed = torch.zeros((len(rows), n), dtype=torch.bool)
    for i, (t, cs, _, _, _) in enumerate(rows):
        ids[i, : len(t)] = torch.tensor(t)
        mask[i, : len(t)] = 1
        allowed[i, 0] = True
        allowed[i, cs : len(t) - 1] = True
    starts = torch.tensor([r[2] for r in rows])
    ends = torch.tensor([r[3] for r in rows])
    has = torch.tensor([float(r[4]) for r in rows])
    return ids, mask, allowed, starts, ends, has


def loss_of(net, batch):
    import torch.nn.functional as F

    ids, mask, allowed, starts, ends, has = batch
    s, e, na = net(ids, mask)
    s = s.masked_fill(~allowed, -1e4)
    e = e.masked_fill(~allowed, -1e4)
    span = (F.cross_entropy(s, starts) + F.cross_entropy(e, ends)) / 2
    return span + F.binary_cross_entropy_with_logits(na, has)


def _lr_at(step: int, cfg: Config, planned: int, rewarm_at: int = 0) -> float:
    decay = 1.0 if step < cfg.warmup else max(0.05, 1 - (step - cfg.warmup) / max(1, planned - cfg.warmup))
    return decay * min(1.0, (step - rewarm_at + 1) / cfg.warmup)


_SAME_DATA = ("layers", "batch", "seed", "limit", "unanswered_window_share", "made_share", "code_switch_share")


def _position_of(meta: dict, cfg: Config, per_epoch: int) -> State:
    """Where a run that wrote these committed weights stood, so going on from them sees the
    batches it would have seen next; the optimiser's moments are not shipped, so its step
    size warms up again."""
    done = meta.get("config", {})
    if any(done.get(k, getattr(Config, k)) != getattr(cfg, k) for k in _SAME_DATA):
        return State()
    step = int(meta.get("steps", 0))
    epoch, batch_in_epoch = divmod(step, per_epoch)
    return State(step=step, epoch=epoch, batch_in_epoch=batch_in_epoch,
                 seconds=float(meta.get("train_seconds", 0)), rewarm_at=step)


def save_checkpoint(net, opt, state: State, cfg: Config, folder: Path) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    names = {id(p): n for n, p in net.named_parameters() if p.requires_grad}
    for n, p in net.named_parameters():
        if p.requires_grad:
            tensors["param/" + n] = p.detach().contiguous()
    for p, st in opt.state.items():
        n = names[id(p)]
        tensors["avg/" + n] = st["exp_avg"].contiguous()
        tensors["sq/" + n] = st["exp_avg_sq"].contiguous()
    tmp = folder / f".checkpoint.tmp-{os.getpid()}"
    save_file(tensors, str(tmp))
    os.replace(tmp, folder / "checkpoint.safetensors")
    meta = {"config": asdict(cfg), "state": asdict(state), "code": code_hash()}
    (folder / ".checkpoint.json.tmp").write_text(json.dumps(meta, indent=2))
    os.replace(folder / ".checkpoint.json.tmp", folder / "checkpoint.json")


def load_checkpoint(net, opt, folder: Path) -> State | None:
    import torch
    from safetensors.torch import load_file

    meta_path, weights = folder / "checkpoint.json", folder / "checkpoint.safetensors"
    if not (meta_path.is_file() and weights.is_file()):
        return None
    meta = json.loads(meta_path.read_text())
    tensors = load_file(str(weights))
    params = dict(net.named_parameters())
    with torch.no_grad():
        for n, p in params.items():
            if p.requires_grad and "param/" + n in tensors:
                p.copy_(tensors["param/" + n])
    for n, p in params.items():
        if p.requires_grad and "avg/" + n in tensors:
            opt.state[p] = {"step": torch.tensor(float(meta["state"]["step"])),
                            "exp_avg": tensors["avg/" + n], "exp_avg_sq": tensors["sq/" + n]}
    return State(**meta["state"])


def evaluate(net, windower: Windower, held: dict, size: int) -> dict:
    """Span EM/F1 and has-answer accuracy/AUC on ``size`` held-out questions per set, taken
    evenly through it (so the made-unanswerable ones at its end are among them)."""
    reader = readermodel.TorchReader(net, windower)
    return {name: score_set(reader, exs[:: max(1, len(exs) // size)][:size] if size else exs)
            for name, exs in held.items()}


def train(cfg: Config, mrc_dir: Path = MRC_DIR, minutes: float = 0, out: Path | None = None,
          folder: Path | None = None, progress: bool = True, max_steps: int = 0) -> State:
    """Train (or go on training) until the planned epochs, ``minutes`` or ``max_steps`` more
    steps are done; writes the checkpoint as it goes and the shippable weights (``out``) after
    each evaluation and at the end."""
    import torch
    from tqdm import tqdm

    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    folder = folder or train_dir()
    files = data_files(mrc_dir)
    base_dir = readermodel.base_model_dir()
    net, windower = readermodel.build_net(base_dir, cfg.layers)
    shipped = readermodel.shipped_weights()
    trainable = [p for p in net.parameters() if p.requires_grad]
    heads = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("encoder.")]
    body = [p for n, p in net.named_parameters() if p.requires_grad and n.startswith("encoder.")]
    opt = torch.optim.AdamW([{"params": body, "lr": cfg.lr}, {"params": heads, "lr": cfg.head_lr}],
                            weight_decay=0.01)
    state = load_checkpoint(net, opt, folder)
    from_shipped = state is None and shipped is not None and readermodel.load_delta(net, shipped)
    if state is not None:
        print(f"[rag] resuming from {folder} at step {state.step}", file=sys.stderr)
    train_ex, held = load_sets(mrc_dir, cfg.limit, code_switch=cfg.code_switch_share)
    windows = build_windows(windower, train_ex, cfg)
    per_epoch = math.ceil(len(windows) / cfg.batch)
    if state is None:
        state = _position_of(readermodel.shipped_meta(shipped), cfg, per_epoch) if from_shipped else State()
        if from_shipped:
            print(f"[rag] starting from the committed reader weights ({shipped}) at step {state.step}",
                  file=sys.stderr)
    state.planned_steps = int(per_epoch * cfg.epochs)
    print(f"[rag] {len(train_ex)} training questions, {len(windows)} windows, {per_epoch} steps per epoch, "
          f"{state.planned_steps} planned; held out: "
          + ", ".join(f"{k} {len(v)}" for k, v in held.items()), file=sys.stderr)
    base_lrs = [cfg.lr, cfg.head_lr]
    deadline = time.monotonic() + minutes * 60 if minutes else math.inf
    stop_at = state.step + max_steps if max_steps else math.inf
    bar = tqdm(total=state.planned_steps, initial=state.step, desc="training the reader", unit="step",
               disable=not progress, dynamic_ncols=True)
    net.train()
    last_loss = []
    while state.step < min(state.planned_steps, stop_at) and time.monotonic() < deadline:
        batches = batches_for_epoch(windows, cfg, state.epoch)
        while state.batch_in_epoch < len(batches) and state.step < min(state.planned_steps, stop_at):
            if time.monotonic() >= deadline:
                break
            t0 = time.monotonic()
            scale = _lr_at(state.step, cfg, state.planned_steps, state.rewarm_at)
            for g, lr in zip(opt.param_groups, base_lrs, strict=True):
                g["lr"] = lr * scale
            loss = loss_of(net, _tensors(windows, batches[state.batch_in_epoch], windower.pad))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            opt.step()
            state.step += 1
            state.batch_in_epoch += 1
            state.seconds += time.monotonic() - t0
            last_loss = (last_loss + [loss.item()])[-50:]
            bar.update()
            bar.set_postfix(loss=f"{np.mean(last_loss):.3f}", epoch=state.epoch)
            if state.step % cfg.save_every == 0:
                save_checkpoint(net, opt, state, cfg, folder)
            if cfg.eval_every and state.step % cfg.eval_every == 0:
                _evaluate_and_export(net, windower, held, cfg, state, files, out, opt, folder)
        if state.batch_in_epoch >= len(batches):
            state.epoch += 1
            state.batch_in_epoch = 0
    bar.close()
    save_checkpoint(net, opt, state, cfg, folder)
    _evaluate_and_export(net, windower, held, cfg, state, files, out, opt, folder)
    return state


def _evaluate_and_export(net, windower, held, cfg, state, files, out, opt, folder) -> None:
    net.eval()
    state.scores = evaluate(net, windower, held, cfg.eval_size)
    net.train()
    print("[rag] held out: " + json.dumps(state.scores), file=sys.stderr, flush=True)
    save_checkpoint(net, opt, state, cfg, folder)
    meta = {
        "config": asdict(cfg),
        "steps": state.step,
        "epochs_done": round(state.step / max(1, state.planned_steps) * cfg.epochs, 3),
        "train_seconds": round(state.seconds),
        "data_hash": data_hash(list(files.values())),
        "code_hash": code_hash(),
        "data": {k: p.name for k, p in files.items()},
        "heldout_scores": state.scores,
    }
    readermodel.write_delta(net, out or readermodel.SHIPPED, meta)
