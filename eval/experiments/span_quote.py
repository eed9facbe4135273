"""Quoting the reader's span: the sentence that holds it, against the answer model's pick,
judged leave-one-corpus-out on the eval suite (answerable questions that are answered).

    RAG_READER_CACHE=/tmp/r.jsonl .venv/bin/python eval/experiments/span_quote.py

Retrieves every suite question once (as `rag train` does); for each group left out, the answer
model is fitted on the others and decides, as shipped, which questions are answered. For those,
each way of quoting is scored: the quote holds the evidence, and its mean length (a sentence
over 150 characters that holds the span cut to the clauses around it, as `compose` does).

- ``picker``: the answer model's sentences (shipped);
- ``span``: the sentences the reader's best span touches, when it gives one (else ``picker``);
- ``span@P``: ``span`` when the reader's P(answers) for that passage is at least P, else ``picker``;
- ``span+top``: the span's sentences and the picker's best sentence when it is another;
- ``picker+span``: the picker's quote, with the span's sentence added (in document order) when
  the picker left it out (shipped);
- ``picker+span@P``: ``picker+span`` when the reader's P(answers) is at least P, else ``picker``;
- ``picker+span(same lang)``: ``picker+span`` for a Chinese question, ``picker`` for another
  (the reader never trained on a question in one language and a passage in another).
"""

from __future__ import annotations

import argparse

import numpy as np

from rag.answers import abstain
from rag.answers.clauses import around_span
from rag.answers.compose import LONG_SENTENCE
from rag.answers.features import quote_row
from rag.answers.pick import choose, expand_lists
from rag.evaluation import suite as suites
from rag.evaluation import training
from rag.models.encoder import SentenceTransformerEncoder, model_name
from rag.text.normalize import CJK


def span_sentences(e: training.Example) -> list:
    """The candidate sentences the reader's best span touches, each cut around it when long."""
    reading = e.cands.reading
    span = reading.best_span(e.hits)
    if span is None:
        return []
    out = []
    for s in e.cands.sentences:
        p = e.corpus.passages[s.passage_index]
        if p.id == span.passage_id and s.start < span.end and span.start < s.end:
            a, b = max(s.start, span.start), min(s.end, span.end)
            if len(s.text) > LONG_SENTENCE:
                x, y = around_span(s.text, a - s.start, b - s.start, LONG_SENTENCE)
                out.append(s.text[x:y])
            else:
                out.append(s.text)
    return out


def picker_sentences(e, probs, model) -> list:
    return expand_lists(e.corpus, choose(e.corpus, e.question, e.cands, probs, model.keep_ratio,
                                         model.min_probability, model.max_chars))


def variants(e, probs, model, levels) -> dict[str, str]:
    picked = picker_sentences(e, probs, model)
    picker = "".join(s.text for s in picked)
    spans = span_sentences(e)
    p = e.cands.reading.answerable
    out = {"picker": picker, "span": "".join(spans) or picker}
    for level in levels:
        out[f"span@{level}"] = "".join(spans) if spans and p >= level else picker
    top = picked[0].text if picked else ""
    out["span+top"] = "".join(spans) + ("" if not spans or any(top in s or s in top for s in spans) else top) \
        if spans else picker
    missing = [s for s in spans if s not in picker]
    out["picker+span"] = picker + "".join(missing)
    for level in levels:
        out[f"picker+span@{level}"] = picker + ("".join(missing) if p >= level else "")
    out["picker+span(same lang)"] = picker + ("".join(missing) if CJK.search(e.question) else "")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--levels", nargs="*", type=float, default=[0.3, 0.5, 0.7])
    args = ap.parse_args()
    examples = training.collect(suites.suite_names(), SentenceTransformerEncoder(model_name()), progress=lambda m: None)
    names = None
    for group in sorted({e.group for e in examples}):
        model, _ = training.fit([e for e in examples if e.group != group], f"without-{group}")
        mine = [e for e in examples if e.group == group and e.kind == "answerable"]
        for suite in sorted({e.suite for e in mine}):
            score: dict[str, list] = {}
            n = 0
            for e in (e for e in mine if e.suite == suite):
                n += 1
                probs = model.sentence.shares(e.cands.matrix) if len(e.cands.rows) else np.zeros(0)
                text = training.quote(e, probs, model.keep_ratio, model.min_probability, model.max_chars) \
                    if len(probs) else ""
                sig, row = quote_row(e.corpus, e.question, e.signals, e.cands, probs, e.hits, e.terms, text)
                pa = float(model.answerable.probability(row[None])[0]) if e.hits else 0.0
                if not text or abstain.ruled_out(sig) or pa < model.threshold:
                    continue
                for k, t in variants(e, probs, model, args.levels).items():
                    score.setdefault(k, []).append((training.holds(e, t), len(t)))
            if names is None:
                names = list(score)
                print(f"{'corpus':16s}" + "".join(f"{k:>20s}" for k in names))
            cells = [f"{sum(h for h, _ in score[k]) / n:.3f} / {np.mean([c for _, c in score[k]]):4.0f}"
                     for k in names]
            print(f"{suite:16s}" + "".join(f"{c:>20s}" for c in cells), flush=True)
    print("each cell: share of the answerable questions whose quote holds the evidence / mean quote length")


if __name__ == "__main__":
    main()
