"""Answer-model variants that did not carry the leave-one-corpus-out numbers, and the ceiling
of the shipped one: each is judged as ``answer_model.py`` judges the shipped model.

    .venv/bin/python eval/experiments/answer_variants.py --candidate-passages 3 8 10
    .venv/bin/python eval/experiments/answer_variants.py --candidate-gap 3:1.0 3:2.0 5:1.5
    .venv/bin/python eval/experiments/answer_variants.py --mlp 8
    .venv/bin/python eval/experiments/answer_variants.py --overlap-features
    .venv/bin/python eval/experiments/answer_variants.py --in-sample

- ``--candidate-passages N``: sentences drawn from the top N passages instead of 5 (every
  question is retrieved with 10).
- ``--candidate-gap MIN:GAP``: from the top MIN passages, and from the others of the top 10
  whose hybrid score is within GAP of the best's.
- ``--mlp H``: the sentence scorer with a hidden layer of H tanh units beside the linear part
  (same listwise loss and L2, fitted with L-BFGS).
- ``--overlap-features``: four more sentence features: the longest run of characters shared
  with the question (over the question's length) and the share of its character trigrams,
  each also minus the best candidate's.
- ``--interactions N``: sentences from the top N passages, with products of some sentence
  features and two signals of the question's kind: how much of it the best candidate copies
  (its largest bigram share: high for CMRC-style questions written from the text) and how far
  the top passage leads the second. One linear scorer may then weigh overlap for copied
  questions and meaning for paraphrased ones.
- ``--unit-check``: a question asking "how many" of a unit ("多少天", "几年", "多少钱",
  "how many hours") is missing its answer unless the quote has a number with that unit
  (:func:`rag.answers.answertype.missing`, as the sentence and question features read it).
- ``--in-sample``: the model fitted on every corpus (and on CMRC alone) scored on the data it
  was fitted on: what the features allow at best, not a result.

The figures in docs/experiments.md ("What did not carry the suite") come from this script.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import answer_model as shipped  # noqa: E402

from rag.answers import features  # noqa: E402
from rag.evaluation import suite as suites  # noqa: E402
from rag.evaluation import training  # noqa: E402
from rag.models.encoder import SentenceTransformerEncoder, model_name  # noqa: E402

HEAD = f"{'corpus':16s}{'contains':>9s}{'chars':>7s}{'ans.ref':>8s}{'unans':>7s}{'made':>7s}{'top1':>7s}{'top3':>7s}"
_NON_WORD = re.compile(r"[\W_]+")
_candidates = features.candidates


def show(scores: dict) -> None:
    for name, m in scores.items():
        una = "—" if m["unans.rejected"] is None else f"{m['unans.rejected']:.3f}"
        print(f"{name:16s}{m['contains']:9.3f}{m['chars']:7.0f}{m['ans.refused']:8.3f}{una:>7s}"
              f"{m['made.rejected']:7.3f}{m['top1']:7.3f}{m['top3']:7.3f}", flush=True)


def leave_one_out(title: str, encoder) -> None:
    examples = training.collect(suites.suite_names(), encoder, progress=lambda m: None)
    print(f"== {title}\n{HEAD}", flush=True)
    for group in sorted({e.group for e in examples}):
        model, _ = training.fit([e for e in examples if e.group != group], f"without-{group}")
        show(shipped.judge(model, [e for e in examples if e.group == group]))


def from_top(passages: int, gap: float | None = None):
    def pick(corpus, question, hits, terms, sims):
        kept = [h for i, h in enumerate(hits) if i < passages or (gap is not None and h.score >= hits[0].score - gap)]
        return _candidates(corpus, question, kept, terms, sims)
    return pick


def with_overlaps(corpus, question, hits, terms, sims):
    c = _candidates(corpus, question, hits, terms, sims)
    width = c.matrix.shape[1] + 4
    if not c.rows:
        return features.Candidates([], [], np.zeros((0, width), np.float32))
    q = _NON_WORD.sub("", question.lower())
    q_tri = {q[i:i + 3] for i in range(len(q) - 2)}
    run, tri = [], []
    for s in c.sentences:
        t = _NON_WORD.sub("", s.text.lower())
        run.append(SequenceMatcher(None, q, t, autojunk=False).find_longest_match(0, len(q), 0, len(t)).size
                   / max(1, len(q)))
        tri.append(len(q_tri & {t[i:i + 3] for i in range(len(t) - 2)}) / len(q_tri) if q_tri else 0.0)
    run, tri = np.array(run), np.array(tri)
    extra = np.column_stack([run, run - run.max(), tri, tri - tri.max()])
    return features.Candidates(c.rows, c.sentences, np.hstack([c.matrix, extra]).astype(np.float32))


_NUMBER = r"[\d一二三四五六七八九十百千万亿两〇零]+\s*(?:多)?(?:个)?(?:工作)?"
UNITS = {  # unit asked -> what the quote must have after a number
    "小时|hours?": "小时", "天|日|days?": "[天日]", "周|星期|weeks?": "周|星期", "月|months?": "月",
    "年|years?": "年", "岁|how old": "岁", "吨|tons?|tonnes?": "吨", "元|钱|金额|罚款|yuan|fine": "元",
    "名|人|people|persons?": "[名人]", "次|times": "次", "倍": "倍",
}
_ASKS_UNIT = [(re.compile(r"(?:多少|几)(?:个)?(?:工作)?(?:" + q.split("|")[0] + ")|how (?:many|much) (?:" + q + ")", re.I),
               re.compile(_NUMBER + "(?:" + a + ")")) for q, a in UNITS.items()]
_missing = None


def missing_with_units(question: str, quote: str) -> str:
    kind = _missing(question, quote)
    if kind:
        return kind
    for asks, has in _ASKS_UNIT:
        if asks.search(question) and not has.search(quote):
            return "unit"
    return ""


INTERACTING = ("cos_gap", "bigrams", "bigrams_gap", "local_bigrams", "local_bigrams_gap", "coverage_gap",
               "passage_rank", "passage_gap")


def with_interactions(passages: int):
    col = {n: i for i, n in enumerate(features.SENTENCE_FEATURES)}

    def pick(corpus, question, hits, terms, sims):
        c = _candidates(corpus, question, hits[:passages], terms, sims)
        width = c.matrix.shape[1] + 2 * len(INTERACTING)
        if not c.rows:
            return features.Candidates([], [], np.zeros((0, width), np.float32))
        m = c.matrix.astype(np.float64)
        copied = m[:, col["bigrams"]].max()
        lead = hits[0].score - hits[1].score if len(hits) > 1 else 0.0
        extra = [m[:, col[n]] * copied for n in INTERACTING] + [m[:, col[n]] * lead for n in INTERACTING]
        return features.Candidates(c.rows, c.sentences, np.hstack([m, np.column_stack(extra)]).astype(np.float32))
    return pick


@dataclass(frozen=True)
class Hidden:
    """Linear part plus one tanh layer; ``shares`` as :class:`rag.answers.model.Logistic`'s."""

    mean: np.ndarray
    scale: np.ndarray
    v: np.ndarray
    w: np.ndarray
    b: np.ndarray
    u: np.ndarray

    def shares(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros(0)
        xn = (np.asarray(x, np.float64) - self.mean) / self.scale
        z = xn @ self.v + np.tanh(xn @ self.w + self.b) @ self.u
        e = np.exp(z - z.max())
        return e / e.sum()


def fit_hidden(units: int):
    def fit(xs, ys, weights):
        from scipy.optimize import minimize

        keep = [i for i, y in enumerate(ys) if y.any()]
        x = np.vstack([xs[i] for i in keep]).astype(np.float64)
        mean, scale = x.mean(0), x.std(0)
        scale[scale < 1e-9] = 1.0
        x = (x - mean) / scale
        y = np.concatenate([ys[i] for i in keep]).astype(np.float64)
        sizes = np.array([len(ys[i]) for i in keep])
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        seg = np.repeat(np.arange(len(keep)), sizes)
        wq = weights[keep] / weights[keep].mean()
        f = x.shape[1]

        def unpack(t):
            return t[:f], t[f:f + f * units].reshape(f, units), t[f + f * units:f + f * units + units], t[-units:]

        def loss(t):
            v, w, b, u = unpack(t)
            h = np.tanh(x @ w + b)
            z = x @ v + h @ u
            e = np.exp(z - np.maximum.reduceat(z, starts)[seg])
            p = e / np.add.reduceat(e, starts)[seg]
            pos = np.add.reduceat(p * y, starts) + 1e-12
            g = wq[seg] * (p - y * p / pos[seg])
            da = (g[:, None] * u[None, :]) * (1 - h ** 2)
            grad = np.concatenate([x.T @ g, (x.T @ da).ravel(), da.sum(0), h.T @ g]) + t / training.C
            return -(wq * np.log(pos)).sum() + 0.5 * t @ t / training.C, grad

        rng = np.random.default_rng(0)
        t0 = np.concatenate([np.zeros(f), rng.normal(0, 0.1, f * units), np.zeros(units), rng.normal(0, 0.1, units)])
        return Hidden(mean, scale, *unpack(minimize(loss, t0, jac=True, method="L-BFGS-B",
                                                    options={"maxiter": 2000}).x))
    return fit


def in_sample(encoder) -> None:
    examples = training.collect(suites.suite_names(), encoder, progress=lambda m: None)
    model, _ = training.fit(examples, "all")
    print(f"== in sample: fitted on every corpus, scored on them\n{HEAD}", flush=True)
    show(shipped.judge(model, examples))
    cmrc = [e for e in examples if e.group == "cmrc2018-trial"]
    model, _ = training.fit(cmrc, "cmrc-only")
    print("== in sample: fitted on CMRC alone, scored on it", flush=True)
    show(shipped.judge(model, cmrc))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidate-passages", type=int, nargs="*", default=[])
    ap.add_argument("--candidate-gap", nargs="*", default=[], metavar="MIN:GAP")
    ap.add_argument("--mlp", type=int, nargs="*", default=[], metavar="H")
    ap.add_argument("--overlap-features", action="store_true")
    ap.add_argument("--interactions", type=int, nargs="*", default=[], metavar="N")
    ap.add_argument("--unit-check", action="store_true")
    ap.add_argument("--in-sample", action="store_true")
    args = ap.parse_args()
    encoder = SentenceTransformerEncoder(model_name())
    features.CANDIDATE_PASSAGES = training.TOP_K  # the variants choose among the top 10 themselves
    for n in args.candidate_passages:
        training.candidates = from_top(n)
        leave_one_out(f"sentences from the top {n} passages", encoder)
    for spec in args.candidate_gap:
        lo, gap = spec.split(":")
        training.candidates = from_top(int(lo), float(gap))
        leave_one_out(f"from the top {lo} passages and those within {gap} of the best", encoder)
    training.candidates = from_top(5)
    for units in args.mlp:
        listwise, training.fit_listwise = training.fit_listwise, fit_hidden(units)
        leave_one_out(f"sentence scorer with {units} hidden units", encoder)
        training.fit_listwise = listwise
    if args.overlap_features:
        training.candidates = lambda *a: with_overlaps(*a[:2], a[2][:5], *a[3:])
        leave_one_out("with longest shared run and trigram overlap", encoder)
        training.candidates = from_top(5)
    for n in args.interactions:
        training.candidates = with_interactions(n)
        leave_one_out(f"with interactions, sentences from the top {n} passages", encoder)
    training.candidates = from_top(5)
    if args.unit_check:
        global _missing
        from rag.answers import answertype

        _missing, answertype.missing = answertype.missing, missing_with_units
        leave_one_out("with the unit check", encoder)
        answertype.missing = _missing
    if args.in_sample:
        in_sample(encoder)


if __name__ == "__main__":
    main()
