"""Naming the document in each passage's search text, on every suite corpus: does a passage
that says "本法" (this law) get found when the question names the law ("数据安全法什么时候施行？")?

    .venv/bin/python eval/experiments/title_context.py

Variants of the text that is embedded (and, with ``+bm25``, indexed by BM25), each against the
shipped one (section headings and context, then the passage):

- ``self``: the document's title put first in a passage that refers to its own document
  (本法, 本条例, 本办法, 本规定, 本决定, 本公约, 本协定, 本章程, 本计划, 本文件);
- ``all``: the title put first in every passage (as "contextual retrieval" does).

hit@1, hit@5 and MRR over each suite's answerable questions (hybrid ranking, the shipped fusion).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rag.assistant import Assistant  # noqa: E402
from rag.documents.context import embedding_texts  # noqa: E402
from rag.evaluation import evaluate  # noqa: E402
from rag.evaluation import suite as suites  # noqa: E402
from rag.index.store import DenseIndex, make_faiss_index  # noqa: E402
from rag.models.encoder import SentenceTransformerEncoder, model_name  # noqa: E402
from rag.question import clean_question  # noqa: E402
from rag.retrieval.lexical import LexicalIndex  # noqa: E402

SELF = re.compile(r"本(?:法|条例|办法|规定|决定|公约|协定|章程|计划|文件)")


def titled(passages, which: str) -> list[bool]:
    return [which == "all" or bool(SELF.search(p.text)) for p in passages]


def twin(a: Assistant, which: str, bm25: bool) -> Assistant:
    flags = titled(a.passages, which)
    texts = [f"{p.doc_title}\n{t}" if f else t for p, t, f in zip(a.passages, embedding_texts(a.passages), flags, strict=True)]
    vectors = a.encoder.encode_passages(texts)
    lexical = (LexicalIndex([replace(p, text=f"{p.doc_title} {p.text}") if f else p for p, f in zip(a.passages, flags, strict=True)])
               if bm25 else a.lexical)
    return Assistant(DenseIndex(a.passages, make_faiss_index(vectors), {}), a.encoder, a.sentences.vectors,
                     a.background_vectors, lexical=lexical)


def scores(a: Assistant, questions: list[dict]) -> dict:
    ranks = []
    for q in questions:
        if not q.get("evidence"):
            continue
        hits = a.search(clean_question(q["question"])[0], top_k=10)
        rel = evaluate.relevance([h.passage.text for h in hits], q["evidence"])
        ranks.append(next((i + 1 for i, r in enumerate(rel) if r), None))
    n = len(ranks)
    return {"n": n, "hit@1": sum(r == 1 for r in ranks if r) / n, "hit@5": sum(bool(r and r <= 5) for r in ranks) / n,
            "mrr": sum(1 / r for r in ranks if r) / n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suites", nargs="*", default=["laws", "laws-pdf", "laws-docx", "seeds", "cmrc2018-trial"])
    args = ap.parse_args()
    encoder = SentenceTransformerEncoder(model_name())
    print(f"{'suite':16s}{'variant':12s}{'titled':>8s}{'hit@1':>8s}{'hit@5':>8s}{'MRR':>8s}")
    for name in args.suites:
        a, questions = suites.prepare(suites.load_suite(name), encoder)
        rows = [("shipped", 0, a)]
        for which in ("self", "all"):
            for bm25 in (False, True):
                rows.append((which + ("+bm25" if bm25 else ""), sum(titled(a.passages, which)), twin(a, which, bm25)))
        for label, n, x in rows:
            s = scores(x, questions)
            print(f"{name:16s}{label:12s}{n:8d}{s['hit@1']:8.3f}{s['hit@5']:8.3f}{s['mrr']:8.3f}", flush=True)


if __name__ == "__main__":
    main()
