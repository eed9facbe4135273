"""The scale part of `rag bench`: how retrieval time and memory grow with the corpus.

Synthetic corpora of real sentences recombined (``rag/synthetic.py``) at 10^3..10^5
passages, end to end with BM25 built for real over the synthetic text and stand-in vectors
(not the real model: embedding 10^5 passages takes too long); then the vector index alone at
up to 10^6 stand-in vectors: exact search vs HNSW vs IVF, with recall@10 of the approximate
indexes against exact search. :func:`scale` runs both and returns the report's ``scale``
section, with where exact search gets too slow and the issue's targets judged; :mod:`rag.bench.run`
runs it and :mod:`rag.bench.report` prints and plots it.
"""

from __future__ import annotations

import gc
import math
import os
from collections.abc import Callable, Sequence

import numpy as np

from rag.bench.util import log, peak_rss_mb, perf, reset_peak, rss_mb, summary_ms, timed

EXACT_MS = 10.0  # exact search is "fast enough" below this p50
RECALL_TARGET = 0.95
TARGET_1M_MS = 20.0  # issue: at 10^6, retrieval p50 <= 20 ms with recall@10 >= 0.95
TARGET_E2E_MS = 100.0  # issue: at 10^5 synthetic end to end (BM25 included) p50 <= 100 ms
EF_SEARCH = (16, 32, 64, 128, 256, 512)
NPROBE = (8, 16, 32, 64, 128, 192, 256)


# ---------------------------------------------------------------- small helpers


def nice_floor(x: float) -> int:
    """The largest 1-2-5 x 10^k number <= x (at least 1)."""
    if x < 1:
        return 1
    e = 10 ** math.floor(math.log10(x))
    return int(max(m * e for m in (1, 2, 5) if m * e <= x))


def faiss_index_mb(index) -> float:
    """Bytes a FAISS index holds (vectors + graph or lists), from its structures, in MB."""
    n, d = int(index.ntotal), int(index.d)
    size = n * d * 4
    hnsw = getattr(index, "hnsw", None)
    if hnsw is not None:
        size += hnsw.neighbors.size() * 4 + hnsw.levels.size() * 4 + hnsw.offsets.size() * 8
    if hasattr(index, "nlist"):
        size += n * 8 + int(index.nlist) * d * 4
    return round(size / 2**20, 1)


def bm25_mb(lexical) -> float:
    """Bytes of the BM25 score matrix (sparse) of a LexicalIndex, in MB."""
    scores = getattr(getattr(lexical, "bm25", None), "scores", None) or {}
    return round(sum(getattr(v, "nbytes", 0) for v in scores.values()) / 2**20, 1)


def faiss_threads(n: int | None) -> None:
    """Threads FAISS may use (None: all cores, for builds)."""
    import faiss

    faiss.omp_set_num_threads(n or os.cpu_count() or 1)


# ---------------------------------------------------------------- end to end on a synthetic corpus


class QueryTable:
    """A stand-in encoder whose query vectors were computed beforehand (text -> vector)."""

    model_id = "stand-in"

    def __init__(self, texts: Sequence[str], vectors: np.ndarray):
        self.dim = int(vectors.shape[1])
        self.table = dict(zip(texts, vectors, strict=True))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.table[t] for t in texts]).astype(np.float32)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        raise NotImplementedError("stand-in vectors only")


class MemoTokenizer:
    """jieba segmentation of a synthetic passage = its sentences' segmentations, memoized.

    A synthetic corpus has only a few hundred distinct sentences, so segmenting each once
    gives the same tokens as segmenting every passage (agreement is measured and reported)
    at a fraction of the time; queries and any other text go to the real tokenizer.
    """

    def __init__(self, base: Callable[[str], list[str]], corpus):
        self.base = base
        self.corpus = corpus
        self.by_text = {p.text: comp for p, comp in zip(corpus.passages, corpus.compositions, strict=True)}
        self.cache: dict[int, list[str]] = {}

    def __call__(self, text: str) -> list[str]:
        comp = self.by_text.get(text)
        if comp is None:
            return self.base(text)
        out: list[str] = []
        for j in comp:
            toks = self.cache.get(j)
            if toks is None:
                toks = self.cache[j] = self.base(self.corpus.sentences[j])
            out.extend(toks)
        return out


