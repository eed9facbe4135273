"""Evaluation: pure metric functions over plain data, and a runner that calls the assistant."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rag.question import MODES
from rag.text.normalize import squash

KS = (1, 3, 5, 10)


def load_questions(path: Path) -> list[dict]:
    """Read a JSONL question set (one object per line: ``id``, ``question``, ``evidence``, and
    optionally ``answers``: short gold answers the quote must hold, as in SQuAD-style sets).

    Raises ValueError naming the file and line for anything :func:`run` could not use:
    a line that is not a JSON object, a missing or empty id or question, evidence that is
    not a list of strings, a repeated id, or no question at all.
    """
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except ValueError as e:
            raise ValueError(f"{where}: not JSON ({e})") from None
        if not isinstance(row, dict):
            raise ValueError(f"{where}: not a JSON object")
        for key in ("id", "question"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise ValueError(f"{where}: {key!r} must be a non-empty string")
        evidence = row.get("evidence", [])
        if not isinstance(evidence, list) or not all(isinstance(e, str) and e.strip() for e in evidence):
            raise ValueError(f"{where}: 'evidence' must be a list of non-empty strings")
        answers = row.get("answers", [])
        if not isinstance(answers, list) or not all(isinstance(e, str) and e.strip() for e in answers):
            raise ValueError(f"{where}: 'answers' must be a list of non-empty strings")
        if row["id"] in seen:
            raise ValueError(f"{where}: id {row['id']!r} already used on line {seen[row['id']]}")
        seen[row["id"]] = n
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no questions")
    return rows


def load_question_sets(paths: Sequence[Path]) -> list[dict]:
    """Several question sets as one (ids must be unique across them); with more than one,
    each question's ``set`` is its file's name without the extension (:func:`groups`)."""
    rows: list[dict] = []
    where: dict[str, Path] = {}
    for path in paths:
        for row in load_questions(path):
            if row["id"] in where:
                raise ValueError(f"{path}: id {row['id']!r} is also in {where[row['id']]}")
            where[row["id"]] = path
            rows.append({**row, "set": Path(path).stem} if len(paths) > 1 else row)
    return rows


def relevance(texts: Sequence[str], evidence: Sequence[str]) -> list[bool]:
    """For each retrieved text, whether it contains any evidence span (whitespace ignored)."""
    spans = [squash(e) for e in evidence]
    return [any(s in squash(t) for s in spans) for t in texts]


def gold_passages(texts: Sequence[str], evidence: Sequence[str]) -> list[int]:
    """Positions of the texts that hold an evidence span (none without evidence)."""
    return [i for i, r in enumerate(relevance(texts, evidence)) if r] if evidence else []


def reciprocal_rank(rel: Sequence[bool]) -> float:
    return next((1.0 / (i + 1) for i, r in enumerate(rel) if r), 0.0)


def ndcg(rel: Sequence[bool], n_relevant: int, k: int = 10) -> float:
    """Binary-relevance nDCG@k; ``n_relevant`` is how many relevant passages exist."""
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(rel[:k]) if r)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(n_relevant, k)))
    return dcg / ideal if ideal else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))] if s else 0.0


def retrieval_metrics(rows: Sequence[dict]) -> dict:
    """hit@k, MRR and nDCG@10 averaged over rows with keys ``rel`` and ``n_relevant``."""
    n = len(rows) or 1
    out = {f"hit@{k}": sum(any(r["rel"][:k]) for r in rows) / n for k in KS}
    out["mrr"] = sum(reciprocal_rank(r["rel"]) for r in rows) / n
    out["ndcg@10"] = sum(ndcg(r["rel"], r["n_relevant"]) for r in rows) / n
    return out


def quoted_text(answer) -> str:
    """The verbatim sentences an answer quotes, joined (markers excluded)."""
    return "".join(c.text[a:b] for c in answer.citations for a, b in c.spans)


def quote_and_citation(answer, evidence: Sequence[str], answers: Sequence[str] = ()) -> tuple[bool, bool]:
    """Whether an answer's quote holds the evidence (or, for SQuAD-style sets, one of the short
    gold ``answers``) and whether a cited paragraph holds the evidence; both False when it
    abstained or there is no evidence."""
    if not evidence or answer.abstained:
        return False, False
    return (any(relevance([quoted_text(answer)], answers or evidence)),
            any(relevance([c.text for c in answer.citations], evidence)))


def answer_metrics(rows: Sequence[dict]) -> dict:
    """Answer quality from per-question rows (keys: answerable, abstained, contains, cited, length)."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    answered = [r for r in ans if not r["abstained"]]
    return {
        "answer_contains_evidence": sum(r["contains"] for r in ans) / (len(ans) or 1),
        "citation_accuracy": sum(r["cited"] for r in ans) / (len(ans) or 1),
        "unanswerable_rejected": sum(r["abstained"] for r in una) / (len(una) or 1),
        "answerable_rejected": sum(r["abstained"] for r in ans) / (len(ans) or 1),
        "mean_answer_chars": sum(r["length"] for r in answered) / (len(answered) or 1),
        **{f"answerable_rejected_{lang}": (sum(r["abstained"] for r in mine) / len(mine) if mine else None)
           for lang in ("zh", "en") for mine in [[r for r in ans if r.get("lang") == lang]]},
        "span_f1": (sum(f1s) / len(f1s) if (f1s := [r["span_f1"] for r in ans if r.get("span_f1") is not None])
                    else None),
        "answerable": len(ans),
        "unanswerable": len(una),
    }


