"""How to read a follow-up, on a dialogue set: every candidate reading of every follow-up turn
is answered, then each way of choosing among them is scored (does the quote hold the evidence).

    RAG_READER_CACHE=/tmp/d.jsonl .venv/bin/python eval/experiments/followup_variants.py eval/dialogues.jsonl \
        --docs eval/suites/laws/docs/data-security-law-2021.md eval/suites/laws/docs/foreign-relations-law-2023.md

Each later turn of a follow-up conversation is asked with the history the shipped code builds.
Its candidate readings:

- ``about``: about the last turn only (``rag.followup.about_last``; shipped);
- ``swap``: the last question with the follow-up's own subject swapped in (shipped, for 那X呢);
- ``ante``: the follow-up with each noun phrase of the last question and answer put where it
  points back, or named as its topic ("关于X，…") when nothing points back (not kept);
- ``chain``: the last question as understood, then this one ("…；…", the form shipped before);
- ``alone``: the follow-up's own words.

Each is searched with the follow-up's own words and the last answer's passage put second, as
shipped; ``--prefer-rank none`` turns the latter off. A way of choosing takes, among some kinds,
the answered reading (else any) with the highest answer-model probability (``P``) or reader
probability (``reader``), the first of equals in the order above. ``oracle`` is the share where any of about/swap/ante holds the evidence.

The figures in docs/experiments.md (Conversation) come from this script, run on
eval/dialogues.jsonl only (never on the unseen set).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag import assistant as module
from rag import followup
from rag.evaluation import dialogues
from rag.evaluation.corpora import corpus_assistant
from rag.evaluation.evaluate import quote_and_citation
from rag.models.encoder import SentenceTransformerEncoder, model_name
from rag.question import clean_question

SPAN_CHARS = 30  # a last answer this short (its span) is named in the subject (kind ``said``)
ANSWER_CHARS = 200  # of the last answer searched with the follow-up's own words (kind ``ans``)
STRATEGIES = [(("said",), "P"), (("said", "swap"), "reader"), (("about", "said", "swap"), "reader"), (("ans",), "P"), (("ans", "swap"), "reader"), (("about", "ans", "swap"), "reader"),(("about",), "P"), (("about", "swap"), "reader"), (("about", "swap"), "P"),
              (("own", "swap"), "reader"), (("about", "own", "swap"), "reader"),
              (("about", "swap", "ante"), "reader"), (("about", "swap", "ante"), "P"), (("ante",), "reader"),
              (("ante",), "P"), (("chain",), "P"), (("alone",), "P")]


def antecedent_readings(question: str, last: followup.Turn) -> list[str]:
    """The ``ante`` kind: each noun phrase of the last question (two) and answer (one) that the
    question does not name, where a pronoun or demonstrative points back, else as the topic."""
    own = question.lower()
    asked = [p for p in followup.noun_phrases(last.meant.rstrip("？?")) if p.lower() not in own][:2]
    said = [p for p in followup.noun_phrases(last.answer) if p.lower() not in own][:1] if last.answer else []
    out = []
    for a in asked + said:
        pointer = followup._ZH_POINTER.search(question) if followup.CJK.search(question) else None
        if pointer:
            out.append(question[:pointer.start()] + a + question[pointer.end():])
        elif followup.CJK.search(question):
            out.append(f"关于{a}，{question}")
        else:
            out.append(f"{question.rstrip('?')} ({a})?")
    return out


def candidates(question: str, history: list[followup.Turn]) -> dict[str, list[str]]:
    last = history[-1]
    own = followup.split_topic(last)[1]
    return {"about": [followup.about_last(question, history)], "own": [followup.about(question, own)],
            "swap": followup.swapped(question, last), "ante": antecedent_readings(question, last),
            "ans": [followup.about_last(question, history)],
            "said": [followup.about(question, f"{followup.subject_of(history)}（{last.answer}）")
                     if 0 < len(last.answer) <= SPAN_CHARS else followup.about_last(question, history)],
            "chain": [f"{last.meant.rstrip('？?。')}；{question}"], "alone": [question]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dialogues", type=Path)
    ap.add_argument("--docs", nargs="*", default=[], help="documents added to the seed documents")
    ap.add_argument("--prefer-rank", default=str(module.PREFER_RANK))
    ap.add_argument("--save", type=Path, help="write every scored reading here (JSON)")
    ap.add_argument("--show", nargs=2, metavar=("KIND", "OTHER"), help="list the turns where KIND holds and OTHER not")
    args = ap.parse_args()
    module.PREFER_RANK = None if args.prefer_rank == "none" else int(args.prefer_rank)
    convs = dialogues.load_dialogues(args.dialogues)
    a = corpus_assistant(args.docs, SentenceTransformerEncoder(model_name()), seeds=True)
    rows = []
    for d in (d for d in convs if d["kind"] == "followup"):
        history: list[dict] = []
        for i, turn in enumerate(d["turns"]):
            answer = a.ask(turn["question"], history=history)
            if i:
                turns = followup.check_history(history)
                last = turns[-1]
                q = clean_question(turn["question"])[0]
                scored = []
                for kind, readings in candidates(q, turns).items():
                    for r in readings:
                        also = {"alone": None, "ans": f"{q} {last.answer[:ANSWER_CHARS]}"}.get(kind, q)
                        x = a._answer(clean_question(r)[0], 5, "hybrid", [], also=also, prefer=last.cited)
                        scored.append({"kind": kind, "reading": r, "id": f"{d['id']}.{i + 1}", "holds": quote_and_citation(x, turn["evidence"])[0],
                                       "P": x.signals.answerable, "repeats": bool(last.answer) and not x.abstained and last.answer in x.text, "reader": x.signals.reader, "answered": not x.abstained})
                rows.append(scored)
            history.append(followup.turn_of(answer).to_dict())
    n = len(rows)
    if args.save:
        args.save.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.show:
        for r in rows:
            first = {k: next((c for c in r if c["kind"] == k), None) for k in args.show}
            if all(first.values()) and first[args.show[0]]["holds"] and not first[args.show[1]]["holds"]:
                print(first[args.show[0]]["id"], *(f"{k}: {c['reading']}" for k, c in first.items()), sep="\n  ")
    print(f"{n} follow-up turns; prefer rank {module.PREFER_RANK}")
    for kinds in (("about", "swap", "ante"), ("about", "own", "swap")):
        oracle = sum(any(c["holds"] for c in r if c["kind"] in kinds) for r in rows)
        print(f"oracle ({', '.join(kinds)}): {oracle / n:.3f}")
    for kinds, key in STRATEGIES:
        held = sum(max((c for c in r if c["kind"] in kinds), key=lambda c: (c["answered"], c[key]))["holds"] for r in rows)
        print(f"{'+'.join(kinds):18s} by {key:7s} {held / n:.3f}")


if __name__ == "__main__":
    main()
