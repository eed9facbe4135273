"""`rag eval --dialogues`: conversations of 2-3 turns. Each later turn is asked with the turns
before it as history and, separately, in its standalone form; both are scored, split by
follow-up and topic switch. First turns are asked with no history (they must equal a plain ask)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rag.evaluation.corpora import EvalInputError
from rag.evaluation.evaluate import quote_and_citation, relevance

KINDS = ("followup", "switch")
COLUMNS = ("hit@5", "contains", "cited", "refused")


def load_dialogues(path: Path | str) -> list[dict]:
    """Conversations from a JSONL file (format in eval/README.md).

    Raises:
        EvalInputError: naming the file and line of anything unusable.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise EvalInputError(f"{path}: cannot read ({e.strerror or e})") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            d = json.loads(line)
        except ValueError:
            raise EvalInputError(f"{where}: not JSON") from None
        turns = d.get("turns") if isinstance(d, dict) else None
        if not isinstance(turns, list) or not 2 <= len(turns) <= 5 or d.get("kind") not in KINDS:
            raise EvalInputError(f"{where}: needs 'kind' (followup or switch) and 2-5 'turns'")
        for t in turns:
            ok = isinstance(t, dict) and all(isinstance(t.get(k), str) and t[k].strip() for k in ("question", "standalone"))
            if not ok or not isinstance(t.get("evidence"), list) or not all(isinstance(e, str) for e in t["evidence"]):
                raise EvalInputError(f"{where}: every turn needs 'question', 'standalone' and an 'evidence' list")
        out.append(d)
    if not out:
        raise EvalInputError(f"{path}: no conversations")
    return out


def _score(answer, evidence: Sequence[str]) -> dict:
    contains, cited = quote_and_citation(answer, evidence)
    return {"hit@5": any(relevance([h.passage.text for h in answer.hits[:5]], evidence)),
            "contains": contains, "cited": cited, "refused": answer.abstained}


def run(assistant, dialogues: Sequence[dict], top_k: int = 5) -> dict:
    """Score every later turn with its history and standalone; check first turns need no history."""
    rows, first_same = [], 0
    for d in dialogues:
        asked: list[str] = []
        for i, turn in enumerate(d["turns"]):
            answer = assistant.ask(turn["question"], top_k=top_k, history=asked)
            if i == 0:
                plain = assistant.ask(turn["question"], top_k=top_k)
                first_same += answer.text == plain.text and answer.hits == plain.hits
            else:
                alone = assistant.ask(turn["standalone"], top_k=top_k)
                kind = d["kind"] if (d["kind"] == "followup" or i == 1) else "followup"
                rows.append({"id": f"{d['id']}.{i + 1}", "kind": kind, "understood": answer.understood,
                             "in_context": _score(answer, turn["evidence"]),
                             "standalone": _score(alone, turn["evidence"])})
            asked.append(turn["question"])
    table = {}
    for kind in KINDS:
        part = [r for r in rows if r["kind"] == kind]
        if part:
            table[kind] = {"turns": len(part), **{
                f"{side} {c}": sum(r[side][c] for r in part) / len(part)
                for side in ("in_context", "standalone") for c in COLUMNS}}
    return {"conversations": len(dialogues), "first_turns_unchanged": first_same / (len(dialogues) or 1),
            "by_kind": table, "rows": rows}


def format_table(report: dict) -> str:
    head = "later turns".ljust(12) + "n".rjust(5) + "".join(
        f"{c} ({s})".rjust(18) for c in COLUMNS for s in ("ctx", "alone"))
    lines = [head]
    for kind, m in report["by_kind"].items():
        lines.append(kind.ljust(12) + str(m["turns"]).rjust(5) + "".join(
            f"{m[f'{side} {c}']:18.3f}" for c in COLUMNS for side in ("in_context", "standalone")))
    lines.append(f"first turns answered exactly as with no history: {report['first_turns_unchanged']:.3f}")
    return "\n".join(lines)
