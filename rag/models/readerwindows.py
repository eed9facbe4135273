"""How the reader sees a question and a passage: token windows, and spans back to characters.

One window is ``<s> question </s></s> context-piece </s>`` (XLM-R's pair template). A context
longer than a window is cut into overlapping pieces. Training and reading use this same code,
so what the model learned and what it reads are built alike. Only ``tokenizers`` is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_TOKENS = 256  # a window, special tokens included
MAX_QUESTION = 64  # question tokens kept
STRIDE = 96  # context tokens shared by neighbouring windows
MAX_ANSWER = 48  # longest span, in tokens


@dataclass(frozen=True)
class Window:
    """One window: token ids, where its context tokens begin, and their character offsets."""

    ids: tuple[int, ...]
    context_start: int  # index of the first context token in ``ids``
    offsets: tuple[tuple[int, int], ...]  # character span of each context token in the context
    text_index: int  # which context (of those passed) this window is from


class Windower:
    """Cuts (question, context) pairs into windows with a ``tokenizers.Tokenizer``."""

    def __init__(self, tokenizer, max_tokens: int = MAX_TOKENS, max_question: int = MAX_QUESTION,
                 stride: int = STRIDE):
        self.tok = tokenizer
        if tokenizer.padding is not None:  # (a shared tokenizer has neither: not changed under its other user)
            tokenizer.no_padding()
        if tokenizer.truncation is not None:
            tokenizer.no_truncation()
        self.bos = tokenizer.token_to_id("<s>")
        self.eos = tokenizer.token_to_id("</s>")
        self.pad = tokenizer.token_to_id("<pad>")
        self.max_tokens, self.max_question, self.stride = max_tokens, max_question, stride

    def question_ids(self, question: str) -> list[int]:
        return self.tok.encode(question, add_special_tokens=False).ids[: self.max_question]

    def windows(self, question: str, contexts: list[str]) -> list[Window]:
        """Windows for one question over each context, in order."""
        q = self.question_ids(question)
        encs = self.tok.encode_batch(list(contexts), add_special_tokens=False)
        out: list[Window] = []
        for ci, enc in enumerate(encs):
            out.extend(self._cut(q, enc.ids, enc.offsets, ci))
        return out

    def _cut(self, q: list[int], ids: list[int], offsets, ci: int) -> list[Window]:
        head = [self.bos, *q, self.eos, self.eos]
        room = max(8, self.max_tokens - len(head) - 1)
        step = max(1, room - self.stride)
        out = []
        start = 0
        while True:
            piece = ids[start : start + room]
            out.append(Window(tuple(head + piece + [self.eos]), len(head),
                              tuple(tuple(o) for o in offsets[start : start + room]), ci))
            if start + room >= len(ids):
                return out
            start += step

    def batch(self, windows: list[Window]) -> tuple[np.ndarray, np.ndarray]:
        """Padded ids and attention mask for a list of windows."""
        from rag.models.onnxquery import pad_batch

        return pad_batch([w.ids for w in windows], self.pad)


def token_labels(w: Window, start: int, end: int) -> tuple[int, int]:
    """Token indices of an answer at characters [start, end) in this window, or (0, 0) when the
    answer is not wholly inside it (index 0 is ``<s>``: "no answer here")."""
    first = last = None
    for i, (a, b) in enumerate(w.offsets):
        if first is None and a <= start < b:
            first = i
        if a < end <= b:
            last = i
            break
    if first is None or last is None or last < first:
        return 0, 0
    return w.context_start + first, w.context_start + last


def best_span(w: Window, start_logits: np.ndarray, end_logits: np.ndarray,
              max_answer: int = MAX_ANSWER) -> tuple[float, int, int]:
    """(score, char start, char end) of the best span of context tokens in one window."""
    n = len(w.offsets)
    s = np.asarray(start_logits[w.context_start : w.context_start + n], dtype=np.float32)
    e = np.asarray(end_logits[w.context_start : w.context_start + n], dtype=np.float32)
    if n == 0:
        return -1e9, 0, 0
    scores = s[:, None] + e[None, :]
    i, j = np.indices(scores.shape)
    scores = np.where((j >= i) & (j - i < max_answer), scores, -1e9)
    k = int(np.argmax(scores))
    a, b = divmod(k, n)
    return float(scores[a, b]), int(w.offsets[a][0]), int(w.offsets[b][1])


@dataclass(frozen=True)
class Reading:
    """The reader's verdict on a question over some contexts: per context, the probability that
    it answers (its best window's) and its best span (that window's)."""

    probabilities: tuple[float, ...]
    spans: tuple[tuple[int, int], ...]  # character offsets in each context
    span_scores: tuple[float, ...]

    @property
    def best(self) -> int:
        """The context most likely to answer (-1: none)."""
        if not self.probabilities:
            return -1
        return max(range(len(self.probabilities)), key=lambda i: (self.probabilities[i], self.span_scores[i]))

    @property
    def answerable(self) -> float:
        return max(self.probabilities, default=0.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def read(reader, windower: Windower, question: str, contexts: list[str], batch: int = 16) -> Reading:
    """Read ``question`` with each context; ``reader.logits(windows)`` gives (start, end,
    answerable) logits for a list of windows. A context's span is taken from its window most
    likely to answer (the span score breaks ties)."""
    n = len(contexts)
    probs, spans, scores = [0.0] * n, [(0, 0)] * n, [-1e9] * n
    wins = windower.windows(question, contexts) if n else []
    for i in range(0, len(wins), batch):
        chunk = wins[i : i + batch]
        s, e, a = reader.logits(chunk)
        p = sigmoid(a)
        for k, w in enumerate(chunk):
            score, cs, ce = best_span(w, s[k], e[k])
            c = w.text_index
            if (float(p[k]), score) > (probs[c], scores[c]):
                text = contexts[c]
                while cs < ce and text[cs].isspace():
                    cs += 1
                probs[c], spans[c], scores[c] = float(p[k]), (cs, ce), score
    return Reading(tuple(probs), tuple(spans), tuple(scores))
