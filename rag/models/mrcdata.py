"""Reading-comprehension data for the reader: SQuAD-format sets, a fixed held-out part of each,
and Chinese questions made unanswerable.

Every set is read as ``Example`` records (question, context, answer offset or none). DRCD is in
traditional script and is converted to simplified with OpenCC, answer offsets re-found in the
converted text. The held-out part of a set is fixed by a hash of the article title (or of the
paragraph, for sets with few articles), so it stays the same across runs and machines.

None of the public Chinese sets has questions the text does not answer, so they are made from the
answerable ones (``made_unanswerable``), three kinds, each checked so the answer text no longer
appears in the context:
- ``drop``: the paragraph with the answer's sentence taken out;
- ``other``: another paragraph (of the same article where the set has several, else the most
  question-like paragraph of another article);
- ``changed``: the right paragraph, with a number of the question changed to one the paragraph
  does not contain.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from rag.errors import RagError


@dataclass(frozen=True)
class Example:
    """One question over one context; ``start`` < 0 when the context does not answer it."""

    qid: str
    question: str
    context: str
    start: int
    answer: str
    source: str
    article: str

    @property
    def answerable(self) -> bool:
        return self.start >= 0


def _digest(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16)


def is_heldout(ex: Example, share: int = 20, by: str = "article") -> bool:
    """True for the fixed held-out part: one in ``share`` articles (or paragraphs)."""
    key = ex.article if by == "article" else ex.context
    return _digest(key) % share == 0


def read_squad(path: Path, source: str, convert=None) -> list[Example]:
    """Examples of a SQuAD-format file (``convert``: a text converter, e.g. OpenCC t2s)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as e:
        raise RagError(f"{path}: not a readable SQuAD-format file ({e})") from None
    out: list[Example] = []
    for art in data:
        title = str(art.get("title") or "")
        for pi, para in enumerate(art.get("paragraphs", [])):
            context = para["context"]
            conv_context = convert(context) if convert else context
            for qa in para.get("qas", []):
                question = convert(qa["question"]) if convert else qa["question"]
                qid = str(qa.get("id") or f"{title}-{pi}-{len(out)}")
                answers = qa.get("answers") or []
                if qa.get("is_impossible") or not answers:
                    out.append(Example(qid, question, conv_context, -1, "", source, title or conv_context[:20]))
                    continue
                a = answers[0]
                start = _locate(context, conv_context, a["text"], int(a.get("answer_start", -1)), convert)
                if start is None:
                    continue
                text = convert(a["text"]) if convert else a["text"]
                out.append(Example(qid, question, conv_context, start, text, source, title or conv_context[:20]))
    return out


def _locate(context: str, converted: str, answer: str, start: int, convert) -> int | None:
    """The answer's offset in the (converted) context, or None when it cannot be found."""
    text = convert(answer) if convert else answer
    if not text.strip():
        return None
    if 0 <= start and context[start : start + len(answer)] == answer:
        guess = len(convert(context[:start])) if convert else start
        if converted[guess : guess + len(text)] == text:
            return guess
    hits = [m.start() for m in re.finditer(re.escape(text), converted)]
    if not hits:
        return None
    return min(hits, key=lambda h: abs(h - max(start, 0)))


def t2s():
    """OpenCC's traditional -> simplified converter."""
    try:
        import opencc
    except ImportError:
        raise RagError("converting DRCD needs the 'opencc' package (pip install opencc)") from None
    return opencc.OpenCC("t2s").convert


SENTENCE_END = re.compile(r"(?<=[。！？!?；;])")
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _drop_answer_sentence(ex: Example) -> str | None:
    parts = [p for p in SENTENCE_END.split(ex.context) if p]
    kept, pos = [], 0
    for p in parts:
        if not (pos <= ex.start < pos + len(p) or pos < ex.start + len(ex.answer) <= pos + len(p)):
            kept.append(p)
        pos += len(p)
    text = "".join(kept)
    if len(kept) == len(parts) or len(text) < 40 or ex.answer in text:
        return None
    return text


def _change_number(ex: Example, rng: random.Random) -> str | None:
    numbers = [m for m in NUMBER.finditer(ex.question) if m.group() in ex.context]
    if not numbers:
        return None
    m = rng.choice(numbers)
    value = m.group()
    for _ in range(10):
        if "." in value:
            new = f"{float(value) + rng.choice([-1, 1]) * rng.randint(1, 9) / 10:.1f}"
        else:
            n = int(value)
            new = str(max(0, n + rng.choice([-1, 1]) * rng.randint(1, max(2, min(n // 10 + 1, 9)))))
        if new != value and new not in ex.context:
            return ex.question[: m.start()] + new + ex.question[m.end() :]
    return None


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def made_unanswerable(examples: list[Example], seed: int = 13, share: float = 0.5) -> list[Example]:
    """Unanswerable examples made from answerable Chinese ones (about ``share`` of them)."""
    rng = random.Random(seed)
    by_article: dict[str, list[str]] = defaultdict(list)
    for ex in examples:
        if ex.context not in by_article[ex.article]:
            by_article[ex.article].append(ex.context)
    contexts = sorted({ex.context for ex in examples})
    grams = [_bigrams(c) for c in contexts]
    index: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(grams):
        for b in g:
            index[b].append(i)
    out: list[Example] = []
    for ex in examples:
        if not ex.answerable or rng.random() >= share:
            continue
        kinds = ["drop", "other", "changed"]
        rng.shuffle(kinds)
        for kind in kinds:
            made = _make(kind, ex, rng, by_article, contexts, grams, index)
            if made is not None:
                out.append(made)
                break
    return out


def _make(kind, ex, rng, by_article, contexts, grams, index) -> Example | None:
    base = replace(ex, qid=f"{ex.qid}-{kind}", start=-1, answer="", source=f"{ex.source}-{kind}")
    if kind == "drop":
        text = _drop_answer_sentence(ex)
        return replace(base, context=text) if text else None
    if kind == "changed":
        q = _change_number(ex, rng)
        return replace(base, question=q) if q else None
    siblings = [c for c in by_article[ex.article] if c != ex.context and ex.answer not in c]
    if siblings:
        return replace(base, context=rng.choice(siblings))
    q = _bigrams(ex.question)
    counts: dict[int, int] = defaultdict(int)
    for b in q:
        postings = index.get(b, ())
        if len(postings) > 200:  # too common to tell paragraphs apart
            continue
        for i in postings:
            counts[i] += 1
    for i, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]:
        c = contexts[i]
        if c != ex.context and ex.answer not in c:
            return replace(base, context=c)
    return None
