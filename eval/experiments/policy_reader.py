"""The reader fine-tuned on questions written over laws and policy papers, in document folds.

The reader was trained on encyclopaedia text (CMRC, DRCD) and English SQuAD 2.0; on the laws a
neighbouring article reads to it like an answer. This script fine-tunes the shipped reader on the
project's own written questions over the laws and the seed documents (suite questions, the seed
question sets, and the dialogue sets' standalone turns; never the fresh dialogue set or CMRC trial
paragraphs), each question read with the passage that holds its evidence (its span the evidence)
and with the two passages retrieval ranks highest that do not (no answer); hand-written
unanswerable questions with their top two passages. A sample of the MRC training data is mixed in.

Folds are by document, so no reader has seen a question about the documents it is scored on:
- ``seeds``: trained on the four laws, scored on the seed documents;
- ``ds-fr``: trained on the seeds and the export control and national defense laws, scored on the
  data security and foreign relations laws;
- ``ec-nd``: the other way round (its test laws are the laws-docx and laws-pdf suites);
- ``all``: trained on everything (what would ship; CMRC is never in it).

Usage (``.venv/bin/python eval/experiments/policy_reader.py``):
  data  --out DIR               build the examples (needs the suite indexes; minutes)
  train --dir DIR --fold F      fine-tune from the shipped reader (DIR/F.safetensors)
  score --dir DIR --fold F [--weights shipped]
                                the reader alone on the fold's test questions
  suite --dir DIR               `rag train` then `rag eval --suite`, each question read by the
                                fold reader that never saw its document (CMRC by ``all``)
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "eval"
LAWS = ("data-security-law-2021", "export-control-law-2020", "foreign-relations-law-2023", "national-defense-law-2020")
SEEDS = ("SC2022", "S2003-85")
FOLDS = {"seeds": set(SEEDS), "ds-fr": {LAWS[0], LAWS[2]}, "ec-nd": {LAWS[1], LAWS[3]}, "all": set()}
NEGATIVES = 2  # retrieved passages without the evidence, read with each question


def written_questions() -> list[dict]:
    """(question, doc, evidence, set) of every written question over the laws and the seeds;
    unanswerable ones get the document their file is about (the seeds': "seeds")."""
    out = []
    for law in LAWS:
        for line in (EVAL / "suites" / "laws" / "questions" / f"{law}.jsonl").read_text("utf-8").splitlines():
            q = json.loads(line)
            out.append({"id": q["id"], "question": q["question"], "doc": q.get("doc") or law,
                        "evidence": q.get("evidence") or [], "set": "laws-suite", "corpus": "laws"})
    for name in ("questions", "heldout", "blind"):
        for line in (EVAL / f"{name}.jsonl").read_text("utf-8").splitlines():
            q = json.loads(line)
            out.append({"id": q["id"], "question": q["question"], "doc": q.get("doc") or "seeds",
                        "evidence": q.get("evidence") or [], "set": name, "corpus": "seeds"})
    for name in ("dialogues", "dialogues-dev", "dialogues-unseen"):
        for line in (EVAL / f"{name}.jsonl").read_text("utf-8").splitlines():
            conv = json.loads(line)
            for i, t in enumerate(conv["turns"]):
                doc = t.get("doc")
                if doc in LAWS or doc in SEEDS:
                    out.append({"id": f"{conv['id']}.{i + 1}", "question": t["standalone"], "doc": doc,
                                "evidence": t.get("evidence") or [], "set": name,
                                "corpus": "laws" if doc in LAWS else "seeds"})
    return out


def in_fold(doc: str, fold: str) -> bool:
    """Whether a question about ``doc`` is one the fold is scored on (so never trained on)."""
    held = FOLDS[fold]
    return doc in held or (doc == "seeds" and "SC2022" in held)


def cmd_data(args) -> None:
    from rag.evaluation import evaluate
    from rag.evaluation.suite import load_suite, prepare
    from rag.models.encoder import SentenceTransformerEncoder, model_name

    encoder = SentenceTransformerEncoder(model_name())
    assistants = {c: prepare(load_suite(c), encoder)[0] for c in ("laws", "seeds")}
    rows, seen = [], set()
    for q in written_questions():
        key = (q["question"], q["doc"])
        if key in seen:
            continue
        seen.add(key)
        a = assistants[q["corpus"]]
        texts = [p.text for p in a.passages]
        gold = evaluate.gold_passages(texts, q["evidence"])
        hits = a.search(q["question"], top_k=8)
        negs = [h.passage.text for h in hits
                if a.passage_index(h.passage.id) not in gold
                and not any(e in h.passage.text for e in q["evidence"])][:NEGATIVES]
        pos = []
        for i in gold:
            ev = next((e for e in q["evidence"] if e in texts[i]), None)
            if ev:  # (relevance also matches an evidence span over the passage's heading)
                pos.append({"context": texts[i], "start": texts[i].index(ev), "answer": ev})
                break
        rows.append({**q, "positive": pos, "negatives": negs})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "data.json").write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    n_pos = sum(len(r["positive"]) for r in rows)
    print(f"{len(rows)} questions, {n_pos} with their passage, {sum(len(r['negatives']) for r in rows)} negatives")


