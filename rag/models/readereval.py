"""Scores of a reader on SQuAD-style examples: span EM/F1 and how well it knows "no answer"."""

from __future__ import annotations

import re
import string
from collections import Counter

import numpy as np

from rag.models.readerwindows import read

_PUNCT = set(string.punctuation) | set("，。、；：？！“”‘’（）《》【】—…·「」『』")


def _tokens(text: str) -> list[str]:
    """CJK characters one by one, other words whole (the CMRC and SQuAD scripts' rule)."""
    text = "".join(c for c in text.lower() if c not in _PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return re.findall(r"[\u4e00-\u9fff]|[^\s\u4e00-\u9fff]+", text)


def f1(pred: str, gold: str) -> float:
    p, g = _tokens(pred), _tokens(gold)
    common = sum((Counter(p) & Counter(g)).values())
    if not p or not g or not common:
        return float(p == g)
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def exact(pred: str, gold: str) -> float:
    return float(_tokens(pred) == _tokens(gold))


def auc(scores: list[float], labels: list[int]) -> float | None:
    """ROC AUC by ranks (ties averaged): the chance that a random negative scores lower than a
    random positive, ties counting half; None when one class is missing."""
    from scipy.stats import rankdata

    y = np.asarray(labels)
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    if not n1 or not n0:
        return None
    r = rankdata(scores)
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def read_all(reader, examples) -> list[tuple[float, str]]:
    """(P(answerable), best span text) for each example, read with its context alone."""
    out = []
    for ex in examples:
        r = read(reader, reader.windower, ex.question, [ex.context])
        a, b = r.spans[0]
        out.append((r.answerable, ex.context[a:b]))
    return out


def score_set(reader, examples, threshold: float = 0.5, readings=None) -> dict:
    """EM/F1 on answerable examples (best span anywhere), has-answer accuracy at ``threshold``
    and AUC of P(answerable) over all examples (``readings``: :func:`read_all`'s, if done)."""
    readings = readings if readings is not None else read_all(reader, examples)
    ems, f1s, probs, labels = [], [], [], []
    for ex, (p, pred) in zip(examples, readings, strict=True):
        probs.append(p)
        labels.append(int(ex.answerable))
        if ex.answerable:
            ems.append(exact(pred, ex.answer))
            f1s.append(f1(pred, ex.answer))
    out = {"n": len(examples)}
    if ems:
        out |= {"em": round(100 * float(np.mean(ems)), 1), "f1": round(100 * float(np.mean(f1s)), 1)}
    acc = np.mean([(p >= threshold) == bool(y) for p, y in zip(probs, labels, strict=True)]) if probs else 0.0
    a = auc(probs, labels)
    out |= {"has_answer_acc": round(float(acc), 3), "auc": None if a is None else round(a, 3)}
    return out
