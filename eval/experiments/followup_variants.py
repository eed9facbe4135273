"""Follow-up understanding variants, on a dialogue set (as `rag eval --dialogues` scores it).

    .venv/bin/python eval/experiments/followup_variants.py eval/dialogues.jsonl \
        --docs eval/suites/laws/docs/data-security-law-2021.md eval/suites/laws/docs/foreign-relations-law-2023.md

Variants, each scored on every conversation:

- ``shipped``: the readings of :mod:`rag.followup`, the likeliest kept, the last answer's passage
  put second (``rag.assistant.PREFER_RANK = 1``);
- ``no-prefer``: the same without favouring the last answer's passage;
- ``prefer-first``: the last answer's passage put first;
- ``questions-only``: the history holds only the earlier questions (no answer, nothing cited), as
  a client that sends strings gets it.

The figures in docs/experiments.md (Conversation) come from this script; it was run on
eval/dialogues.jsonl only, never on the unseen set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rag import assistant as module
from rag.evaluation import dialogues
from rag.evaluation import suite as suites
from rag.evaluation.corpora import corpus_assistant
from rag.models.encoder import SentenceTransformerEncoder, model_name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dialogues", type=Path)
    ap.add_argument("--docs", nargs="*", default=[], help="documents added to the seed documents")
    ap.add_argument("--variants", nargs="*", default=["shipped", "no-prefer", "prefer-first", "questions-only"])
    args = ap.parse_args()
    convs = dialogues.load_dialogues(args.dialogues)
    encoder = SentenceTransformerEncoder(model_name())
    built: dict = {}

    def assistant_for(name):
        if name not in built:
            built[name] = (suites.prepare(suites.load_suite(name), encoder)[0] if name
                           else corpus_assistant(args.docs, encoder, seeds=True))
        return built[name]

    shipped_rank = module.PREFER_RANK
    for variant in args.variants:
        module.PREFER_RANK = {"no-prefer": None, "prefer-first": 0}.get(variant, shipped_rank)
        ask = assistant_for
        if variant == "questions-only":
            def ask(name, _for=assistant_for):
                return QuestionsOnly(_for(name))
        report = dialogues.run(ask, convs)
        print(f"\n== {variant}")
        print(dialogues.format_table(report))
    module.PREFER_RANK = shipped_rank


class QuestionsOnly:
    """An assistant whose callers send only the earlier questions."""

    def __init__(self, inner):
        self.inner = inner

    def ask(self, question, top_k=5, history=None):
        return self.inner.ask(question, top_k=top_k, history=[h["question"] for h in history or []])


if __name__ == "__main__":
    main()
