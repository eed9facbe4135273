"""`rag add`, `remove` and `docs`: the user's own documents."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rag.cli.answering import load_assistant
from rag.errors import RagError


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
        a = load_assistant(args)
        counts = {d["doc_id"]: d["passages"] for d in a.documents()}
        for e in added:
            print(f"added {e['doc_id']}: {e['title']} ({counts.get(e['doc_id'], 0)} passages, "
                  f"ids {e['doc_id']}-…)")
        print(f"index updated in {time.perf_counter() - t0:.1f} s")
    return 2 if failed else 0


def cmd_remove(args) -> int:
    entry = _library().remove(args.doc_id, protected=_seed_ids())
    load_assistant(args, progress=False)
    print(f"removed {entry['doc_id']}: {entry['title']}")
    return 0


def cmd_docs(args) -> int:
    a = load_assistant(args, progress=False)
    rows = a.documents()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for d in rows:
        print(f"{d['doc_id']}\t{d['passages']} passages\t{d['origin']}\t{d['title']}")
    return 0
