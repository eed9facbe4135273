"""The best "not found" any threshold could give, read from the committed suite reports.

For each corpus, the threshold is set on that corpus's own answerable questions (which the
project never does: an oracle), the one that rejects the most while refusing at most R of them
(questions a rule refuses count as refused at every threshold); the table
gives what it would reject of the hand-written and of the made-unanswerable questions. When even
this falls short of a target, no choice of threshold reaches it: the answerability signal itself
does not separate the two sides well enough.

    .venv/bin/python eval/experiments/oracle_threshold.py --refused 0.02 0.03
    ... --reports eval/reports/suite      # the per-corpus reports `rag eval --suite` writes
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rag.evaluation import evaluate


def oracle(rows: list[dict], refused: float) -> float | None:
    """The most unanswerable questions of ``rows`` any threshold rejects while refusing at most
    ``refused`` of the answerable ones (:func:`rag.evaluation.evaluate.best_rejection`)."""
    best = evaluate.best_rejection(rows, refused)
    return None if best is None else best["unanswerable_rejected"]


def row_sets(report: dict) -> tuple[list[dict], list[dict], int, int, int]:
    """The answerable with the hand-written unanswerable rows, the answerable with the
    made-unanswerable ones (which have only their probability: refused by no other rule), and
    how many of each kind."""
    hybrid = report["modes"]["hybrid"]
    usable = [r for r in hybrid["rows"] if r.get("signals")]
    answerable = [r for r in usable if r["answerable"]]
    made = [{"answerable": False, "refused_anyway": False, "would_contain": False,
             "signals": {"answerable": r["answerable_probability"]}} for r in hybrid.get("made_rows", [])]
    return usable, answerable + made, len(answerable), len(usable) - len(answerable), len(made)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=Path, default=Path("eval/reports/suite"))
    ap.add_argument("--refused", type=float, nargs="+", default=[0.02, 0.03])
    args = ap.parse_args()
    print(f"{'corpus':16} {'n ans/wri/made':>15}  " + "  ".join(f"refused<={r}: written / made" for r in args.refused))
    for path in sorted(args.reports.glob("*.json")):
        written, made, n_ans, n_written, n_made = row_sets(json.loads(path.read_text(encoding="utf-8")))
        cells = []
        for r in args.refused:
            w, m = oracle(written, r), oracle(made, r)
            cells.append(f"{'—' if w is None else f'{w:.3f}':>12} / {'—' if m is None else f'{m:.3f}':<5}")
        counts = f"{n_ans}/{n_written}/{n_made}"
        print(f"{path.stem:16} {counts:>15}  " + "  ".join(f"{c:>30}" for c in cells))


if __name__ == "__main__":
    main()
