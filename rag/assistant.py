"""The public entry point: load (or build) the index, then ask questions."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag import followup
from rag.answers import answertype
from rag.answers.compose import compose
from rag.answers.corpus import AnswerCorpus
from rag.answers.features import CANDIDATE_PASSAGES
from rag.answers.model import AnswerModel
from rag.answers.model import load as load_answer_model
from rag.answers.reading import PassageReading, read_hits
from rag.index.store import DenseIndex, is_exact, search_ids
from rag.index.sync import Source, collect_sources, sync
from rag.models.encoder import Encoder, SentenceTransformerEncoder, model_name
from rag.models.readerchoice import load_reader
from rag.paths import corpus_dir as default_corpus_dir
from rag.paths import index_root, slug
from rag.paths import library_dir as default_library_dir
from rag.question import check_options, clean_question
from rag.records import Answer, Hit, Passage
from rag.retrieval.fusion import fuse, top_indices
from rag.retrieval.lexical import LexicalIndex

DENSE_SENTENCE_WEIGHT = 0.5  # dense score = mix of passage and best-sentence similarity
# With an approximate index (past rag.index.EXACT_MAX passages) a question is scored exactly on
# candidates only: the ANN index's and BM25's best passages, plus a fixed random sample of the
# corpus that the dense z-score statistics come from.
DENSE_CANDIDATES = 100
LEXICAL_CANDIDATES = 100
STATS_SAMPLE = 2_000
# A question that stands alone is read about the last turn when the reader finds that reading
# likelier by more than this (an implied subject: "总部设在哪个城市？"); chosen on two dialogue sets
# (docs/experiments.md, Conversation, session 11)
CONTEXT_MARGIN = 0.35
PREFER_RANK: int | None = 1  # a follow-up's search puts the last answer's passage at least this high (0: first)
SAME_DOCUMENT = 1.0  # added to a follow-up's fused scores in the last answer's document (docs/experiments.md)
# Asked once by warm_up(): a Chinese question loads the query model and jieba's POS tagger, an
# English one builds the English->Chinese glossary.
WARM_UP_QUESTIONS = ("这些文件的主要内容是什么？", "What are these documents about?")
AUTO = object()  # the reader is loaded when first needed


def _notice(msg: str) -> None:
    print(f"[rag] {msg}", file=sys.stderr)


class Assistant:
    """Question answering over the indexed corpus.

    Use :meth:`load`; then :meth:`ask`, :meth:`lookup`, :attr:`passages`.
    """

    def __init__(self, dense: DenseIndex, encoder: Encoder, sentence_vectors: np.ndarray,
                 background_vectors: np.ndarray, lexical: LexicalIndex | None = None, warm: bool = False,
                 answer_model: AnswerModel | None = None, reader=AUTO):
        self.dense = dense
        self._answer_model = answer_model
        # The reader (rag.models.readeronnx): loaded when first needed for the real model;
        # an assistant over another encoder (tests' fake ones) reads only with one given.
        self._reader = reader if reader is not AUTO else (
            AUTO if isinstance(encoder, SentenceTransformerEncoder) else None)
        self._reader_lock = threading.Lock()
        self.encoder = encoder
        self.sources: list[Source] = []  # the documents behind the index (set by load)
        self.paths: dict[str, Path] = {}  # corpus, library and index folders (set by load)
        if warm and hasattr(encoder, "warm_up"):
            encoder.warm_up()  # loads the query model while the lexical index is built
        if warm and self._reader is AUTO:
            threading.Thread(target=self._warm_reader, name="rag-reader").start()
        self.passages: list[Passage] = dense.passages
        self.lexical = lexical or LexicalIndex(self.passages)
        self.passage_vectors = dense.vectors()
        self.approximate = not is_exact(dense.faiss_index)
        rng = np.random.default_rng(0)
        self.stats_rows = (np.sort(rng.choice(len(self.passages), min(len(self.passages), STATS_SAMPLE),
                                              replace=False)) if self.approximate else None)
        # What the answer stage reads: sentences, corpus statistics, term weights, mentions.
        self.corpus = AnswerCorpus(self.passages, sentence_vectors, background_vectors, self.lexical,
                                   self.passage_vectors, encoder.dim)
        self.sentences = self.corpus.sentences
        self._by_id = self.corpus.by_id
        self._dated_index: tuple[np.ndarray, np.ndarray] | None = None
        self._documents: np.ndarray | None = None  # each passage's document number, when first needed
        self.background_vectors = background_vectors
        self.references = self.corpus.references
        # Sentences are stored passage by passage, so a passage's best sentence is a reduceat.
        self._sentence_starts = np.array(
            [self.sentences.by_passage[i][0] for i in range(len(self.passages))], dtype=np.int64)
        self._sentence_ends = np.append(self._sentence_starts[1:], len(self.sentences.sentences))

    @classmethod
    def load(
        cls,
        corpus_dir: Path | str | None = None,
        index_dir: Path | str | None = None,
        model: str | None = None,
        library_dir: Path | str | None = None,
        encoder: Encoder | None = None,
        rebuild: bool = False,
        progress: bool = False,
        notice: Callable[[str], None] = _notice,
        warm: bool = True,
    ) -> Assistant:
        """Load the index for a corpus and model, building or rebuilding it when needed.

        Args:
            corpus_dir: Folder with ``catalog.json`` and the documents (default: ``corpus/``).
            index_dir: Index folder (default: ``embeddings/<model>/``).
            model: sentence-transformers model name or path (default: multilingual-e5-small).
            library_dir: The user's added documents (default: ``<data dir>/library``).
            encoder: A ready encoder (tests pass a fake one); overrides ``model``.
            rebuild: Rebuild even when the stored index is valid.
            progress: Show progress bars while building.
            notice: Called with a one-line message when the index is (re)built.
            warm: Start loading the query model in the background (for an assistant that will be
                asked questions; commands that only build, list or cite pass False).
        """
        corpus = Path(corpus_dir) if corpus_dir else default_corpus_dir()
        library = Path(library_dir) if library_dir else default_library_dir()
        encoder = encoder or SentenceTransformerEncoder(model or model_name(), progress=progress)
        directory = Path(index_dir) if index_dir else index_root() / slug(encoder.model_id.split("@")[0])
        sources = collect_sources(corpus, library)
        dense, extras = sync(sources, directory, encoder, rebuild, progress, notice)
        assistant = cls(dense, encoder, extras["sentences"], extras["background"], warm=warm)
        assistant.sources = sources
        assistant.paths = {"corpus": corpus, "library": library, "index": directory}
        return assistant

    @property
    def answer_model(self) -> AnswerModel:
        """What picks the sentences and judges answerability (:mod:`rag.answers.model`): the
        shipped model unless another was given, read when first needed."""
        if self._answer_model is None:
            self._answer_model = load_answer_model()
        return self._answer_model

    @answer_model.setter
    def answer_model(self, model: AnswerModel) -> None:
        self._answer_model = model

    @property
    def reader(self):
        """The reader that reads the question with the top passages (None: reading is off,
        ``RAG_READER=off``, or no reader weights); loaded on first use."""
        if self._reader is AUTO:
            with self._reader_lock:
                if self._reader is AUTO:
                    self._reader = load_reader()
        return self._reader

    @reader.setter
    def reader(self, reader) -> None:
        self._reader = reader

    def _warm_reader(self) -> None:
        try:
            _ = self.reader
        except Exception:  # noqa: BLE001 - the first question reports it
            pass

    def warm_up(self) -> None:
        """Answer a Chinese and an English question once and forget them, so that the first
        real question is answered as fast as later ones (the app does this before it serves)."""
        for q in WARM_UP_QUESTIONS:
            self.ask(q)
        self.forget_queries()

    def forget_queries(self) -> None:
        """Empty the encoder's cache of question vectors (if it keeps one)."""
        cache = getattr(self.encoder, "cache", None)
        if cache is not None:
            cache.clear()

    def library(self):
        """The user's documents folder behind this assistant (a :class:`rag.documents.library.Library`)."""
        from rag.documents.library import Library

        return Library(self.paths.get("library") or default_library_dir())

    def seed_ids(self) -> set[str]:
        """Ids of the seed corpus's documents (they cannot be removed)."""
        return {s.doc_id for s in self.sources if s.origin == "seed"}

    def reloaded(self, notice: Callable[[str], None] = _notice) -> Assistant:
        """A new Assistant over the same folders and encoder, after documents were added or removed
        (only the changed documents are embedded)."""
        return Assistant.load(corpus_dir=self.paths.get("corpus"), index_dir=self.paths.get("index"),
                              library_dir=self.paths.get("library"), encoder=self.encoder, notice=notice)

    def documents(self) -> list[dict]:
        """One row per indexed document: id, title, citation name, origin, file, passage count."""
        counts: dict[str, int] = {}
        for p in self.passages:
            counts[p.doc_id] = counts.get(p.doc_id, 0) + 1
        rows = []
        for s in self.sources:
            e = s.entry
            rows.append({"doc_id": e["doc_id"], "title": e["title"], "short": e["short"], "origin": s.origin,
                         "source": e.get("source", ""), "date": e.get("date", ""),
                         "passages": counts.get(e["doc_id"], 0)})
        return rows

    def lookup(self, passage_id: str) -> Passage | None:
        """The passage with this id (case-insensitive, surrounding spaces ignored), or None."""
        if not isinstance(passage_id, str):
            return None
        key = passage_id.strip()
        i = self._by_id.get(key)
        if i is None:
            folded = {pid.lower(): j for pid, j in self._by_id.items()}
            i = folded.get(key.lower())
        return None if i is None else self.passages[i]

    def mentions(self, term: str) -> bool:
        """Whether any passage, title or heading contains ``term`` (case-insensitive)."""
        return self.corpus.mentions(term)

    def passage_index(self, passage_id: str) -> int:
        """Position of a passage (by exact id) in :attr:`passages`."""
        return self._by_id[passage_id]

    def neighbours(self, passage_id: str, n: int = 1) -> list[Passage]:
        """The passage and up to ``n`` passages either side of it in the same document."""
        p = self.lookup(passage_id)
        if p is None:
            return []
        i = self._by_id[p.id]
        window = self.passages[max(0, i - n) : i + n + 1]
        return [q for q in window if q.doc_id == p.doc_id]

    def similarities(self, query_vec: np.ndarray,
                     lexical: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Cosine of the question with every passage vector and every sentence vector
        (computed once per question: retrieval and the answer both use them).

        With an approximate index only the candidates' cosines are computed
        (:meth:`candidate_rows`, given the question's BM25 ``lexical`` scores); the rest are -inf.
        """
        q = np.asarray(query_vec, dtype=np.float32)
        if not self.approximate:
            return self.passage_vectors @ q, self.sentences.vectors @ q
        rows = self.candidate_rows(q, lexical)
        passage = np.full(len(self.passages), -np.inf, dtype=np.float32)
        passage[rows] = self.passage_vectors[rows] @ q
        srows, _ = self._sentence_rows(rows)
        sentence = np.full(len(self.sentences.vectors), -np.inf, dtype=np.float32)
        sentence[srows] = self.sentences.vectors[srows] @ q
        return passage, sentence

    def _sentence_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sentences of passages ``rows`` (in that order), and where each passage's start."""
        starts, lengths = self._sentence_starts[rows], self._sentence_ends[rows] - self._sentence_starts[rows]
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        srows = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - offsets, lengths)
        return srows, offsets

    def candidate_rows(self, query_vec: np.ndarray, lexical: np.ndarray | None = None) -> np.ndarray:
        """Passages scored exactly for a question on an approximate index: the ANN index's
        nearest, BM25's best (when ``lexical`` is given) and the statistics sample."""
        parts = [search_ids(self.dense.faiss_index, query_vec, DENSE_CANDIDATES), self.stats_rows]
        if lexical is not None and len(lexical):
            best = top_indices(lexical, LEXICAL_CANDIDATES)
            parts.append(best[lexical[best] > 0])
        return np.unique(np.concatenate(parts).astype(np.int64))

    def dense_scores(self, query_vec: np.ndarray,
                     sims: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Per passage: mix of its (contextual) vector's and its best sentence's cosine."""
        passage, sentence = sims if sims is not None else self.similarities(query_vec)
        if len(sentence) == 0:
            return passage
        w = DENSE_SENTENCE_WEIGHT
        if not self.approximate:
            return (1 - w) * passage + w * np.maximum.reduceat(sentence, self._sentence_starts)
        rows = np.flatnonzero(np.isfinite(passage))  # the candidates: only they were scored
        srows, offsets = self._sentence_rows(rows)
        out = np.full(len(passage), -np.inf, dtype=np.float32)
        out[rows] = (1 - w) * passage[rows] + w * np.maximum.reduceat(sentence[srows], offsets)
        return out

    def scores(self, question: str, mode: str, query_vec: np.ndarray | None = None,
               sims: tuple[np.ndarray, np.ndarray] | None = None,
               lexical: np.ndarray | None = None) -> np.ndarray:
        """Score of every passage for a cleaned question in the given mode (higher is better;
        -inf for passages an approximate index left out). ``lexical``: its BM25 scores, if known."""
        if mode != "dense" and lexical is None:
            lexical = self.lexical.scores(question)
        if mode == "lexical":
            return lexical
        if query_vec is None:
            query_vec = self.encoder.encode_queries([question])[0]
        if sims is None:
            sims = self.similarities(query_vec, lexical)
        dense = self.dense_scores(query_vec, sims)
        return dense if mode == "dense" else fuse(dense, lexical, dense_rows=self.stats_rows)

    def search(self, question: str, top_k: int = 5, mode: str = "hybrid",
               query_vec: np.ndarray | None = None,
               sims: tuple[np.ndarray, np.ndarray] | None = None,
               lexical: np.ndarray | None = None, hidden: np.ndarray | None = None,
               bonus: np.ndarray | None = None) -> list[Hit]:
        """The ``top_k`` best passages for a cleaned question (never those at positions ``hidden``);
        ``bonus``: added to each passage's score."""
        s = self.scores(question, mode, query_vec, sims, lexical)
        if mode == "lexical":  # a passage sharing no term with the question is no lexical hit
            s = np.where(s > 0, s, -np.inf)
        if bonus is not None:
            s = s + bonus
        if hidden is not None and len(hidden):
            s = s.copy()
            s[hidden] = -np.inf
        # -inf: not a hit (no shared term, hidden, or not scored by an approximate index)
        order = [i for i in top_indices(s, top_k) if np.isfinite(s[i])]
        order = answertype.with_dated(question, order, s, self._dated, CANDIDATE_PASSAGES)
        return [Hit(self.passages[i], float(s[i])) for i in order]

    def _dated(self) -> tuple[np.ndarray, np.ndarray]:
        """Per passage: whether it holds a date, and its document's number (computed on first use)."""
        if self._dated_index is None:
            self._dated_index = (np.array([answertype.has("date", p.text) for p in self.passages], dtype=bool),
                                 self._document_numbers())
        return self._dated_index

    def _document_numbers(self) -> np.ndarray:
        if self._documents is None:
            numbers = {d: i for i, d in enumerate(dict.fromkeys(p.doc_id for p in self.passages))}
            self._documents = np.array([numbers[p.doc_id] for p in self.passages], dtype=np.int64)
        return self._documents

    def ask(self, question: str, top_k: int = 5, mode: str = "hybrid", history: list | None = None) -> Answer:
        """Answer a question with sentences quoted from the documents.

        ``history``: the conversation's earlier turns, oldest first: questions (strings), or
        :meth:`rag.followup.Turn.to_dict` records that also say how each was understood and
        what answered it (:func:`rag.followup.turn_of`). A question that leans on them
        ("它的第二项任务是什么？", "What about China?") is read as a question about the last turn
        (:mod:`rag.followup`), searched with its own words and the last answer's passage; where
        it has more than one reading, the one the reader finds likeliest to be answered is kept.
        A question that stands alone is answered as with no history, unless reading it about the
        last turn makes the reader likelier to find its answer by more than ``CONTEXT_MARGIN``
        (its subject was implied: "总部设在哪个城市？"); one that opens by changing the subject
        ("换个话题：…") is answered as with no history. The answer's ``understood`` says how it
        was read.

        Raises:
            QuestionError: the question is empty or not text, ``top_k``/``mode`` are invalid, or
                ``history`` is not a list of questions or turn records.
        """
        top_k, mode = check_options(top_k, mode)
        text, notes = clean_question(question)
        turns = followup.check_history(history)
        if followup.new_topic(text):  # "换个话题：…": asked as with no history
            turns = []
        leans = bool(turns) and followup.leans_on_context(text)
        options = [] if leans else [replace(self._answer(text, top_k, mode, notes), understood=text)]
        if turns and (leans or options[0].abstained):
            options += [self._in_context(reading, text, turns, top_k, mode, notes)
                        for reading in followup.readings(text, turns)]
        elif turns:  # it stands alone and is answered: read about the last turn only when that is much likelier
            about = followup.about_last(text, turns)
            if about != text:
                alone, context = options[0], self._in_context(about, text, turns, top_k, mode, notes)
                if not context.abstained and _probability(context) > _probability(alone) + CONTEXT_MARGIN:
                    options = [context]
        if not options:  # nothing in the last turn to read it with
            options = [replace(self._answer(text, top_k, mode, notes), understood=text)]
        best = max(options, key=_likeliest)  # the first of equals: the question itself, else about the last turn
        return replace(best, question=text)

    def _in_context(self, reading: str, text: str, turns: list, top_k: int, mode: str, notes: list[str]) -> Answer:
        """The answer to one reading of ``text`` in the conversation, searched with the question's
        own words and the last answer's passage."""
        understood, more = clean_question(reading)  # the reading's length cap
        answer = self._answer(understood, top_k, mode, notes + [n for n in more if n not in notes],
                              also=text, prefer=turns[-1].cited)
        return replace(answer, understood=understood)

    def _answer(self, text: str, top_k: int, mode: str, notes: list[str], also: str | None = None,
                hidden: np.ndarray | None = None, prefer: tuple[str, ...] = ()) -> Answer:
        hits, query_vec, sims = self.retrieve(text, top_k, mode, hidden, also, self._document_bonus(prefer))
        hits = self._with_preferred(hits, prefer)
        return compose(question=text, hits=hits, mode=mode, notes=notes, corpus=self.corpus,
                       query_vec=query_vec, sims=sims, model=self.answer_model,
                       reading=self.read(text, hits))

    def _document_bonus(self, prefer: tuple[str, ...]) -> np.ndarray | None:
        """:data:`SAME_DOCUMENT` for each passage of the documents the passages ``prefer`` are in."""
        rows = [self._by_id[i] for i in prefer if i in self._by_id]
        if not SAME_DOCUMENT or not rows:
            return None
        numbers = self._document_numbers()
        return np.where(np.isin(numbers, numbers[rows]), np.float32(SAME_DOCUMENT), np.float32(0))

    def _with_preferred(self, hits: list[Hit], prefer: tuple[str, ...]) -> list[Hit]:
        """``hits`` with the passages ``prefer`` (the last answer's) among the first
        PREFER_RANK + 1 when they are not: the likeliest place for a follow-up's answer."""
        if PREFER_RANK is None or not hits:
            return hits
        have = {h.passage.id for h in hits[:PREFER_RANK + 1]}
        extra = [i for i in prefer if i not in have and i in self._by_id][:1]
        if not extra:
            return hits
        p = self.passages[self._by_id[extra[0]]]
        rest = [h for h in hits if h.passage.id != p.id]
        at = min(PREFER_RANK, len(rest))
        score = rest[at].score if at < len(rest) else rest[-1].score
        return [*rest[:at], Hit(p, score), *rest[at:]][:len(hits)]

    def read(self, text: str, hits: list[Hit]) -> PassageReading:
        """The reader's reading of the top hits for a cleaned question (NOTHING without one)."""
        return read_hits(self.reader, text, hits)

    def ask_without(self, question: str, passage_ids: list[str], top_k: int = 5, mode: str = "hybrid") -> Answer:
        """Answer as if the passages ``passage_ids`` were not in the index (evaluation: a
        question asked without its gold passages is a ready-made unanswerable one)."""
        top_k, mode = check_options(top_k, mode)
        text, notes = clean_question(question)
        hidden = np.array(sorted(self._by_id[i] for i in passage_ids), dtype=np.int64)
        return replace(self._answer(text, top_k, mode, notes, hidden=hidden), understood=text)

    def retrieve(self, text: str, top_k: int = 5, mode: str = "hybrid", hidden: np.ndarray | None = None,
                 also: str | None = None, bonus: np.ndarray | None = None,
                 ) -> tuple[list[Hit], np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """The hits for a cleaned question, its vector and its cosines with every passage and
        sentence: what :func:`rag.answers.compose.compose` answers from.

        ``hidden``: positions of passages to treat as absent from the index (evaluation asks a
        question with its gold passages hidden to get an unanswerable one); their scores and
        cosines are -inf. ``also``: a follow-up's own words, searched together with ``text`` (the
        question as understood from the conversation) so that what is new in it weighs more:
        the two question vectors are averaged and their BM25 scores added.
        """
        if also:
            pair = self.encoder.encode_queries([text, also])
            query_vec = pair.sum(axis=0)
            query_vec = (query_vec / max(float(np.linalg.norm(query_vec)), 1e-9)).astype(np.float32)
        else:
            query_vec = self.encoder.encode_queries([text])[0]
        lexical = self.lexical.scores(text) if mode != "dense" else None
        if also and lexical is not None:
            lexical = lexical + self.lexical.scores(also)
        sims = self.similarities(query_vec, lexical)
        hits = self.search(text, top_k, mode, query_vec, sims, lexical, hidden, bonus)
        if hidden is None or not len(hidden):
            return hits, query_vec, sims
        passage, sentence = sims[0].copy(), sims[1].copy()
        passage[hidden] = -np.inf
        srows, _ = self._sentence_rows(np.asarray(hidden, dtype=np.int64))
        sentence[srows] = -np.inf
        return hits, query_vec, (passage, sentence)


def _likeliest(answer: Answer) -> tuple[bool, float]:
    """How a reading of a question ranks: answered before "not found", then :func:`_probability`."""
    return not answer.abstained, _probability(answer)


def _probability(answer: Answer) -> float:
    """The reader's probability that the answer's top passage answers (the answer model's, without
    a reader). The top passage's, not the best of those read: the reader reads further passages
    only when the first does not answer, and choosing readings by the best of them lost follow-ups
    (docs/experiments.md, "Reading more passages when the first does not answer")."""
    sig = answer.signals
    if sig is None:
        return 0.0
    return sig.reader_top if sig.reader_top >= 0 else sig.answerable

