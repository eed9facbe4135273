"""Picking the sentences that answer: the answer model scores the top passages' sentences
(:mod:`rag.answers.features`, :mod:`rag.answers.model`); the best is quoted, with up to 3 more
(5 more for a list question) that the model rates nearly as high, that do not repeat it and fit
the model's length budget; then the clauses and list items that complete them, in answer order."""

from __future__ import annotations

import re

import numpy as np

from rag.answers import answertype
from rag.answers.corpus import AnswerCorpus
from rag.answers.features import SENTENCE_FEATURES, Candidates, bigrams
from rag.answers.model import AnswerModel
from rag.documents.context import is_list_item
from rag.text.sentences import Sentence

MAX_SENTENCES = 4
LIST_MAX_SENTENCES = 6  # a list question may quote twice the model's max_chars
LIST_INTRO_ENDS = ("：", ":")
MAX_LIST_ITEMS = 12
# A sentence whose character bigrams are mostly (this share) in a sentence already quoted
# adds nothing. Judged on the text: e5 cosines are compressed (a median sentence has a
# neighbour at 0.94 and different statements reach 0.96), so a cosine cannot tell a repeat.
DUPLICATE_OVERLAP = 0.8
CLAUSE_ENDS = ("；", ";")  # a sentence split here continues in the next one
LIST_CUES = re.compile(r"哪些|哪几|有什么|列举|包括什么|几项|几个|which|what are|list|name the", re.I)


def pick_sentences(corpus: AnswerCorpus, question: str, cands: Candidates, probabilities: np.ndarray,
                   model: AnswerModel) -> list[Sentence]:
    """The best candidate sentences for the question, in answer order, by the model's
    probabilities (one per candidate) and its quoting settings."""
    return choose(corpus, question, cands, probabilities, model.keep_ratio, model.min_probability, model.max_chars)


def choose(corpus: AnswerCorpus, question: str, cands: Candidates, probabilities: np.ndarray,
           keep_ratio: float, min_probability: float, max_chars: int) -> list[Sentence]:
    """:func:`pick_sentences` with the quoting settings given (training tries several)."""
    table = corpus.sentences
    if not cands.rows:
        return []
    order = sorted(range(len(cands.rows)), key=lambda i: (-probabilities[i], i))
    is_list = bool(LIST_CUES.search(question))
    max_n = LIST_MAX_SENTENCES if is_list else MAX_SENTENCES
    max_chars = 2 * max_chars if is_list else max_chars
    floor = max(min_probability, keep_ratio * float(probabilities[order[0]]))
    chosen = [cands.rows[order[0]][1]]
    length = len(table.sentences[chosen[0]].text)
    for i in order[1:]:
        if len(chosen) >= max_n or probabilities[i] < floor:
            break
        j = cands.rows[i][1]
        n = len(table.sentences[j].text)
        if length + n > max_chars or any(adds_nothing(table.sentences[j].text, table.sentences[k].text)
                                         for k in chosen):
            continue
        chosen.append(j)
        length += n
    chosen_set = set(chosen)
    for j in list(chosen):  # a clause ending in "；" is quoted with the clause that completes it
        while (table.sentences[j].text.endswith(CLAUSE_ENDS) and j + 1 < len(table.sentences)
               and table.sentences[j + 1].passage_index == table.sentences[j].passage_index
               and j + 1 not in chosen_set):
            j += 1
            chosen.append(j)
            chosen_set.add(j)
    # Group by passage (best passage first); document order inside a passage.
    group_rank: dict[int, int] = {}
    for j in chosen:
        group_rank.setdefault(table.sentences[j].passage_index, len(group_rank))
    chosen.sort(key=lambda j: (group_rank[table.sentences[j].passage_index], table.sentences[j].start))
    return [table.sentences[j] for j in chosen]


