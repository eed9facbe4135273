"""The real-corpus part of `rag bench`: measurements with the real model on the real corpus.

Cold start in a fresh process, index build time, ``ask()`` p50/p95 per mode (query-vector
cache cleared before each call, then a repeated question with it warm), the hybrid ``ask()``
split into its stages, peak RSS. :func:`real_corpus` runs them all and returns the report's
``real`` section (plus the query vectors, which the scale part reuses).

The scale part is :mod:`rag.bench.scale`; :mod:`rag.bench.report` prints and plots the
report; :mod:`rag.bench.run` is the command.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.bench.util import lifetime_peak_mb, log, perf, rss_mb, summary_ms, timed
from rag.paths import ROOT

MODES = ("hybrid", "dense", "lexical")
STAGES = ("query_embedding", "dense_scores", "lexical_scores", "fusion", "reader", "answer_extraction")
COLD_QUESTION = "北约的三大核心任务是什么？"


def median_of_passes(passes: Sequence[Sequence[float]]) -> dict:
    """Summary of each pass, then the median of each statistic over passes."""
    per = [summary_ms(p) for p in passes]
    out = {k: round(statistics.median(s[k] for s in per), 3) for k in ("p50", "p95", "mean", "min")}
    out["n"] = per[0]["n"] if per else 0
    out["passes"] = len(per)
    out["per_pass_p50"] = [s["p50"] for s in per]
    return out


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
    from rag.assistant import Assistant

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
    from rag.answers.compose import compose
    from rag.question import check_options, clean_question
    from rag.records import Hit
    from rag.retrieval.fusion import fuse, top_indices

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
    reading = assistant.read(text, hits)
    t5 = perf()
    compose(question=text, hits=hits, mode=mode, notes=notes, corpus=assistant.corpus, query_vec=vec,
            sims=sims, model=assistant.answer_model, reading=reading)
    t6 = perf()
    return dict(zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True)), vec


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
        log(f"cold start x{cold_runs} (new process each) ...")
        out["cold_start"] = cold_start(cold_runs)
    if build:
        log("index build (rebuild into a temp dir, model loaded) ...")
        out["index_build"] = index_build(assistant)
    log(f"ask() latency, {passes} pass(es) x {len(questions)} questions x {len(MODES)} modes ...")
    out["ask_ms"] = ask_latency(assistant, questions, passes)
    log("hybrid ask() stage breakdown ...")
    out["stages_ms"], qvecs = stage_breakdown(assistant, questions, passes)
    out["peak_rss_mb"] = lifetime_peak_mb()
    return out, qvecs
