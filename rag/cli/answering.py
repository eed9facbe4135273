"""`rag index`, `ask`, `chat`, `cite` and `serve`: the commands that load the assistant and answer."""

from __future__ import annotations

import json
import os
import sys

from rag.errors import RagError


def load_assistant(args, progress: bool = True, asks: bool = False):
    """The assistant for a command; ``asks``: the command answers questions, so the query
    model starts loading in the background (no other command starts anything it does not need)."""
    from rag.assistant import Assistant

    return Assistant.load(model=args.model, progress=progress, rebuild=getattr(args, "rebuild", False), warm=asks)


def cmd_index(args) -> int:
    a = load_assistant(args)
    m = a.dense.manifest
    print(f"index ready: {m['passage_count']} passages, {len(a.sentences.sentences)} sentences, "
          f"model {m['model_id']}, {m['index_type']}")
    return 0


def _bold_ok() -> bool:
    """Show the answer span in bold: stdout is a terminal (not a pipe or a test), NO_COLOR unset."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and not getattr(sys.stdout, "closed", False) and isatty())


def _bolded(text: str, where: tuple[int, int] | None) -> str:
    """``text`` with ``text[a:b]`` in ANSI bold, ``where`` = (a, b) (None: unchanged)."""
    return text if where is None else f"{text[:where[0]]}\033[1m{text[where[0]:where[1]]}\033[0m{text[where[1]:]}"


def print_answer(answer) -> None:
    """The answer and its sources; on a terminal the reader's answer span is in bold, both in the
    answer and in its paragraph (piped output stays plain)."""
    where = answer.span_in_text() if _bold_ok() else None
    span = answer.span if where else None
    for note in answer.notes:
        print(f"({note})")
    if answer.used_context:
        from rag.followup import understood_note

        print(f"({understood_note(answer.question, answer.understood)})")
    print(_bolded(answer.text, where))
    print()
    if answer.abstained:
        print("最接近的段落 / closest matches:")
        for h in answer.hits[:3]:
            print(f"  - {h.passage.id}  {h.passage.label}  {h.passage.text[:60]}…")
        return
    print("出处 / sources:")
    for i, c in enumerate(answer.citations, start=1):
        print(f"  [{i}] {c.id}  {c.label}")
        print(f"      {_bolded(c.text, (span.start, span.end) if span and span.passage_id == c.id else None)}")


def cmd_ask(args) -> int:
    a = load_assistant(args, progress=not args.json, asks=True)
    answer = a.ask(" ".join(args.question), top_k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)
    return 0


def cmd_chat(args) -> int:
    """A terminal conversation: follow-ups are understood from the earlier questions."""
    from rag.errors import QuestionError
    from rag.followup import MAX_HISTORY, turn_of

    try:
        import readline  # noqa: F401 - line editing and history for input()
    except ImportError:
        pass
    a = load_assistant(args, progress=False, asks=True)
    interactive = sys.stdin.isatty()
    if interactive:
        print("提问吧（:new 开始新对话，Ctrl-D 退出） / ask away (:new starts a new conversation, Ctrl-D quits)")
    history: list[dict] = []
    while True:
        try:
            line = input("> " if interactive else "")
        except EOFError:
            print()
            return 0
        line = line.strip()
        if not line:
            continue
        if line == ":new":
            history = []
            print("（新对话 / new conversation）\n")
            continue
        try:
            answer = a.ask(line, top_k=args.k, mode=args.mode, history=history)
        except QuestionError as e:
            print(f"error: {e}", file=sys.stderr)
            continue
        print_answer(answer)
        print()
        history = [*history, turn_of(answer).to_dict()][-MAX_HISTORY:]


def cmd_cite(args) -> int:
    a = load_assistant(args, progress=False)
    p = a.lookup(args.id)
    if p is None:
        raise RagError(f"no passage with id {args.id!r}; ids look like SC2022-21 or S2003-85-16.2.5 "
                       f"(`rag cite --list` shows them all)" if args.id else "give a passage id")
    around = a.neighbours(p.id, args.context)
    if args.json:
        print(json.dumps({"passage": p.to_dict(), "neighbours": [q.to_dict() for q in around]},
                         ensure_ascii=False, indent=2))
        return 0
    print(f"{p.label}  ({p.id})")
    print(" > ".join((p.doc_title, *p.section)))
    print()
    for q in around:
        mark = "▶" if q.id == p.id else " "
        print(f"{mark} [{q.id}] {q.text}\n")
    return 0


def cmd_list(args) -> int:
    a = load_assistant(args, progress=False)
    for p in a.passages:
        print(f"{p.id}\t{p.label}\t{' > '.join(p.section)}")
    return 0



def cmd_serve(args) -> int:
    from ui.app import serve

    serve(host=args.host, port=args.port, model=args.model)
    return 0
