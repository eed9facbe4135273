"""How sure the reader is on English questions over Chinese text, against Chinese questions.

For each suite named, each question is retrieved as `ask` retrieves it (hybrid, top 5) and the
reader reads its top two passages; the table gives, per reader and per way of putting the
question, the median P(answers) of the answerable and of the hand-written unanswerable
questions, by language, and the AUC between the two. Ways of putting an English question:

- ``raw``: as asked (shipped);
- ``glossed``: followed by the Chinese terms its words translate to (the lexical channel's
  CC-CEDICT glossary), those that occur in the passages read, in brackets ("…?（出口许可、有效期）").

``--weights`` compares readers (default: the shipped one), e.g. one trained with
``rag train-reader --code-switch``.

    .venv/bin/python eval/experiments/reader_english.py [--weights FILE …] [--suites laws seeds laws-pdf]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from rag.evaluation import suite as suites
from rag.models import readeronnx
from rag.models.encoder import SentenceTransformerEncoder
from rag.models.readereval import auc
from rag.models.readerwindows import read

READ = 2  # passages read per question (READ_MORE)
MIN_WEIGHT = 0.25  # a glossed term's share of its English word


def glossed(assistant, question: str, texts: list[str]) -> str:
    terms = assistant.lexical.translated_terms(question)
    joined = "".join(texts)
    kept = sorted(((w, t) for t, w in terms.items() if w >= MIN_WEIGHT and t in joined), reverse=True)[:8]
    return question + "（" + "、".join(t for _, t in kept) + "）" if kept else question


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", nargs="+", default=[None], help="reader weights files (default: the shipped ones)")
    p.add_argument("--suites", nargs="+", default=["laws", "seeds", "laws-pdf"])
    args = p.parse_args()
    encoder = SentenceTransformerEncoder()
    readers = {str(w or "shipped"): readeronnx.load_or_export(Path(w) if w else None) for w in args.weights}
    print(f"{'suite':9} {'reader':28} {'question':8} {'lang':4} {'ans n':>5} {'ans P50':>7} "
          f"{'unans n':>7} {'unans P50':>9} {'AUC':>6}")
    for name in args.suites:
        assistant, questions = suites.prepare(suites.load_suite(name), encoder)
        texts = {}
        for q in questions:
            hits, *_ = assistant.retrieve(q["question"], 5, "hybrid", None, None)
            texts[q["id"]] = [h.passage.text for h in hits[:READ]]
        for label, reader in readers.items():
            for way in ("raw", "glossed"):
                for lang in ("zh", "en"):
                    if way == "glossed" and lang == "zh":
                        continue
                    ans, unans = [], []
                    for q in questions:
                        if q.get("lang") != lang:
                            continue
                        t = texts[q["id"]]
                        asked = glossed(assistant, q["question"], t) if way == "glossed" else q["question"]
                        prob = max(read(reader, reader.windower, asked, t).probabilities, default=0.0)
                        (ans if q.get("evidence") else unans).append(prob)
                    a = auc(ans + unans, [1] * len(ans) + [0] * len(unans))
                    print(f"{name:9} {Path(label).parent.name or label:28.28} {way:8} {lang:4} {len(ans):5} "
                          f"{statistics.median(ans) if ans else 0:7.3f} {len(unans):7} "
                          f"{statistics.median(unans) if unans else 0:9.3f} {'—' if a is None else f'{a:.3f}':>6}",
                          flush=True)


if __name__ == "__main__":
    main()
