"""What the reader says about a question's top passages, in the terms the answer model reads.

The reader (:mod:`rag.models.readeronnx`, trained by ``rag train-reader``) reads the question
with each of the top passages together and gives each passage a probability that it answers
and its best answer span. The sentence features mark the sentence holding a passage's span;
the question features take the best probability. Without a reader every value is 0, and a
model trained with one is not used (the model file records whether it was).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from rag.records import Hit, Span

READ_FIRST = 1  # the reader always reads this many top passages ...
# ... and this many when none of those answers (of the 5 whose sentences are candidates). With
# the step-2500 reader, reading the top 2 held the seeds' evidence 0.850 of the time against
# 0.767 and rejected more of their unanswerable questions, each corpus left out; reading the
# top 3 gained about as much and doubled the time of `ask` (p50 51 -> 115 ms; 78 ms with 2):
# docs/experiments.md, "Reading more passages when the first does not answer".
READ_MORE = 2
ANSWERS = 0.5  # "answers": the reader's own decision boundary on P(answerable), not a tuned value


@dataclass(frozen=True)
class PassageReading:
    """The reader on the top passages: per hit rank, P(answers) and the best span."""

    probabilities: tuple[float, ...]
    spans: tuple[tuple[int, int], ...]

    @property
    def best(self) -> int:
        """Rank of the passage most likely to answer (-1: nothing read)."""
        if not self.probabilities:
            return -1
        return max(range(len(self.probabilities)), key=lambda i: self.probabilities[i])

    @property
    def answerable(self) -> float:
        return max(self.probabilities, default=0.0)

    def probability(self, rank: int) -> float:
        return self.probabilities[rank] if 0 <= rank < len(self.probabilities) else 0.0

    def span(self, rank: int) -> tuple[int, int]:
        return self.spans[rank] if 0 <= rank < len(self.spans) else (0, 0)

    def best_span(self, hits: list[Hit]) -> Span | None:
        b = self.best
        if b < 0 or b >= len(hits):
            return None
        a, e = self.spans[b]
        if e <= a:
            return None
        text = hits[b].passage.text
        return Span(text[a:e], hits[b].passage.id, a, e)


NOTHING = PassageReading((), ())


def read_hits(reader, question: str, hits: list[Hit]) -> PassageReading:
    """The reader's reading of the top READ_FIRST hits, and of the top READ_MORE when none of
    the first answers (NOTHING without a reader). The passage ranked first answers most
    questions, so most are read once; the others (the right passage ranked lower, or no
    passage that answers) are read further before "not found" is weighed."""
    if reader is None or not hits:
        return NOTHING
    first = _read(reader, question, [h.passage.text for h in hits[:READ_FIRST]])
    if max(first[0], default=0.0) >= ANSWERS or len(hits) <= READ_FIRST:
        return PassageReading(*first)
    more = _read(reader, question, [h.passage.text for h in hits[READ_FIRST:READ_MORE]])
    return PassageReading(first[0] + more[0], first[1] + more[1])


def _read(reader, question: str, texts: list[str]) -> tuple[tuple[float, ...], tuple[tuple[int, int], ...]]:
    """P(answers) and best span of each text, from the reading cache when it has them."""
    from rag.models.readerwindows import read

    cache = _cache()
    key = cache.key(getattr(reader, "name", ""), question, texts) if cache else ""
    if cache and key in cache.data:
        probs, spans = cache.data[key]
        return tuple(probs), tuple(tuple(s) for s in spans)
    r = read(reader, reader.windower, question, texts)
    if cache:
        cache.put(key, (list(r.probabilities), [list(s) for s in r.spans]))
    return r.probabilities, r.spans


class ReadingCache:
    """Readings kept on disk by content (``RAG_READER_CACHE=<file>``: `rag train` and
    `rag eval --suite` ask the same questions over the same passages, so the second reads
    nothing). One JSON line per reading; keyed by the reader's weights, question and passages."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict[str, list] = {}
        self._lock = threading.Lock()
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    k, v = json.loads(line)
                    self.data[k] = v
                except (ValueError, TypeError):
                    continue  # a line cut short by an interrupted run

    @staticmethod
    def key(reader: str, question: str, texts: list[str]) -> str:
        return hashlib.sha1("\0".join([reader, question, *texts]).encode("utf-8")).hexdigest()

    def put(self, key: str, value) -> None:
        with self._lock:
            self.data[key] = value
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps([key, value]) + "\n")


_caches: dict[str, ReadingCache] = {}


def _cache() -> ReadingCache | None:
    name = os.environ.get("RAG_READER_CACHE")
    if not name:
        return None
    if name not in _caches:
        _caches[name] = ReadingCache(Path(name))
    return _caches[name]