def jieba_throughput(tokenize: Callable[[str], list[str]], sentences: Sequence[str]) -> float:
    """Characters per second of the real tokenizer over the given sentences."""
    text_chars = sum(len(s) for s in sentences)
    t = perf()
    for s in sentences:
        tokenize(s)
    return text_chars / max(perf() - t, 1e-9)


def make_assistant(cls, dense, encoder, sentence_vectors: np.ndarray, lexical, template=None):
    """An Assistant over a synthetic index; other arrays its constructor needs (e.g. background
    vectors) are taken from ``template`` (the real assistant) by name, else left empty."""
    import inspect

    kwargs = {}
    for name, param in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        if name in ("dense", "encoder", "sentence_vectors", "lexical"):
            continue
        if template is not None and hasattr(template, name):
            kwargs[name] = getattr(template, name)
        elif param.default is inspect.Parameter.empty:
            kwargs[name] = np.zeros((0, encoder.dim), np.float32)
    return cls(dense, encoder, sentence_vectors, lexical=lexical, **kwargs)


def e2e_size(n: int, seed_passages, query_texts: Sequence[str], query_vecs: np.ndarray,
             reference: np.ndarray | None, opts, template=None) -> dict:
    """One synthetic corpus of ``n`` passages end to end (vectors are stand-ins)."""
    from rag.assistant import DENSE_SENTENCE_WEIGHT, Assistant
    from rag.bench.synthetic import stand_in_vectors, synthetic_corpus
    from rag.index.store import EXACT_MAX, DenseIndex, make_faiss_index
    from rag.question import clean_question
    from rag.retrieval.fusion import fuse
    from rag.retrieval.lexical import LexicalIndex, jieba_tokenizer
    from rag.text.sentences import split_passages

    faiss_threads(None)
    gc.collect()
    reset_peak()
    rss0 = rss_mb()
    r: dict = {"passages": n, "build_s": {}, "memory_mb": {}, "faiss_search_threads": opts.faiss_threads}
    secs, corpus = timed(synthetic_corpus, seed_passages, n, opts.seed)
    r["build_s"]["synthetic_text"] = round(secs, 3)
    r["sentences"] = corpus.sentence_count
    r["chars"] = corpus.char_count
    kind = opts.vectors if reference is not None else "uniform"
    dim = reference.shape[1] if reference is not None else opts.dim
    secs, vecs = timed(stand_in_vectors, n, opts.seed, reference, dim, kind)
    r["build_s"]["stand_in_vectors"] = round(secs, 3)
    r["memory_mb"]["passage_vectors"] = round(vecs.nbytes / 2**20, 1)

    m0 = rss_mb()
    secs, index = timed(make_faiss_index, vecs)
    r["build_s"]["faiss"] = round(secs, 3)
    r["faiss_type"] = type(index).__name__
    r["exact"] = n <= EXACT_MAX
    r["memory_mb"]["faiss"] = faiss_index_mb(index)
    r["memory_mb"]["faiss_rss_growth"] = round(rss_mb() - m0, 1)

    base_tok = jieba_tokenizer()
    tok = MemoTokenizer(base_tok, corpus) if opts.token_memo else base_tok
    m0 = rss_mb()
    secs, lexical = timed(LexicalIndex, corpus.passages, tok)
    r["build_s"]["bm25"] = round(secs, 3)
    r["memory_mb"]["bm25_matrix"] = bm25_mb(lexical)
    r["memory_mb"]["bm25_rss_growth"] = round(rss_mb() - m0, 1)
    r["token_memo"] = bool(opts.token_memo)
    if opts.token_memo:
        sample = corpus.passages[: min(200, n)]
        r["token_memo_agreement"] = round(sum(tok(p.text) == base_tok(p.text) for p in sample) / len(sample), 3)

    # The library's own path at this size: an Assistant over the synthetic index, with
    # stand-in sentence vectors (one per sentence, as the index stores) and precomputed
    # query vectors in place of the model.
    m0 = rss_mb()
    t = perf()
    n_sent = len(split_passages(corpus.passages))
    svecs = stand_in_vectors(n_sent, opts.seed + 1, reference, dim, kind)
    cleaned = [clean_question(q)[0] for q in query_texts]
    encoder = QueryTable(cleaned, query_vecs)
    a = make_assistant(Assistant, DenseIndex(corpus.passages, index, {}), encoder, svecs, lexical, template)
    r["build_s"]["assistant_init"] = round(perf() - t, 3)
    r["memory_mb"]["sentence_vectors"] = round(svecs.nbytes / 2**20, 1)
    r["memory_mb"]["assistant_rss_growth"] = round(rss_mb() - m0, 1)
    r["sentence_vectors"] = n_sent

    starts = a._sentence_starts
    w = DENSE_SENTENCE_WEIGHT
    k = min(10, n)
    faiss_threads(opts.faiss_threads)
    # exact_retrieval: every passage and sentence scored (numpy), BM25, fusion and top-k, as one
    # block: what the library does up to EXACT_MAX; past it the library scores candidates only
    # (library_search / library_ask_without_encoder measure the library's own path).
    stages: dict[str, list[float]] = {s: [] for s in (
        "faiss_top10", "numpy_matvec", "best_sentence", "bm25", "fuse_topk",
        "exact_retrieval", "library_search", "library_ask_without_encoder")}
    nq = min(len(cleaned), opts.scale_queries)
    for i in range(nq):
        text, q = cleaned[i], query_vecs[i].astype(np.float32)
        q2 = q.reshape(1, -1)
        stages["faiss_top10"].append(timed(index.search, q2, k)[0])
        secs, dense = timed(np.dot, vecs, q)
        stages["numpy_matvec"].append(secs)
        t = perf()
        np.maximum.reduceat(svecs @ q, starts)
        stages["best_sentence"].append(perf() - t)
        secs, lex = timed(lexical.scores, text)
        stages["bm25"].append(secs)
        t = perf()
        f = fuse(dense, lex)
        np.argpartition(-f, k - 1)[:k] if k < n else np.argsort(-f)
        stages["fuse_topk"].append(perf() - t)
        t = perf()
        dense = (1 - w) * (vecs @ q) + w * np.maximum.reduceat(svecs @ q, starts)
        f = fuse(dense, lexical.scores(text))
        top = np.argpartition(-f, k - 1)[:k] if k < n else np.argsort(-f)
        top[np.argsort(-f[top])]
        stages["exact_retrieval"].append(perf() - t)
        stages["library_search"].append(timed(a.search, text, 5, "hybrid", q)[0])
        stages["library_ask_without_encoder"].append(timed(a.ask, text)[0])
    faiss_threads(None)
    r["latency_ms"] = {s: summary_ms(v) for s, v in stages.items()}
    r["queries"] = nq
    r["memory_mb"]["rss_growth"] = round(rss_mb() - rss0, 1)
    r["memory_mb"]["peak_rss"] = peak_rss_mb()
    del a, lexical, index, vecs, svecs, corpus, tok
    gc.collect()
    return r


