"""A question asking for a date, and the passage that holds one (not kept): when none of the five
candidate passages of a question asking for a date holds a date, put the best-ranked passage that
holds one in fifth place. A law's last article ("本法自2021年9月1日起施行。") shares no other word
with "这部法是哪天起施行的？", so it ranks far below the law's other articles.

    .venv/bin/python eval/experiments/dated_passages.py [laws laws-docx …]

Prints, per suite corpus (answerable questions), hit@5 without and with the rule and the
evidence ranks it changed. The whole rule in `Assistant.search` (with tests) is
`git apply eval/experiments/patches/date-passage.diff`; the suite and dialogue figures in
docs/experiments.md ("A passage with a date for a date question") were measured with it applied.
"""

from __future__ import annotations

import argparse

from rag.answers import answertype
from rag.answers.features import CANDIDATE_PASSAGES
from rag.evaluation import evaluate
from rag.evaluation import suite as suites
from rag.models.encoder import SentenceTransformerEncoder, model_name
from rag.question import clean_question

DEPTH = 200  # passages ranked


def with_dated(question: str, hits: list) -> list:
    """The first CANDIDATE_PASSAGES hits, with the best-ranked dated one in the last place when a
    date question has none among them."""
    top = hits[:CANDIDATE_PASSAGES]
    if "date" not in answertype.expected(question) or any(answertype.has("date", h.passage.text) for h in top):
        return top
    extra = next((h for h in hits[CANDIDATE_PASSAGES:] if answertype.has("date", h.passage.text)), None)
    return top if extra is None else [*top[:-1], extra]


def rank(hits, evidence) -> int | None:
    rel = evaluate.relevance([h.passage.text for h in hits], evidence)
    return next((i + 1 for i, r in enumerate(rel) if r), None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("suites", nargs="*", default=["laws", "laws-docx", "laws-pdf", "seeds", "cmrc2018-trial"])
    args = ap.parse_args()
    encoder = SentenceTransformerEncoder(model_name())
    for name in args.suites:
        assistant, questions = suites.prepare(suites.load_suite(name), encoder)
        asked = [q for q in questions if q.get("evidence")]
        before = after = 0
        moved = []
        for q in asked:
            text = clean_question(q["question"])[0]
            hits = assistant.search(text, top_k=DEPTH)
            r0, r = rank(hits, q["evidence"]), rank(with_dated(text, hits), q["evidence"])
            before += bool(r0 and r0 <= CANDIDATE_PASSAGES)
            after += bool(r)
            if (r0 if r0 and r0 <= CANDIDATE_PASSAGES else None) != r:
                moved.append(f"{q.get('id', '?')} {r0 or '>' + str(DEPTH)} -> {r or '-'}")
        n = len(asked)
        print(f"{name:16s} hit@5 {before / n:.3f} -> {after / n:.3f}  evidence rank changed: {', '.join(moved) or 'none'}",
              flush=True)


if __name__ == "__main__":
    main()
