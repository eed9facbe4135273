"""`rag bench`: speed, build time and memory on the real corpus, and a scale curve.

Part 1 (real corpus, real model): cold start in a fresh process, index build time, ``ask()``
p50/p95 per mode, the hybrid ``ask()`` split into its stages, peak RSS.

Part 2 (scale): synthetic corpora of real sentences recombined (``rag/synthetic.py``) at
10^3..10^5 passages, end to end with BM25 built for real over the synthetic text and
stand-in vectors (not the real model: embedding 10^5 passages takes too long); then the
vector index alone at up to 10^6 stand-in vectors: exact search vs HNSW vs IVF, with
recall@10 of the approximate indexes against exact search.

Writes a JSON report and a PNG plot and prints a table. ``--quick`` runs a small version.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .paths import ROOT

MODES = ("hybrid", "dense", "lexical")
STAGES = ("query_embedding", "dense_scores", "lexical_scores", "fusion", "answer_extraction")
DEFAULT_QUESTIONS = ROOT / "eval" / "questions.jsonl"
DEFAULT_OUT = ROOT / "eval" / "reports" / "bench.json"
COLD_QUESTION = "北约的三大核心任务是什么？"
EXACT_MS = 10.0  # exact search is "fast enough" below this p50
RECALL_TARGET = 0.95
TARGET_1M_MS = 20.0  # issue: at 10^6, retrieval p50 <= 20 ms with recall@10 >= 0.95
TARGET_E2E_MS = 100.0  # issue: at 10^5 synthetic end to end (BM25 included) p50 <= 100 ms
EF_SEARCH = (16, 32, 64, 128, 256, 512)
NPROBE = (8, 16, 32, 64, 128, 192, 256)

perf = time.perf_counter


# ---------------------------------------------------------------- small helpers


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def pct(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def summary_ms(seconds: Sequence[float]) -> dict:
    """p50/p95/mean/min of timings given in seconds, in milliseconds."""
    v = list(seconds)
    return {"p50": ms(pct(v, 50)), "p95": ms(pct(v, 95)), "mean": ms(float(np.mean(v))) if v else None,
            "min": ms(min(v)) if v else None, "n": len(v)}


def median_of_passes(passes: Sequence[Sequence[float]]) -> dict:
    """Summary of each pass, then the median of each statistic over passes."""
    per = [summary_ms(p) for p in passes]
    out = {k: round(statistics.median(s[k] for s in per), 3) for k in ("p50", "p95", "mean", "min")}
    out["n"] = per[0]["n"] if per else 0
    out["passes"] = len(per)
    out["per_pass_p50"] = [s["p50"] for s in per]
    return out


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float:
    """Current resident set size (MB); the lifetime peak where /proc is unavailable."""
    kb = _status_kb("VmRSS")
    return round((kb if kb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024, 1)


def peak_rss_mb() -> float:
    """Peak RSS since the last :func:`reset_peak` (Linux VmHWM), else of the whole process."""
    kb = _status_kb("VmHWM")
    return round((kb if kb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024, 1)


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter for this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def lifetime_peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


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


def timed(fn: Callable, *a, **kw) -> tuple[float, object]:
    t = perf()
    out = fn(*a, **kw)
    return perf() - t, out


# ---------------------------------------------------------------- part 1: real corpus

COLD_SNIPPET = r"""
import json, resource, sys, time
t0 = time.time()
from rag import Assistant
t1 = time.time()
a = Assistant.load()
t2 = time.time()
ans = a.ask(sys.argv[1])
t3 = time.time()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "first_ask_s": t3 - t2, "answered_at": t3,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "abstained": ans.abstained}))
"""


def cold_start(runs: int, question: str = COLD_QUESTION) -> dict:
    """A new Python process from exec to the first answer of ``Assistant.load().ask(...)``."""
    rows = []
    for _ in range(runs):
        start = time.time()
        proc = subprocess.run([sys.executable, "-c", COLD_SNIPPET, question], capture_output=True,
                              text=True, cwd=str(ROOT), timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"cold-start process failed: {proc.stderr.strip()[-500:]}")
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        child["total_s"] = child.pop("answered_at") - start
        rows.append(child)
    med = {k: round(statistics.median(r[k] for r in rows), 3)
           for k in ("total_s", "import_s", "load_s", "first_ask_s", "maxrss_mb")}
    return {"runs": len(rows), "median": med, "all_total_s": [round(r["total_s"], 3) for r in rows]}


def index_build(assistant) -> dict:
    """``Assistant.load(rebuild=True)`` into a temp dir with the already loaded model."""
    from .assistant import Assistant

    rss0 = rss_mb()
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        secs, _ = timed(Assistant.load, index_dir=Path(tmp) / "index", encoder=assistant.encoder,
                        rebuild=True, notice=lambda m: None)
    return {"seconds": round(secs, 3), "passages": len(assistant.passages),
            "sentences": len(assistant.sentences.sentences), "rss_growth_mb": round(rss_mb() - rss0, 1)}


def clear_query_cache(assistant) -> None:
    """Forget cached query vectors, so every timed ask() embeds its question."""
    cache = getattr(assistant.encoder, "cache", None)
    if cache is not None:
        cache.clear()


def ask_latency(assistant, questions: Sequence[str], passes: int, modes: Sequence[str] = MODES) -> dict:
    """``ask()`` latency per mode: each pass asks every question once per mode, with the
    query-vector cache cleared before each call; then hybrid again with the cache warm
    (a repeated question)."""
    for m in modes:  # warm-up (first calls allocate, fill caches)
        assistant.ask(questions[0], mode=m)
    times: dict[str, list[list[float]]] = {m: [] for m in modes}
    cached: list[list[float]] = []
    for _ in range(passes):
        for m in modes:
            row = []
            for q in questions:
                clear_query_cache(assistant)
                t = perf()
                assistant.ask(q, mode=m)
                row.append(perf() - t)
            times[m].append(row)
        if getattr(assistant.encoder, "cache", None) is not None:
            row = []
            for q in questions:
                assistant.ask(q)  # fills the cache
                t = perf()
                assistant.ask(q)
                row.append(perf() - t)
            cached.append(row)
    out = {m: median_of_passes(times[m]) for m in modes}
    if cached:
        out["hybrid_repeated_question"] = median_of_passes(cached)
    return out


def ask_stages(assistant, question: str) -> tuple[dict[str, float], np.ndarray]:
    """Seconds of each stage of a hybrid ``ask()`` (the same calls ``Assistant.ask`` makes)."""
    from . import answer as answering
    from .assistant import top_indices
    from .fusion import fuse
    from .question import check_options, clean_question
    from .records import Hit

    top_k, mode = check_options(5, "hybrid")
    text, notes = clean_question(question)
    clear_query_cache(assistant)
    t0 = perf()
    vec = assistant.encoder.encode_queries([text])[0]
    t1 = perf()
    sims = assistant.similarities(vec)
    dense = assistant.dense_scores(vec, sims)
    t2 = perf()
    lexical = assistant.lexical.scores(text)
    t3 = perf()
    s = fuse(dense, lexical)
    order = top_indices(s, top_k)
    hits = [Hit(assistant.passages[i], float(s[i])) for i in order]
    t4 = perf()
    answering.compose(question=text, hits=hits, mode=mode, notes=notes, assistant=assistant, query_vec=vec,
                      sims=sims)
    t5 = perf()
    return dict(zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True)), vec


def stage_breakdown(assistant, questions: Sequence[str], passes: int) -> tuple[dict, np.ndarray]:
    """Per-stage timings of hybrid ``ask()``; also returns the query vectors."""
    ask_stages(assistant, questions[0])
    per: dict[str, list[list[float]]] = {s: [] for s in STAGES}
    vecs = None
    for p in range(passes):
        rows = {s: [] for s in STAGES}
        pass_vecs = []
        for q in questions:
            st, vec = ask_stages(assistant, q)
            pass_vecs.append(vec)
            for s in STAGES:
                rows[s].append(st[s])
        for s in STAGES:
            per[s].append(rows[s])
        if p == 0:
            vecs = np.stack(pass_vecs).astype(np.float32)
    out = {s: median_of_passes(per[s]) for s in STAGES}
    total_mean = sum(out[s]["mean"] for s in STAGES)
    for s in STAGES:
        out[s]["share_of_mean"] = round(out[s]["mean"] / total_mean, 3) if total_mean else None
    out["sum_of_means_ms"] = round(total_mean, 3)
    return out, vecs


def real_corpus(assistant, questions: Sequence[str], passes: int, cold_runs: int, build: bool) -> tuple[dict, np.ndarray]:
    out: dict = {"passages": len(assistant.passages), "questions": len(questions)}
    if cold_runs:
        _log(f"cold start x{cold_runs} (new process each) ...")
        out["cold_start"] = cold_start(cold_runs)
    if build:
        _log("index build (rebuild into a temp dir, model loaded) ...")
        out["index_build"] = index_build(assistant)
    _log(f"ask() latency, {passes} pass(es) x {len(questions)} questions x {len(MODES)} modes ...")
    out["ask_ms"] = ask_latency(assistant, questions, passes)
    _log("hybrid ask() stage breakdown ...")
    out["stages_ms"], qvecs = stage_breakdown(assistant, questions, passes)
    out["peak_rss_mb"] = lifetime_peak_mb()
    return out, qvecs


# ---------------------------------------------------------------- part 2: scale


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
    from .answer import split_passages
    from .assistant import Assistant
    from .fusion import fuse
    from .index import EXACT_MAX, DenseIndex, make_faiss_index
    from .lexical import LexicalIndex, jieba_tokenizer
    from .question import clean_question
    from .synthetic import stand_in_vectors, synthetic_corpus

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
    k = min(10, n)
    faiss_threads(opts.faiss_threads)
    stages: dict[str, list[float]] = {s: [] for s in (
        "faiss_top10", "faiss_all_scores", "numpy_matvec", "best_sentence", "bm25", "fuse_topk",
        "retrieval", "library_search", "library_ask_without_encoder", "library_search_faiss_all_threads")}
    nq = min(len(cleaned), opts.scale_queries)
    for i in range(nq):
        text, q = cleaned[i], query_vecs[i].astype(np.float32)
        q2 = q.reshape(1, -1)
        stages["faiss_top10"].append(timed(index.search, q2, k)[0])
        t = perf()
        s, ids = index.search(q2, n)
        dense = np.full(n, -1.0, np.float32)
        dense[ids[0][ids[0] >= 0]] = s[0][ids[0] >= 0]
        stages["faiss_all_scores"].append(perf() - t)
        stages["numpy_matvec"].append(timed(np.dot, vecs, q)[0])
        t = perf()
        np.maximum.reduceat(svecs @ q, starts)
        stages["best_sentence"].append(perf() - t)
        secs, lex = timed(lexical.scores, text)
        stages["bm25"].append(secs)
        t = perf()
        f = fuse(dense, lex)
        np.argpartition(-f, k - 1)[:k] if k < n else np.argsort(-f)
        stages["fuse_topk"].append(perf() - t)
        # retrieval = dense FAISS scores + BM25 + fusion + top-k, as one block
        t = perf()
        s, ids = index.search(q2, n)
        dense = np.full(n, -1.0, np.float32)
        dense[ids[0][ids[0] >= 0]] = s[0][ids[0] >= 0]
        f = fuse(dense, lexical.scores(text))
        top = np.argpartition(-f, k - 1)[:k] if k < n else np.argsort(-f)
        top[np.argsort(-f[top])]
        stages["retrieval"].append(perf() - t)
        stages["library_search"].append(timed(a.search, text, 5, "hybrid", q)[0])
        stages["library_ask_without_encoder"].append(timed(a.ask, text)[0])
        faiss_threads(None)  # the library today: FAISS on every core, next to numpy's BLAS threads
        stages["library_search_faiss_all_threads"].append(timed(a.search, text, 5, "hybrid", q)[0])
        faiss_threads(opts.faiss_threads)
    faiss_threads(None)
    r["latency_ms"] = {s: summary_ms(v) for s, v in stages.items()}
    r["queries"] = nq
    r["memory_mb"]["rss_growth"] = round(rss_mb() - rss0, 1)
    r["memory_mb"]["peak_rss"] = peak_rss_mb()
    del a, lexical, index, vecs, svecs, corpus, tok
    gc.collect()
    return r


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

    from .index import IVF_REFINE, ivf_nlist, ivf_spec, make_faiss_index, make_ivf_index
    from .synthetic import perturbed_queries, stand_in_vectors

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
    from .index import EXACT_MAX
    from .lexical import jieba_tokenizer
    from .synthetic import seed_sentences

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
        _log(f"scale: {n:,} synthetic passages end to end ...")
        row = e2e_size(n, seed_passages, query_texts, query_vecs, reference, opts, template)
        row["jieba_unmemoized_estimate_s"] = round(row["chars"] / out["jieba_chars_per_s"], 1)
        out["e2e"].append(row)
        _log(f"  retrieval p50 {row['latency_ms']['retrieval']['p50']} ms, "
             f"library search p50 {row['latency_ms']['library_search']['p50']} ms")
    for n in opts.vector_sizes:
        what = "flat" + (" + HNSW" if n <= opts.hnsw_max else "") + (" + IVF" if opts.ivf and n >= 20_000 else "")
        _log(f"scale: {n:,} vectors, {what} ...")
        row = vector_size(n, query_vecs, reference, opts)
        out["vector_only"].append(row)
        _log(f"  flat p50 {row['flat_ms']['p50']} ms; HNSW {_chosen_str(row.get('hnsw'), 'efSearch')}; "
             f"IVF {_chosen_str(row.get('ivf'), 'nprobe')}")

    points = {r["passages"]: r["latency_ms"]["faiss_top10"]["p50"] for r in out["e2e"]}
    points.update({r["vectors"]: r["flat_ms"]["p50"] for r in out["vector_only"]})
    cross = crossover(list(points.items()), opts.exact_ms)
    rec: dict = {"exact_search": cross, "current_EXACT_MAX": EXACT_MAX,
                 "faiss_search_threads": opts.faiss_threads}
    allthr = [(r["vectors"], r["flat_ms_all_threads"]["p50"]) for r in out["vector_only"]]
    if len(allthr) >= 2:
        rec["exact_search_all_threads"] = crossover(allthr, opts.exact_ms)
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
            "met": lat["retrieval"]["p50"] <= TARGET_E2E_MS,
            "retrieval_p50_ms": lat["retrieval"]["p50"],
            "library_search_p50_ms": lat["library_search"]["p50"],
            "library_search_met": lat["library_search"]["p50"] <= TARGET_E2E_MS,
        }
    return out


# ---------------------------------------------------------------- output


def _e2e_table(sc: dict) -> list[str]:
    lines: list[str] = []
    lines.append("  end to end, p50 ms per query (p95 for retrieval); build s; memory MB (structures / peak RSS);"
                 f" FAISS searches on {sc['e2e'][0]['faiss_search_threads'] if sc['e2e'] else '?'} thread(s),"
                 " '(all thr)' = library search with FAISS on every core (today's default)")
    lines.append(f"  {'passages':>9} {'faiss10':>8} {'all-scr':>8} {'best-snt':>8} {'bm25':>6} {'fuse':>5}"
                 f" {'retrieval':>15} {'lib.search':>10} {'(all thr)':>9} {'ask-enc':>8} | {'bm25 b':>6} {'init':>5}"
                 f" | {'faiss':>5} {'bm25':>5} {'sent':>5} {'peak':>6}")
    for r in sc["e2e"]:
        L, B, M = r["latency_ms"], r["build_s"], r["memory_mb"]
        lines.append(
            f"  {r['passages']:>9,} {L['faiss_top10']['p50']:>8.2f} {L['faiss_all_scores']['p50']:>8.2f}"
            f" {L['best_sentence']['p50']:>8.2f} {L['bm25']['p50']:>6.2f} {L['fuse_topk']['p50']:>5.2f}"
            f" {L['retrieval']['p50']:>7.1f}/{L['retrieval']['p95']:<7.1f} {L['library_search']['p50']:>10.1f}"
            f" {L['library_search_faiss_all_threads']['p50']:>9.1f}"
            f" {L['library_ask_without_encoder']['p50']:>8.1f} | {B['bm25']:>6.1f} {B['assistant_init']:>5.1f}"
            f" | {M['faiss']:>5.0f} {M['bm25_matrix']:>5.0f} {M['sentence_vectors']:>5.0f} {M['peak_rss']:>6.0f}")
    return lines


def format_table(report: dict) -> str:
    lines: list[str] = []
    real = report.get("real")
    if real:
        lines.append(f"Real corpus: {real['passages']} passages, {real['questions']} questions")
        if "cold_start" in real:
            c = real["cold_start"]["median"]
            lines.append(f"  cold start (new process -> first answer, median of {real['cold_start']['runs']}): "
                         f"{c['total_s']:.2f} s  [import {c['import_s']:.2f} s, load {c['load_s']:.2f} s, "
                         f"first ask {c['first_ask_s']:.2f} s; peak RSS {c['maxrss_mb']:.0f} MB]")
        if "index_build" in real:
            b = real["index_build"]
            lines.append(f"  index build (model loaded): {b['seconds']:.2f} s for {b['passages']} passages "
                         f"+ {b['sentences']} sentences")
        lines.append(f"  {'ask() ms':<22}{'p50':>9}{'p95':>9}{'mean':>9}")
        for m, s in real["ask_ms"].items():
            lines.append(f"  {m:<22}{s['p50']:>9.1f}{s['p95']:>9.1f}{s['mean']:>9.1f}")
        lines.append(f"  {'hybrid stage ms':<22}{'p50':>9}{'p95':>9}{'mean':>9}{'share':>8}")
        for s in STAGES:
            v = real["stages_ms"][s]
            lines.append(f"  {s:<22}{v['p50']:>9.2f}{v['p95']:>9.2f}{v['mean']:>9.2f}{v['share_of_mean']:>8.0%}")
        lines.append(f"  {'sum of stage means':<22}{'':>18}{real['stages_ms']['sum_of_means_ms']:>9.2f}")
        lines.append(f"  peak RSS of this process: {real['peak_rss_mb']:.0f} MB")
    sc = report.get("scale")
    if sc:
        lines.append("")
        lines.append(f"Scale: {sc['note']}")
        if sc["e2e"]:
            lines.extend(_e2e_table(sc))
        lines.append("  vector index alone (single-query latency; recall@10 vs exact, min over the query sets)")
        lines.append("    vectors  index  build s  mem MB   setting   p50 ms  p95 ms  recall@10 min (real / perturbed)")
        for r in sc["vector_only"]:
            f = r["flat_ms"]
            lines.append(f"  {r['vectors']:>9,}  flat  {r['build_s']['flat']:>7.1f}  {r['memory_mb']['flat']:>6.0f}"
                         f"  {'exact':>8}  {f['p50']:>7.2f} {f['p95']:>7.2f}  1.0   (all {r['meta_cpus']} threads: p50 "
                         f"{r['flat_ms_all_threads']['p50']:.2f} ms; peak RSS {r['memory_mb']['peak_rss']:.0f} MB)")
            for name, pname in (("hnsw", "ef"), ("ivf", "nprobe")):
                sec = r.get(name)
                if not sec:
                    continue
                for row in sec["sweep"]:
                    mark = " <" if sec.get("chosen") and row["param"] == sec["chosen"]["param"] else ""
                    per = " / ".join(f"{row[k]:.3f}" for k in row if k.startswith("recall@10_") and k != "recall@10_min")
                    lines.append(f"  {'':>9}  {name:<4}  {r['build_s'][name]:>7.1f}  {r['memory_mb'][name]:>6.0f}"
                                 f"  {pname + '=' + str(row['param']):>8}  {row['latency_p50']:>7.2f}"
                                 f" {row['latency_p95']:>7.2f}  {row['recall@10_min']:.3f} ({per}){mark}")
        rec = sc["recommendation"]
        ex = rec["exact_search"]
        lines.append("")
        if "crossover_n" in ex:
            lines.append(f"Exact search p50 crosses {ex['threshold_ms']} ms at ~{ex['crossover_n']:,} vectors "
                         f"(fit {ex.get('fit_ms')}); recommend EXACT_MAX = {rec['EXACT_MAX']:,} "
                         f"(now {rec['current_EXACT_MAX']:,})")
        else:
            lines.append(f"Exact search vs {ex['threshold_ms']} ms: too few sizes for a fit {ex['points']}")
        if "exact_search_all_threads" in rec and "crossover_n" in rec["exact_search_all_threads"]:
            lines.append(f"  (with FAISS on all threads, as the library runs today: crosses at "
                         f"~{rec['exact_search_all_threads']['crossover_n']:,})")
        if "efSearch" in rec:
            lines.append(f"HNSW (M=32) at {rec['hnsw_measured_at']:,} vectors: smallest efSearch with recall@10 >= "
                         f"{RECALL_TARGET} on every query set: {rec['efSearch'] or 'none measured'}")
        for name, t in sc["targets"].items():
            lines.append(f"target {name}: {'MET' if t['met'] else 'NOT met'}  {json.dumps(t, ensure_ascii=False)}")
    lines.append("")
    m = report["meta"]
    lines.append(f"bench run time: {m['run_time_s']:.0f} s; query backend {m.get('query_backend')}; "
                 f"load average (1/5/15 min) at start {m.get('load_average_at_start')}, "
                 f"at end {m.get('load_average_at_end')} on {m['cpus']} CPUs")
    return "\n".join(lines)


def _tradeoff(cx, rows: list[dict]) -> None:
    """Recall@10 (min over query sets) against p50 latency for every approximate setting."""
    markers = {"hnsw": "o", "ivf": "s"}
    for j, r in enumerate(sorted(rows, key=lambda r: r["vectors"])):
        for name in ("hnsw", "ivf"):
            sec = r.get(name)
            if not sec:
                continue
            xs = [row["latency_p50"] for row in sec["sweep"]]
            ys = [row["recall@10_min"] for row in sec["sweep"]]
            pname = "ef" if name == "hnsw" else "nprobe"
            cx.plot(xs, ys, marker=markers[name], color=f"C{5 + j}", linestyle="-" if name == "hnsw" else "--",
                    label=f"{name.upper()} @ {r['vectors']:,} (build {r['build_s'][name]:.0f} s)")
            for row in sec["sweep"]:
                cx.annotate(f"{pname}={row['param']}", (row["latency_p50"], row["recall@10_min"]),
                            textcoords="offset points", xytext=(3, -9), fontsize=6)
        cx.plot([r["flat_ms"]["p50"]], [1.0], marker="*", markersize=11, color=f"C{5 + j}", linestyle="none",
                label=f"exact @ {r['vectors']:,}")
    cx.axhline(RECALL_TARGET, color="grey", linestyle="--", linewidth=0.8)
    cx.axvline(TARGET_1M_MS, color="grey", linestyle=":", linewidth=0.8)
    cx.text(TARGET_1M_MS, 0.05 + min(cx.get_ylim()[0], 0.9), " 20 ms", fontsize=7, color="grey")
    cx.set_xscale("log")
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    cx.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    cx.xaxis.set_minor_formatter(NullFormatter())
    cx.set_xlabel("p50 latency per query (ms, 1 FAISS thread)")
    cx.set_ylabel("recall@10 vs exact (worst query set)")
    cx.set_title("Approximate search: recall vs latency (target ≥ 0.95)", fontsize=10)
    cx.grid(True, which="both", alpha=0.25)
    cx.legend(fontsize=7, loc="lower right")


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sc = report.get("scale") or {}
    sweeps = [r for r in sc.get("vector_only", []) if r.get("hnsw") or r.get("ivf")]
    real = report.get("real")
    panels = 1 + bool(sweeps) + bool(real)
    fig, axes = plt.subplots(1, panels, figsize=(7 * panels, 5.8),
                             gridspec_kw={"width_ratios": [1.4, 1, 1][:panels]}, squeeze=False)
    axes = list(axes[0])
    ax = axes[0]
    if sweeps:
        _tradeoff(axes[1], sweeps)
    e2e = sc.get("e2e", [])
    vo = sc.get("vector_only", [])
    if e2e or vo:
        def line(xs, ys, label, **kw):
            if xs:
                ax.plot(xs, ys, marker="o", label=label, **kw)

        xs = [r["passages"] for r in e2e]
        lat = [r["latency_ms"] for r in e2e]
        exact_by_n = {r["passages"]: r["latency_ms"]["faiss_top10"]["p50"] for r in e2e}
        exact_by_n.update({r["vectors"]: r["flat_ms"]["p50"] for r in vo})  # vector-only run wins
        exact = sorted(exact_by_n.items())
        line([p[0] for p in exact], [p[1] for p in exact], "exact FAISS top-10 (flat, 1 thread)", color="C0")
        allthr = [(r["vectors"], r["flat_ms_all_threads"]["p50"]) for r in vo if "flat_ms_all_threads" in r]
        line([p[0] for p in allthr], [p[1] for p in allthr], "exact FAISS, all threads (library default)",
             color="C0", linestyle="--", alpha=0.6)
        line(xs, [v["retrieval"]["p50"] for v in lat], "retrieval: FAISS all scores + BM25 + fusion", color="C1")
        line(xs, [v["library_search"]["p50"] for v in lat], "Assistant.search (library code, FAISS 1 thread)",
             color="C3", linestyle="--")
        line(xs, [v["library_search_faiss_all_threads"]["p50"] for v in lat],
             "Assistant.search (library as is: FAISS all threads)", color="C3", alpha=0.45)
        line(xs, [v["library_ask_without_encoder"]["p50"] for v in lat], "Assistant.ask minus query embedding",
             color="C4", linestyle=":")
        line(xs, [v["bm25"]["p50"] for v in lat], "BM25 scoring only", color="C2")
        for name, color, pname in (("hnsw", "C5", "ef"), ("ivf", "C6", "nprobe")):
            pts = [(r["vectors"], r[name]["chosen"]) for r in vo if r.get(name) and r[name].get("chosen")]
            if pts:
                ax.plot([p[0] for p in pts], [p[1]["latency_p50"] for p in pts], marker="s", linestyle="none",
                        color=color, markersize=8,
                        label=f"{name.upper()} at recall@10≥{RECALL_TARGET} ("
                        + ", ".join(f"{pname}={p[1]['param']}" for p in pts) + ")")
                for n, c in pts:
                    ax.annotate(f"{c['latency_p50']:.1f} ms\nR={c['recall@10_min']:.2f}", (n, c["latency_p50"]),
                                textcoords="offset points", xytext=(6, -18), fontsize=7, color=color)
        ax.axhline(EXACT_MS, color="grey", linewidth=0.8, linestyle="--")
        ax.axhline(TARGET_1M_MS, color="grey", linewidth=0.8, linestyle=":")
        ax.axhline(TARGET_E2E_MS, color="grey", linewidth=0.8, linestyle="-.")
        ax.text(min(p[0] for p in exact), EXACT_MS * 1.05, "10 ms", fontsize=7,
                color="grey")
        ax.text(min(p[0] for p in exact), TARGET_1M_MS * 1.05, "20 ms (10^6 target)", fontsize=7, color="grey")
        ax.text(min(p[0] for p in exact), TARGET_E2E_MS * 1.05, "100 ms (10^5 e2e target)", fontsize=7,
                color="grey")
        cross = sc.get("recommendation", {}).get("exact_search", {}).get("crossover_n")
        if cross:
            ax.axvline(cross, color="C0", linewidth=0.8, alpha=0.5)
            ax.text(cross, EXACT_MS / 3, f" exact > 10 ms\n at ~{cross:,}",
                    fontsize=7, color="C0")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("corpus size (passages / vectors)")
        ax.set_ylabel("p50 latency per query (ms)")
        ax.set_title("Scale curve (stand-in vectors, real BM25 over synthetic text)", fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
    else:
        ax.set_axis_off()

    if real:
        bx = axes[-1]
        st = real["stages_ms"]
        left = 0.0
        for i, s in enumerate(STAGES):
            w = st[s]["mean"]
            bx.barh([1], [w], left=left, color=f"C{i}", label=f"{s} {w:.1f} ms")
            if w > 0.06 * st["sum_of_means_ms"]:
                bx.text(left + w / 2, 1, f"{w:.1f}", ha="center", va="center", fontsize=8, color="white")
            left += w
        modes = list(real["ask_ms"])
        for j, m in enumerate(modes):
            v = real["ask_ms"][m]
            bx.barh([-j * 0.6 - 0.2], [v["p50"]], height=0.45, color="lightgrey", edgecolor="grey")
            bx.text(v["p50"], -j * 0.6 - 0.2, f" {m} ask() p50 {v['p50']:.1f} / p95 {v['p95']:.1f} ms",
                    va="center", fontsize=8)
        bx.set_yticks([1], ["hybrid ask()\nstage means"])
        bx.set_xlabel("ms")
        bx.set_xlim(0, max(left, max(real["ask_ms"][m]["p95"] for m in modes)) * 1.7)
        bx.set_title(f"Real corpus ({real['passages']} passages): where ask() time goes", fontsize=10)
        bx.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- entry point


def _loadavg() -> list[float] | None:
    """1/5/15-minute load averages (other jobs on the machine make timings noisy)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _ints(text: str) -> list[int]:
    return [int(float(x)) for x in text.replace("_", "").split(",") if x.strip()]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="small version (~1 min): 1 pass, 1 cold start, 10^3 end to end, 2*10^4 vectors")
    p.add_argument("--sizes", type=_ints, default=None,
                   help="synthetic corpus sizes end to end, e.g. 1000,10000,100000 (default)")
    p.add_argument("--vector-sizes", type=_ints, default=None,
                   help="vector-only sizes, e.g. 100000,1000000 (default)")
    p.add_argument("--hnsw-max", type=int, default=None,
                   help="build HNSW only up to this many vectors (default 0: the library uses IVF past "
                        "rag.index.EXACT_MAX; HNSW over 10^5 x 384 takes ~40-150 s and over 10^6 ~10 min on 2 "
                        "cores, so it stays out of the default run; pass 100000 or 1000000 to measure it)")
    p.add_argument("--no-ivf", dest="ivf", action="store_false", help="skip the IVF index")
    p.add_argument("--scale-only", action="store_true", help="skip the real-corpus part")
    p.add_argument("--no-scale", action="store_true", help="skip the scale part")
    p.add_argument("--passes", type=int, default=None, help="ask() passes over the questions (default 3)")
    p.add_argument("--cold-runs", type=int, default=None, help="cold-start processes (default 3)")
    p.add_argument("--no-build", dest="build", action="store_false", help="skip the index build timing")
    p.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    p.add_argument("--vectors", choices=("fitted", "uniform"), default="fitted",
                   help="stand-in vectors: Gaussian fitted to the real e5 sentence vectors (default) or "
                        "uniform random unit vectors (worst case for approximate search)")
    p.add_argument("--dim", type=int, default=384, help="dimension of uniform stand-in vectors")
    p.add_argument("--scale-queries", type=int, default=40, help="queries per end-to-end size")
    p.add_argument("--ann-queries", type=int, default=100, help="queries per set (real, perturbed) for recall")
    p.add_argument("--flat-queries", type=int, default=30, help="single queries timed on the flat index")
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--ef-construction", type=int, default=80, help="default 80, as rag/index.py builds it")
    p.add_argument("--faiss-threads", type=int, default=1,
                   help="FAISS threads for single-query search (default 1: on 2 cores, 2 threads are slower "
                        "and fight numpy's BLAS threads; the all-core numbers are reported next to it)")
    p.add_argument("--ef-search", type=_ints, default=list(EF_SEARCH))
    p.add_argument("--nprobe", type=_ints, default=list(NPROBE))
    p.add_argument("--nlist", type=int, default=0, help="IVF lists (default ~sqrt(N), a power of 2)")
    p.add_argument("--exact-ms", type=float, default=EXACT_MS, help="exact search is fast enough below this p50")
    p.add_argument("--no-token-memo", dest="token_memo", action="store_false",
                   help="segment every synthetic passage with jieba (slow at 10^5) instead of per distinct sentence")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON report (the PNG goes next to it)")
    p.add_argument("--plot", type=Path, default=None, help="PNG path (default: --out with .png)")
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = parser().parse_args(argv)
    q = args.quick
    if args.sizes is None:
        args.sizes = [1_000] if q else [1_000, 10_000, 100_000]
    if args.vector_sizes is None:
        args.vector_sizes = [20_000] if q else [100_000, 1_000_000]
    if args.hnsw_max is None:
        args.hnsw_max = 0
    if args.passes is None:
        args.passes = 1 if q else 3
    if args.cold_runs is None:
        args.cold_runs = 1 if q else 3
    if q:
        args.scale_queries = min(args.scale_queries, 20)
        args.ann_queries = min(args.ann_queries, 30)
        args.flat_queries = min(args.flat_queries, 10)
    if args.plot is None:
        args.plot = args.out.with_suffix(".png")
    return args


