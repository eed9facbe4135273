"""`rag eval --dialogues`: conversations of 2-5 turns. Each later turn is asked with the turns
before it as history and, separately, in its standalone form; both are scored, split by
follow-up and topic switch, and by the turn's ``type`` when the set gives one (pronoun,
demonstrative, ellipsis, implied, about the last answer, switch). First turns are asked with no
history (they must equal a plain ask). A conversation naming a ``suite`` is asked over that
suite's documents (eval/suites/<suite>), the others over the seed documents."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path

from rag.evaluation.corpora import EvalInputError
from rag.evaluation.evaluate import quote_and_citation, relevance
from rag.followup import turn_of

KINDS = ("followup", "switch")
TYPES = ("pronoun", "demonstrative", "ellipsis", "implied", "answer", "switch")  # of a later turn
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
            if t.get("type", "first") not in ("first", *TYPES):
                raise EvalInputError(f"{where}: a turn's 'type' is one of first, {', '.join(TYPES)}")
        if "suite" in d and not (isinstance(d["suite"], str) and d["suite"].strip()):
            raise EvalInputError(f"{where}: 'suite' names a folder of eval/suites")
        out.append(d)
    if not out:
        raise EvalInputError(f"{path}: no conversations")
    return out


def _score(answer, evidence: Sequence[str]) -> dict:
    contains, cited = quote_and_citation(answer, evidence)
    return {"hit@5": any(relevance([h.passage.text for h in answer.hits[:5]], evidence)),
            "contains": contains, "cited": cited, "refused": answer.abstained}


def assistants(dialogues: Sequence[dict], docs: bool, encoder, default):
    """``assistant_for(suite)`` for :func:`run`: each suite the conversations name, over its
    documents (built once, on first use), else ``default()`` (the seed documents, with ``docs``).

    Raises:
        EvalInputError: a suite that does not exist, or suites named as well as ``docs``.
    """
    from rag.evaluation import suite as suites

    named = sorted({d["suite"] for d in dialogues if d.get("suite")})
    if named and docs:
        raise EvalInputError("these conversations name their suites: --docs applies only to a set without 'suite'")
    specs = {n: suites.load_suite(n) for n in named}  # an unknown suite fails before the model loads

    @functools.cache
    def assistant_for(name: str | None):
        return suites.prepare(specs[name], encoder())[0] if name else default()

    return assistant_for


def run(assistant_for, dialogues: Sequence[dict], top_k: int = 5) -> dict:
    """Score every later turn with its history and standalone; check first turns need no history.
    ``assistant_for(suite)``: the assistant a conversation is asked of (``suite``: its ``suite``
    field, or None)."""
    rows, first_same = [], 0
    for d in dialogues:
        assistant = assistant_for(d.get("suite"))
        asked: list[dict] = []
        for i, turn in enumerate(d["turns"]):
            answer = assistant.ask(turn["question"], top_k=top_k, history=asked)
            if i == 0:
                plain = assistant.ask(turn["question"], top_k=top_k)
                first_same += answer.text == plain.text and answer.hits == plain.hits
            else:
                alone = assistant.ask(turn["standalone"], top_k=top_k)
                kind = turn_kind(d, i, turn)
                rows.append({"id": f"{d['id']}.{i + 1}", "kind": kind, "type": turn.get("type"),
                             "suite": d.get("suite"), "question": turn["question"], "understood": answer.understood,
                             "in_context": _score(answer, turn["evidence"]),
                             "standalone": _score(alone, turn["evidence"])})
            asked.append(turn_of(answer).to_dict())  # as the chat keeps it: the question and what answered it
    by_type = {t: _summary([r for r in rows if r["type"] == t]) for t in TYPES if any(r["type"] == t for r in rows)}
    return {"conversations": len(dialogues), "first_turns_unchanged": first_same / (len(dialogues) or 1),
            "by_kind": {k: _summary([r for r in rows if r["kind"] == k]) for k in KINDS if any(r["kind"] == k for r in rows)},
            "by_type": by_type, "rows": rows}


def turn_kind(d: dict, i: int, turn: dict) -> str:
    """A later turn is a switch when typed so; untyped, when it is the second turn of a switch
    conversation. Every other later turn is a follow-up."""
    if "type" in turn:
        return "switch" if turn["type"] == "switch" else "followup"
    return "switch" if d["kind"] == "switch" and i == 1 else "followup"


def _summary(part: list[dict]) -> dict:
    return {"turns": len(part), **{f"{side} {c}": sum(r[side][c] for r in part) / len(part)
                                   for side in ("in_context", "standalone") for c in COLUMNS}}


def format_table(report: dict) -> str:
    head = "later turns".ljust(16) + "n".rjust(5) + "".join(
        f"{c} ({s})".rjust(18) for c in COLUMNS for s in ("ctx", "alone"))
    lines = [head]
    for kind, m in [*report["by_kind"].items(), *[(f"  {t}", m) for t, m in report.get("by_type", {}).items()]]:
        lines.append(kind.ljust(16) + str(m["turns"]).rjust(5) + "".join(
            f"{m[f'{side} {c}']:18.3f}" for c in COLUMNS for side in ("in_context", "standalone")))
    lines.append(f"first turns answered exactly as with no history: {report['first_turns_unchanged']:.3f}")
    return "\n".join(lines)
