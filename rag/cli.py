"""The `rag` command: a thin layer over the library. Subcommand work is imported lazily."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path

from rag.errors import RagError
from rag.question import MODES

DEFAULT_QUESTIONS = str(Path("eval") / "questions.jsonl")


def _load(args, progress: bool = True, asks: bool = False):
    """The assistant for a command; ``asks``: the command answers questions, so the query
    model starts loading in the background (no other command starts anything it does not need)."""
    from rag.assistant import Assistant

    return Assistant.load(model=args.model, progress=progress, rebuild=getattr(args, "rebuild", False), warm=asks)


def cmd_index(args) -> int:
    a = _load(args)
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
    a = _load(args, progress=not args.json, asks=True)
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
    a = _load(args, progress=False, asks=True)
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
    a = _load(args, progress=False)
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
    a = _load(args, progress=False)
    for p in a.passages:
        print(f"{p.id}\t{p.label}\t{' > '.join(p.section)}")
    return 0


def _library():
    from rag.documents.library import Library
    from rag.paths import library_dir

    return Library(library_dir())


def _seed_ids() -> set[str]:
    """Ids of the seed corpus's documents (the catalog only: no index or model needed)."""
    from rag.documents.ingest import load_catalog
    from rag.paths import corpus_dir

    return {e["doc_id"] for e in load_catalog(corpus_dir())}


def cmd_add(args) -> int:
    import time

    if len(args.paths) > 1 and (args.title or args.short or args.id):
        raise RagError("--title, --short and --id apply to one file at a time")
    library = _library()
    seed = _seed_ids()
    added, failed = [], 0
    for path in args.paths:
        try:
            entry = library.add(Path(path), taken_ids=seed, title=args.title, short=args.short, doc_id=args.id)
        except RagError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
            continue
        added.append(entry)
    if added:
        t0 = time.perf_counter()
        a = _load(args)
        counts = {d["doc_id"]: d["passages"] for d in a.documents()}
        for e in added:
            print(f"added {e['doc_id']}: {e['title']} ({counts.get(e['doc_id'], 0)} passages, "
                  f"ids {e['doc_id']}-…)")
        print(f"index updated in {time.perf_counter() - t0:.1f} s")
    return 2 if failed else 0


def cmd_remove(args) -> int:
    entry = _library().remove(args.doc_id, protected=_seed_ids())
    _load(args, progress=False)
    print(f"removed {entry['doc_id']}: {entry['title']}")
    return 0


def cmd_docs(args) -> int:
    a = _load(args, progress=False)
    rows = a.documents()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for d in rows:
        print(f"{d['doc_id']}\t{d['passages']} passages\t{d['origin']}\t{d['title']}")
    return 0


def _encoder(args):
    from rag.models.encoder import SentenceTransformerEncoder, model_name

    return SentenceTransformerEncoder(args.model or model_name(), progress=True)


def cmd_eval(args) -> int:
    from rag.evaluation import evaluate
    from rag.evaluation.corpora import check_evidence, corpus_assistant, read_squad

    if args.suite is not None:
        return _eval_suite(args)
    if args.reader:
        return _eval_reader(args)
    if args.dialogues:
        return _eval_dialogues(args)
    if args.squad:
        if args.docs or args.questions:
            raise RagError("--squad brings its own documents and questions: give it alone")
        out = Path(args.out or Path("eval") / "reports" / f"{Path(args.squad).stem}.json")
        doc, questions = read_squad(args.squad)
        a = corpus_assistant([doc], _encoder(args))
    elif args.docs:
        if not args.questions:
            raise RagError("--docs needs --questions: the question set to score on those documents")
        questions = evaluate.load_question_sets([Path(p) for p in args.questions])  # bad files fail fast
        a = corpus_assistant(args.docs, _encoder(args))
        check_evidence(a, questions)
        out = Path(args.out or Path("eval") / "reports" / f"{Path(args.questions[0]).stem}.json")
    else:
        questions = evaluate.load_question_sets([Path(p) for p in args.questions or [DEFAULT_QUESTIONS]])
        a = _load(args, asks=True)
        out = Path(args.out or Path("eval") / "reports" / "eval.json")
    report = evaluate.run(a, questions, modes=args.modes, k=10)
    report["model_id"] = a.encoder.model_id
    report["question_sets"] = list(args.questions or ([args.squad] if args.squad else [DEFAULT_QUESTIONS]))
    if args.docs:
        report["documents"] = list(args.docs)
    if "hybrid" in report["modes"]:
        rows = report["modes"]["hybrid"]["rows"]
        report["groups"] = {m: evaluate.groups(v["rows"]) for m, v in report["modes"].items()}
        report["calibration"] = evaluate.calibration(rows, a.answer_model.threshold)
        report["separation"] = {k: evaluate.separation(rows, k) for k in ("answerable", "sentence_margin", "dense_margin")}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(evaluate.format_table(report))
    if "hybrid" in report["modes"]:
        print("\nhybrid by group:")
        print(evaluate.format_groups(report["groups"]["hybrid"]))
        print(evaluate.format_calibration(report["calibration"], report["separation"]))
    print(f"\nreport: {out}")
    return 0