def run(assistant, questions: Sequence[dict], modes: Sequence[str] = MODES, k: int = 10) -> dict:
    """Ask every question in every mode; return the report (metrics + per-question rows).

    Every question is answered with the answer model's threshold at 0 and refused afterwards
    when its answerability is below the real threshold: the same answers as a plain ask, and
    each row also records what the quote would have been (``would_contain``), which the
    calibration curve (:func:`calibration`) needs.
    """
    all_texts = [p.text for p in assistant.passages]
    report: dict = {"questions": len(questions), "passages": len(all_texts), "modes": {}}
    model = assistant.answer_model
    assistant.answer_model = replace(model, threshold=0.0)
    try:
        for mode in modes:
            rows, latencies = [], []
            cache = getattr(assistant.encoder, "cache", None)  # timings must include the query embedding
            for q in questions:
                if cache is not None:
                    cache.clear()
                t0 = time.perf_counter()
                answer = assistant.ask(q["question"], top_k=k, mode=mode)
                latencies.append((time.perf_counter() - t0) * 1000)
                rows.append(score_row(q, answer, all_texts, model.threshold))
            metrics = retrieval_metrics([r for r in rows if r["answerable"]])
            metrics.update(answer_metrics(rows))
            metrics["p50_ms"] = percentile(latencies, 50)
            metrics["p95_ms"] = percentile(latencies, 95)
            report["modes"][mode] = {"metrics": metrics, "rows": rows}
    finally:
        assistant.answer_model = model
    report["answer_model"] = {"name": model.name, "threshold": model.threshold}
    return report


def score_row(q: dict, answer, all_texts: Sequence[str], threshold: float) -> dict:
    """One question's row of the report, from an answer given with the threshold at 0."""
    evidence = q.get("evidence") or []
    would_contain, would_cite = quote_and_citation(answer, evidence, q.get("answers") or ())
    abstained = answer.abstained or (answer.signals is not None and answer.signals.answerable < threshold)
    return {
        "id": q["id"],
        "lang": q.get("lang", ""),
        **({"set": q["set"]} if q.get("set") else {}),
        "answerable": bool(evidence),
        "rel": relevance([h.passage.text for h in answer.hits], evidence) if evidence else [],
        "n_relevant": len(gold_passages(all_texts, evidence)),
        "abstained": abstained,
        "refused_anyway": answer.abstained,  # refused whatever the threshold (no quote, an unknown article)
        "contains": would_contain and not abstained,
        "cited": would_cite and not abstained,
        "would_contain": would_contain,
        "length": 0 if abstained else len(quoted_text(answer)),
        "span_f1": span_f1(answer, q.get("answers") or ()),
        "top": answer.hits[0].passage.id if answer.hits else None,
        "signals": answer.to_dict()["signals"],
    }


