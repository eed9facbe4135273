"""The best "not found" any threshold could give, read from the committed suite reports.

For each corpus, the threshold is set on that corpus's own answerable questions (which the
project never does: an oracle), at the highest value that refuses at most R of them; the table
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


def oracle(answerable: list[float], others: list[float], refused: float) -> float | None:
    """The share of ``others`` below the highest threshold refusing at most ``refused`` of
    ``answerable`` (a question is refused when its probability is below the threshold)."""
    if not others or not answerable:
        return None
    ranked = sorted(answerable)
    allowed = int(refused * len(ranked))  # answerable questions that may fall below
    threshold = ranked[allowed]
    return sum(p < threshold for p in others) / len(others)


def rows(report: dict) -> tuple[list[float], list[float], list[float]]:
    hybrid = report["modes"]["hybrid"]
    answerable = [r["signals"]["answerable"] for r in hybrid["rows"] if r["answerable"] and r.get("signals")]
    written = [r["signals"]["answerable"] for r in hybrid["rows"] if not r["answerable"] and r.get("signals")]
    made = [r["answerable_probability"] for r in hybrid.get("made_rows", [])]
    return answerable, written, made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=Path, default=Path("eval/reports/suite"))
    ap.add_argument("--refused", type=float, nargs="+", default=[0.02, 0.03])
    args = ap.parse_args()
    print(f"{'corpus':16} {'n ans/wri/made':>15}  " + "  ".join(f"refused<={r}: written / made" for r in args.refused))
    for path in sorted(args.reports.glob("*.json")):
        answerable, written, made = rows(json.loads(path.read_text(encoding="utf-8")))
        cells = []
        for r in args.refused:
            w, m = oracle(answerable, written, r), oracle(answerable, made, r)
            cells.append(f"{'—' if w is None else f'{w:.3f}':>12} / {'—' if m is None else f'{m:.3f}':<5}")
        counts = f"{len(answerable)}/{len(written)}/{len(made)}"
        print(f"{path.stem:16} {counts:>15}  " + "  ".join(f"{c:>30}" for c in cells))


if __name__ == "__main__":
    main()
