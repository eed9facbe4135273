"""Picking the sentences that answer: score the top passages' sentences by their cosine with
the question, term coverage and passage rank; keep 1-3 (up to 6 for a list question) that do
not repeat each other, complete clauses and list intros, in answer order."""

from __future__ import annotations

import re

import numpy as np

from rag.answers.corpus import AnswerCorpus
from rag.documents.context import is_bullet
from rag.records import Hit
from rag.text.sentences import Sentence

CANDIDATE_PASSAGES = 5  # sentences are drawn from this many top passages
MAX_SENTENCES = 3
MAX_CHARS = 200
LIST_MAX_SENTENCES = 6
LIST_MAX_CHARS = 400
# Sentence score = dense cosine + W_LEX * idf-weighted term coverage + W_RANK / (1 + passage rank).
# Weights chosen by a grid search on eval/questions.jsonl (answer-contains-evidence).
W_LEX = 0.10
W_RANK = 0.02
KEEP_WITHIN = 0.06  # extra sentences must score within this of the best one
LIST_INTRO_ENDS = ("：", ":")
MAX_LIST_ITEMS = 12
# A sentence whose character bigrams are mostly (this share) in a sentence already quoted
# adds nothing. Judged on the text: e5 cosines are compressed (a median sentence has a
# neighbour at 0.94 and different statements reach 0.96), so a cosine cannot tell a repeat.
DUPLICATE_OVERLAP = 0.8
CLAUSE_ENDS = ("；", ";")  # a sentence split here continues in the next one
LIST_CUES = re.compile(r"哪些|哪几|有什么|列举|包括什么|几项|几个|which|what are|list|name the", re.I)


def coverage(terms: dict[str, float], text: str) -> float:
    """IDF-weighted share of the terms that occur in ``text``."""
    total = sum(terms.values())
    if total <= 0:
        return 0.0
    lowered = text.lower()
    return sum(w for t, w in terms.items() if t in lowered) / total


def pick_sentences(corpus: AnswerCorpus, question: str, hits: list[Hit], query_vec: np.ndarray,
                   terms: dict[str, float], sentence_sims: np.ndarray | None = None) -> list[Sentence]:
    """The best sentences for the question from the top hits, in answer order."""
    table = corpus.sentences
    if sentence_sims is None:
        sentence_sims = table.vectors @ query_vec
    cands: list[tuple[float, int, int]] = []  # (score, hit rank, sentence index)
    for rank, hit in enumerate(hits[:CANDIDATE_PASSAGES]):
        pi = corpus.passage_index(hit.passage.id)
        for j in table.by_passage.get(pi, []):
            s = table.sentences[j]
            score = (
                float(sentence_sims[j])
                + W_LEX * coverage(terms, s.text)
                + W_RANK / (1 + rank)
            )
            cands.append((score, rank, j))
    if not cands:
        return []
    cands.sort(key=lambda c: -c[0])
    is_list = bool(LIST_CUES.search(question))
    max_n = LIST_MAX_SENTENCES if is_list else MAX_SENTENCES
    max_chars = LIST_MAX_CHARS if is_list else MAX_CHARS
    best = cands[0][0]
    chosen = [cands[0]]
    length = len(table.sentences[cands[0][2]].text)
    for c in cands[1:]:
        if len(chosen) >= max_n or best - c[0] > KEEP_WITHIN:
            break
        n = len(table.sentences[c[2]].text)
        if length + n > max_chars or any(
            adds_nothing(table.sentences[c[2]].text, table.sentences[k[2]].text) for k in chosen
        ):
            continue
        chosen.append(c)
        length += n
    chosen_js = {c[2] for c in chosen}
    for c in list(chosen):  # a clause ending in "；" is quoted with the clause that completes it
        j = c[2]
        while (table.sentences[j].text.endswith(CLAUSE_ENDS) and j + 1 < len(table.sentences)
               and table.sentences[j + 1].passage_index == table.sentences[j].passage_index
               and j + 1 not in chosen_js):
            j += 1
            chosen.append((c[0], c[1], j))
            chosen_js.add(j)
    # Group by passage (best passage first); document order inside a passage.
    group_rank: dict[int, int] = {}
    for c in chosen:
        group_rank.setdefault(table.sentences[c[2]].passage_index, len(group_rank))
    chosen.sort(key=lambda c: (group_rank[table.sentences[c[2]].passage_index], table.sentences[c[2]].start))
    return [table.sentences[c[2]] for c in chosen]


def bigrams(text: str) -> set[str]:
    """Character bigrams of ``text`` without punctuation or spaces (the text itself if shorter)."""
    t = re.sub(r"[\W_]+", "", text)
    return {t[i:i + 2] for i in range(len(t) - 1)} or {t}


def adds_nothing(candidate: str, quoted: str) -> bool:
    """Whether ``candidate`` mostly repeats ``quoted``: at least DUPLICATE_OVERLAP of its
    character bigrams occur in it (a heading like "指导方案。" does not make the sentence that
    contains it a repeat, but the sentence makes the heading one)."""
    b = bigrams(candidate)
    return len(b & bigrams(quoted)) >= DUPLICATE_OVERLAP * len(b)


def expand_lists(corpus: AnswerCorpus, picked: list[Sentence]) -> list[Sentence]:
    """After a quoted list intro ("……尤其决定：") add the first sentence of each item that
    follows it, since the intro alone answers nothing."""
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
            if p.doc_id != doc or not is_bullet(p):
                break
            first = table.sentences[table.by_passage[i][0]]
            if (first.passage_index, first.start) not in seen:
                out.append(first)
                seen.add((first.passage_index, first.start))
            i += 1
    return out