def span_f1(answer, answers: Sequence[str]) -> float | None:
    """The reader's span against the gold answers (best F1, 0-100; SQuAD-style sets only; 0
    when there is no span), None without gold answers."""
    if not answers:
        return None
    from rag.models.readereval import f1

    text = answer.span.text if getattr(answer, "span", None) else ""
    return 100 * max(f1(text, a) for a in answers)


def at_threshold(usable: Sequence[dict], t: float) -> dict:
    """What a threshold ``t`` on P(answerable) does to rows with signals: a question is answered
    when it was not refused for another reason and its probability is at least t; its quote is
    right when it is answerable and holds the evidence. Shares of the questions answered, right
    among them, answerable refused, and unanswerable rejected (None without any)."""
    answered = [r for r in usable if r["signals"]["answerable"] >= t and not r["refused_anyway"]]
    right = sum(r["answerable"] and r["would_contain"] for r in answered)
    ans = sum(r["answerable"] for r in usable) or 1
    unans = sum(not r["answerable"] for r in usable)
    return {"threshold": t, "answered": len(answered) / (len(usable) or 1),
            "right_when_answered": right / (len(answered) or 1),
            "answerable_refused": 1 - sum(r["answerable"] for r in answered) / ans,
            "unanswerable_rejected": (1 - sum(not r["answerable"] for r in answered) / unans) if unans else None}


def calibration(rows: Sequence[dict], threshold: float, steps: int = 20) -> dict:
    """How often the quote is right among the questions answered, at ``threshold`` and along
    the curve of thresholds on the answerability probability; and how well that probability
    is calibrated (per tenth: mean probability, share answerable, share with a right quote).

    A question is answered at threshold t when it was not refused for another reason and its
    probability is at least t; its quote is right when it is answerable and the quote holds the
    evidence (an unanswerable question answered is always wrong). Each point also gives the
    answerable questions refused and the unanswerable ones rejected (None without any): the
    trade-off a threshold makes.
    """
    usable = [r for r in rows if r["signals"]]

    def point(t: float) -> dict:
        return {**at_threshold(usable, t), "threshold": round(t, 4)}

    bins = []
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        part = [r for r in usable if lo <= r["signals"]["answerable"] < hi or (b == 9 and r["signals"]["answerable"] == 1)]
        if part:
            bins.append({"range": [lo, hi], "questions": len(part),
                         "mean_probability": sum(r["signals"]["answerable"] for r in part) / len(part),
                         "answerable": sum(r["answerable"] for r in part) / len(part),
                         "right": sum(r["answerable"] and r["would_contain"] for r in part) / len(part)})
    return {"shipped": point(threshold), "curve": [point(i / steps) for i in range(steps)], "reliability": bins}


def signal_values(rows: Sequence[dict], key: str) -> tuple[list[float], list[float]]:
    """A signal's values for the answerable and for the unanswerable questions (rows with signals)."""
    ans = [r["signals"][key] for r in rows if r["answerable"] and r["signals"]]
    una = [r["signals"][key] for r in rows if not r["answerable"] and r["signals"]]
    return ans, una


def separation(rows: Sequence[dict], key: str) -> float | None:
    """How well a signal tells unanswerable questions from answerable ones (ROC AUC): the
    chance that a random unanswerable question scores lower than a random answerable one,
    ties counting half; 0.5 is no better than chance. None without both kinds."""
    from rag.models.readereval import auc

    ans, una = signal_values(rows, key)
    return auc(ans + una, [1] * len(ans) + [0] * len(una))


