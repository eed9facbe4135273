"""How to read a follow-up, on a dialogue set: every candidate reading of every follow-up turn
is answered, then each way of choosing among them is scored (does the quote hold the evidence).

    RAG_READER_CACHE=/tmp/d.jsonl .venv/bin/python eval/experiments/followup_variants.py eval/dialogues.jsonl \
        --docs eval/suites/laws/docs/data-security-law-2021.md eval/suites/laws/docs/foreign-relations-law-2023.md

Each later turn of a conversation (a topic switch aside) is asked with the history the shipped code builds.
Its candidate readings:

- ``about``: about the last turn only (``rag.followup.about_last``; shipped);
- ``swap``: the last question with the follow-up's own subject swapped in (shipped, for 那X呢);
- ``ante``: the follow-up with each noun phrase of the last question and answer put where it
  points back, or named as its topic ("关于X，…") when nothing points back (not kept);
- ``chain``: the last question as understood, then this one ("…；…", the form shipped before);
- ``alone``: the follow-up's own words;
- ``plain``: the question asked with no history at all (also for topic switches, which are
  scored only by the choosers that may keep a reading over it).

Each is searched with the follow-up's own words and the last answer's passage put second, as
shipped; ``--prefer-rank none`` turns the latter off. A way of choosing takes, among some kinds,
the answered reading (else any) with the highest answer-model probability (``P``) or reader
probability (``reader``), the first of equals in the order above. ``oracle`` is the share where
any of about/swap/ante holds the evidence. The "in context" rows read every question that stands
alone about the last turn too, and keep that reading when its probability beats the plain one's
by more than a margin (``rag.assistant.CONTEXT_MARGIN``); the "switches" columns say how many
topic switches that reads in context and how many lose their answer by it.

The figures in docs/experiments.md (Conversation) come from this script, run on
eval/dialogues.jsonl and eval/dialogues-dev.jsonl (never on the unseen set).
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

from rag import assistant as module
from rag import followup
from rag.evaluation import dialogues
from rag.evaluation.corpora import corpus_assistant
from rag.evaluation.evaluate import quote_and_citation
from rag.models.encoder import SentenceTransformerEncoder, model_name
from rag.question import clean_question

SPAN_CHARS = 30  # a last answer this short (its span) is named in the subject (kind ``said``)
ANSWER_CHARS = 200  # of the last answer searched with the follow-up's own words (kind ``ans``)
STRATEGIES = [(("about", "sub-agree"), "reader"), (("about", "sub-span"), "reader"), (("about", "sub-np"), "reader"),
              (("about", "sub-agree", "sub-span", "sub-np"), "reader"), (("about", "sub-agree", "sub-span", "sub-np"), "P"),
              (("sub-agree", "about"), "first"), (("sub-span", "about"), "first"), (("sub-np", "about"), "first"),
              (("sub-agree", "sub-span", "about"), "first"),
              (("said",), "P"), (("said", "swap"), "reader"), (("about", "said", "swap"), "reader"), (("ans",), "P"), (("ans", "swap"), "reader"), (("about", "ans", "swap"), "reader"),(("about",), "P"), (("about", "swap"), "reader"), (("about", "swap"), "P"),
              (("own", "swap"), "reader"), (("about", "own", "swap"), "reader"),
              (("about", "swap", "ante"), "reader"), (("about", "swap", "ante"), "P"), (("ante",), "reader"),
              (("ante",), "P"), (("chain",), "P"), (("alone",), "P")]


def antecedent_readings(question: str, last: followup.Turn) -> list[str]:
    """The ``ante`` kind: each noun phrase of the last question (two) and answer (one) that the
    question does not name, where a pronoun or demonstrative points back, else as the topic."""
    own = question.lower()
    asked = [p for p in followup.noun_phrases(last.meant.rstrip("？?")) if p.lower() not in own][:2]
    said = [p for p in followup.noun_phrases(last.answer) if p.lower() not in own][:1] if last.answer else []
    out = []
    for a in asked + said:
        pointer = followup._ZH_POINTER.search(question) if followup.CJK.search(question) else None
        if pointer:
            out.append(question[:pointer.start()] + a + question[pointer.end():])
        elif followup.CJK.search(question):
            out.append(f"关于{a}，{question}")
        else:
            out.append(f"{question.rstrip('?')} ({a})?")
    return out


_PRONOUN = ("它们", "他们", "她们", "它", "他", "她", "其")
_DEMONSTRATIVE = ("这", "那", "该", "此", "上述")
_NOUN_TAGS = ("n", "j", "vn", "l", "nz", "nt", "ns", "nr")


def pointer_phrase(question: str) -> tuple[int, int, str] | None:
    """Where the first phrase pointing back is in a Chinese question, and its head noun:
    "这个国家" (head 国家), "该法" (法), "它" (none), "其主要职责" (only 其)."""
    from rag.text.segment import tagged

    tokens = list(tagged(question))
    at = 0
    for i, (w, f) in enumerate(tokens):
        start = at
        at += len(w)
        if w in _PRONOUN:
            return start, at, ""
        if f == "r" and w.startswith(_DEMONSTRATIVE) and w not in ("这里", "那里", "这样", "那样", "这么", "那么"):
            end, head = at, ""
            rest = tokens[i + 1:]
            if rest and len(rest[0][0]) == 1 and rest[0][0] in followup._CLASSIFIER:
                end += 1
                rest = rest[1:]
            if rest and rest[0][1] in _NOUN_TAGS:
                head = rest[0][0]
                end += len(head)
            return start, end, head
    return None


def substituted(question: str, last: followup.Turn) -> list[tuple[str, str]]:
    """The ``sub`` kind: the whole phrase pointing back ("这个国家", "该法", "它") replaced by an
    antecedent: a noun phrase of the last question or its answer's span holding the phrase's head
    noun first ("agree"), then the answer's span ("span") and the last question's first noun
    phrase ("np"), these two put before a phrase with a head noun ("俄罗斯联邦这个国家"). Each
    reading with how its antecedent was chosen."""
    if not followup.CJK.search(question):
        return []
    found = pointer_phrase(question)
    if found is None:
        return []
    start, end, head = found
    span = last.answer if 0 < len(last.answer) <= SPAN_CHARS else ""
    nps = [p for p in followup.noun_phrases(followup._asked(last.meant)) if p not in question]
    said = [p for p in followup.noun_phrases(last.answer) if p not in question][:3] if last.answer else []
    out: list[tuple[str, str]] = []
    pool = [*nps, *said]
    if head:
        out += [("agree", p) for p in pool if head in p and p != head][:1]
    if span:
        out.append(("span", span))
    if nps:
        out.append(("np", nps[0]))
    readings, seen = [], set()
    phrase = question[start:end]
    for how, a in out:
        if phrase == "其":
            a = a + "的"
        elif head and how != "agree":
            a = a + phrase  # "俄罗斯联邦这个国家": the antecedent before a phrase whose noun it lacks
        r = question[:start] + a + question[end:]
        if r not in seen:
            seen.add(r)
            readings.append((how, r))
    return readings


def candidates(question: str, history: list[followup.Turn]) -> dict[str, list[str]]:
    last = history[-1]
    own = followup.split_topic(last)[1]
    return {"about": [followup.about_last(question, history)], "own": [followup.about(question, own)],
            "swap": followup.swapped(question, last), "ante": antecedent_readings(question, last),
            "ans": [followup.about_last(question, history)],
            "said": [followup.about(question, f"{followup.subject_of(history)}（{last.answer}）")
                     if 0 < len(last.answer) <= SPAN_CHARS else followup.about_last(question, history)],
            "chain": [f"{last.meant.rstrip('？?。')}；{question}"], "alone": [question],
            **{f"sub-{how}": [r] for how, r in substituted(question, last)}}


def _chosen(row: list[dict], kinds: tuple[str, ...], key: str) -> dict:
    """The reading a way of choosing keeps: ``first``, the first kind present in ``kinds``' order;
    else the answered one with the highest ``key``."""
    have = [c for c in row if c["kind"] in kinds] or [c for c in row if c["kind"] == "about"]
    if key == "first":
        return min(have, key=lambda c: kinds.index(c["kind"]))
    return max(have, key=lambda c: (c["answered"], c[key]))


def answered(args, convs: list[dict]) -> list[list[dict]]:
    """Every candidate reading of every later turn (a topic switch aside), answered and scored."""
    encoder = functools.cache(lambda: SentenceTransformerEncoder(model_name()))
    assistant_for = dialogues.assistants(convs, bool(args.docs), encoder,
                                         lambda: corpus_assistant(args.docs, encoder(), seeds=True))
    rows = []
    for d in convs:
        a = assistant_for(d.get("suite"))
        history: list[dict] = []
        for i, turn in enumerate(d["turns"]):
            answer = a.ask(turn["question"], history=history)
            if i:
                turns = followup.check_history(history)
                last = turns[-1]
                q = clean_question(turn["question"])[0]
                scored = []
                plain = a.ask(turn["question"])  # as with no history
                switch, leans = dialogues.turn_kind(d, i, turn) == "switch", followup.leans_on_context(q)
                for kind, readings in {"plain": [q], **candidates(q, turns)}.items():
                    for r in readings:
                        also = {"alone": None, "ans": f"{q} {last.answer[:ANSWER_CHARS]}"}.get(kind, q)
                        x = plain if kind == "plain" else a._answer(clean_question(r)[0], 5, "hybrid", [], also=also,
                                                                     prefer=last.cited)
                        scored.append({"kind": kind, "reading": r, "id": f"{d['id']}.{i + 1}", "type": turn.get("type"),
                                       "switch": switch,
                                       "leans": leans, "holds": quote_and_citation(x, turn["evidence"])[0],
                                       "P": x.signals.answerable, "repeats": bool(last.answer) and not x.abstained and last.answer in x.text, "reader": x.signals.reader, "answered": not x.abstained,
                                       "top": module._probability(x), "doc": x.hits[0].passage.doc_id if x.hits else "",
                                       "last_doc": next((a.passages[a._by_id[c]].doc_id for c in last.cited
                                                         if c in a._by_id), "")})
                rows.append(scored)
            history.append(followup.turn_of(answer).to_dict())
    return rows


def alone_choice(row: list[dict], key: str = "reader") -> dict:
    """What ``ask`` kept before session 11: a question that leans on the conversation, its
    likeliest reading by ``key`` (about the last turn, or the subject swapped in); one that does
    not, itself unless it gets "not found"."""
    plain = next(c for c in row if c["kind"] == "plain")
    if not row[0]["leans"] and plain["answered"]:
        return plain
    return _chosen(row, ("about", "swap") if row[0]["leans"] else ("plain", "about", "swap"), key)


def in_context_choice(row: list[dict], margin: float, key: str = "reader") -> dict:
    """Every question also read about the last turn: a question that does not lean on the
    conversation keeps its plain reading unless the reading about the last turn is answered
    and its ``key`` probability beats the plain one's by more than ``margin``."""
    if row[0]["leans"]:
        return alone_choice(row)
    plain = next(c for c in row if c["kind"] == "plain")
    about = next(c for c in row if c["kind"] == "about")
    if about["answered"] and (not plain["answered"] or about[key] > plain[key] + margin):
        return about
    return plain


