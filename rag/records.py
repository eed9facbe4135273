"""The record types that flow through the pipeline: Passage -> Hit -> Answer(Citation)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Passage:
    """One citable paragraph of a document.

    Attributes:
        id: Short, stable, typeable id, e.g. ``SC2022-21`` or ``S2003-85-16.2.5``.
        doc_id: Catalog id of the document the passage comes from.
        doc_title: Title of that document.
        section: Heading chain from the top of the document, outermost first.
        label: Human citation label, e.g. ``《北约2022战略概念》第21段``.
        text: Paragraph text; every content character verbatim, line breaks and
            page furniture removed.
        order: Position of the passage inside its document (0-based).
    """

    id: str
    doc_id: str
    doc_title: str
    section: tuple[str, ...]
    label: str
    text: str
    order: int

    def to_dict(self) -> dict:
        d = asdict(self)
        d["section"] = list(self.section)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Passage:
        return cls(
            id=d["id"],
            doc_id=d["doc_id"],
            doc_title=d["doc_title"],
            section=tuple(d["section"]),
            label=d["label"],
            text=d["text"],
            order=int(d["order"]),
        )


@dataclass(frozen=True)
class Hit:
    """A passage returned by a retriever, with its score (higher is better)."""

    passage: Passage
    score: float


@dataclass(frozen=True)
class Citation:
    """The passage behind one ``[n]`` marker of an answer.

    ``spans`` are (start, end) character offsets of the quoted sentences in ``text``.
    """

    id: str
    label: str
    text: str
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Span:
    """The reader's answer span: ``text`` is ``passage text[start:end]`` of passage ``passage_id``."""

    text: str
    passage_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Signals:
    """Evidence for or against answering (kept on the Answer for eval and calibration)."""

    dense_top: float
    dense_margin: float
    coverage: float
    lang: str
    best_sentence: float = 0.0
    background: float = -1.0
    unknown_names: tuple[str, ...] = ()
    missing_answer: str = ""  # "date" / "number" / ...: asked for, absent from the picked sentences
    unknown_references: tuple[str, ...] = ()  # "第4条": cited by the question, never by the documents
    # best sentence's cosine minus the question's mean cosine over all sentences (abstention)
    sentence_margin: float = 0.0
    answerable: float = 1.0  # the answer model's probability that the documents answer the question
    reader: float = -1.0  # the reader's probability that the top passages answer (-1: no reader)
    reader_top: float = -1.0  # ... that the top passage answers (-1: no reader)


@dataclass(frozen=True)
class Answer:
    """What :meth:`rag.Assistant.ask` returns."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    abstained: bool
    mode: str = "hybrid"
    notes: tuple[str, ...] = field(default=())
    signals: Signals | None = None
    understood: str = ""  # the question as understood from the conversation ("" or the question: no context used)
    span: Span | None = None  # the reader's answer span, inside the quote (None: no reader, or abstained)

    @property
    def used_context(self) -> bool:
        """Whether earlier questions of the conversation were used to understand this one."""
        return bool(self.understood) and self.understood != self.question

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "understood": self.understood or self.question,
            "text": self.text,
            "abstained": self.abstained,
            "mode": self.mode,
            "notes": list(self.notes),
            "signals": asdict(self.signals) if self.signals else None,
            "citations": [
                {"id": c.id, "label": c.label, "text": c.text, "spans": [list(s) for s in c.spans]}
                for c in self.citations
            ],
            "hits": [{"score": h.score, **h.passage.to_dict()} for h in self.hits],
            "span": asdict(self.span) if self.span else None,
        }

    def span_in_text(self) -> tuple[int, int] | None:
        """Where the answer span sits in ``text``: (start, end) with ``text[start:end] == span.text``.

        The span is mapped through the quoted sentence of its passage that contains it. None when
        there is no span, the answer abstained, or the span does not match its passage or lies
        in no single quoted sentence (then nothing is marked).
        """
        sp = self.span
        if sp is None or self.abstained:
            return None
        for n, c in enumerate(self.citations):
            if c.id != sp.passage_id:
                continue
            if not (0 <= sp.start < sp.end <= len(c.text)) or c.text[sp.start:sp.end] != sp.text:
                return None
            for j, (s, e) in enumerate(c.spans):
                if s <= sp.start and sp.end <= e:
                    at = _quote_starts(self.text, self.citations).get((n, j))
                    if at is None:
                        return None
                    a = at + sp.start - s
                    return (a, a + len(sp.text)) if self.text[a:a + len(sp.text)] == sp.text else None
            return None
        return None


def _quote_starts(text: str, citations: tuple[Citation, ...]) -> dict[tuple[int, int], int]:
    """Offset in an answer ``text`` of each quoted sentence, keyed by (citation index, sentence index).

    The answer text is the quoted sentences in pick order, each followed by its ``[n]`` marker,
    joined by "" (Chinese) or " "; each citation's ``spans`` are in that order, so the text is
    read by taking, at each point, the next sentence of whichever citation matches there. A
    sentence the walk does not reach is looked up by its first occurrence.
    """
    pieces = [[c.text[s:e] + f"[{n}]" for s, e in c.spans] for n, c in enumerate(citations, start=1)]
    following = [0] * len(pieces)
    found: dict[tuple[int, int], int] = {}
    pos = 0
    while True:
        while text.startswith(" ", pos):
            pos += 1
        for ci, ps in enumerate(pieces):
            j = following[ci]
            if j < len(ps) and text.startswith(ps[j], pos):
                found[(ci, j)] = pos
                pos += len(ps[j])
                following[ci] += 1
                break
        else:
            break
    for ci, ps in enumerate(pieces):
        for j, piece in enumerate(ps):
            if (ci, j) not in found and (at := text.find(piece)) >= 0:
                found[(ci, j)] = at
    return found
