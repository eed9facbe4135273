"""What the reader costs on this machine: a training step (top 4, 6 or 12 layers trained) and
reading 1, 3 or 5 CMRC paragraphs or 3 short law passages with the shipped ONNX reader.

    .venv/bin/python eval/experiments/reader_cost.py [--steps 4] [--reads 8]

Run it alone: timings on 2 cores move with anything else running.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from rag.models import readermodel, readertrain
from rag.models.readerchoice import load_reader
from rag.models.readerwindows import read

ROOT = Path(__file__).resolve().parents[2]
TRIAL = ROOT / "eval" / "suites" / "cmrc2018-trial" / "cmrc2018_trial.json"
LAW = ["第二十一条 国家建立数据分类分级保护制度，根据数据在经济社会发展中的重要程度，以及一旦遭到篡改、破坏、泄露或者"
       "非法获取、非法利用，对国家安全、公共利益或者个人、组织合法权益造成的危害程度，对数据实行分类分级保护。"] * 3


def step_cost(steps: int) -> dict:
    import torch

    cfg = readertrain.Config()
    train, _ = readertrain.load_sets(readertrain.MRC_DIR, limit=400)
    out = {}
    for layers in (4, 6, 12):
        net, windower = readermodel.build_net(readermodel.base_model_dir(), layers)
        windows = readertrain.build_windows(windower, train, cfg)
        batches = readertrain.batches_for_epoch(windows, cfg, 0)
        opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
        times = []
        for b in batches[: steps + 1]:
            t0 = time.perf_counter()
            loss = readertrain.loss_of(net, readertrain._tensors(windows, b, windower.pad))
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
        out[f"top {layers} layers: s/step (16 windows)"] = round(float(np.median(times[1:])), 2)
    return out


def read_cost(reads: int) -> dict:
    reader = load_reader()
    data = json.loads(TRIAL.read_text(encoding="utf-8"))["data"]
    contexts = [p["context"] for a in data for p in a["paragraphs"]]
    questions = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    out = {}
    for n in (1, 3, 5):
        times = []
        for i in range(reads):
            t0 = time.perf_counter()
            read(reader, reader.windower, questions[i * 7], contexts[i : i + n])
            times.append(time.perf_counter() - t0)
        out[f"{n} CMRC paragraphs: ms"] = round(1000 * float(np.median(times)))
    times = []
    for _ in range(reads):
        t0 = time.perf_counter()
        read(reader, reader.windower, "数据分类分级保护制度由谁建立？", LAW)
        times.append(time.perf_counter() - t0)
    out["3 law passages: ms"] = round(1000 * float(np.median(times)))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--reads", type=int, default=8)
    p.add_argument("--no-training", action="store_true", help="time reading only")
    args = p.parse_args()
    result = read_cost(args.reads)
    if not args.no_training:
        result |= step_cost(args.steps)
    for k, v in result.items():
        print(f"{k:40s} {v}")


if __name__ == "__main__":
    main()
