"""Build the index for the documents, or bring a stored index up to date incrementally.

The documents are the seed corpus (``corpus/catalog.json``) followed by the user's library
(``rag add``). The manifest keeps one row per document (id, digest of its catalog entry and
file, passage and sentence counts), so a changed set of documents re-embeds only the new or
edited ones and drops removed ones by slicing the stored arrays; a change to the code that
turns documents into passages (or a damaged index) means a full rebuild.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.documents.context import CONTEXT_VERSION, embedding_texts
from rag.documents.ingest import GENERIC_VERSION, INGEST_VERSION, CorpusError, load_catalog, parse_entry
from rag.errors import StaleIndexError
from rag.index.store import DenseIndex, open_index, write_index
from rag.models.encoder import Encoder
from rag.records import Passage
from rag.text import sentences as text_sentences


@dataclass(frozen=True)
class Source:
    """One document to index: its catalog entry and the folder its ``file`` is relative to."""

    entry: dict
    base: Path
    origin: str  # "seed" or "library"

    @property
    def doc_id(self) -> str:
        return self.entry["doc_id"]

    @property
    def path(self) -> Path:
        return self.base / self.entry["file"]

    def digest(self) -> str:
        h = hashlib.sha256(json.dumps(self.entry, sort_keys=True, ensure_ascii=False).encode())
        try:
            h.update(self.path.read_bytes())
        except OSError as e:
            h.update(f"unreadable: {e}".encode())
        return h.hexdigest()


@dataclass
class Part:
    """One document's share of the index."""

    doc_id: str
    digest: str
    passages: list[Passage]
    vectors: np.ndarray
    sentence_vectors: np.ndarray
    problem: str | None = None

    def row(self) -> dict:
        return {"doc_id": self.doc_id, "digest": self.digest, "passages": len(self.passages),
                "sentences": len(self.sentence_vectors), "problem": self.problem}


def code_hash() -> str:
    """Versions of everything that turns a document into embedded passages and sentences."""
    h = hashlib.sha256(f"{INGEST_VERSION}/{GENERIC_VERSION}".encode())
    h.update(text_sentences.SENTENCE_SPLIT_VERSION.encode())
    h.update(CONTEXT_VERSION.encode())
    h.update(text_sentences.BACKGROUND.read_bytes())
    return h.hexdigest()


def collect_sources(corpus_dir: Path, library_dir: Path | None) -> list[Source]:
    """The seed catalog's documents, then the library's (if it has a catalog; then the seed
    catalog may be empty: a corpus of the user's documents only, as `rag eval --docs` builds)."""
    has_library = library_dir is not None and (Path(library_dir) / "catalog.json").is_file()
    sources = [Source(e, Path(corpus_dir), "seed") for e in load_catalog(Path(corpus_dir), allow_empty=has_library)]
    if has_library:
        sources += [Source(e, Path(library_dir), "library")
                    for e in load_catalog(Path(library_dir), allow_empty=True)]
    return sources


def corpus_hash(code: str, digests: dict[str, str]) -> str:
    """One hash of the processing code and every document's digest, in order."""
    h = hashlib.sha256(code.encode())
    for doc_id, digest in digests.items():
        h.update(f"\n{doc_id}:{digest}".encode())
    return h.hexdigest()


def embed_document(source: Source, digest: str, encoder: Encoder, progress: bool = False,
                   taken: set[str] | frozenset[str] = frozenset()) -> Part:
    """Parse and embed one document; a document that fails becomes an empty part with a problem."""
    empty = np.zeros((0, encoder.dim), np.float32)
    try:
        passages = parse_entry(source.base, source.entry)
        clash = sorted({p.id for p in passages} & taken)
        if clash:
            raise CorpusError(f"{source.path}: passage ids {clash[:5]} are already used by another document")
    except CorpusError as e:
        return Part(source.doc_id, digest, [], empty, empty, problem=f"skipped: {e}")
    label = f"embedding {source.doc_id}" if progress else ""
    vectors = encoder.encode_passages(embedding_texts(passages), progress=label and f"{label} passages")
    sentence_texts = [s.text for s in text_sentences.split_passages(passages)]
    sentences = (encoder.encode_passages(sentence_texts, progress=label and f"{label} sentences")
                 if sentence_texts else empty)
    return Part(source.doc_id, digest, passages, vectors.astype(np.float32), sentences.astype(np.float32))