# ---------------------------------------------------------------- vector index alone


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean |found ∩ truth| / |truth| over queries (rows of ids; -1 = nothing)."""
    vals = []
    for f, t in zip(found, truth, strict=True):
        tset = {int(x) for x in t if x >= 0}
        vals.append(len(tset & {int(x) for x in f if x >= 0}) / max(1, len(tset)))
    return float(np.mean(vals)) if vals else float("nan")


def _sweep(index, set_param: Callable[[int], None], values: Sequence[int], queries: np.ndarray,
           truth: np.ndarray, query_sets: dict[str, slice], k: int) -> list[dict]:
    rows = []
    for v in values:
        set_param(v)
        index.search(queries[:1], k)  # warm-up
        times, found = [], []
        for i in range(len(queries)):
            t = perf()
            _, ids = index.search(queries[i : i + 1], k)
            times.append(perf() - t)
            found.append(ids[0])
        found_arr = np.stack(found)
        row = {"param": v, **{f"latency_{k2}": v2 for k2, v2 in summary_ms(times).items() if k2 != "n"}}
        row["recall@10"] = round(recall_at(found_arr, truth), 4)
        for name, sl in query_sets.items():
            row[f"recall@10_{name}"] = round(recall_at(found_arr[sl], truth[sl]), 4)
        row["recall@10_min"] = round(min(row[f"recall@10_{name}"] for name in query_sets), 4)
        rows.append(row)
    return rows


def _pick(rows: list[dict], target: float) -> dict | None:
    """The cheapest setting whose recall@10 reaches the target on every query set."""
    ok = [r for r in rows if r["recall@10_min"] >= target]
    return ok[0] if ok else None


def vector_size(n: int, query_vecs: np.ndarray | None, reference: np.ndarray | None, opts) -> dict:
    """Vector index alone at ``n`` stand-in vectors: exact vs HNSW vs IVF."""
    import faiss

    from rag.bench.synthetic import perturbed_queries, stand_in_vectors
    from rag.index.store import IVF_REFINE, ivf_nlist, ivf_spec, make_faiss_index, make_ivf_index

    faiss_threads(None)
    gc.collect()
    reset_peak()
    kind = opts.vectors if reference is not None else "uniform"
    dim = reference.shape[1] if reference is not None else opts.dim
    r: dict = {"vectors": n, "dim": dim, "kind": kind, "build_s": {}, "memory_mb": {},
               "faiss_search_threads": opts.faiss_threads, "meta_cpus": os.cpu_count()}
    secs, vecs = timed(stand_in_vectors, n, opts.seed, reference, dim, kind)
    r["build_s"]["stand_in_vectors"] = round(secs, 3)
    r["memory_mb"]["vectors"] = round(vecs.nbytes / 2**20, 1)

    sets: dict[str, np.ndarray] = {}
    if query_vecs is not None and len(query_vecs) and query_vecs.shape[1] == dim:
        sets["real"] = query_vecs[: opts.ann_queries].astype(np.float32)
    sets["perturbed"] = perturbed_queries(vecs, opts.ann_queries, opts.seed, reference=reference)
    queries = np.ascontiguousarray(np.concatenate(list(sets.values())), dtype=np.float32)
    query_sets, at = {}, 0
    for name, qs in sets.items():
        query_sets[name] = slice(at, at + len(qs))
        at += len(qs)
    r["queries"] = {name: sl.stop - sl.start for name, sl in query_sets.items()}
    k = 10

    m0 = rss_mb()
    secs, flat = timed(make_faiss_index, vecs, n)  # exact_max=n: flat
    r["build_s"]["flat"] = round(secs, 3)
    r["memory_mb"]["flat"] = faiss_index_mb(flat)
    r["memory_mb"]["flat_rss_growth"] = round(rss_mb() - m0, 1)
    secs, (_, truth) = timed(flat.search, queries, k)
    r["ground_truth_batch_s"] = round(secs, 3)
    for key, threads in (("flat_ms", opts.faiss_threads), ("flat_ms_all_threads", None)):
        faiss_threads(threads)
        flat.search(queries[:1], k)
        times = [timed(flat.search, queries[i : i + 1], k)[0] for i in range(min(len(queries), opts.flat_queries))]
        r[key] = summary_ms(times)
    faiss_threads(None)
    del flat
    gc.collect()

    if n <= opts.hnsw_max:
        m0 = rss_mb()
        index = faiss.IndexHNSWFlat(dim, opts.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = opts.ef_construction
        secs, _ = timed(index.add, vecs)
        r["build_s"]["hnsw"] = round(secs, 3)
        r["memory_mb"]["hnsw"] = faiss_index_mb(index)
        r["memory_mb"]["hnsw_rss_growth"] = round(rss_mb() - m0, 1)
        faiss_threads(opts.faiss_threads)
        r["hnsw"] = {"M": opts.hnsw_m, "efConstruction": opts.ef_construction,
                     "sweep": _sweep(index, lambda v: setattr(index.hnsw, "efSearch", v), opts.ef_search,
                                     queries, truth, query_sets, k)}
        r["hnsw"]["chosen"] = _pick(r["hnsw"]["sweep"], RECALL_TARGET)
        faiss_threads(None)
        del index
        gc.collect()
    if opts.ivf and n >= 20_000:
        nlist = opts.nlist or ivf_nlist(n)
        m0 = rss_mb()
        t = perf()
        index = make_ivf_index(vecs, nlist, opts.seed)  # the library's own IVF index
        r["build_s"]["ivf"] = round(perf() - t, 3)
        r["memory_mb"]["ivf"] = faiss_index_mb(index)
        r["memory_mb"]["ivf_rss_growth"] = round(rss_mb() - m0, 1)
        probes = [p for p in opts.nprobe if p <= nlist]
        faiss_threads(opts.faiss_threads)
        ivf = faiss.extract_index_ivf(index)
        r["ivf"] = {"nlist": nlist, "spec": ivf_spec(nlist, dim), "refine_k_factor": IVF_REFINE,
                    "sweep": _sweep(index, lambda v: setattr(ivf, "nprobe", v), probes,
                                    queries, truth, query_sets, k)}
        r["ivf"]["chosen"] = _pick(r["ivf"]["sweep"], RECALL_TARGET)
        faiss_threads(None)
        del index, ivf
        gc.collect()
    r["memory_mb"]["peak_rss"] = peak_rss_mb()
    del vecs
    gc.collect()
    return r


# ---------------------------------------------------------------- crossover, the scale run, targets


def crossover(points: Sequence[tuple[int, float]], threshold_ms: float) -> dict:
    """Where exact search's p50 crosses ``threshold_ms``: a least-squares line p50 = a + b*N."""
    pts = sorted((int(n), float(v)) for n, v in points if v == v)
    out: dict = {"threshold_ms": threshold_ms, "points": pts}
    fast = [n for n, v in pts if v <= threshold_ms]
    slow = [n for n, v in pts if v > threshold_ms]
    out["largest_measured_fast"] = max(fast) if fast else None
    out["smallest_measured_slow"] = min(slow) if slow else None
    if len(pts) >= 2:
        x = np.array([p[0] for p in pts], dtype=np.float64)
        y = np.array([p[1] for p in pts], dtype=np.float64)
        b, a = np.polyfit(x, y, 1, w=1 / np.maximum(y, 1e-3))  # relative errors
        out["fit_ms"] = {"intercept": round(float(a), 4), "per_million": round(float(b) * 1e6, 3)}
        if b > 0:
            out["crossover_n"] = int(max(0.0, (threshold_ms - a) / b))
    return out


