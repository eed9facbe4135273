"""`rag bench`: speed, build time and memory on the real corpus, and a scale curve.

Part 1 (real corpus, real model), in :mod:`rag.bench.speed`: cold start in a fresh process,
index build time, ``ask()`` p50/p95 per mode, the hybrid ``ask()`` split into its stages, peak
RSS.

Part 2 (scale), in :mod:`rag.bench.scale`: synthetic corpora of real sentences recombined
(``rag/synthetic.py``) at 10^3..10^5 passages, end to end with BM25 built for real over the
synthetic text and stand-in vectors (not the real model: embedding 10^5 passages takes too
long); then the vector index alone at up to 10^6 stand-in vectors: exact search vs HNSW vs
IVF, with recall@10 of the approximate indexes against exact search.

This module is the command (argument parsing, running both parts, run metadata): it writes a
JSON report and a PNG plot and prints a table (both from :mod:`rag.bench.report`).
``--quick`` runs a small version.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from rag.bench.report import format_table, plot
from rag.bench.scale import EF_SEARCH, EXACT_MS, NPROBE, scale
from rag.bench.speed import real_corpus
from rag.bench.util import lifetime_peak_mb, log, perf, timed
from rag.paths import ROOT

DEFAULT_QUESTIONS = ROOT / "eval" / "questions.jsonl"
DEFAULT_OUT = ROOT / "eval" / "reports" / "bench.json"


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
