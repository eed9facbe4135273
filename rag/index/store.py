"""The dense index on disk: a directory with a FAISS file, passages JSONL and a manifest.

Loading verifies the manifest and every file's checksum before FAISS parses anything
(FAISS readers can crash on malformed input); any mismatch means "stale": rebuild.
Writes go to a temporary sibling directory that is renamed into place.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import StaleIndexError
from rag.paths import sha256_file
from rag.records import Passage

FORMAT_VERSION = 1
VECTORS = "vectors.faiss"
PASSAGES = "passages.jsonl"
MANIFEST = "manifest.json"
# Exact search up to this many vectors; beyond it IVF (from the `rag bench` scale curve: exact
# top-10 passes 10 ms per query at ~5*10^4 vectors on one core). The IVF lists hold 4-bit
# fast-scan PQ codes (dim/2 sub-quantizers), and the best candidates are re-scored with the
# exact vectors: at 10^6 stand-in vectors that gave recall@10 0.966 in 6.6 ms where 8-bit
# scalar codes needed 25 ms for 0.954 (PQ codes are scanned with SIMD table lookups).
EXACT_MAX = 50_000
IVF_NPROBE = 256  # lists probed per query (of ~sqrt(N)): recall@10 0.967 at 10^6 in `rag bench`
IVF_REFINE = 200  # candidates per result re-scored with the exact vectors (k=10: 2,000)
REFINE_CANDIDATES = 2_000  # for searches with other k: this many re-scored in all
IVF_TRAIN_PER_LIST = 64  # k-means is trained on a sample of this many vectors per list


def ivf_nlist(n: int) -> int:
    """IVF list count for ``n`` vectors: ~sqrt(n), a power of two."""
    return int(2 ** round(math.log2(math.sqrt(max(n, 1)))))


def make_faiss_index(vectors: np.ndarray, exact_max: int = EXACT_MAX, seed: int = 0):
    """Inner-product index over unit vectors: exact when small, IVF (:func:`make_ivf_index`) when large."""
    import faiss

    n, dim = vectors.shape
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if n > exact_max:
        return make_ivf_index(vectors, ivf_nlist(n), seed)
    index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


def ivf_spec(nlist: int, dim: int) -> str:
    """FAISS factory string of the library's IVF index (8-bit scalar codes when ``dim`` is odd)."""
    codes = f"PQ{dim // 2}x4fs" if dim % 2 == 0 else "SQ8"
    return f"IVF{nlist},{codes},RFlat"


def make_ivf_index(vectors: np.ndarray, nlist: int, seed: int = 0):
    """IVF over 4-bit PQ codes, the top candidates re-scored with the exact vectors (kept in
    the index, so :meth:`DenseIndex.vectors` stays exact)."""
    import faiss

    n, dim = vectors.shape
    index = faiss.index_factory(dim, ivf_spec(nlist, dim), faiss.METRIC_INNER_PRODUCT)
    faiss.extract_index_ivf(index).cp.niter = 10
    rng = np.random.default_rng(seed)
    index.train(vectors[np.sort(rng.choice(n, min(n, IVF_TRAIN_PER_LIST * nlist), replace=False))])
    index.add(vectors)
    return tune(index)


def tune(index, nprobe: int = IVF_NPROBE, refine: int = IVF_REFINE):
    """Set the search parameters of an IVF index (they are not all kept by ``faiss.write_index``)."""
    import faiss

    try:
        faiss.extract_index_ivf(index).nprobe = nprobe
    except (RuntimeError, ValueError):  # not an IVF index
        return index
    if isinstance(faiss.downcast_index(index), faiss.IndexRefine):
        faiss.ParameterSpace().set_index_parameter(index, "k_factor_rf", refine)
    return index


def is_exact(index) -> bool:
    """Whether a FAISS index scores every vector exactly (a flat index)."""
    import faiss

    return isinstance(faiss.downcast_index(index), faiss.IndexFlat)


def search_ids(index, query: np.ndarray, k: int) -> np.ndarray:
    """Ids of the ``k`` nearest vectors to one query (fewer when the index is smaller);
    an approximate index re-scores about :data:`REFINE_CANDIDATES` candidates exactly."""
    import faiss

    q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    params = None
    if isinstance(faiss.downcast_index(index), faiss.IndexRefine):
        params = faiss.IndexRefineSearchParameters(k_factor=max(1.0, REFINE_CANDIDATES / k))
    _, ids = index.search(q, k, params=params)
    return ids[0][ids[0] >= 0]


