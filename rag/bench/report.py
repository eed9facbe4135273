"""The output of `rag bench`: the report as a text table and as a PNG plot.

:func:`format_table` turns the JSON report (``real``, ``scale`` and ``meta`` sections) into
the table the command prints; :func:`plot` draws the scale curve, the recall/latency
trade-off of the approximate indexes and where the real ``ask()`` time goes.
"""

from __future__ import annotations

import json
from pathlib import Path

from rag.bench.scale import EXACT_MS, RECALL_TARGET, TARGET_1M_MS, TARGET_E2E_MS
from rag.bench.speed import STAGES


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
