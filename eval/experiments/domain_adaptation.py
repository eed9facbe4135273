"""Adapting e5-small to the corpus without labels (inverse cloze task), measured; not kept.

    .venv/bin/python eval/experiments/domain_adaptation.py [--questions eval/questions.jsonl] [--epochs 1 2]

Each sentence of a passage with two or more sentences is a pseudo-question whose answer is
its passage without it (with the passage's section context, as the index embeds it): 347
pairs on the seed corpus. The model is trained on them with in-batch negatives (contrastive
loss, scale 20, batch 32, AdamW lr 2e-5, word embeddings frozen), on the CPU, for each number of
epochs given; no eval question or label is used. Passages, sentences and questions are then
embedded with the adapted model and ranked as the index does (dense = ½ passage cosine + ½ best
sentence cosine; hybrid fuses it with the unchanged BM25). The first row is the shipped model
through the same path and must equal ``rag eval``'s dense and hybrid rows.

It takes about 4 minutes of training per epoch here, and the adapted weights belong to one
corpus: every added document would mean training and embedding everything again.
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from retrieval_variants import metrics  # noqa: E402

from rag import Assistant  # noqa: E402
from rag.documents.context import embedding_texts  # noqa: E402
from rag.evaluation import evaluate  # noqa: E402
from rag.question import clean_question  # noqa: E402
from rag.retrieval.fusion import fuse  # noqa: E402


def ranking_metrics(a: Assistant, model, questions: list[dict]) -> dict[str, dict]:
    """Dense and hybrid hit@1/hit@5/MRR (all, odd ids, even ids) with ``model``'s vectors."""
    import torch

    texts = [clean_question(q["question"])[0] for q in questions]
    with torch.no_grad():
        P = model.encode_document(embedding_texts(a.passages), normalize_embeddings=True, batch_size=32)
        S = model.encode_document([s.text for s in a.sentences.sentences], normalize_embeddings=True,
                                  batch_size=32)
        Q = model.encode_query(texts, normalize_embeddings=True, batch_size=32)
    dense = [0.5 * (P @ v) + 0.5 * np.maximum.reduceat(S @ v, a._sentence_starts) for v in Q]
    return {"dense": metrics(a, questions, lambda n, t: dense[n]),
            "hybrid": metrics(a, questions, lambda n, t: fuse(dense[n], a.lexical.scores(t)))}


def pairs(a: Assistant) -> list[tuple[str, str]]:
    """(sentence, its passage without it, with the passage's section context)."""
    contextual = embedding_texts(a.passages)
    out = []
    for i, p in enumerate(a.passages):
        js = a.sentences.by_passage.get(i, [])
        if len(js) < 2:
            continue
        context = contextual[i][: len(contextual[i]) - len(p.text)]
        for j in js:
            s = a.sentences.sentences[j]
            out.append((s.text, context + p.text[: s.start] + p.text[s.end:]))
    return out


def adapt(base, data: list[tuple[str, str]], epochs: int, lr: float = 2e-5, batch: int = 32):
    """A copy of ``base`` trained on ``data`` with in-batch negatives."""
    import torch

    torch.manual_seed(0)
    rng = random.Random(0)
    model = copy.deepcopy(base)
    model[0].auto_model.embeddings.word_embeddings.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    data = list(data)
    for _ in range(epochs):
        rng.shuffle(data)
        for b in range(0, len(data), batch):
            chunk = data[b:b + batch]
            q = model(model.preprocess(["query: " + x for x, _ in chunk]))["sentence_embedding"]
            p = model(model.preprocess(["passage: " + y for _, y in chunk]))["sentence_embedding"]
            logits = 20 * torch.nn.functional.normalize(q, dim=-1) @ torch.nn.functional.normalize(p, dim=-1).T
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(chunk)))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", default=str(ROOT / "eval" / "questions.jsonl"))
    ap.add_argument("--epochs", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    a = Assistant.load()
    questions = [q for q in evaluate.load_questions(Path(args.questions)) if q["evidence"]]
    base = a.encoder.model
    data = pairs(a)
    print(f"{len(data)} training pairs, {len(questions)} answerable questions", flush=True)
    rows = [("shipped model", ranking_metrics(a, base, questions))]
    for epochs in args.epochs:
        t0 = time.perf_counter()
        model = adapt(base, data, epochs)
        print(f"trained {epochs} epoch(s) in {time.perf_counter() - t0:.0f} s", flush=True)
        rows.append((f"adapted, {epochs} epoch(s)", ranking_metrics(a, model, questions)))
    print(f"\n{'model':24s} {'mode':7s} {'hit@1':>6s} {'hit@5':>6s} {'MRR':>6s} {'odd':>6s} {'even':>6s}")
    for name, m in rows:
        for mode in ("dense", "hybrid"):
            x = m[mode]
            print(f"{name:24s} {mode:7s} {x['all']['hit@1']:6.3f} {x['all']['hit@5']:6.3f} {x['all']['mrr']:6.3f}"
                  f" {x['odd']['mrr']:6.3f} {x['even']['mrr']:6.3f}")


if __name__ == "__main__":
    main()