def shipped_choice(row: list[dict], plain_margin: float | None = None, same_document: float | None = None) -> dict:
    """What ``ask`` keeps now (:func:`alone_choice` and :func:`in_context_choice` by the top
    passage's probability, ``top``), and two variants (session 16): a question that leans on the
    conversation also keeps its plain reading when that beats the chosen reading by more than
    ``plain_margin``; one that stands alone takes the reading about the last turn also when only
    that one's top passage is in the last answer's document and its probability is at most
    ``same_document`` lower."""
    plain = next(c for c in row if c["kind"] == "plain")
    about = next(c for c in row if c["kind"] == "about")
    if row[0]["leans"]:
        chosen = alone_choice(row, key="top")
        if plain_margin is None or not plain["answered"]:
            return chosen
        return plain if not chosen["answered"] or plain["top"] > chosen["top"] + plain_margin else chosen
    chosen = in_context_choice(row, module.CONTEXT_MARGIN, key="top")
    if (chosen is plain and same_document is not None and about["answered"] and plain["doc"] != plain["last_doc"]
            and about["doc"] == about["last_doc"] and about["top"] >= plain["top"] - same_document):
        return about
    return chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dialogues", type=Path)
    ap.add_argument("--docs", nargs="*", default=[], help="documents added to the seed documents")
    ap.add_argument("--prefer-rank", default=str(module.PREFER_RANK))
    ap.add_argument("--save", type=Path, help="write every scored reading here (JSON)")
    ap.add_argument("--load", type=Path, help="score the readings saved by --save instead of answering them")
    ap.add_argument("--show", nargs=2, metavar=("KIND", "OTHER"), help="list the turns where KIND holds and OTHER not")
    args = ap.parse_args()
    module.PREFER_RANK = None if args.prefer_rank == "none" else int(args.prefer_rank)
    convs = dialogues.load_dialogues(args.dialogues)
    every = json.loads(args.load.read_text(encoding="utf-8")) if args.load else answered(args, convs)
    rows = [r for r in every if not r[0]["switch"]]  # the readings of follow-ups
    n = len(rows)
    if args.save:
        args.save.write_text(json.dumps(every, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.show:
        for r in rows:
            first = {k: next((c for c in r if c["kind"] == k), None) for k in args.show}
            if all(first.values()) and first[args.show[0]]["holds"] and not first[args.show[1]]["holds"]:
                print(first[args.show[0]]["id"], *(f"{k}: {c['reading']}" for k, c in first.items()), sep="\n  ")
    print(f"{n} follow-up turns; prefer rank {module.PREFER_RANK}")
    for kinds in (("about", "swap", "ante"), ("about", "own", "swap")):
        oracle = sum(any(c["holds"] for c in r if c["kind"] in kinds) for r in rows)
        print(f"oracle ({', '.join(kinds)}): {oracle / n:.3f}")
    switches = [r for r in every if r[0]["switch"]]
    print(f"{len(switches)} topic switches; {sum(not r[0]['leans'] for r in rows)} follow-ups that do not lean by the word rules")
    for label, choose in [("alone unless not found", alone_choice),
                          *[(f"in context, reader +{m}", functools.partial(in_context_choice, margin=m))
                            for m in (0.0, 0.1, 0.2, 0.3, 0.35, 0.4, 0.5)],
                          *[(f"in context, P +{m}", functools.partial(in_context_choice, margin=m, key="P"))
                            for m in (0.0, 0.1, 0.2, 0.3)]]:
        held = sum(choose(r)["holds"] for r in rows)
        kept = sum(choose(r)["kind"] == "plain" for r in switches)
        lost = sum(next(c for c in r if c["kind"] == "plain")["holds"] and not choose(r)["holds"] for r in switches)
        print(f"{label:26s} follow-ups hold {held / n:.3f}; switches asked as alone {kept}/{len(switches)}, "
              f"lost {lost}")
    if "top" in rows[0][0]:  # saved since session 16
        variants = [("shipped", {}), *[(f"plain kept by +{m}", {"plain_margin": m}) for m in (0.0, 0.2, 0.35, 0.5)],
                    *[(f"last answer's document, -{d}", {"same_document": d}) for d in (0.0, 0.2, 0.5)]]
        for label, kw in variants:
            held = sum(shipped_choice(r, **kw)["holds"] for r in rows)
            kept = sum(shipped_choice(r, **kw)["holds"] for r in switches)
            print(f"{label:30s} follow-ups hold {held / n:.3f} ({held}); switches hold {kept}/{len(switches)}")
    for kinds, key in STRATEGIES:
        held = sum(_chosen(r, kinds, key)["holds"] for r in rows)
        print(f"{'+'.join(kinds):18s} by {key:7s} {held / n:.3f}")


if __name__ == "__main__":
    main()