def _eval_dialogues(args) -> int:
    from rag.evaluation import dialogues
    from rag.evaluation.corpora import corpus_assistant

    if args.squad or args.questions:
        raise RagError("--dialogues scores its own conversations: add only --docs (added to the seed documents)")
    convs = dialogues.load_dialogues(args.dialogues)  # a bad file fails before the model loads
    encoder = functools.cache(lambda: _encoder(args))
    assistant_for = dialogues.assistants(convs, bool(args.docs), encoder, lambda: (
        corpus_assistant(args.docs, encoder(), seeds=True) if args.docs else _load(args, asks=True)))
    report = dialogues.run(assistant_for, convs)
    return _report(args, "dialogues.json", report, dialogues.format_table(report))


def _report(args, default: str, report: dict, table: str) -> int:
    """Write a report (``--out`` or eval/reports/<default>), print its table and where it is."""
    out = Path(args.out or Path("eval") / "reports" / default)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(table)
    print(f"\nreport: {out}")
    return 0


def _eval_reader(args) -> int:
    from rag.assistant import load_reader
    from rag.evaluation import readerheld

    if args.docs or args.squad or args.questions or args.dialogues:
        raise RagError("--reader scores the reader on its held-out sets: give it alone (with --mrc, --size)")
    mrc = Path(args.mrc) if args.mrc else readerheld.readertrain.MRC_DIR
    if not mrc.is_dir():
        raise RagError(f"--reader: no MRC sets at {mrc} (give --mrc DIR)")
    reader = load_reader()
    if reader is None:
        raise RagError("--reader: no reader (RAG_READER=off, or no weights in rag/data/reader/)")
    result = readerheld.run(reader, mrc, size=args.size)
    return _report(args, "reader.json", result, readerheld.format_rows(result))


def _suite_names(args) -> list[str]:
    """The suites ``--suite`` names (all when it names none), each checked before the model loads."""
    from rag.evaluation import suite

    names = args.suite or suite.suite_names()
    for n in names:
        suite.load_suite(n)  # an unknown suite is refused here
    return names


def _eval_suite(args) -> int:
    from rag.evaluation import suite

    if args.docs or args.squad or args.questions:
        raise RagError("--suite runs the suites' own documents and questions: give it alone")
    names = _suite_names(args)
    result = suite.run(names, _encoder(args), progress=lambda m: print(m, file=sys.stderr))
    from rag.evaluation import readerheld

    # the reader's held-out rows come with the whole suite (`rag eval --reader` gives them alone)
    result["reader_heldout"] = None if args.suite else readerheld.if_available(lambda m: print(m, file=sys.stderr))
    out = Path(args.out or Path("eval") / "reports" / "suite.json")
    suite.write(result, out)
    print(suite.format_table(result))
    tradeoff = suite.format_tradeoff(result)
    if tradeoff:
        print(tradeoff)
    if result.get("reader_heldout"):
        print("\n" + readerheld.format_rows(result["reader_heldout"]))
    print(f"\nreport: {out} (each corpus in {out.with_suffix('')}/)")
    return 0