def run(args: argparse.Namespace, assistant=None) -> dict:
    """Run the benchmark; ``assistant`` (e.g. one with a fake encoder) skips loading the real one."""
    import faiss

    from .evaluate import load_questions

    t_start = perf()
    report: dict = {"meta": {
        "argv": sys.argv[1:], "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
        "faiss": faiss.__version__, "numpy": np.__version__, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "load_average_at_start": _loadavg(),
    }}
    questions = [row["question"] for row in load_questions(args.questions)]
    if assistant is None:
        from .assistant import Assistant

        _log("loading the assistant (real model, default index) ...")
        secs, assistant = timed(Assistant.load)
        report["meta"]["assistant_load_s"] = round(secs, 3)
    report["meta"]["model_id"] = getattr(assistant.encoder, "model_id", "?")
    report["meta"]["query_backend"] = getattr(assistant.encoder, "backend", "?")
    if report["meta"]["query_backend"] != "torch":
        from .onnxquery import threads

        report["meta"]["onnx_threads"] = threads()

    qvecs = None
    if not args.scale_only:
        report["real"], qvecs = real_corpus(assistant, questions, args.passes, args.cold_runs, args.build)
    if not args.no_scale:
        if qvecs is None:
            from .question import clean_question

            qvecs = assistant.encoder.encode_queries([clean_question(q)[0] for q in questions])
        reference = getattr(getattr(assistant, "sentences", None), "vectors", None)
        reference = reference if args.vectors == "fitted" and reference is not None and len(reference) > 1 else None
        report["scale"] = scale(assistant.passages, questions, np.asarray(qvecs, np.float32), reference, args,
                                template=assistant)
    report["meta"]["run_time_s"] = round(perf() - t_start, 1)
    report["meta"]["load_average_at_end"] = _loadavg()
    report["meta"]["lifetime_peak_rss_mb"] = lifetime_peak_mb()
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    plot(report, args.plot)
    print(format_table(report))
    print(f"\nwrote {args.out} and {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