def scale(seed_passages, query_texts: Sequence[str], query_vecs: np.ndarray,
          reference: np.ndarray | None, opts, template=None) -> dict:
    from rag.bench.synthetic import seed_sentences
    from rag.index.store import EXACT_MAX
    from rag.retrieval.lexical import jieba_tokenizer

    out: dict = {
        "vectors": opts.vectors if reference is not None else "uniform",
        "note": ("Stand-in vectors, not the real model: "
                 + ("samples of a Gaussian with the mean and covariance of the index's real e5 sentence "
                    "embeddings, normalized" if reference is not None and opts.vectors == "fitted"
                    else "random unit vectors")
                 + f" ({reference.shape[1] if reference is not None else opts.dim}-dim). BM25 is built for "
                 "real over the synthetic text"
                 + (" (jieba segmentation memoized per distinct sentence; agreement reported)"
                    if opts.token_memo else "") + "."),
        "e2e": [], "vector_only": [],
    }
    sentences = seed_sentences(seed_passages)
    out["seed_sentences"] = len(sentences)
    out["jieba_chars_per_s"] = round(jieba_throughput(jieba_tokenizer(), sentences))
    for n in opts.sizes:
        log(f"scale: {n:,} synthetic passages end to end ...")
        row = e2e_size(n, seed_passages, query_texts, query_vecs, reference, opts, template)
        row["jieba_unmemoized_estimate_s"] = round(row["chars"] / out["jieba_chars_per_s"], 1)
        out["e2e"].append(row)
        log(f"  exact retrieval p50 {row['latency_ms']['exact_retrieval']['p50']} ms, "
            f"library ask() without the embedding p50 {row['latency_ms']['library_ask_without_encoder']['p50']} ms")
    for n in opts.vector_sizes:
        what = "flat" + (" + HNSW" if n <= opts.hnsw_max else "") + (" + IVF" if opts.ivf and n >= 20_000 else "")
        log(f"scale: {n:,} vectors, {what} ...")
        row = vector_size(n, query_vecs, reference, opts)
        out["vector_only"].append(row)
        log(f"  flat p50 {row['flat_ms']['p50']} ms; HNSW {_chosen_str(row.get('hnsw'), 'efSearch')}; "
             f"IVF {_chosen_str(row.get('ivf'), 'nprobe')}")

    points = {r["passages"]: r["latency_ms"]["faiss_top10"]["p50"] for r in out["e2e"]}
    points.update({r["vectors"]: r["flat_ms"]["p50"] for r in out["vector_only"]})
    cross = crossover(list(points.items()), opts.exact_ms)
    rec: dict = {"exact_search": cross, "current_EXACT_MAX": EXACT_MAX,
                 "faiss_search_threads": opts.faiss_threads}
    if "crossover_n" in cross:
        rec["EXACT_MAX"] = nice_floor(cross["crossover_n"])
    hnsw_rows = [r for r in out["vector_only"] if r.get("hnsw")]
    if hnsw_rows:
        big = max(hnsw_rows, key=lambda r: r["vectors"])
        chosen = big["hnsw"]["chosen"]
        rec["hnsw_measured_at"] = big["vectors"]
        rec["efSearch"] = chosen["param"] if chosen else None
        rec["hnsw_at_efSearch"] = chosen
    out["recommendation"] = rec
    out["targets"] = targets(out)
    return out


