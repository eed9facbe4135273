"""`rag eval`, `train`, `train-reader`, `bench` and `bench-add`: measuring and fitting."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

from rag.cli.answering import load_assistant
from rag.errors import RagError

DEFAULT_QUESTIONS = str(Path("eval") / "questions.jsonl")


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
        a = load_assistant(args, asks=True)
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
    _write(out, report)
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
        corpus_assistant(args.docs, encoder(), seeds=True) if args.docs else load_assistant(args, asks=True)))
    report = dialogues.run(assistant_for, convs)
    return _report(args, "dialogues.json", report, dialogues.format_table(report))


def _write(out: Path, report: dict) -> None:
    """``report`` as JSON at ``out``, its folder made if need be."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")


def _report(args, default: str, report: dict, table: str) -> int:
    """Write a report (``--out`` or eval/reports/<default>), print its table and where it is."""
    out = Path(args.out or Path("eval") / "reports" / default)
    _write(out, report)
    print(table)
    print(f"\nreport: {out}")
    return 0


def _eval_reader(args) -> int:
    from rag.evaluation import readerheld
    from rag.models.readerchoice import load_reader

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
    _write(out, report)
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


def cmd_bench(args) -> int:
    from rag.bench.run import main as bench_main

    return bench_main(args.bench_args)


def cmd_bench_add(args) -> int:
    from rag.bench.add import main as bench_add_main

    return bench_add_main(args.bench_args)
