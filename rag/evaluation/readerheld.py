"""The reader on the held-out parts of its training sets (`rag eval --reader`, and below the
`rag eval --suite` table): span EM/F1, has-answer accuracy, and the answerability trade-off.

The held-out parts are fixed by a hash (:func:`rag.models.mrcdata.is_heldout`) and never
trained on; their made-unanswerable questions are made the way training makes them.
"""

from __future__ import annotations

from pathlib import Path

from rag.evaluation import evaluate
from rag.models import readereval, readertrain

TRADEOFF_REFUSED = 0.02


def run(reader, mrc_dir: Path = readertrain.MRC_DIR, size: int = 0) -> dict:
    """Per held-out set: n, EM, F1, has-answer accuracy at 0.5, AUC, and the most unanswerable
    questions a threshold rejects with at most TRADEOFF_REFUSED of the answerable refused."""
    _, held = readertrain.load_sets(mrc_dir, heldout_only=True)
    out = {}
    for name, exs in held.items():
        exs = exs[:size] if size else exs
        readings = readereval.read_all(reader, exs)
        scores = readereval.score_set(reader, exs, readings=readings)
        rows = [{"answerable": ex.answerable, "refused_anyway": False, "would_contain": ex.answerable,
                 "signals": {"answerable": p}} for ex, (p, _) in zip(exs, readings, strict=True)]
        best = evaluate.best_rejection(rows, TRADEOFF_REFUSED)
        scores["tradeoff"] = best
        out[name] = scores
    return out


def if_available(progress=print) -> dict | None:
    """:func:`run` with the app's reader, for the suite report (None without a reader or the sets)."""
    from rag.models.readerchoice import load_reader

    reader = load_reader()
    if reader is None or not readertrain.MRC_DIR.is_dir():
        return None
    progress("[suite] the reader on the held-out parts of its training sets …")
    return run(reader)


def format_rows(result: dict) -> str:
    lines = ["reader on the held-out parts of its training sets (never trained on):",
             "set".ljust(10) + "q".rjust(6) + "EM".rjust(7) + "F1".rjust(7) + "has-ans acc".rjust(13)
             + "AUC".rjust(7) + "  rejected at <=2% refused"]
    for name, s in result.items():
        b = s.get("tradeoff") or {}
        rej = "—" if not b or b.get("threshold") is None else f"{b['unanswerable_rejected']:.3f} (t={b['threshold']:.3f})"
        lines.append(name.ljust(10) + str(s["n"]).rjust(6) + f"{s.get('em', 0):7.1f}{s.get('f1', 0):7.1f}"
                     + f"{s['has_answer_acc']:13.3f}" + (f"{s['auc']:7.3f}" if s.get("auc") is not None else "—".rjust(7))
                     + "  " + rej)
    return "\n".join(lines)