def cmd_train(args) -> int:
    from rag.evaluation import training

    names = _suite_names(args)
    report = training.train(names, _encoder(args), progress=lambda m: print(m, file=sys.stderr))
    out = Path(args.out or Path("eval") / "reports" / "train.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1))
    for name, info in report.items():
        q = info["quoting"]
        print(f"{name:24s} keep ratio {q['keep_ratio']:.2f}  floor {q['min_probability']:.2f}  "
              f"contains (training) {q['contains']:.3f}  threshold {info['threshold']:.4f}")
    print(f"\nmodel: {training.MODEL_FILE}\nreport: {out}\nscore it leave-one-corpus-out: rag eval --suite")
    return 0


def cmd_train_reader(args) -> int:
    from rag.models import readertrain

    cfg = readertrain.Config(**{k: getattr(args, k) for k in readertrain.CLI_SETTINGS})
    if args.minutes < 0 or not cfg.in_range():
        raise RagError("train-reader: --minutes >= 0, --epochs > 0, --layers 1-12, --lr > 0, --batch >= 1, --code-switch 0-1")
    state = readertrain.train(cfg, Path(args.data or readertrain.MRC_DIR), minutes=args.minutes,
                              out=args.out and Path(args.out), folder=args.checkpoint and Path(args.checkpoint))
    print(f"step {state.step} of {state.planned_steps}, {state.seconds / 60:.0f} min of training in all")
    print("held out: " + json.dumps(state.scores, ensure_ascii=False))
    return 0


def cmd_serve(args) -> int:
    from ui.app import serve

    serve(host=args.host, port=args.port, model=args.model)
    return 0


def cmd_bench(args) -> int:
    from rag.bench.run import main as bench_main

    return bench_main(args.bench_args)


def cmd_bench_add(args) -> int:
    from rag.bench.add import main as bench_add_main

    return bench_add_main(args.bench_args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="Ask questions of the NATO/UN documents; get quoted, cited answers.")
    p.add_argument("--model", help="sentence-transformers model name or path (default: multilingual-e5-small; env RAG_MODEL)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("index", help="build the index (or check it is up to date)")
    s.add_argument("--rebuild", action="store_true", help="rebuild even if the index is current")
    s.set_defaults(func=cmd_index)

    s = sub.add_parser("ask", help="ask a question")
    s.add_argument("question", nargs="+")
    s.add_argument("-k", type=int, default=5, help="passages to retrieve (1-50, default 5)")
    s.add_argument("--mode", choices=MODES, default="hybrid")
    s.add_argument("--json", action="store_true", help="print the Answer as JSON")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("chat", help="a conversation in the terminal (follow-up questions understood)")
    s.add_argument("-k", type=int, default=5, help="passages to retrieve (1-50, default 5)")
    s.add_argument("--mode", choices=MODES, default="hybrid")
    s.set_defaults(func=cmd_chat)

    s = sub.add_parser("cite", help="print a passage by id, with its neighbours")
    s.add_argument("id", nargs="?", default="")
    s.add_argument("--context", type=int, default=1, help="neighbours on each side (default 1)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--list", action="store_true", help="list every passage id")
    s.set_defaults(func=lambda a: cmd_list(a) if a.list else cmd_cite(a))

    s = sub.add_parser("add", help="add your own documents (.txt .md .html .pdf .docx) to the index")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--title", help="document title (default: from its metadata or first heading)")
    s.add_argument("--short", help="citation name (default: 《title》)")
    s.add_argument("--id", help="document id, the prefix of its passage ids (default: from the file name)")
    s.set_defaults(func=cmd_add)

    s = sub.add_parser("remove", help="remove an added document from the index")
    s.add_argument("doc_id")
    s.set_defaults(func=cmd_remove)

    s = sub.add_parser("docs", help="list the indexed documents with passage counts")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_docs)

    s = sub.add_parser("eval", help="run the evaluation set and write a report")
    s.add_argument("--questions", nargs="+", metavar="JSONL",
                   help="one or more question sets, scored as one (default: eval/questions.jsonl)")
    s.add_argument("--docs", nargs="+", metavar="FILE",
                   help="score on these documents only (a throwaway library and index, as `rag add` builds)")
    s.add_argument("--squad", metavar="JSON", help="a SQuAD-format set: its contexts as one document, answers as evidence")
    s.add_argument("--dialogues", metavar="JSONL",
                   help="conversations: later turns asked with their history and standalone (eval/dialogues.jsonl)")
    s.add_argument("--reader", action="store_true",
                   help="score the reader on the held-out parts of its training sets (span EM/F1, has-answer)")
    s.add_argument("--mrc", help="with --reader: folder of the MRC sets (default: ../shared/corpus-extra/mrc)")
    s.add_argument("--size", type=int, default=0, help="with --reader: questions per set (0: all)")
    s.add_argument("--suite", nargs="*", metavar="NAME",
                   help="run the generalization suites in eval/suites/ (all, or those named): one row per corpus")
    s.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    s.add_argument("--out", help="report file (default: eval/reports/eval.json, <set>.json or suite.json)")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("train", help="fit the answer model on the eval suites (rag/data/answer_model.json)")
    s.add_argument("--suite", nargs="*", metavar="NAME", help="the suites to fit on (default: all)")
    s.add_argument("--out", help="training report (default: eval/reports/train.json)")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("train-reader", help="fine-tune the reader (span + no-answer) on the MRC sets; resumable")
    s.add_argument("--data", help="folder of the MRC sets (default: ../shared/corpus-extra/mrc)")
    s.add_argument("--minutes", type=float, default=0, help="stop after this long (0: run to the planned epochs)")
    s.add_argument("--epochs", type=float, default=2.0)
    s.add_argument("--layers", type=int, default=6, help="top transformer layers trained")
    s.add_argument("--lr", type=float, default=2e-4)
    s.add_argument("--batch", type=int, default=16)
    s.add_argument("--seed", type=int, default=13)
    s.add_argument("--limit", type=int, default=0, help="examples per set (0: all); for a quick try")
    s.add_argument("--eval-every", type=int, default=1000, help="steps between held-out scores and exports")
    s.add_argument("--eval-size", type=int, default=300, help="held-out questions per set scored (0: all)")
    s.add_argument("--save-every", type=int, default=100, help="steps between checkpoints")
    s.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    s.add_argument("--code-switch", dest="code_switch_share", type=float, default=0.0,
                   help="also train on this share of Chinese questions glossed into English")
    s.add_argument("--checkpoint", help="checkpoint folder (default: <data dir>/reader-train)")
    s.add_argument("--out", help="weights file written (default: rag/data/reader/reader.safetensors)")
    s.set_defaults(func=cmd_train_reader)

    s = sub.add_parser("bench", help="speed and scale benchmark (`rag bench --help` for options)",
                       add_help=False, prefix_chars="\0")
    s.add_argument("bench_args", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("bench-add", help="time adding a 20-page document; check removal restores the eval",
                       add_help=False, prefix_chars="\0")
    s.add_argument("bench_args", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_bench_add)

    s = sub.add_parser("serve", help="start the chat app")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `rag cite --list | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
