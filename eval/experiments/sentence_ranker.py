"""A learned sentence scorer for answer extraction, cross-validated on odd / even ids; not kept.

    .venv/bin/python eval/experiments/sentence_ranker.py [--questions eval/questions.jsonl]

(needs scikit-learn: ``pip install -e '.[experiments]'``)

For every answerable question, the candidate sentences are those ``rag.answers.compose.pick_sentences``
draws from (the top 5 hybrid passages). A sentence is a positive when it holds a gold evidence
span. A logistic regression over sentence features is fitted on the odd ids and tested on the
even ones, and the other way round; it is compared with the shipped score (cosine + 0.10 ·
term coverage + 0.02 / (1 + passage rank)) on

1. the share of questions whose best-scored sentence is a positive, and
2. ``rag eval``'s answer metrics when the learned best sentence is quoted first and the
   shipped picks follow (the shipped picks' budget of 3 sentences, or 6 for lists, kept or not).

Features: 0 cosine, 1 cosine minus the best candidate's, 2 term coverage, 3 1/(1+passage rank),
4 passage hybrid score minus the best, 5 first sentence of its passage, 6 log length, 7 holds the
kind of answer asked for (date / number: ``rag.answers.answertype``), 8 a place asked for and a name in
the sentence, 9 a list intro, 10 coverage of an English question's translated terms, 11 a "why"
question and a purpose phrase (为了, 旨在, 有助于 …).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rag import Assistant  # noqa: E402
from rag.answers import answertype, compose  # noqa: E402
from rag.answers import pick as A  # noqa: E402
from rag.evaluation import evaluate  # noqa: E402
from rag.question import clean_question  # noqa: E402
from rag.text.normalize import squash  # noqa: E402
from rag.text.segment import names_and_years  # noqa: E402

PLACE = re.compile(r"哪座城市|哪个城市|哪里|何地|where|which city", re.I)
WHY = re.compile(r"为什么|为何|原因|why", re.I)
PURPOSE = re.compile(r"为了|以便|因为|旨在|至关重要|有助于")
FEATURE_SETS = ([0, 1, 2, 3, 4], [0, 2, 3, 7, 8], [0, 2, 3, 7, 8, 11], list(range(12)))


def candidates(a: Assistant, question: str):
    """(features, sentence indices, shipped scores) of the candidate sentences for a question."""
    qv = a.encoder.encode_queries([question])[0]
    lex = a.lexical.scores(question)
    sims = a.similarities(qv, lex)
    hits = a.search(question, A.CANDIDATE_PASSAGES, "hybrid", qv, sims, lex)
    terms, translated = a.corpus.terms(question), a.lexical.translated_terms(question)
    kinds = answertype.expected(question)
    rows = [(rank, h.score, k, j) for rank, h in enumerate(hits)
            for k, j in enumerate(a.sentences.by_passage.get(a.passage_index(h.passage.id), []))]
    best_cos = max(float(sims[1][j]) for *_, j in rows)
    best_hit = max(r[1] for r in rows)
    feats, shipped = [], []
    for rank, score, k, j in rows:
        text = a.sentences.sentences[j].text
        cos, cov = float(sims[1][j]), A.coverage(terms, text)
        feats.append([
            cos, cos - best_cos, cov, 1 / (1 + rank), score - best_hit, float(k == 0), math.log(len(text)),
            float(any(answertype.HAS[kind].search(text) for kind in kinds)),
            float(bool(PLACE.search(question)) and bool(names_and_years(text))),
            float(text.endswith(A.LIST_INTRO_ENDS)),
            A.coverage(translated, text) if translated else 0.0,
            float(bool(WHY.search(question)) and bool(PURPOSE.search(text))),
        ])
        shipped.append(cos + A.W_LEX * cov + A.W_RANK / (1 + rank))
    return np.array(feats), [r[3] for r in rows], np.array(shipped)


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", default=str(ROOT / "eval" / "questions.jsonl"))
    args = ap.parse_args()
    a = Assistant.load()
    questions = evaluate.load_questions(Path(args.questions))
    data = {}
    for q in questions:
        if not q["evidence"]:
            continue
        X, js, shipped = candidates(a, clean_question(q["question"])[0])
        spans = [squash(e) for e in q["evidence"]]
        y = np.array([int(any(s in squash(a.sentences.sentences[j].text) for s in spans)) for j in js])
        data[q["id"]] = (X, js, shipped, y)
    odd = {qid for qid in data if int(qid[1:]) % 2}
    folds = ((odd, set(data) - odd), (set(data) - odd, odd))  # (train, test)
    print(f"{len(data)} answerable questions; a positive among the candidates for "
          f"{sum(int(d[3].max()) for d in data.values())}")

    def best_is_positive(ids, score) -> int:
        return sum(int(data[i][3][int(np.argmax(score(data[i])))]) for i in ids)

    print("best sentence holds the evidence (even ids / odd ids):")
    print(f"  shipped score            {best_is_positive(folds[0][1], lambda d: d[2])}/{len(folds[0][1])}"
          f"  {best_is_positive(folds[1][1], lambda d: d[2])}/{len(folds[1][1])}")
    models = {}
    for feats in FEATURE_SETS:
        for C in (0.1, 1.0, 10.0):
            res = []
            for train, test in folds:
                X = np.vstack([data[i][0][:, feats] for i in sorted(train)])
                y = np.concatenate([data[i][3] for i in sorted(train)])
                m = LogisticRegression(C=C, max_iter=2000).fit(X, y)
                models[(tuple(feats), C, tuple(sorted(test)))] = m
                res.append(best_is_positive(test, lambda d, m=m, f=feats: m.decision_function(d[0][:, f])))
            print(f"  learned {str(feats):22s} C={C:<4} {res[0]}/{len(folds[0][1])}  {res[1]}/{len(folds[1][1])}")

    shipped_pick = compose.pick_sentences
    current: dict = {}

    def pick(corpus, question, hits, query_vec, terms, sentence_sims=None):
        base = shipped_pick(corpus, question, hits, query_vec, terms, sentence_sims)
        X, js, _ = candidates(a, question)
        s = corpus.sentences.sentences[js[int(np.argmax(current["m"].decision_function(X[:, current["f"]])))]]
        if any((b.passage_index, b.start) == (s.passage_index, s.start) for b in base):
            return base
        limit = A.LIST_MAX_SENTENCES if A.LIST_CUES.search(question) else A.MAX_SENTENCES
        return ([s] + base)[:limit] if current["cap"] else [s] + base

    cols = ("answer_contains_evidence", "citation_accuracy", "mean_answer_chars")
    print("\nrag eval answer metrics on the held-out half (even ids / odd ids):")
    for test in (folds[0][1], folds[1][1]):
        sub = [q for q in questions if q["id"] in test]
        m = evaluate.run(a, sub, modes=("hybrid",))["modes"]["hybrid"]["metrics"]
        print("  shipped                         " + "  ".join(f"{c} {m[c]:.3f}" for c in cols))
    compose.pick_sentences = pick
    try:
        for feats in FEATURE_SETS[:3]:
            for cap in (True, False):
                for test in (folds[0][1], folds[1][1]):
                    current.update(m=models[(tuple(feats), 1.0, tuple(sorted(test)))], f=feats, cap=cap)
                    sub = [q for q in questions if q["id"] in test]
                    m = evaluate.run(a, sub, modes=("hybrid",))["modes"]["hybrid"]["metrics"]
                    print(f"  learned first {str(feats):17s} {'capped' if cap else 'added '} "
                          + "  ".join(f"{c} {m[c]:.3f}" for c in cols))
    finally:
        compose.pick_sentences = shipped_pick


if __name__ == "__main__":
    main()
