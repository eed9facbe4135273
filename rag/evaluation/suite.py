"""The generalization suite: one folder per corpus under ``eval/suites/``, each run on its own
and reported as one row of a table, with a macro average over the corpora.

A suite folder holds ``suite.json``::

    {"description": "...",
     "seed": true,                        # the seed corpus (corpus/catalog.json), or
     "docs": ["docs/law.md", ...],        # files added as `rag add` would, or
     "squad": "cmrc2018_trial.json",      # a SQuAD-format set
     "questions": ["questions/a.jsonl"],  # question sets (not with "squad")
     "group": "laws"}                     # optional: suites asking the same questions share a
                                          # group, left out together when judging a learned model

Paths are relative to the suite folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rag.answers.model import AnswerModel, ModelError
from rag.answers.model import load as load_model
from rag.assistant import Assistant
from rag.evaluation import evaluate
from rag.evaluation.corpora import EvalInputError, check_evidence, corpus_assistant, read_squad
from rag.models.encoder import Encoder
from rag.paths import ROOT

SUITES_DIR = ROOT / "eval" / "suites"
TABLE_COLUMNS = ("hit@5", "mrr", "answer_contains_evidence", "citation_accuracy", "answerable_rejected",
                 "unanswerable_rejected", "made_unanswerable_rejected", "right_when_answered", "mean_answer_chars")
EXTRA_COLUMNS = ("span_f1", "answerable_rejected_zh", "answerable_rejected_en")  # printed below the table
TRADEOFF_REFUSED = 0.02  # the answerable share the trade-off line lets a threshold refuse (the targets' bound)
SHORT = {"answer_contains_evidence": "contains", "citation_accuracy": "cited", "answerable_rejected": "ans.rej",
         "unanswerable_rejected": "unans.rej", "made_unanswerable_rejected": "made.rej",
         "right_when_answered": "right|ans", "mean_answer_chars": "chars"}


def suite_names(root: Path = SUITES_DIR) -> list[str]:
    """The suites there are (folders with a ``suite.json``), by name."""
    return sorted(p.parent.name for p in root.glob("*/suite.json"))


def load_suite(name: str, root: Path = SUITES_DIR) -> dict:
    """A suite's definition with absolute paths.

    Raises:
        EvalInputError: an unknown suite, or a ``suite.json`` that is not one.
    """
    folder = root / name
    if name not in suite_names(root):
        raise EvalInputError(f"unknown suite {name!r}: choose from {', '.join(suite_names(root)) or '(none)'}")
    try:
        spec = json.loads((folder / "suite.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise EvalInputError(f"{folder / 'suite.json'}: not readable JSON ({type(e).__name__})") from None
    kinds = [k for k in ("seed", "docs", "squad") if spec.get(k)]
    if len(kinds) != 1 or (kinds != ["squad"] and not spec.get("questions")):
        raise EvalInputError(f"{folder / 'suite.json'}: give exactly one of seed, docs, squad "
                             f"(and questions unless squad)")
    return {"name": name, "description": spec.get("description", ""), "seed": bool(spec.get("seed")),
            "group": str(spec.get("group") or name),
            "docs": [(folder / d).resolve() for d in spec.get("docs") or []],
            "squad": (folder / spec["squad"]).resolve() if spec.get("squad") else None,
            "questions": [(folder / q).resolve() for q in spec.get("questions") or []]}


def prepare(suite: dict, encoder: Encoder) -> tuple[Assistant, list[dict]]:
    """The assistant and the questions of one suite (questions are checked before anything is built)."""
    if suite["squad"]:
        doc, questions = read_squad(suite["squad"])
        return corpus_assistant([doc], encoder), questions
    questions = evaluate.load_question_sets(suite["questions"])
    # the seeds suite: the seed documents alone, never the user's library
    assistant = corpus_assistant(suite["docs"], encoder, seeds=suite["seed"])
    check_evidence(assistant, questions)
    return assistant, questions


def run(names: Sequence[str], encoder: Encoder, progress=print) -> dict:
    """Run the named suites in hybrid mode; one row of metrics per suite, plus the macro average.

    Each suite is answered by the answer model fitted without its group (``without-<group>``,
    :mod:`rag.evaluation.training`): leave-one-corpus-out. Each answerable question is also
    asked with its gold passages hidden (a ready-made unanswerable question).
    """
    suites = [load_suite(n) for n in names]  # an unknown suite fails before anything runs
    rows, reports = {}, {}
    for suite in suites:
        progress(f"[suite] {suite['name']}: building or loading its index …")
        assistant, questions = prepare(suite, encoder)
        assistant.answer_model = held_out_model(suite["group"])
        progress(f"[suite] {suite['name']}: {len(questions)} questions over {len(assistant.passages)} passages, "
                 f"answer model {assistant.answer_model.name}")
        report = evaluate.run(assistant, questions, modes=("hybrid",), k=10)
        hybrid = report["modes"]["hybrid"]
        hybrid["made_rows"] = made_unanswerable(assistant, questions)
        m = hybrid["metrics"]
        m["made_unanswerable_rejected"] = (sum(r["abstained"] for r in hybrid["made_rows"])
                                           / (len(hybrid["made_rows"]) or 1))
        report["calibration"] = evaluate.calibration(hybrid["rows"], assistant.answer_model.threshold)
        m["right_when_answered"] = report["calibration"]["shipped"]["right_when_answered"]
        report["tradeoff"] = {"auc": evaluate.separation(hybrid["rows"], "answerable"),
                              "best": evaluate.best_rejection(hybrid["rows"], TRADEOFF_REFUSED)}
        rows[suite["name"]] = {"documents": len(assistant.sources), "passages": len(assistant.passages),
                               "questions": len(questions), "answer_model": assistant.answer_model.name,
                               **{c: m[c] for c in (*TABLE_COLUMNS, "answerable", "unanswerable")},
                               **{c: m.get(c) for c in EXTRA_COLUMNS}}
        reports[suite["name"]] = report
    return {"suites": rows, "macro": macro(rows), "reports": reports}


def format_tradeoff(result: dict) -> str:
    """Per corpus with hand-written unanswerable questions: how well P(answerable) separates
    them from the answerable ones (AUC), and the most any threshold would reject while
    refusing at most TRADEOFF_REFUSED of the answerable questions."""
    lines = []
    for name, report in result["reports"].items():
        t = report.get("tradeoff") or {}
        if t.get("auc") is None or t.get("best") is None:
            continue
        b = t["best"]
        head = f"  {name:16s} AUC {t['auc']:.3f}; "
        if b["threshold"] is None:
            lines.append(head + f"other refusals alone refuse {b['answerable_refused']:.3f} of the answerable "
                                f"(more than {TRADEOFF_REFUSED:.0%}); with no threshold {b['unanswerable_rejected']:.3f} "
                                f"rejected")
        else:
            lines.append(head + f"at most {TRADEOFF_REFUSED:.0%} answerable refused: threshold {b['threshold']:.3f} "
                                f"rejects {b['unanswerable_rejected']:.3f} (refusing {b['answerable_refused']:.3f})")
    if not lines:
        return ""
    return "\nanswerability trade-off (hand-written unanswerable questions, any threshold):\n" + "\n".join(lines)


def held_out_model(group: str) -> AnswerModel:
    """The answer model fitted without ``group`` (the shipped one if the file has none)."""
    try:
        return load_model(f"without-{group}")
    except ModelError:
        return load_model()


def made_unanswerable(assistant: Assistant, questions: Sequence[dict]) -> list[dict]:
    """Each answerable question asked without the passages holding its evidence: refused or not."""
    texts = [p.text for p in assistant.passages]
    out = []
    for q in questions:
        gold = [assistant.passages[i].id for i in evaluate.gold_passages(texts, q.get("evidence") or [])]
        if gold:
            answer = assistant.ask_without(q["question"], gold, top_k=10)
            out.append({"id": q["id"], "hidden": gold, "abstained": answer.abstained,
                        "answerable_probability": answer.signals.answerable if answer.signals else None})
    return out


def macro(rows: dict[str, dict]) -> dict:
    """The unweighted mean of each column over the suites (a suite without unanswerable
    questions does not count towards 'unanswerable rejected')."""
    out = {}
    for c in TABLE_COLUMNS:
        vals = [r[c] for r in rows.values() if not (c == "unanswerable_rejected" and not r["unanswerable"])]
        out[c] = sum(vals) / len(vals) if vals else 0.0
    return out


def format_table(result: dict) -> str:
    """One row per corpus and the macro average."""
    head = "corpus".ljust(16) + "docs".rjust(5) + "psg".rjust(6) + "q".rjust(6)
    lines = [head + "".join(SHORT.get(c, c).rjust(10) for c in TABLE_COLUMNS)]

    def cell(m: dict, c: str) -> str:
        if c == "unanswerable_rejected" and m.get("unanswerable") == 0:
            return "—".rjust(10)  # no unanswerable questions in this corpus
        return f"{m[c]:10.1f}" if c == "mean_answer_chars" else f"{m[c]:10.3f}"

    def cells(m: dict) -> str:
        return "".join(cell(m, c) for c in TABLE_COLUMNS)

    for name, r in result["suites"].items():
        lines.append(name.ljust(16) + str(r["documents"]).rjust(5) + str(r["passages"]).rjust(6)
                     + str(r["questions"]).rjust(6) + cells(r))
    lines.append("macro average".ljust(33) + cells(result["macro"]))
    extra = []
    for name, r in result["suites"].items():
        parts = []
        if r.get("span_f1") is not None:
            parts.append(f"span F1 {r['span_f1']:.1f}")
        for lang in ("zh", "en"):
            v = r.get(f"answerable_rejected_{lang}")
            if v is not None:
                parts.append(f"answerable refused ({lang}) {v:.3f}")
        if parts:
            extra.append(f"  {name:16s} " + "; ".join(parts))
    if extra:
        lines += ["", "reader span and refusals by language:", *extra]
    return "\n".join(lines)


def write(result: dict, out: Path) -> None:
    """The table as ``out`` and each suite's full report beside it (``<out stem>/<suite>.json``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = out.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    for name, report in result["reports"].items():
        (folder / f"{name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    summary = {k: v for k, v in result.items() if k != "reports"}
    out.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
