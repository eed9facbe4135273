"""`rag bench-add`: what adding one 20-page document costs, and that removing it restores the seed results.

Works on throwaway copies (a temp copy of the built index, an empty temp library), so the
user's own index and library are never touched. The document is a PDF made with reportlab
(a dev dependency) from real sentences of the seed corpus recombined into numbered paragraphs
under headings, about 600 characters a page. Measured: the whole `add` (file checks, copy,
parse, embed, index write, reload) against the time the same encoder takes to embed just the
new passages and sentences (the passage model is loaded first and timed apart: a process that
answers questions has only the ONNX query model loaded); then the eval set is run before adding and after removing, and the
two runs must agree question by question.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rag.paths import ROOT

DEFAULT_OUT = ROOT / "eval" / "reports" / "add.json"
PAGE_CHARS = 600
OVERHEAD_TARGET_S = 2.0


def make_pdf(path: Path, sentences: list[str], pages: int = 20, seed: int = 0) -> dict:
    """A ``pages``-page Chinese PDF of numbered paragraphs built from ``sentences``."""
    import numpy as np
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    rng = np.random.default_rng(seed)
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle("合成测试文件：北极与太空安全白皮书")
    width, height = A4
    number, chars, paragraphs = 0, 0, 0
    for page in range(pages):
        y = height - 60
        c.setFont("STSong-Light", 14)
        c.drawString(60, y, f"第{page + 1}章 合成章节")
        y -= 30
        c.setFont("STSong-Light", 10.5)
        written = 0
        while written < PAGE_CHARS and y > 120:
            number += 1
            text = f"{number}. " + "".join(sentences[i] for i in rng.integers(0, len(sentences), 2))
            line_chars = 40
            for a in range(0, len(text), line_chars):
                c.drawString(60, y, text[a:a + line_chars])
                y -= 16
            y -= 10
            written += len(text)
            paragraphs += 1
        chars += written
        c.drawString(width / 2, 40, str(page + 1))
        c.showPage()
    c.save()
    return {"pages": pages, "characters": chars, "numbered_paragraphs": paragraphs}


def comparable(report: dict) -> dict:
    """An eval report without timings, for before/after comparison."""
    out = {}
    for mode, data in report["modes"].items():
        metrics = {k: v for k, v in data["metrics"].items() if not k.endswith("_ms")}
        out[mode] = {"metrics": metrics, "rows": data["rows"]}
    return out


def run(args: argparse.Namespace) -> dict:
    from rag.assistant import Assistant
    from rag.bench.synthetic import seed_sentences
    from rag.documents.context import embedding_texts
    from rag.evaluation import evaluate
    from rag.text.sentences import split_passages

    quiet = lambda m: None  # noqa: E731
    base = Assistant.load(progress=True)
    work = Path(tempfile.mkdtemp(prefix="rag-bench-add-"))
    try:
        index_copy = work / "index"
        shutil.copytree(base.paths["index"], index_copy)
        a = Assistant.load(index_dir=index_copy, library_dir=work / "library", encoder=base.encoder, notice=quiet)
        questions = evaluate.load_questions(Path(args.questions))
        print(f"eval before adding ({len(questions)} questions) …", file=sys.stderr)
        before = evaluate.run(a, questions, k=10)
        pdf = work / "synthetic-20-pages.pdf"
        doc = make_pdf(pdf, seed_sentences(a.passages), pages=args.pages)
        # Questions use the ONNX model; passages need the torch one, loaded on first use in a
        # process: timed apart, so that both sides of the comparison have it loaded.
        t_load = time.perf_counter()
        a.encoder.encode_passages(["预热"])
        passage_model_s = time.perf_counter() - t_load

        t0 = time.perf_counter()
        entry = a.library().add(pdf, taken_ids=a.seed_ids())
        b = a.reloaded(notice=quiet)
        add_s = time.perf_counter() - t0
        new = [p for p in b.passages if p.doc_id == entry["doc_id"]]
        texts = embedding_texts(new)
        sentences = [s.text for s in split_passages(new)]
        embed_runs = []
        for _ in range(args.repeat):
            t1 = time.perf_counter()
            a.encoder.encode_passages(texts)
            a.encoder.encode_passages(sentences)
            embed_runs.append(time.perf_counter() - t1)
        embed_s = statistics.median(embed_runs)

        t2 = time.perf_counter()
        b.library().remove(entry["doc_id"])
        c = b.reloaded(notice=quiet)
        remove_s = time.perf_counter() - t2
        print("eval after adding and removing …", file=sys.stderr)
        after = evaluate.run(c, questions, k=10)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    same = comparable(before) == comparable(after)
    return {
        "document": {**doc, "passages": len(new), "sentences": len(sentences), "doc_id": entry["doc_id"]},
        "seed_passages": len(a.passages),
        "add_s": round(add_s, 3),
        "embed_new_s": round(embed_s, 3),
        "overhead_s": round(add_s - embed_s, 3),
        "overhead_target_s": OVERHEAD_TARGET_S,
        "overhead_ok": add_s - embed_s < OVERHEAD_TARGET_S,
        "remove_s": round(remove_s, 3),
        "passage_model_load_s": round(passage_model_s, 3),
        "eval_identical_after_remove": same,
        "hybrid_before": {k: v for k, v in before["modes"]["hybrid"]["metrics"].items() if not k.endswith("_ms")},
        "model_id": a.encoder.model_id,
    }


def format_report(r: dict) -> str:
    d = r["document"]
    return "\n".join([
        f"document: {d['pages']} pages, {d['characters']} characters, {d['passages']} passages, "
        f"{d['sentences']} sentences (seed index: {r['seed_passages']} passages)",
        f"add (check, copy, parse, embed, write, reload): {r['add_s']:.2f} s",
        f"embedding its passages and sentences alone:     {r['embed_new_s']:.2f} s",
        f"overhead: {r['overhead_s']:.2f} s (target < {r['overhead_target_s']:.0f} s: "
        f"{'met' if r['overhead_ok'] else 'NOT met'})",
        f"remove + reload: {r['remove_s']:.2f} s",
        f"(before: loading the passage embedding model, once per process: {r['passage_model_load_s']:.2f} s)",
        f"eval on the seed questions identical after add + remove: {r['eval_identical_after_remove']}",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="rag bench-add", description=__doc__.splitlines()[0])
    p.add_argument("--pages", type=int, default=20)
    p.add_argument("--repeat", type=int, default=3, help="embedding timing repeats (median)")
    p.add_argument("--questions", default=str(ROOT / "eval" / "questions.jsonl"))
    p.add_argument("--out", default=str(DEFAULT_OUT))
    args = p.parse_args(argv)
    report = run(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(format_report(report))
    print(f"\nreport: {out}")
    return 0 if report["overhead_ok"] and report["eval_identical_after_remove"] else 1
