"""The signals a learned model reads: one row per candidate sentence (is this a sentence that
answers?) and one row per question (do the documents answer it at all?).

Every feature is relative to the question or to the other candidates (a cosine minus the
best cosine, a share of the question's terms), never a word of any document, so a model fitted
on some corpora can be judged on others (:mod:`rag.evaluation.training`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from rag.answers import answertype
from rag.answers.corpus import AnswerCorpus
from rag.answers.reading import NOTHING, PassageReading
from rag.records import Hit, Signals
from rag.text.normalize import CJK
from rag.text.sentences import Sentence

FEATURES_VERSION = "7"  # part of the training-data hash: bump when a feature changes
CANDIDATE_PASSAGES = 5  # sentences are drawn from this many top passages
SENTENCE_FEATURES = (
    "cos", "cos_gap", "coverage", "coverage_gap", "bigrams", "bigrams_gap", "passage_rank", "passage_gap",
    "passage_coverage", "first", "position", "log_chars", "answer_type", "list_intro", "clause", "english",
    "english_cos_gap", "cos_rank", "bigrams_rank", "coverage_rank", "previous_bigrams", "next_bigrams",
    "previous_cos", "next_cos", "local_bigrams", "local_bigrams_gap", "local_coverage", "local_coverage_gap",
    "reader_span", "reader_best", "reader_passage", "reader_passage_gap",
)
QUESTION_FEATURES = (
    "sentence_margin", "passage_margin", "best_sentence", "best_passage", "off_topic", "coverage",
    "best_probability", "english", "unknown_names", "missing_answer", "unknown_references",
    "top_score", "top_gap", "best_bigrams", "best_coverage", "unseen_terms", "rarest_missing", "quote_coverage",
    "reader_answerable", "reader_top", "reader_quote",
)
_NON_WORD = re.compile(r"[\W_]+")


def bigrams(text: str) -> set[str]:
    """Character bigrams of ``text`` without punctuation or spaces (the text itself if shorter)."""
    t = _NON_WORD.sub("", text.lower())
    return {t[i:i + 2] for i in range(len(t) - 1)} or {t}


def coverage(terms: dict[str, float], text: str) -> float:
    """IDF-weighted share of the terms that occur in ``text``."""
    total = sum(terms.values())
    if total <= 0:
        return 0.0
    lowered = text.lower()
    return sum(w for t, w in terms.items() if t in lowered) / total


@dataclass
class Candidates:
    """The sentences of the top passages that an answer may quote, with their features."""

    rows: list[tuple[int, int]]  # (hit rank, sentence index in the corpus's sentence table)
    sentences: list[Sentence]
    matrix: np.ndarray  # one row of SENTENCE_FEATURES per candidate
    reading: PassageReading = NOTHING  # the reader's reading of the top passages


def _overlaps(a: int, b: int, span: tuple[int, int]) -> float:
    return float(span[1] > span[0] and a < span[1] and span[0] < b)


def candidates(corpus: AnswerCorpus, question: str, hits: list[Hit], terms: dict[str, float],
               sentence_sims: np.ndarray, reading: PassageReading = NOTHING) -> Candidates:
    """The candidate sentences of the top hits and their feature rows (``reading``: the
    reader's reading of the top passages, :func:`rag.answers.reading.read_hits`)."""
    table = corpus.sentences
    english = 0.0 if CJK.search(question) else 1.0
    asks = answertype.expected(question)
    q_bigrams = bigrams(question) if not english else set()
    rows, raw, read = [], [], []
    top_score = hits[0].score if hits else 0.0
    best = reading.best
    best_p = reading.answerable
    for rank, hit in enumerate(hits[:CANDIDATE_PASSAGES]):
        pi = corpus.passage_index(hit.passage.id)
        own = table.by_passage.get(pi, [])
        passage_cov = coverage(terms, hit.passage.text)
        for k, j in enumerate(own):
            s = table.sentences[j]
            overlap = len(q_bigrams & bigrams(s.text)) / len(q_bigrams) if q_bigrams else 0.0
            kind = (-1.0 if answertype.missing(question, s.text) else 1.0) if asks else 0.0
            rows.append((rank, j))
            raw.append([float(sentence_sims[j]), coverage(terms, s.text), overlap, 1 / (1 + rank),
                        hit.score - top_score, passage_cov, float(k == 0), k / max(1, len(own) - 1),
                        math.log(1 + len(s.text)), kind, float(s.text.endswith(("：", ":"))),
                        float(s.text.endswith(("；", ";")))])
            p = reading.probability(rank)
            span = reading.span(rank)
            read.append([_overlaps(s.start, s.end, span), _overlaps(s.start, s.end, span) * float(rank == best),
                         p, p - best_p])
    if not rows:
        return Candidates([], [], np.zeros((0, len(SENTENCE_FEATURES)), np.float32), reading)
    r = np.array(raw, dtype=np.float64)
    cos, cov, big = r[:, 0], r[:, 1], r[:, 2]
    cos_gap = cos - cos.max()
    # the same signals of the sentences either side in the passage (0 at its ends)
    same_prev = np.array([k > 0 and rows[k - 1][0] == rows[k][0] for k in range(len(rows))])
    same_next = np.array([k + 1 < len(rows) and rows[k + 1][0] == rows[k][0] for k in range(len(rows))])
    prev_big = np.where(same_prev, np.roll(big, 1), 0.0)
    next_big = np.where(same_next, np.roll(big, -1), 0.0)
    prev_cos = np.where(same_prev, np.roll(cos_gap, 1), -1.0)
    next_cos = np.where(same_next, np.roll(cos_gap, -1), -1.0)
    local_big, local_cov = _local_overlaps([s.text for s in (table.sentences[j] for _, j in rows)], q_bigrams, terms)
    matrix = np.column_stack([
        cos, cos_gap, cov, cov - cov.max(), big, big - big.max(), r[:, 3], r[:, 4], r[:, 5], r[:, 6], r[:, 7],
        r[:, 8], r[:, 9], r[:, 10], r[:, 11], np.full(len(rows), english), english * cos_gap,
        _reciprocal_rank(cos), _reciprocal_rank(big), _reciprocal_rank(cov), prev_big, next_big, prev_cos, next_cos,
        local_big, local_big - local_big.max(), local_cov, local_cov - local_cov.max(), np.array(read),
    ])
    return Candidates(rows, [table.sentences[j] for _, j in rows], matrix.astype(np.float32), reading)


def _local_overlaps(texts: list[str], q_bigrams: set[str], terms: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """The question's bigram and term overlap with each candidate, each bigram or term weighted
    by how few candidates share it: the subject a question names ("纽西兰鸡毛松有多高？") is in
    most of its passage's sentences, the words that ask ("高") are in the one that answers."""
    n = len(texts)
    lowered = [t.lower() for t in texts]
    grams = [bigrams(t) for t in texts]

    def weighted(keys: dict[str, float], has) -> np.ndarray:
        w = {k: base * math.log((n + 1) / (0.5 + sum(has(i, k) for i in range(n)))) for k, base in keys.items()}
        total = sum(w.values())
        if total <= 0:
            return np.zeros(n)
        return np.array([sum(v for k, v in w.items() if has(i, k)) for i in range(n)]) / total

    local_big = weighted({b: 1.0 for b in sorted(q_bigrams)}, lambda i, b: b in grams[i])
    local_cov = weighted(terms, lambda i, t: t in lowered[i])
    return local_big, local_cov


def _reciprocal_rank(values: np.ndarray) -> np.ndarray:
    """1 for the highest value, 1/2 for the next ... (ties share the better rank)."""
    ranks = np.searchsorted(np.sort(-values), -values, side="left")
    return 1.0 / (1.0 + ranks)


def term_signals(corpus: AnswerCorpus, question: str, terms: dict[str, float], hits: list[Hit],
                 quote: str) -> tuple[float, float, float]:
    """How the question's terms (a Chinese question's; 0 for others) are found: the IDF-weighted
    share no passage contains, the rarest one missing from the top 3 passages (its IDF over the
    largest IDF there is), and the share the quote holds."""
    if not CJK.search(question) or not terms:
        return 0.0, 0.0, 0.0
    total = sum(terms.values()) or 1.0
    unseen = sum(w for t, w in terms.items() if not corpus.lexical.df.get(t)) / total
    top = "".join(h.passage.text for h in hits[:3]).lower()
    most = corpus.lexical.idf("\0never a term\0") or 1.0
    rarest = max((w / most for t, w in terms.items() if t not in top), default=0.0)
    return unseen, rarest, coverage(terms, quote)


def question_row(sig: Signals, cands: Candidates, probabilities: np.ndarray, hits: list[Hit],
                 term_stats: tuple[float, float, float], quote_has_span: float = 0.0) -> np.ndarray:
    """The question's row of QUESTION_FEATURES, from its abstention signals, its candidates,
    the sentence model's probabilities for them and :func:`term_signals`."""
    col = {n: i for i, n in enumerate(SENTENCE_FEATURES)}
    best_p = float(probabilities.max()) if len(probabilities) else 0.0
    m = cands.matrix
    gap = hits[0].score - hits[1].score if len(hits) > 1 else 0.0
    return np.array([
        sig.sentence_margin, sig.dense_margin, sig.best_sentence, sig.dense_top,
        sig.background - max(sig.dense_top, sig.best_sentence), sig.coverage, best_p,
        float(sig.lang == "en"), float(bool(sig.unknown_names)), float(bool(sig.missing_answer)),
        float(bool(sig.unknown_references)), hits[0].score if hits else 0.0, gap,
        float(m[:, col["bigrams"]].max()) if len(m) else 0.0,
        float(m[:, col["coverage"]].max()) if len(m) else 0.0, *term_stats,
        cands.reading.answerable, cands.reading.probability(0), quote_has_span,
    ], dtype=np.float32)


def quote_row(corpus: AnswerCorpus, question: str, sig: Signals, cands: Candidates, probabilities: np.ndarray,
              hits: list[Hit], terms: dict[str, float], quote: str) -> tuple[Signals, np.ndarray]:
    """Once the quote is picked: the signals with the kind of answer it lacks
    (:func:`rag.answers.answertype.missing`), and the question's row of QUESTION_FEATURES. The
    app (:func:`rag.answers.compose.assess`) and training read answerability through this."""
    read = bool(cands.reading.probabilities)
    sig = replace(sig, missing_answer=answertype.missing(question, quote),
                  reader=cands.reading.answerable if read else -1.0,
                  reader_top=cands.reading.probability(0) if read else -1.0)
    span = cands.reading.best_span(hits)
    has_span = float(span is not None and span.text in quote)
    return sig, question_row(sig, cands, probabilities, hits, term_signals(corpus, question, terms, hits, quote),
                             has_span)
