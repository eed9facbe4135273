"""The reader's probabilities in the answerability model as they are, or as log-odds, with or
without their product with the English flag; each corpus left out.

A logistic model over a probability weighs 0.05 → 0.20 as little as 0.80 → 0.95, yet the
answerable and unanswerable questions of the laws and seeds sit below 0.5 (the reader was
trained on encyclopaedia text), and English questions lower still (it never read an English
question with a Chinese passage).

    RAG_READER_CACHE=/tmp/r.jsonl .venv/bin/python eval/experiments/reader_logodds.py [--read-more 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from rag.answers import features, reading
from rag.evaluation import suite as suites
from rag.evaluation import training
from rag.models.encoder import SentenceTransformerEncoder, model_name
from rag.models.readereval import auc

sys.path.insert(0, str(Path(__file__).parent))
from answer_model import HEADER, left_out, row, verdict  # noqa: E402

SHIPPED = features.question_row
READER = [features.QUESTION_FEATURES.index(n) for n in ("reader_answerable", "reader_top")]
ENGLISH = features.QUESTION_FEATURES.index("english")


def logodds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def variant(log: bool, english: bool):
    def question_row(*args, **kwargs) -> np.ndarray:
        row = SHIPPED(*args, **kwargs)
        if log:
            row[READER] = logodds(row[READER].astype(np.float64))
        if english:
            row = np.concatenate([row, row[READER] * row[ENGLISH]]).astype(np.float32)
        return row
    return question_row


VARIANTS = {"shipped": (False, False), "log-odds": (True, False), "log-odds x english": (True, True),
            "probability x english": (False, True)}


def separation(model, examples) -> str:
    """AUC of P(answerable) between the answerable questions and each kind of unanswerable
    (questions a rule refuses count as the lowest), whatever the threshold."""
    scores, kinds = [], []
    for e in examples:
        _, _, pa, ruled = verdict(model, e)
        scores.append(-1.0 if ruled or not e.hits else pa)
        kinds.append(e.kind)
    scores, kinds = np.array(scores), np.array(kinds)
    out = []
    for k in ("unanswerable", "made"):
        mask = (kinds == "answerable") | (kinds == k)
        if (kinds == k).any() and (kinds == "answerable").any():
            out.append(f"AUC {k[:5]} {auc(scores[mask], kinds[mask] == 'answerable'):.3f}")
    return "  ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--read-more", type=int, default=reading.READ_MORE,
                    help="passages the reader reads when the first does not answer")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    args = ap.parse_args()
    reading.READ_MORE = args.read_more
    examples = training.collect(suites.suite_names(), SentenceTransformerEncoder(model_name()), progress=lambda m: None)
    for name in args.variants:
        log, english = VARIANTS[name]
        features.question_row = variant(log, english)
        print(f"\n{name}")
        print(HEADER)
        for model, corpus, m, mine in left_out(examples):
            print(f"{row(corpus, m)}  threshold {model.threshold:.3f}  {separation(model, mine)}", flush=True)


if __name__ == "__main__":
    main()
