"""Extractive answers: the picked sentences quoted with ``[n]`` citation markers, or a plain
'not found' when the abstention rules say the documents do not answer."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rag.answers.abstain import language, should_abstain, signals
from rag.answers.clauses import around_span
from rag.answers.corpus import AnswerCorpus
from rag.answers.features import candidates, quote_row
from rag.answers.model import AnswerModel
from rag.answers.pick import completed, pick_sentences
from rag.answers.reading import NOTHING, PassageReading
from rag.records import Answer, Citation, Hit, Passage, Signals, Span
from rag.text.normalize import CJK
from rag.text.sentences import Sentence

NOT_FOUND = {"zh": "文件中没有找到相关内容。", "en": "The documents do not contain an answer to this question."}


def cite(corpus: AnswerCorpus, picked: list[Sentence]) -> tuple[str, tuple[Citation, ...]]:
    """Answer text with ``[n]`` markers, and the citations behind the markers."""
    order: list[int] = []
    spans: dict[int, list[tuple[int, int]]] = {}
    parts = []
    for s in picked:
        if s.passage_index not in spans:
            order.append(s.passage_index)
            spans[s.passage_index] = []
        spans[s.passage_index].append((s.start, s.end))
        parts.append(f"{s.text}[{order.index(s.passage_index) + 1}]")
    citations = tuple(
        Citation(p.id, citation_label(p), p.text, tuple(spans[pi]))
        for pi in order
        for p in [corpus.passages[pi]]
    )
    return "".join(parts) if language_of_parts(parts) == "zh" else " ".join(parts), citations


def language_of_parts(parts: list[str]) -> str:
    return "zh" if any(CJK.search(p) for p in parts) else "en"


def citation_label(p: Passage) -> str:
    """Label with the innermost section, e.g. 《北约2022战略概念》第21段 · 威慑和防御."""
    return f"{p.label} · {p.section[-1]}" if p.section else p.label


def compose(question: str, hits: list[Hit], mode: str, notes: list[str], corpus: AnswerCorpus,
            query_vec: np.ndarray, sims: tuple[np.ndarray, np.ndarray], model: AnswerModel,
            reading: PassageReading = NOTHING) -> Answer:
    """Build the Answer: quoted sentences with citations, or a plain 'not found'.

    ``sims``: the question's cosines with every passage and every sentence of ``corpus``;
    ``model``: the answer model that picks the sentences and judges answerability;
    ``reading``: the reader's reading of the top passages (:mod:`rag.answers.reading`).
    """
    lang = language(question)
    if not hits:
        return Answer(question, NOT_FOUND[lang], (), (), True, mode, tuple(notes), None)
    sig, picked = assess(question, hits, corpus, query_vec, sims, model, reading)
    if not picked or should_abstain(sig, model.threshold):
        return Answer(question, NOT_FOUND[lang], (), tuple(hits), True, mode, tuple(notes), sig)
    span = reading.best_span(hits)
    picked, span = shorten(corpus, picked, span)
    text, citations = cite(corpus, picked)
    return Answer(question, text, citations, tuple(hits), False, mode, tuple(notes), sig, span=span)


LONG_SENTENCE = 150  # a quoted sentence longer than this is cut to the clauses around the span


def shorten(corpus: AnswerCorpus, picked: list[Sentence], span: Span | None) -> tuple[list[Sentence], Span | None]:
    """The span, when a quoted sentence holds it (else None); a sentence holding it that runs
    past LONG_SENTENCE characters is cut to the clauses around it (text that joins hundreds of
    characters with ，and no 。)."""
    if span is None:
        return picked, None
    out, found = [], None
    for s in picked:
        p = corpus.passages[s.passage_index]
        if found is None and p.id == span.passage_id and s.start <= span.start and span.end <= s.end:
            found = span
            if len(s.text) > LONG_SENTENCE:
                a, b = around_span(s.text, span.start - s.start, span.end - s.start, LONG_SENTENCE)
                s = Sentence(s.passage_index, s.start + a, s.start + b, s.text[a:b])
        out.append(s)
    return out, found


def assess(question: str, hits: list[Hit], corpus: AnswerCorpus, query_vec: np.ndarray,
           sims: tuple[np.ndarray, np.ndarray], model: AnswerModel,
           reading: PassageReading = NOTHING) -> tuple[Signals, list[Sentence]]:
    """The question's signals (with the model's answerability) and the sentences it would quote."""
    terms = corpus.terms(question)
    sig = signals(corpus, question, hits, query_vec, terms, sims)
    cands = candidates(corpus, question, hits, terms, sims[1], reading)
    probabilities = model.sentence.shares(cands.matrix)
    picked = completed(corpus, question, cands, probabilities,
                       pick_sentences(corpus, question, cands, probabilities, model))
    sig, row = quote_row(corpus, question, sig, cands, probabilities, hits, terms, "".join(s.text for s in picked))
    return replace(sig, answerable=float(model.answerable.probability(row[None, :])[0])), picked