def with_span(cands: Candidates, picked: list[Sentence]) -> list[Sentence]:
    """``picked`` and the sentences holding the reader's best span (their ``reader_best``
    feature) when the answer model left them out: the two judge differently (the model reads
    features, the reader reads the text), and quoting both held CMRC's evidence 0.904 of the
    time against 0.839 for the model's pick alone, left out (eval/experiments/span_quote.py).
    Grouped as :func:`choose` groups (:func:`grouped`)."""
    if not picked or not len(cands.rows):
        return picked
    holds_span = cands.matrix[:, SENTENCE_FEATURES.index("reader_best")] > 0
    extra = [s for s, held in zip(cands.sentences, holds_span, strict=True) if held and adds_to(picked, s)]
    return grouped([*picked, *extra]) if extra else picked


def with_asked(question: str, cands: Candidates, probabilities: np.ndarray, picked: list[Sentence]) -> list[Sentence]:
    """``picked`` and, when the question asks for a date or a number (:mod:`rag.answers.answertype`)
    that none of it holds, the candidate sentence the model rates highest that holds one (see
    docs/experiments.md, "Quoting the date or number a question asks for"), grouped."""
    if not picked or not len(cands.rows):
        return picked
    kind = answertype.missing(question, "".join(s.text for s in picked))
    if not kind:
        return picked
    kinds = answertype.expected(question)
    for i in sorted(range(len(cands.rows)), key=lambda i: (-probabilities[i], i)):
        s = cands.sentences[i]
        if answertype.has(kind, s.text, kinds) and adds_to(picked, s):
            return grouped([*picked, s])
    return picked


def adds_to(picked: list[Sentence], candidate: Sentence) -> bool:
    """Whether ``candidate`` is neither one of ``picked`` nor a repeat of one (:func:`adds_nothing`)."""
    return all((p.passage_index, p.start) != (candidate.passage_index, candidate.start)
               and not adds_nothing(candidate.text, p.text) for p in picked)


def completed(corpus: AnswerCorpus, question: str, cands: Candidates, probabilities: np.ndarray,
              picked: list[Sentence]) -> list[Sentence]:
    """The model's pick with what completes it, in ``ask`` and in ``rag train`` alike: the
    reader's span (:func:`with_span`), the date or number asked for (:func:`with_asked`), then
    the list items a list intro announces (:func:`expand_lists`)."""
    return expand_lists(corpus, with_asked(question, cands, probabilities, with_span(cands, picked)))


def grouped(sentences: list[Sentence]) -> list[Sentence]:
    """``sentences`` grouped by passage, in the order each passage first comes; in document
    order inside a passage."""
    group_rank: dict[int, int] = {}
    for s in sentences:
        group_rank.setdefault(s.passage_index, len(group_rank))
    return sorted(sentences, key=lambda s: (group_rank[s.passage_index], s.start))


def adds_nothing(candidate: str, quoted: str) -> bool:
    """Whether ``candidate`` mostly repeats ``quoted``: at least DUPLICATE_OVERLAP of its
    character bigrams occur in it (a heading like "指导方案。" does not make the sentence that
    contains it a repeat, but the sentence makes the heading one)."""
    b = bigrams(candidate)
    return len(b & bigrams(quoted)) >= DUPLICATE_OVERLAP * len(b)


def expand_lists(corpus: AnswerCorpus, picked: list[Sentence]) -> list[Sentence]:
    """After a quoted list intro ("……尤其决定：", "……有下列情形之一的：") add the first sentence
    of each bullet or law item that follows it, since the intro alone answers nothing."""
    table, out, seen = corpus.sentences, [], {(s.passage_index, s.start) for s in picked}
    for s in picked:
        out.append(s)
        own = table.by_passage[s.passage_index]
        if not s.text.endswith(LIST_INTRO_ENDS) or table.sentences[own[-1]].start != s.start:
            continue
        doc = corpus.passages[s.passage_index].doc_id
        i = s.passage_index + 1
        while i < len(corpus.passages) and len(out) < len(picked) + MAX_LIST_ITEMS:
            p = corpus.passages[i]
            if p.doc_id != doc or not is_list_item(p):
                break
            first = table.sentences[table.by_passage[i][0]]
            if (first.passage_index, first.start) not in seen:
                out.append(first)
                seen.add((first.passage_index, first.start))
            i += 1
    return out