def stored_parts(dense: DenseIndex, extras: dict) -> dict[str, Part]:
    """Split a loaded index back into its documents (rows of the manifest's ``documents``)."""
    rows = dense.manifest.get("documents")
    if not isinstance(rows, list):
        raise StaleIndexError("index has no per-document table")
    vectors, sentences = dense.vectors(), extras["sentences"]
    parts, p0, s0 = {}, 0, 0
    for row in rows:
        n, m = int(row["passages"]), int(row["sentences"])
        passages = dense.passages[p0:p0 + n]
        if any(p.doc_id != row["doc_id"] for p in passages):
            raise StaleIndexError("index documents do not match their passages")
        parts[row["doc_id"]] = Part(row["doc_id"], row["digest"], passages, vectors[p0:p0 + n],
                                    sentences[s0:s0 + m], row.get("problem"))
        p0, s0 = p0 + n, s0 + m
    if p0 != len(dense.passages) or s0 != len(sentences):
        raise StaleIndexError("index documents do not add up to its passages")
    return parts


def _write(directory: Path, parts: list[Part], background: np.ndarray, model_id: str, chash: str,
           code: str) -> None:
    passages = [p for part in parts for p in part.passages]
    if not passages:
        raise CorpusError("no document could be indexed")
    dim = background.shape[1]
    vectors = np.concatenate([part.vectors.reshape(-1, dim) for part in parts])
    sentences = np.concatenate([part.sentence_vectors.reshape(-1, dim) for part in parts])
    problems = [part.problem for part in parts if part.problem]
    write_index(directory, passages, vectors, model_id, chash,
                extra_arrays={"sentences": sentences, "background": background.astype(np.float32)},
                problems=problems,
                extra_manifest={"code_hash": code, "documents": [part.row() for part in parts]})


def _changes(stored: dict[str, Part], digests: dict[str, str]) -> str:
    added = [d for d in digests if d not in stored]
    edited = [d for d in digests if d in stored and stored[d].digest != digests[d]]
    removed = [d for d in stored if d not in digests]
    said = [f"{what} {', '.join(ids)}" for what, ids in
            (("added", added), ("changed", edited), ("removed", removed)) if ids]
    return "; ".join(said) or "reordered"


def sync(sources: list[Source], directory: Path, encoder: Encoder, rebuild: bool = False,
         progress: bool = False, notice: Callable[[str], None] = print) -> tuple[DenseIndex, dict]:
    """Load the index for these documents, embedding only what is new or changed.

    Returns:
        The loaded index and its extra arrays (``sentences``, ``background``).

    Raises:
        CorpusError: no document yields any passage.
    """
    directory = Path(directory)
    code = code_hash()
    digests = {s.doc_id: s.digest() for s in sources}  # reads every document once
    chash = corpus_hash(code, digests)
    stored: dict[str, Part] = {}
    background = None
    if not rebuild:
        try:
            dense, extras = open_index(directory, encoder.model_id, encoder.dim)
            if dense.manifest.get("corpus_hash") == chash and "background" in extras:
                for problem in dense.manifest.get("problems", []):  # still true: the files are unchanged
                    notice(problem)
                return dense, extras
            if dense.manifest.get("code_hash") != code or "background" not in extras:
                raise StaleIndexError("the corpus (or how it is processed) changed since the index was built")
            stored = stored_parts(dense, extras)
            background = extras["background"]
            notice(f"corpus changed ({_changes(stored, digests)}); updating the index in {directory}")
        except StaleIndexError as e:
            stored = {}
            notice(f"{e}; building the index in {directory}")
    parts: list[Part] = []
    taken: set[str] = set()
    for source in sources:
        part = stored.get(source.doc_id)
        digest = digests[source.doc_id]
        if part is None or part.digest != digest:
            part = embed_document(source, digest, encoder, progress, frozenset(taken))
            if part.problem:
                notice(part.problem)
        taken.update(p.id for p in part.passages)
        parts.append(part)
    if background is None:
        background = encoder.encode_passages(text_sentences.background_sentences(),
                                             progress=progress and "embedding background sentences")
    if not any(part.passages for part in parts):
        raise CorpusError(f"{sources[0].base if sources else directory}: no document could be indexed")
    _write(directory, parts, background, encoder.model_id, chash, code)
    return open_index(directory, encoder.model_id, encoder.dim, chash)