def best_rejection(rows: Sequence[dict], max_refused: float) -> dict | None:
    """The most unanswerable questions any threshold on P(answerable) rejects while refusing at
    most ``max_refused`` of the answerable ones (those refused for another reason count as
    refused at every threshold): what the model's separation allows, whatever threshold was
    shipped. Threshold None when the other refusals alone exceed ``max_refused`` (then the
    shares are those at threshold 0). None without both kinds of question."""
    usable = [r for r in rows if r["signals"]]
    if all(r["answerable"] for r in usable) or not any(r["answerable"] for r in usable):
        return None
    points = [at_threshold(usable, t) for t in sorted({0.0, *(r["signals"]["answerable"] for r in usable)})]
    feasible = [p for p in points if p["answerable_refused"] <= max_refused + 1e-12]
    if not feasible:
        return {**points[0], "threshold": None}
    return max(feasible, key=lambda p: (p["unanswerable_rejected"], -p["threshold"]))


COLUMNS = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr", "ndcg@10", "answer_contains_evidence",
           "citation_accuracy", "unanswerable_rejected", "answerable_rejected", "mean_answer_chars",
           "p50_ms", "p95_ms")


GROUP_COLUMNS = ("hit@5", "mrr", "answer_contains_evidence", "citation_accuracy",
                 "unanswerable_rejected", "answerable_rejected")


def _id_number(qid: str) -> int | None:
    digits = "".join(ch for ch in str(qid) if ch.isdigit())
    return int(digits) if digits else None


def groups(rows: Sequence[dict]) -> dict[str, dict]:
    """Metrics per question set (when several were run together), per language and per half
    of the set (odd / even question ids: a check that a number does not come from one half
    only), from the per-question rows."""
    parts: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("set"):
            parts.setdefault(f"set {r['set']}", []).append(r)
        if r.get("lang"):
            parts.setdefault(f"lang {r['lang']}", []).append(r)
        n = _id_number(r["id"])
        if n is not None:
            parts.setdefault("odd ids" if n % 2 else "even ids", []).append(r)
    out = {}
    for name, part in sorted(parts.items()):
        metrics = retrieval_metrics([r for r in part if r["answerable"]])
        metrics.update(answer_metrics(part))
        out[name] = {"questions": len(part), **{c: metrics[c] for c in GROUP_COLUMNS}}
    return out


def format_groups(by_group: dict[str, dict]) -> str:
    """A plain-text table: one row per group, one column per metric."""
    short = {"answer_contains_evidence": "contains", "citation_accuracy": "cited",
             "unanswerable_rejected": "unans.rej", "answerable_rejected": "ans.rej"}
    lines = ["group".ljust(12) + "n".rjust(5) + "".join(short.get(c, c).rjust(10) for c in GROUP_COLUMNS)]
    for name, m in by_group.items():
        lines.append(name.ljust(12) + str(m["questions"]).rjust(5) + "".join(f"{m[c]:10.3f}" for c in GROUP_COLUMNS))
    return "\n".join(lines)


def format_calibration(cal: dict, sep: dict) -> str:
    """The answerability trade-off in a few lines: the shipped threshold and points along the curve."""
    def line(pt: dict) -> str:
        rejected = pt.get("unanswerable_rejected")
        return (f"  threshold {pt['threshold']:.3f}: answers {pt['answered']:.2f} of questions, right when answered "
                f"{pt['right_when_answered']:.3f}, answerable refused {pt['answerable_refused']:.3f}"
                + (f", unanswerable rejected {rejected:.3f}" if rejected is not None else ""))

    out = ["\nanswerability (hybrid), shipped threshold:", line(cal["shipped"]), "along the curve:"]
    out += [line(pt) for pt in cal["curve"][::4]]
    shown = {k: v for k, v in sep.items() if v is not None}
    if shown:
        out.append("separation of unanswerable from answerable (AUC): "
                   + ", ".join(f"{k} {v:.3f}" for k, v in shown.items()))
    return "\n".join(out)


def format_table(report: dict) -> str:
    """A plain-text table: one row per metric, one column per mode."""
    modes = list(report["modes"])
    lines = ["metric".ljust(26) + "".join(m.rjust(10) for m in modes)]
    for col in COLUMNS:
        vals = [report["modes"][m]["metrics"][col] for m in modes]
        fmt = "{:10.1f}" if col.endswith("_ms") or col == "mean_answer_chars" else "{:10.3f}"
        lines.append(col.ljust(26) + "".join(fmt.format(v) for v in vals))
    return "\n".join(lines)
