"""Leave-one-corpus-out comparison of answer-model variants, on the eval suite.

Retrieves every suite question once (as `rag train` does), then for each group left out fits
the answer model on the others and scores the group: quote holds the evidence, mean answer
length, answerable refused, hand-written and ready-made unanswerable rejected, and where the
first sentence that holds the evidence ranks among the candidates (top 1 / top 3).

    .venv/bin/python eval/experiments/answer_model.py                      # the shipped rules
    .venv/bin/python eval/experiments/answer_model.py --rules unknown_references off_topic missing_answer

`--rules` sets which refusals stand whatever the model says (rag.answers.abstain.RULES);
`--handwritten-share` the weight of hand-written unanswerable questions against ready-made ones;
`--max-mean-chars` the longest mean answer each training group may get when the quoting settings
are fitted, and `--quote-tolerance` how close to the best contains a shorter setting may come and
be kept (several values: one table each, the questions retrieved once).
The numbers in docs/experiments.md ("Learned answer model") come from this script.
"""

from __future__ import annotations

import argparse

import numpy as np

from rag.answers import abstain
from rag.answers.features import quote_row
from rag.evaluation import suite as suites
from rag.evaluation import training
from rag.models.encoder import SentenceTransformerEncoder, model_name


def verdict(model, e) -> tuple[np.ndarray, str, float, bool]:
    """One question under ``model``: its sentences' shares, the quote, P(answerable) (0 without
    hits) and whether it is refused whatever that says (no quote, or a rule)."""
    p = model.sentence.shares(e.cands.matrix)
    text = training.quote(e, p, model.keep_ratio, model.min_probability, model.max_chars) if len(p) else ""
    sig, row = quote_row(e.corpus, e.question, e.signals, e.cands, p, e.hits, e.terms, text)
    pa = float(model.answerable.probability(row[None])[0]) if e.hits else 0.0
    return p, text, pa, not text or abstain.ruled_out(sig)


def judge(model, examples) -> dict:
    out = {}
    for name in sorted({e.suite for e in examples}):
        mine = [e for e in examples if e.suite == name]
        n = {"answerable": 0, "unanswerable": 0, "made": 0}
        refused = dict(n)
        right, chars, ranks = 0, 0, []
        for e in mine:
            p, text, pa, ruled = verdict(model, e)
            no = ruled or pa < model.threshold
            n[e.kind] += 1
            refused[e.kind] += no
            if e.kind == "answerable":
                if not no:
                    right += training.holds(e, text)
                    chars += len(text)
                order = [int(i) for i in np.argsort(-p, kind="stable")]
                ranks.append(next((k for k, i in enumerate(order) if e.labels[i]), 99))
        ranks = np.array(ranks)
        answered = n["answerable"] - refused["answerable"]
        out[name] = {"contains": right / max(1, n["answerable"]), "chars": chars / max(1, answered),
                     "ans.refused": refused["answerable"] / max(1, n["answerable"]),
                     "unans.rejected": refused["unanswerable"] / n["unanswerable"] if n["unanswerable"] else None,
                     "made.rejected": refused["made"] / max(1, n["made"]),
                     "top1": float((ranks == 0).mean()), "top3": float((ranks <= 2).mean())}
    return out


HEADER = f"{'corpus':16s}{'contains':>9s}{'chars':>7s}{'ans.ref':>8s}{'unans':>7s}{'made':>7s}"


def left_out(examples):
    """Each corpus group left out in turn: (the model fitted without it, a corpus of the group,
    :func:`judge`'s figures for it, its examples)."""
    for group in sorted({e.group for e in examples}):
        model, _ = training.fit([e for e in examples if e.group != group], f"without-{group}")
        mine = [e for e in examples if e.group == group]
        for name, m in judge(model, mine).items():
            yield model, name, m, [e for e in mine if e.suite == name]


def row(name: str, m: dict) -> str:
    """The columns of HEADER for one corpus."""
    una = "—" if m["unans.rejected"] is None else f"{m['unans.rejected']:.3f}"
    return f"{name:16s}{m['contains']:9.3f}{m['chars']:7.0f}{m['ans.refused']:8.3f}{una:>7s}{m['made.rejected']:7.3f}"


_fit_quoting = training.fit_quoting


def shortest_within(tolerance: float):
    """``training.fit_quoting``, keeping the allowed setting with the shortest mean quote among
    those within ``tolerance`` of the best contains (0: as shipped)."""
    def fit_quoting(answerable, probs):
        best, grid = _fit_quoting(answerable, probs)
        near = [r for r in grid if r["allowed"] and r["contains"] >= best["contains"] - tolerance]
        return (min(near, key=lambda r: r["mean_chars"]) if tolerance > 0 and near else best), grid
    return fit_quoting


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", nargs="*", default=list(abstain.RULES))
    ap.add_argument("--handwritten-share", type=float, default=training.HANDWRITTEN_SHARE,
                    help="share of the unanswerable side's weight on hand-written questions")
    ap.add_argument("--max-mean-chars", type=int, nargs="+", default=[training.MAX_MEAN_CHARS],
                    help="longest mean answer a training group may get while fitting the quoting settings")
    ap.add_argument("--quote-tolerance", type=float, nargs="+", default=[0.0],
                    help="quoting settings within this much of the best contains count as equal (shortest kept)")
    args = ap.parse_args()
    abstain.RULES = tuple(args.rules)
    training.HANDWRITTEN_SHARE = args.handwritten_share
    examples = training.collect(suites.suite_names(), SentenceTransformerEncoder(model_name()), progress=lambda m: None)
    for cap, tolerance in [(c, t) for c in args.max_mean_chars for t in args.quote_tolerance]:
        training.MAX_MEAN_CHARS = cap
        training.fit_quoting = shortest_within(tolerance)
        print(f"rules: {', '.join(abstain.RULES) or '(none)'}; hand-written share {training.HANDWRITTEN_SHARE}; "
              f"mean answer fitted to at most {cap} characters; quoting tolerance {tolerance}")
        print(f"{HEADER}{'top1':>7s}{'top3':>7s}")
        for _, name, m, _ in left_out(examples):
            print(f"{row(name, m)}{m['top1']:7.3f}{m['top3']:7.3f}", flush=True)


if __name__ == "__main__":
    main()
