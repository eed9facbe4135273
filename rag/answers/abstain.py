"""Abstention: whether the documents answer the question at all ("文件中没有找到相关内容").

The answer model's answerability probability decides (:mod:`rag.answers.model`), over the
signals computed here and the sentence model's best share. Two rules stand on their own
(:func:`ruled_out`): a question citing an article or resolution that no document cites
("第4条规定了什么？" when the documents cite only 第3、5、6、10条), and an off-topic one.
"""

from __future__ import annotations

import numpy as np

from rag.answers import answertype
from rag.answers.corpus import AnswerCorpus
from rag.answers.features import coverage
from rag.records import Hit, Signals
from rag.text.normalize import CJK
from rag.text.segment import names_and_years


def language(question: str) -> str:
    """'zh' when the question has any CJK character, else 'en'."""
    return "zh" if CJK.search(question) else "en"


def signals(corpus: AnswerCorpus, question: str, hits: list[Hit], query_vec: np.ndarray,
            terms: dict[str, float], sims: tuple[np.ndarray, np.ndarray]) -> Signals:
    """Abstention signals for a question and its hits (``sims``: the question's cosines with every passage and sentence)."""
    passage_sims, sentence_sims = sims
    finite_p, finite_s = passage_sims[np.isfinite(passage_sims)], sentence_sims[np.isfinite(sentence_sims)]
    top = float(finite_p.max()) if len(finite_p) else 0.0
    # mean cosine over the corpus = cosine with the mean vector (exact also when an
    # approximate index computed only the candidates' cosines)
    margin = top - float(corpus.mean_vector @ query_vec) if len(finite_p) else 0.0
    best_sentence = float(finite_s.max()) if len(finite_s) else 0.0
    sentence_margin = best_sentence - float(corpus.sentence_mean_vector @ query_vec) if len(finite_s) else 0.0
    background = _background(corpus, passage_sims, query_vec)
    lang = language(question)
    unknown = tuple(n for n in names_and_years(question) if not corpus.mentions(n)) if lang == "zh" else ()
    text = "".join(h.passage.text for h in hits[:3])
    refs = tuple(f"第{n}{unit}" for n, unit in sorted(answertype.references(question) - corpus.references))
    # Coverage: the share of the question's own words the top passages contain. An English
    # question's words are not the documents' words; the only ones a Chinese passage can hold
    # are Latin names and numbers ("Pennetta", "2015"). The answer model was fitted with about
    # 0 here for every English question (suite mean 0.002) and so read a name found verbatim as
    # a sign against answering. An English question's coverage is 0; the names it shares with
    # the passages count through BM25 and the candidate sentences' coverage.
    cov = coverage(terms, text) if lang == "zh" else 0.0
    return Signals(top, margin, cov, lang, best_sentence, background, unknown,
                   unknown_references=refs, sentence_margin=sentence_margin)


def _background(corpus: AnswerCorpus, passage_sims: np.ndarray, query_vec: np.ndarray) -> float:
    """The question's best cosine with an everyday sentence in the language of the passage it
    is closest to (all of them when none is of that language). Against sentences of its own
    language, an English question over Chinese documents would be nearer to everyday talk
    than a Chinese one asking the same."""
    bg, chinese = corpus.background_vectors, corpus.background_chinese
    if not len(bg):
        return -1.0
    if chinese is not None and len(passage_sims) and np.isfinite(passage_sims).any():
        closest = corpus.passages[int(np.argmax(passage_sims))]
        same = bg[chinese == bool(CJK.search(closest.text))]
        bg = same if len(same) else bg
    return float((bg @ query_vec).max())


# Refusals that stand whatever the model says. Judged leave-one-corpus-out on the suite
# (docs/experiments.md): the off-topic rule has no tuned constant and keeps everyday questions
# from being answered; refusing a quote without the date or number asked for, or a question
# naming what the documents never mention, refused more answerable questions than
# unanswerable ones on the corpora left out, so those are features of the model instead.
RULES = ("unknown_references", "off_topic")


def ruled_out(s: Signals) -> bool:
    """Refused whatever the model says: the question cites an article or resolution no
    document cites, or it is closer to everyday sentences (rag/data/background.txt) than to
    any passage or sentence of the documents."""
    checks = {
        "unknown_references": bool(s.unknown_references),
        "off_topic": s.background >= max(s.dense_top, s.best_sentence),
        "missing_answer": bool(s.missing_answer),
        "unknown_names": bool(s.unknown_names),
    }
    return any(checks[r] for r in RULES)


def should_abstain(s: Signals, threshold: float) -> bool:
    """Abstain when the answer model gives the documents less than ``threshold`` chance of
    answering (``s.answerable``), or :func:`ruled_out`."""
    return ruled_out(s) or s.answerable < threshold
