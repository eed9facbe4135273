"""The `rag` command: a thin layer over the library. Subcommand work is imported lazily."""

from __future__ import annotations

import argparse
import os
import sys

from rag.cli.answering import cmd_ask, cmd_chat, cmd_cite, cmd_index, cmd_list, cmd_serve
from rag.cli.library import cmd_add, cmd_docs, cmd_remove
from rag.cli.measure import cmd_bench, cmd_bench_add, cmd_eval, cmd_train, cmd_train_reader
from rag.errors import RagError
from rag.question import MODES


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
