"""How the "not found" threshold is chosen, judged leave-one-corpus-out on the eval suite.

Retrieves every suite question once (as `rag train` does). For each group left out, the answer
model is fitted on the others, and its threshold is chosen in one of these ways:

- ``per-group``: the highest threshold that refuses at most R of each training group's answerable
  questions, read from the probabilities of the model fitted on those same questions (shipped
  until session 13);
- ``macro``: the highest threshold whose refusals, averaged over the training groups, are at
  most R (one group may go over R where another stays under);
- ``normal``: per training group, the R-quantile of a normal distribution fitted to the log-odds
  of its answerable questions' P(answerable) (not refused by a rule); the lowest over the groups
  (``training.choose_threshold``, shipped since session 13). Every question moves it a little and
  none alone, where ``per-group`` is one order statistic;
- ``nested``: the normal rule, but each training group's probabilities come from a model fitted
  without that group, so the threshold is set on questions the model did not see, as the left-out
  corpus will be.

For each it prints, on the left-out group: the quote holds the evidence, answerable refused,
hand-written and ready-made unanswerable rejected, and the AUCs of the answerability model and
of the reader's P(answerable) alone (answerable against hand-written and against ready-made).

    RAG_READER_CACHE=/tmp/r.jsonl .venv/bin/python eval/experiments/threshold_choice.py --refused 0.01 0.02 0.03
    ... threshold_choice.py --read-more 1      # the reader reads only the top passage

``--read-more N``: the reader reads the top N passages when the first does not answer
(``rag.answers.reading.READ_MORE``).
"""

from __future__ import annotations

import argparse

import numpy as np

from rag.answers import abstain, reading
from rag.answers.features import QUESTION_FEATURES, quote_row
from rag.evaluation import suite as suites
from rag.evaluation import training
from rag.models.encoder import SentenceTransformerEncoder, model_name
from rag.models.readereval import auc


def rows(model, examples) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """P(answerable), ruled out, quote holds the evidence, per example; and its kind."""
    p, forced, right, kinds, reader = [], [], [], [], []
    for e in examples:
        probs = model.sentence.shares(e.cands.matrix)
        text = training.quote(e, probs, model.keep_ratio, model.min_probability, model.max_chars) if len(probs) else ""
        sig, row = quote_row(e.corpus, e.question, e.signals, e.cands, probs, e.hits, e.terms, text)
        p.append(float(model.answerable.probability(row[None])[0]) if e.hits and text else 0.0)
        forced.append(abstain.ruled_out(sig) or not text)
        right.append(training.holds(e, text) if e.kind == "answerable" else False)
        kinds.append(e.kind)
        reader.append(float(row[QUESTION_FEATURES.index("reader_answerable")]))
    return np.array(p), np.array(forced), np.array(right), kinds, np.array(reader)


def nested_probabilities(examples, groups: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each training group's P(answerable) from a model fitted on the other training groups."""
    ps, ys, gs, fs = [], [], [], []
    for g in groups:
        model, _ = training.fit([e for e in examples if e.group != g], f"without-{g}")
        mine = [e for e in examples if e.group == g]
        p, forced, _, kinds, _ = rows(model, mine)
        ps.append(p)
        fs.append(forced)
        ys.append(np.array([k == "answerable" for k in kinds]))
        gs += [g] * len(mine)
    return np.concatenate(ps), np.concatenate(ys), np.concatenate(fs), gs


def macro_threshold(p: np.ndarray, y: np.ndarray, forced: np.ndarray, groups: list[str], r: float) -> float:
    """The highest threshold at which the training groups' answerable refused, averaged over the
    groups, is at most r."""
    g = np.array(groups)
    members = [(g == n) & y for n in sorted(set(groups))]
    best = 0.0
    for t in np.unique(p[y & ~forced]):  # the refused share only grows with the threshold
        if np.mean([((p < t) & ~forced)[m].mean() for m in members]) > r + 1e-9:
            break
        best = float(t)
    return best


def per_group_threshold(p: np.ndarray, y: np.ndarray, forced: np.ndarray, groups: list[str], r: float) -> float:
    """The highest threshold at which at most r of each training group's answerable questions
    (not refused by a rule) are refused: one order statistic per group."""
    best, names = 1.0, np.array(groups)
    for g in sorted(set(groups)):
        mine = (names == g) & y
        allowed = int(np.floor(r * mine.sum() + 1e-9))
        free = np.sort(p[mine & ~forced])
        if len(free):
            best = min(best, float(free[allowed]) if allowed < len(free) else 1.0)
    return best


def judge(p, forced, right, kinds, reader, threshold: float) -> dict:
    k = np.array(kinds)
    refused = forced | (p < threshold)
    out = {"thr": threshold}
    ans = k == "answerable"
    out["contains"] = float((right & ~refused)[ans].mean())
    out["ans.ref"] = float(refused[ans].mean())
    for kind, name in (("unanswerable", "unans"), ("made", "made")):
        sel = k == kind
        out[name] = float(refused[sel].mean()) if sel.any() else None
        both = ans | sel
        out[f"auc.{name}"] = auc(list(np.where(forced, -1, p)[both]), list(ans[both].astype(int))) if sel.any() else None
        out[f"rdr.{name}"] = auc(list(reader[both]), list(ans[both].astype(int))) if sel.any() else None
    return out


def fmt(v) -> str:
    return "     —" if v is None else f"{v:6.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--read-more", type=int, default=reading.READ_MORE,
                    help="passages the reader reads when the first does not answer")
    ap.add_argument("--suites", nargs="*", help="suites to judge on (default: all)")
    ap.add_argument("--refused", type=float, nargs="+", default=[0.01, 0.02, 0.03],
                    help="largest share of a training group's answerable questions the threshold may refuse")
    args = ap.parse_args()
    reading.READ_MORE = args.read_more
    examples = training.collect(args.suites or suites.suite_names(), SentenceTransformerEncoder(model_name()), progress=lambda m: None)
    cols = ("thr", "contains", "ans.ref", "unans", "made", "auc.unans", "auc.made", "rdr.unans", "rdr.made")
    print(f"{'left out':16s}{'rule':10s}{'R':>6s}" + "".join(f"{c:>10s}" for c in cols))
    for left in sorted({e.group for e in examples}):
        train = [e for e in examples if e.group != left]
        groups = sorted({e.group for e in train})
        model, _ = training.fit(train, f"without-{left}")
        tp, tf, *_ = rows(model, train)
        ty = np.array([e.kind == "answerable" for e in train])
        tg = [e.group for e in train]
        nested = nested_probabilities(train, groups) if len(groups) > 1 else None
        for suite in sorted({e.suite for e in examples if e.group == left}):
            mine = [e for e in examples if e.suite == suite]
            scored = rows(model, mine)
            for r in args.refused:
                training.MAX_REFUSED = r
                rules = {"per-group": per_group_threshold(tp, ty, tf, tg, r),
                         "macro": macro_threshold(tp, ty, tf, tg, r),
                         "normal": training.choose_threshold(tp, ty, tf, tg)}
                if nested is not None:
                    rules["nested"] = training.choose_threshold(nested[0], nested[1], nested[2], nested[3])
                for rule, thr in rules.items():
                    m = judge(*scored, thr)
                    print(f"{suite:16s}{rule:10s}{r:6.3f}" + "".join(f"{fmt(m[c]):>10s}" for c in cols))


if __name__ == "__main__":
    main()