def examples(rows: list[dict]):
    from rag.models.mrcdata import Example

    out = []
    for r in rows:
        for p in r["positive"]:
            out.append(Example(r["id"], r["question"], p["context"], p["start"], p["answer"], "policy", r["doc"]))
        for k, n in enumerate(r["negatives"]):
            out.append(Example(f"{r['id']}-n{k}", r["question"], n, -1, "", "policy-neg", r["doc"]))
    return out


def cmd_train(args) -> None:
    import torch
    from tqdm import tqdm

    from rag.models import readermodel, readertrain

    torch.manual_seed(13)
    torch.set_num_threads(args.threads)
    rows = json.loads((Path(args.dir) / "data.json").read_text("utf-8"))
    train_rows = [r for r in rows if not in_fold(r["doc"], args.fold)]
    policy = examples(train_rows)
    mrc, _ = readertrain.load_sets(readertrain.MRC_DIR)
    rng = random.Random(13)
    mixed = policy + rng.sample(mrc, args.mrc)
    cfg = readertrain.Config(batch=16, seed=13)
    net, windower = readermodel.build_net(readermodel.base_model_dir(), cfg.layers)
    assert readermodel.load_delta(net, readermodel.SHIPPED)
    windows = readertrain.build_windows(windower, mixed, cfg)
    batches = []
    for epoch in range(math.ceil(args.epochs)):
        batches += readertrain.batches_for_epoch(windows, cfg, epoch)
    batches = batches[: int(len(batches) / math.ceil(args.epochs) * args.epochs)]
    print(f"[fold {args.fold}] {len(train_rows)} policy questions, {len(policy)} policy examples, "
          f"{args.mrc} MRC; {len(windows)} windows, {len(batches)} steps", file=sys.stderr)
    heads = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("encoder.")]
    body = [p for n, p in net.named_parameters() if p.requires_grad and n.startswith("encoder.")]
    trainable = heads + body
    opt = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": heads, "lr": args.lr * 5}],
                            weight_decay=0.01)
    warm = max(1, len(batches) // 10)
    net.train()
    t0, losses = time.monotonic(), []
    for step, b in enumerate(tqdm(batches, desc=f"fold {args.fold}", unit="step")):
        scale = min(1.0, (step + 1) / warm) * max(0.0, 1 - step / len(batches))
        for g, base in zip(opt.param_groups, (args.lr, args.lr * 5), strict=True):
            g["lr"] = base * scale
        loss = readertrain.loss_of(net, readertrain._tensors(windows, b, windower.pad))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        losses.append(loss.item())
    meta = dict(readermodel.shipped_meta())
    meta["policy_fold"] = {"fold": args.fold, "policy_questions": len(train_rows), "mrc": args.mrc, "lr": args.lr,
                           "epochs": args.epochs, "steps": len(batches), "seconds": round(time.monotonic() - t0),
                           "loss_first_last_50": [float(np.mean(losses[:50])), float(np.mean(losses[-50:]))]}
    readermodel.write_delta(net, Path(args.dir) / f"{args.fold}.safetensors", meta)
    print(json.dumps(meta["policy_fold"]), file=sys.stderr)


def torch_reader(weights: Path):
    from rag.models import readermodel

    net, windower = readermodel.build_net(readermodel.base_model_dir(), 6)
    assert readermodel.load_delta(net, weights)
    net.eval()
    return readermodel.TorchReader(net, windower)


def cmd_score(args) -> None:
    import torch

    from rag.models import readermodel
    from rag.models.readereval import auc
    from rag.models.readerwindows import read

    torch.set_num_threads(args.threads)
    rows = json.loads((Path(args.dir) / "data.json").read_text("utf-8"))
    test = [r for r in rows if in_fold(r["doc"], args.fold) and r["set"] in ("laws-suite", "heldout", "blind")]
    weights = readermodel.SHIPPED if args.weights == "shipped" else Path(args.dir) / f"{args.fold}.safetensors"
    reader = torch_reader(weights)
    pos_p, neg_p, unans_p, inside = [], [], [], []
    for r in test:
        texts = [p["context"] for p in r["positive"]] + r["negatives"]
        if not texts:
            continue
        got = read(reader, reader.windower, r["question"], texts)
        if r["positive"]:
            pos_p.append(got.probabilities[0])
            a, b = got.spans[0]
            p = r["positive"][0]
            inside.append(a < p["start"] + len(p["answer"]) and b > p["start"])
            neg_p += list(got.probabilities[1:2])
        elif not r["evidence"]:
            unans_p.append(got.probabilities[0])
    print(json.dumps({
        "fold": args.fold, "weights": str(weights.name), "answerable": len(pos_p), "unanswerable": len(unans_p),
        "span_overlaps_evidence": round(float(np.mean(inside)), 3),
        "auc_gold_vs_unanswerable_top": auc(pos_p + unans_p, [1] * len(pos_p) + [0] * len(unans_p)),
        "auc_gold_vs_top_other": auc(pos_p + neg_p, [1] * len(pos_p) + [0] * len(neg_p)),
        "median_p": {"gold": float(np.median(pos_p)), "other": float(np.median(neg_p)),
                     "unanswerable": float(np.median(unans_p)) if unans_p else None},
    }))


def cmd_suite(args) -> int:
    """`rag train` and `rag eval --suite` with each question read by its fold's reader."""
    import os

    from rag.answers import reading
    from rag.errors import QuestionError
    from rag.models import readeronnx
    from rag.question import clean_question

    folder = Path(args.dir)
    readers = {f: readeronnx.load_or_export(folder / f"{f}.safetensors") for f in FOLDS}
    fold_of = {}
    for q in written_questions():
        try:
            text = clean_question(q["question"])[0]
        except QuestionError:
            continue
        fold_of[text] = next((f for f in ("seeds", "ds-fr", "ec-nd") if in_fold(q["doc"], f)), "all")
    # the shipped reading path and its cache, keyed by each fold reader's own weights
    os.environ.setdefault("RAG_READER_CACHE", str(folder / "readings.jsonl"))
    read = reading._read
    counts: dict[str, int] = {}

    def fold_read(reader, question, texts):
        fold = fold_of.get(question, "all")
        counts[fold] = counts.get(fold, 0) + 1
        return read(readers[fold], question, texts)

    reading._read = fold_read
    from rag import cli

    code = cli.main(["train"])
    print(f"[policy] readings by fold: {counts}", file=sys.stderr)
    if code:
        return code
    code = cli.main(["eval", "--suite", "--out", str(folder / "suite.json")])
    print(f"[policy] readings by fold: {counts}", file=sys.stderr)
    return code


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("data")
    s.add_argument("--out", required=True)
    s = sub.add_parser("train")
    s.add_argument("--dir", required=True)
    s.add_argument("--fold", choices=list(FOLDS), required=True)
    s.add_argument("--mrc", type=int, default=1200, help="MRC training examples mixed in")
    s.add_argument("--epochs", type=float, default=1.0)
    s.add_argument("--lr", type=float, default=1e-4)
    s.add_argument("--threads", type=int, default=1)
    s = sub.add_parser("score")
    s.add_argument("--dir", required=True)
    s.add_argument("--fold", choices=list(FOLDS), required=True)
    s.add_argument("--weights", default="fold", choices=("fold", "shipped"))
    s.add_argument("--threads", type=int, default=1)
    s = sub.add_parser("suite")
    s.add_argument("--dir", required=True)
    args = p.parse_args()
    if args.cmd == "suite":
        return cmd_suite(args)
    {"data": cmd_data, "train": cmd_train, "score": cmd_score}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
