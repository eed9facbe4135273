"""Any corpus as an evaluation target: a user's files become a throwaway library and index,
built by the same code as `rag add` and cached by content; a SQuAD-format set becomes one
document (its contexts) and a question set (its answers)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.assistant import Assistant
from rag.documents.library import Library
from rag.errors import CorpusError, RagError
from rag.models.encoder import Encoder
from rag.paths import data_dir, slug
from rag.text.normalize import squash

CACHE_VERSION = "1"
WINDOW = 12  # characters either side of a SQuAD answer kept as its retrieval evidence
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")


class EvalInputError(RagError):
    """A question set, document or suite that an evaluation cannot use."""


def cache_root() -> Path:
    """Where throwaway evaluation corpora are kept (``<data dir>/eval-corpora``)."""
    return data_dir() / "eval-corpora"


def _digest(paths: Sequence[Path]) -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    for p in paths:
        h.update(f"\n{p.name}\n".encode())
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:16]


def corpus_assistant(docs: Sequence[Path | str], encoder: Encoder, root: Path | None = None,
                     notice: Callable[[str], None] = lambda m: None, seeds: bool = False) -> Assistant:
    """An assistant over ``docs`` only (with ``seeds``: also the seed documents), built through :class:`Library`
    (what `rag add` does) in a folder named by the files' content, so a re-run reuses it.

    Raises:
        EvalInputError: a file is missing or cannot be added (the message names it).
    """
    paths = [Path(d) for d in docs]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise EvalInputError(f"{missing[0]}: no such document")
    where = (root or cache_root()) / (_digest(paths) + ("-seeds" if seeds else ""))
    library = Library(where / "library")
    if [e.get("source") for e in library.entries()] != [p.name for p in paths]:
        shutil.rmtree(where, ignore_errors=True)
        library = Library(where / "library")
        for p in paths:
            try:
                library.add(p)
            except CorpusError as e:
                shutil.rmtree(where, ignore_errors=True)
                raise EvalInputError(f"cannot use {p}: {e}") from None
    seed = where / "no-seed"
    seed.mkdir(parents=True, exist_ok=True)
    (seed / "catalog.json").write_text("[]", encoding="utf-8")
    return Assistant.load(corpus_dir=None if seeds else seed, library_dir=where / "library",
                          index_dir=where / "index" / slug(encoder.model_id.split("@")[0]),
                          encoder=encoder, notice=notice)


def check_evidence(assistant: Assistant, questions: Sequence[dict]) -> None:
    """Every evidence span must be somewhere in the indexed documents (a passage, its heading
    or label); otherwise the set was written for other documents.

    Raises:
        EvalInputError: naming the first questions whose evidence is in none of the documents.
    """
    haystack = squash("\n".join(f"{p.label}\n{' '.join(p.section)}\n{p.text}" for p in assistant.passages))
    bad = [(q["id"], e) for q in questions for e in q.get("evidence") or [] if squash(e) not in haystack]
    if bad:
        shown = "; ".join(f"{qid}: {span[:30]!r}" for qid, span in bad[:3])
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise EvalInputError(f"evidence in none of the documents: {shown}{more}")


def _window(context: str, start: int, text: str) -> str:
    """The answer with up to WINDOW characters either side, within its sentence."""
    a, b = start, start + len(text)
    left = max(0, a - WINDOW)
    ends = [m.end() for m in _SENTENCE_END.finditer(context, left, a)]
    left = ends[-1] if ends else left
    stop = _SENTENCE_END.search(context, b, min(len(context), b + WINDOW))
    right = stop.start() if stop else min(len(context), b + WINDOW)
    return context[left:right].strip() or text


def read_squad(path: Path | str, out_dir: Path | None = None) -> tuple[Path, list[dict]]:
    """A SQuAD-format file as one document and a question set.

    The contexts, in order, become the paragraphs of ``<out_dir>/<name>.md``, each under a
    heading with its article's title (so no two contexts run together as one paragraph); each
    question's evidence (what makes a passage relevant) is its first answer with a few
    characters around it, and its ``answers`` are all gold answer texts (what the quote must
    hold). Questions without an answer found in their context are unanswerable (evidence []).
    ``out_dir`` defaults to ``<eval cache>/squad/<file stem>``.

    Raises:
        EvalInputError: the file is not JSON, not SQuAD-shaped, or has no contexts.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise EvalInputError(f"{path}: not a readable SQuAD JSON file ({type(e).__name__})") from None
    articles = data.get("data") if isinstance(data, dict) else None
    paragraphs = [(" ".join(str(a.get("title") or "").split()) or f"{k + 1}", p)
                  for k, a in enumerate(articles or []) if isinstance(a, dict)
                  for p in a.get("paragraphs") or [] if isinstance(p, dict)]
    contexts = [(t, p) for t, p in paragraphs if isinstance(p.get("context"), str) and p["context"].strip()]
    if not contexts:
        raise EvalInputError(f"{path}: no contexts (expected data[].paragraphs[].context)")
    questions, texts, seen = [], [], set()
    for title, p in contexts:
        context = " ".join(p["context"].split())
        texts.append(f"## {title}\n\n{context}")
        for n, qa in enumerate(p.get("qas") or []):
            if not isinstance(qa, dict) or not isinstance(qa.get("question"), str) or not qa["question"].strip():
                continue
            qid = str(qa.get("id") or f"q{len(questions) + 1}-{n}")
            if qid in seen:
                raise EvalInputError(f"{path}: question id {qid!r} appears twice")
            seen.add(qid)
            answers = [a for a in qa.get("answers") or [] if isinstance(a, dict)
                       and isinstance(a.get("text"), str) and a["text"].strip()]
            found = [(context.find(" ".join(a["text"].split())), " ".join(a["text"].split())) for a in answers]
            found = [(i, t) for i, t in found if i >= 0]
            questions.append({"id": qid, "question": qa["question"].strip(), "lang": "zh", "type": "squad",
                              "evidence": [_window(context, *found[0])] if found else [],
                              "answers": sorted({t for _, t in found})})
    if not questions:
        raise EvalInputError(f"{path}: no questions (expected data[].paragraphs[].qas[].question)")
    out_dir = out_dir or cache_root() / "squad" / path.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = out_dir / f"{path.stem}.md"
    text = "\n\n".join([f"# {path.stem}", *texts]) + "\n"
    if not doc.is_file() or doc.read_text(encoding="utf-8") != text:
        doc.write_text(text, encoding="utf-8")
    return doc, questions
