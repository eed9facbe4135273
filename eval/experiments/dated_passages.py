"""A question asking for a date, and the passage that holds one (shipped in session 13): when none
of the five candidate passages of a question asking for a date holds a date, the best-ranked
dated passage of the first passage's document (else of the next document among the five, else of
any) takes fifth place (`rag.answers.answertype.with_dated`, in `Assistant.search`). A law's last
article ("本法自2021年9月1日起施行。") shares no other word with "这部法是哪天起施行的？", so it
ranks far below the law's other articles.

    .venv/bin/python eval/experiments/dated_passages.py [laws laws-docx …]

Prints, per suite corpus (answerable questions), hit@5 without and with the rule and the
evidence ranks it changed.
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


def without_rule(question: str, order: list[int], *_) -> list[int]:
    return order


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
            shipped = answertype.with_dated
            answertype.with_dated = without_rule
            try:
                hits = assistant.search(text, top_k=DEPTH)
            finally:
                answertype.with_dated = shipped
            r0 = rank(hits, q["evidence"])
            r = rank(assistant.search(text, top_k=CANDIDATE_PASSAGES), q["evidence"])
            before += bool(r0 and r0 <= CANDIDATE_PASSAGES)
            after += bool(r)
            if (r0 if r0 and r0 <= CANDIDATE_PASSAGES else None) != r:
                moved.append(f"{q.get('id', '?')} {r0 or '>' + str(DEPTH)} -> {r or '-'}")
        n = len(asked)
        print(f"{name:16s} hit@5 {before / n:.3f} -> {after / n:.3f}  evidence rank changed: {', '.join(moved) or 'none'}",
              flush=True)


if __name__ == "__main__":
    main()
