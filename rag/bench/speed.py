"""`rag bench`: speed, build time and memory on the real corpus, and a scale curve.

Part 1 (real corpus, real model), in this module: cold start in a fresh process, index build
time, ``ask()`` p50/p95 per mode, the hybrid ``ask()`` split into its stages, peak RSS.

Part 2 (scale), in :mod:`rag.bench.scale`: synthetic corpora of real sentences recombined
(``rag/synthetic.py``) at 10^3..10^5 passages, end to end with BM25 built for real over the
synthetic text and stand-in vectors (not the real model: embedding 10^5 passages takes too
long); then the vector index alone at up to 10^6 stand-in vectors: exact search vs HNSW vs
IVF, with recall@10 of the approximate indexes against exact search.

This module is also the command: it writes a JSON report and a PNG plot and prints a table.
``--quick`` runs a small version.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.bench.scale import EF_SEARCH, EXACT_MS, NPROBE, RECALL_TARGET, TARGET_1M_MS, TARGET_E2E_MS, scale
from rag.bench.util import lifetime_peak_mb, log, perf, rss_mb, summary_ms, timed
from rag.paths import ROOT

MODES = ("hybrid", "dense", "lexical")
STAGES = ("query_embedding", "dense_scores", "lexical_scores", "fusion", "answer_extraction")
DEFAULT_QUESTIONS = ROOT / "eval" / "questions.jsonl"
DEFAULT_OUT = ROOT / "eval" / "reports" / "bench.json"
COLD_QUESTION = "北约的三大核心任务是什么？"


# ---------------------------------------------------------------- part 1: real corpus


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
    from rag.assistant import top_indices
    from rag.question import check_options, clean_question
    from rag.records import Hit
    from rag.retrieval.fusion import fuse

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
    compose(question=text, hits=hits, mode=mode, notes=notes, corpus=assistant.corpus, query_vec=vec,
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


# ---------------------------------------------------------------- output


def _e2e_table(sc: dict) -> list[str]:
    lines: list[str] = []
    lines.append("  end to end, p50 ms per query (p95 for exact); build s; memory MB (structures / peak RSS);"
                 " 'exact' = every passage and sentence scored + BM25 + fusion + top-k; 'index' = the library's"
                 " index (past EXACT_MAX it scores candidates only); 'ask-enc' = Assistant.ask minus the query embedding")
    lines.append(f"  {'passages':>9} {'index':>14} {'faiss10':>8} {'matvec':>7} {'best-snt':>8} {'bm25':>6} {'fuse':>5}"
                 f" {'exact':>15} {'lib.search':>10} {'ask-enc':>8} | {'bm25 b':>6} {'init':>5}"
                 f" | {'faiss':>5} {'bm25':>5} {'sent':>5} {'peak':>6}")
    for r in sc["e2e"]:
        L, B, M = r["latency_ms"], r["build_s"], r["memory_mb"]
        kind = "exact" if r.get("exact") else r.get("faiss_type", "?").replace("Index", "")
        lines.append(
            f"  {r['passages']:>9,} {kind[:14]:>14} {L['faiss_top10']['p50']:>8.2f} {L['numpy_matvec']['p50']:>7.2f}"
            f" {L['best_sentence']['p50']:>8.2f} {L['bm25']['p50']:>6.2f} {L['fuse_topk']['p50']:>5.2f}"
            f" {L['exact_retrieval']['p50']:>7.1f}/{L['exact_retrieval']['p95']:<7.1f} {L['library_search']['p50']:>10.1f}"
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
        line([p[0] for p in allthr], [p[1] for p in allthr], "exact FAISS top-10, 2 threads",
             color="C0", linestyle="--", alpha=0.6)
        line(xs, [v["exact_retrieval"]["p50"] for v in lat], "exact retrieval: all passages + sentences, BM25, fusion",
             color="C1")
        line(xs, [v["library_search"]["p50"] for v in lat], "Assistant.search (candidates past EXACT_MAX)",
             color="C3", linestyle="--")
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

    from rag.evaluation.evaluate import load_questions

    t_start = perf()
    report: dict = {"meta": {
        "argv": sys.argv[1:], "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
        "faiss": faiss.__version__, "numpy": np.__version__, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "load_average_at_start": _loadavg(),
    }}
    questions = [row["question"] for row in load_questions(args.questions)]
    if assistant is None:
        from rag.assistant import Assistant

        log("loading the assistant (real model, default index) ...")
        secs, assistant = timed(Assistant.load)
        report["meta"]["assistant_load_s"] = round(secs, 3)
    report["meta"]["model_id"] = getattr(assistant.encoder, "model_id", "?")
    report["meta"]["query_backend"] = getattr(assistant.encoder, "backend", "?")
    if report["meta"]["query_backend"] != "torch":
        from rag.models.onnxquery import threads

        report["meta"]["onnx_threads"] = threads()

    qvecs = None
    if not args.scale_only:
        report["real"], qvecs = real_corpus(assistant, questions, args.passes, args.cold_runs, args.build)
    if not args.no_scale:
        if qvecs is None:
            from rag.question import clean_question

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