def _chosen_str(section: dict | None, name: str) -> str:
    if not section:
        return "-"
    c = section.get("chosen")
    if not c:
        return f"recall@10 < {RECALL_TARGET} at every {name}"
    return f"{name}={c['param']}: p50 {c['latency_p50']} ms, recall@10 {c['recall@10_min']}"


def targets(scale_report: dict) -> dict:
    """The issue's targets, judged on what was measured."""
    out: dict = {}
    big = [r for r in scale_report["vector_only"] if r["vectors"] >= 1_000_000]
    if big:
        r = max(big, key=lambda r: r["vectors"])
        best = None
        for name in ("hnsw", "ivf"):
            c = (r.get(name) or {}).get("chosen")
            if c and (best is None or c["latency_p50"] < best[1]["latency_p50"]):
                best = (name, c)
        flat_ok = r["flat_ms"]["p50"] <= TARGET_1M_MS
        out["1M_p50_le_20ms_recall_ge_0.95"] = {
            "met": bool(flat_ok or (best is not None and best[1]["latency_p50"] <= TARGET_1M_MS)),
            "flat_p50_ms": r["flat_ms"]["p50"],
            "best_approximate": None if best is None else {"index": best[0], **best[1]},
            "hnsw_measured": bool(r.get("hnsw")),
        }
    e2e = [r for r in scale_report["e2e"] if r["passages"] >= 100_000]
    if e2e:
        r = max(e2e, key=lambda r: r["passages"])
        lat = r["latency_ms"]
        out["100k_e2e_p50_le_100ms"] = {
            "met": lat["library_ask_without_encoder"]["p50"] <= TARGET_E2E_MS,
            "library_ask_without_encoder_p50_ms": lat["library_ask_without_encoder"]["p50"],
            "library_search_p50_ms": lat["library_search"]["p50"],
            "exact_retrieval_p50_ms": lat["exact_retrieval"]["p50"],
            "index": "exact" if r["exact"] else r["faiss_type"],
        }
    return out
