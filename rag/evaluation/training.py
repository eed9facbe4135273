"""`rag train`: fit the answer model (:mod:`rag.answers.model`) on the eval suite's corpora.

Every suite question is retrieved once; its candidate sentences get their features and a
label (does the sentence hold the evidence?). Each answerable question is also asked with its
gold passages hidden: a ready-made unanswerable question. Then, for the shipped model (``all``)
and for each corpus group left out (``without-<group>``), on the remaining groups only:

1. the sentence model: logistic regression, labelled sentences of answerable questions;
2. the quoting settings: the (keep ratio, floor, length budget) that quotes the evidence most
   often with every training group's mean answer at most MAX_MEAN_CHARS characters;
3. the answerability model: logistic regression, answerable against unanswerable questions
   (hand-written and ready-made), with each group and each side weighted equally;
4. its threshold: per training group, the MAX_REFUSED quantile of a normal fitted to the log-odds
   of its answerable questions' P(answerable) (besides those a rule refuses anyway); the lowest.

Groups, not suites, are left out: ``laws-pdf`` and ``laws-docx`` ask the laws suite's questions,
so they are left out with it (``"group"`` in their suite.json).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np

from rag.answers.abstain import ruled_out, signals
from rag.answers.corpus import AnswerCorpus
from rag.answers.features import (
    FEATURES_VERSION,
    QUESTION_FEATURES,
    SENTENCE_FEATURES,
    Candidates,
    candidates,
    quote_row,
)
from rag.answers.model import MODEL_FILE, SHIPPED, AnswerModel, Logistic
from rag.answers.pick import choose, completed
from rag.evaluation import suite as suites
from rag.evaluation.evaluate import gold_passages, relevance
from rag.models.encoder import Encoder
from rag.question import clean_question
from rag.records import Hit, Signals
from rag.text.normalize import squash

TRAINING_VERSION = "5"  # part of the data hash: bump when what is fitted, or how, changes
MAX_MEAN_CHARS = 150  # the longest mean answer a training group may get
MAX_REFUSED = 0.01  # the largest share of a training group's answerable questions refused
KEEP_RATIOS = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 1.01)  # 1.01: the best sentence only
MIN_PROBABILITIES = (0.0, 0.02, 0.05)
MAX_CHARS = (150, 200, 250, 300)
HANDWRITTEN_SHARE = 0.8
C = 1.0  # inverse regularization strength of both logistic models
TOP_K = 10


@dataclass
class Example:
    """One question, retrieved: everything fitting needs, none of it model-dependent."""

    group: str
    suite: str
    qid: str
    question: str
    kind: str  # "answerable", "unanswerable" (hand-written) or "made" (gold passages hidden)
    evidence: list[str]
    answers: list[str]
    corpus: AnswerCorpus
    hits: list[Hit]
    signals: Signals
    cands: Candidates
    labels: np.ndarray  # per candidate: holds (part of) the evidence
    terms: dict[str, float]  # the question's terms with their IDF


def data_hash(names: Sequence[str] | None = None, root: Path = suites.SUITES_DIR) -> str:
    """Hash of everything the model is fitted on: the suites' definitions, documents and
    questions, and the feature and training versions."""
    h = hashlib.sha256(f"{FEATURES_VERSION}/{TRAINING_VERSION}".encode())
    for name in names or suites.suite_names(root):
        s = suites.load_suite(name, root)
        h.update(f"\n{name}\n".encode())
        h.update((root / name / "suite.json").read_bytes())
        for p in [*s["docs"], *([s["squad"]] if s["squad"] else []), *s["questions"]]:
            h.update(hashlib.sha256(Path(p).read_bytes()).digest())
    return h.hexdigest()


def sentence_labels(corpus: AnswerCorpus, cands: Candidates, evidence: Sequence[str],
                    answers: Sequence[str]) -> np.ndarray:
    """Per candidate: whether, in a passage holding the evidence, it overlaps a target span by at
    least half of itself or of the span. The targets are the gold ``answers`` (SQuAD-style sets)
    or else the evidence; a span over two sentences makes both positive."""
    spans = [squash(e) for e in evidence if squash(e)]
    targets = [squash(a) for a in answers if squash(a)] or spans
    out = np.zeros(len(cands.rows), dtype=bool)
    for i, s in enumerate(cands.sentences):
        text = corpus.passages[s.passage_index].text
        passage = squash(text)
        if not any(e in passage for e in spans):
            continue
        a = len(squash(text[:s.start]))
        b = a + len(squash(s.text))
        for e in targets:
            at = passage.find(e)
            while at >= 0 and not out[i]:
                overlap = min(b, at + len(e)) - max(a, at)
                out[i] = overlap > 0 and overlap >= 0.5 * min(b - a, len(e))
                at = passage.find(e, at + 1)
    return out


def collect(names: Sequence[str], encoder: Encoder, progress: Callable[[str], None] = print,
            root: Path = suites.SUITES_DIR) -> list[Example]:
    """Retrieve every question of the named suites, and each answerable one again with its
    gold passages hidden."""
    out: list[Example] = []
    for name in names:
        spec = suites.load_suite(name, root)
        assistant, questions = suites.prepare(spec, encoder)
        progress(f"[train] {name}: {len(questions)} questions over {len(assistant.passages)} passages")
        texts = [p.text for p in assistant.passages]
        for q in questions:
            evidence = q.get("evidence") or []
            gold = gold_passages(texts, evidence)
            kinds = [("answerable", None)] if evidence else [("unanswerable", None)]
            if gold:  # (evidence only in a heading leaves no passage to hide)
                kinds.append(("made", np.array(gold)))
            for kind, hidden in kinds:
                out.append(example(assistant, spec, name, q, kind, hidden))
    return out


def example(assistant, spec: dict, name: str, q: dict, kind: str, hidden: np.ndarray | None) -> Example:
    text, _ = clean_question(q["question"])
    hits, query_vec, sims = assistant.retrieve(text, TOP_K, "hybrid", hidden)
    corpus = assistant.corpus
    terms = corpus.terms(text)
    sig = signals(corpus, text, hits, query_vec, terms, sims)
    cands = candidates(corpus, text, hits, terms, sims[1], assistant.read(text, hits))
    evidence = q.get("evidence") or []
    labels = (sentence_labels(corpus, cands, evidence, q.get("answers") or []) if kind == "answerable"
              else np.zeros(len(cands.rows), dtype=bool))
    return Example(spec.get("group") or name, name, q["id"], text, kind, list(evidence),
                   list(q.get("answers") or []), corpus, hits, sig, cands, labels, terms)


def _weights(groups: list[str]) -> np.ndarray:
    """Sample weights that give each group the same total weight."""
    counts = {g: groups.count(g) for g in set(groups)}
    return np.array([1.0 / counts[g] for g in groups]) * len(groups) / len(counts)


def fit_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> Logistic:
    """Standardize, then fit an L2 logistic regression (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    fitted = LogisticRegression(C=C, max_iter=2000).fit((x - mean) / scale, y, sample_weight=weights)
    return Logistic(mean, scale, fitted.coef_[0].astype(np.float64), float(fitted.intercept_[0]))


def fit_listwise(xs: list[np.ndarray], ys: list[np.ndarray], weights: np.ndarray) -> Logistic:
    """A linear sentence scorer whose softmax over each question's candidates puts the most
    weight on the sentences that hold the answer (listwise: the log of the positives' total
    share, with an L2 penalty). Questions without a positive candidate teach nothing."""
    from scipy.optimize import minimize

    keep = [i for i, y in enumerate(ys) if y.any()]
    x_all = np.vstack([xs[i] for i in keep])
    mean = x_all.mean(axis=0)
    scale = x_all.std(axis=0)
    scale[scale < 1e-9] = 1.0
    xs_n = [(xs[i] - mean) / scale for i in keep]
    ys_k = [ys[i] for i in keep]
    w_k = weights[keep] / weights[keep].mean()

    def loss(coef: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * coef @ coef / C, coef / C
        for x, y, wq in zip(xs_n, ys_k, w_k, strict=True):
            z = x @ coef
            e = np.exp(z - z.max())
            p = e / e.sum()
            pos = p[y].sum()
            total -= wq * np.log(pos + 1e-12)
            # d(-log pos)/dz = p - p*[y]/pos
            g = p - np.where(y, p / (pos + 1e-12), 0.0)
            grad = grad + wq * (x.T @ g)
        return total, grad

    res = minimize(loss, np.zeros(x_all.shape[1]), jac=True, method="L-BFGS-B",
                   options={"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-7})  # converged, so reruns agree
    return Logistic(mean, scale, res.x, 0.0)


def quote(ex: Example, probabilities: np.ndarray, keep_ratio: float, floor: float, max_chars: int) -> str:
    picked = completed(ex.corpus, ex.question, ex.cands, probabilities,
                       choose(ex.corpus, ex.question, ex.cands, probabilities, keep_ratio, floor, max_chars))
    return "".join(s.text for s in picked)


def holds(ex: Example, text: str) -> bool:
    """Whether a quote holds the evidence (a gold answer, for SQuAD-style sets)."""
    return bool(text) and any(relevance([text], ex.answers or ex.evidence))


def fit(examples: list[Example], name: str) -> tuple[AnswerModel, dict]:
    """The answer model fitted on ``examples``, and what was measured on them while fitting."""
    answerable = [e for e in examples if e.kind == "answerable" and len(e.cands.rows)]
    group_w = _weights([e.group for e in answerable])  # each question weighs the same within its group
    sentence = fit_listwise([e.cands.matrix for e in answerable], [e.labels for e in answerable], group_w)
    probs = {id(e): sentence.shares(e.cands.matrix) for e in examples}
    best, grid = fit_quoting(answerable, probs)
    settings = (best["keep_ratio"], best["min_probability"], best["max_chars"])
    answerable_model, threshold, kinds = fit_answerability(examples, probs, settings)
    model = AnswerModel(name, sentence, answerable_model, *settings, threshold)
    return model, {"quoting": best, "grid": grid, "threshold": threshold,
                   "examples": {k: kinds.count(k) for k in ("answerable", "unanswerable", "made")}}


def fit_quoting(answerable: list[Example], probs: dict) -> tuple[dict, list[dict]]:
    """The quoting settings that hold the evidence most often (macro over groups) with every
    group's mean answer at most MAX_MEAN_CHARS; and every setting tried."""
    groups = sorted({e.group for e in answerable})
    best, grid = None, []
    for ratio in KEEP_RATIOS:
        for floor in MIN_PROBABILITIES:
            for chars in MAX_CHARS:
                per = {}
                for g in groups:
                    mine = [e for e in answerable if e.group == g]
                    quotes = [quote(e, probs[id(e)], ratio, floor, chars) for e in mine]
                    per[g] = (sum(holds(e, t) for e, t in zip(mine, quotes, strict=True)) / len(quotes),
                              sum(len(t) for t in quotes) / len(quotes))
                contains = sum(c for c, _ in per.values()) / len(per)
                ok = all(n <= MAX_MEAN_CHARS for _, n in per.values())
                grid.append({"keep_ratio": ratio, "min_probability": floor, "max_chars": chars, "contains": contains,
                             "mean_chars": sum(n for _, n in per.values()) / len(per),
                             "longest_mean": max(n for _, n in per.values()), "allowed": ok})
                if ok and (best is None or contains > best["contains"]):
                    best = grid[-1]
    return best or min(grid, key=lambda r: r["longest_mean"]), grid


def fit_answerability(examples: list[Example], probs: dict,
                      settings: tuple[float, float, int]) -> tuple[Logistic, float, list[str]]:
    """The answerability model over each question's row (its quote picked with ``settings``),
    its threshold, and the kind of each question it was fitted on."""
    rows, labels, kinds, groups, forced = [], [], [], [], []
    for e in examples:
        if not e.hits:
            continue
        p = probs[id(e)]
        sig, row = quote_row(e.corpus, e.question, e.signals, e.cands, p, e.hits, e.terms, quote(e, p, *settings))
        rows.append(row)
        forced.append(ruled_out(sig))
        labels.append(e.kind == "answerable")
        kinds.append(e.kind)
        groups.append(e.group)
    x, y = np.vstack(rows), np.array(labels)
    # Within a group each kind weighs the same, so the unanswerable side weighs as much as the
    # answerable; where a group has both kinds of unanswerable question, HANDWRITTEN_SHARE of that
    # side is the hand-written questions' (the near misses users ask).
    w = np.zeros(len(y))
    for g in set(groups):
        idx = {k: [i for i in range(len(y)) if groups[i] == g and kinds[i] == k]
               for k in ("answerable", "unanswerable", "made")}
        for members in idx.values():
            if members:
                w[members] = 1.0 / len(members)
        if idx["unanswerable"] and idx["made"]:
            w[idx["unanswerable"]] *= HANDWRITTEN_SHARE
            w[idx["made"]] *= 1 - HANDWRITTEN_SHARE
    model = fit_logistic(x, y, w / w.mean())
    return model, choose_threshold(model.probability(x), y, np.array(forced), groups), kinds


def choose_threshold(p: np.ndarray, y: np.ndarray, forced: np.ndarray, groups: list[str]) -> float:
    """The threshold ("refused": P(answerable) < threshold) that refuses about MAX_REFUSED of each
    group's answerable questions: per group, the MAX_REFUSED quantile of a normal distribution
    fitted to the log-odds of its answerable questions' P(answerable); the lowest over the groups.
    Those ``forced`` out by a rule (:func:`rag.answers.abstain.ruled_out`) are refused anyway and
    not counted. Every question moves it a little and none alone: the highest threshold that
    refuses at most MAX_REFUSED of each group is one order statistic, which the retrieval of five
    questions of another corpus moved sixfold (docs/experiments.md, "A threshold that one question
    cannot move")."""
    z = NormalDist().inv_cdf(MAX_REFUSED)
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    logit, names = np.log(clipped / (1 - clipped)), np.array(groups)
    best = 1.0
    for g in sorted(set(groups)):
        mine = logit[(names == g) & y & ~forced]
        if len(mine) > 1:
            best = min(best, float(1 / (1 + np.exp(-(mine.mean() + z * mine.std(ddof=1))))))
    return best


def _reader_id() -> str | None:
    """The reader weights the reader features came from (None: fitted without a reader)."""
    from rag.models import readermodel, readeronnx
    from rag.models.readerchoice import load_reader

    weights = readermodel.shipped_weights()
    return readeronnx.weights_sha256(weights)[:16] if weights and load_reader() is not None else None


def train(names: Sequence[str], encoder: Encoder, out: Path = MODEL_FILE,
          progress: Callable[[str], None] = print, root: Path = suites.SUITES_DIR) -> dict:
    """Fit the shipped model and one per group left out; write them with the data hash."""
    examples = collect(names, encoder, progress, root)
    groups = sorted({e.group for e in examples})
    models, report = {}, {}
    for left_out in [None, *groups] if len(groups) > 1 else [None]:  # one group: nothing to leave out
        name = SHIPPED if left_out is None else f"without-{left_out}"
        model, info = fit([e for e in examples if e.group != left_out], name)
        models[name] = model.to_dict()
        report[name] = {k: v for k, v in info.items() if k != "grid"}
        progress(f"[train] {name}: keep ratio {model.keep_ratio}, floor {model.min_probability}, "
                 f"threshold {model.threshold:.4f}")
    data = {"features_version": FEATURES_VERSION, "training_version": TRAINING_VERSION,
            "data_hash": data_hash(names, root), "suites": list(names), "groups": groups,
            "sentence_features": list(SENTENCE_FEATURES), "question_features": list(QUESTION_FEATURES),
            "reader": _reader_id(), "models": models}
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return report