@dataclass
class DenseIndex:
    """Passages with their vectors in a FAISS index."""

    passages: list[Passage]
    faiss_index: object
    manifest: dict

    def vectors(self) -> np.ndarray:
        """All stored vectors, in passage order."""
        if hasattr(self.faiss_index, "make_direct_map"):  # IVF: ids -> list positions
            self.faiss_index.make_direct_map()
        return self.faiss_index.reconstruct_n(0, self.faiss_index.ntotal)


def write_index(
    directory: Path, passages: list[Passage], vectors: np.ndarray, model_id: str, corpus_hash: str,
    extra_arrays: dict[str, np.ndarray] | None = None, problems: list[str] | None = None,
    extra_manifest: dict | None = None,
) -> None:
    """Write an index directory atomically (temp dir, then rename over the old one).

    ``extra_manifest`` adds keys to the manifest (the per-document table, see rag/build.py).
    """
    import faiss

    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        index = make_faiss_index(vectors)
        faiss.write_index(index, str(tmp / VECTORS))
        with open(tmp / PASSAGES, "w", encoding="utf-8") as f:
            for p in passages:
                f.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
        for name, arr in (extra_arrays or {}).items():
            np.save(tmp / f"{name}.npy", arr, allow_pickle=False)
        files = sorted(p.name for p in tmp.iterdir())
        manifest = {
            "format_version": FORMAT_VERSION,
            "model_id": model_id,
            "dim": int(vectors.shape[1]),
            "corpus_hash": corpus_hash,
            "passage_count": len(passages),
            "index_type": type(index).__name__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": {name: sha256_file(tmp / name) for name in files},
            "problems": list(problems or []),
            **(extra_manifest or {}),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        _swap_into_place(tmp, directory)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_into_place(tmp: Path, directory: Path) -> None:
    old = None
    if directory.exists():
        old = directory.with_name(f".{directory.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(directory, old)
    os.replace(tmp, directory)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_manifest(directory: Path) -> dict:
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StaleIndexError(f"no index at {directory}") from None
    except (OSError, ValueError) as e:
        raise StaleIndexError(f"unreadable manifest {path}: {e}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise StaleIndexError(f"malformed manifest {path}")
    return manifest


def open_index(directory: Path, model_id: str, dim: int,
               corpus_hash: str | None = None) -> tuple[DenseIndex, dict]:
    """Load and validate an index directory (its corpus too, when ``corpus_hash`` is given).

    Raises:
        StaleIndexError: saying why the index is unusable.
    """
    import faiss

    directory = Path(directory)
    m = read_manifest(directory)
    expect = {"format_version": FORMAT_VERSION, "model_id": model_id, "dim": dim}
    if corpus_hash is not None:
        expect["corpus_hash"] = corpus_hash
    what = {"format_version": "index format", "model_id": "embedding model", "corpus_hash": "corpus (or how it is processed)",
            "dim": "embedding dimension"}
    for key, want in expect.items():
        if m.get(key) != want:
            shown = "" if key == "corpus_hash" else f" ({m.get(key)!r} -> {want!r})"
            raise StaleIndexError(f"the {what[key]} changed since the index was built{shown}")
    for name, digest in m["files"].items():
        path = directory / name
        if os.sep in name or not path.is_file():
            raise StaleIndexError(f"index file {name} is missing")
        if sha256_file(path) != digest:
            raise StaleIndexError(f"index file {name} fails its checksum")
    for required in (VECTORS, PASSAGES):
        if required not in m["files"]:
            raise StaleIndexError(f"manifest lists no {required}")
    try:
        passages = [
            Passage.from_dict(json.loads(line))
            for line in (directory / PASSAGES).read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        index = tune(faiss.read_index(str(directory / VECTORS)))
        extras = {
            name[:-4]: np.load(directory / name, allow_pickle=False)
            for name in m["files"] if name.endswith(".npy")
        }
    except Exception as e:  # checksums passed, so this means a writer bug: still rebuildable
        raise StaleIndexError(f"index unreadable: {type(e).__name__}: {e}") from None
    if index.ntotal != len(passages) or len(passages) != m.get("passage_count") or index.d != dim:
        raise StaleIndexError("index counts do not match its manifest")
    return DenseIndex(passages, index, m), extras
