"""The query encoder then the reader, with onnxruntime's worker threads busy-waiting between runs
(its default) or not (shipped: ``session.intra_op.allow_spinning`` off in
``rag/models/onnxquery.open_session``).

    .venv/bin/python eval/experiments/onnx_spinning.py on
    .venv/bin/python eval/experiments/onnx_spinning.py off

Each of four questions is embedded (the query cache cleared first), retrieved and read, ten
times; it prints the median embedding and reading times. Run the two one after the other on a
quiet machine.
"""

from __future__ import annotations

import statistics
import sys
import time

import onnxruntime as ort

QUESTIONS = ("北约的三大核心任务是什么？", "俄罗斯对北约构成什么威胁？", "伙伴关系反恐行动计划的目标是什么？", "北约如何看待气候变化？")


def main() -> None:
    spinning = sys.argv[1] if len(sys.argv) > 1 else "off"
    if spinning not in ("on", "off"):
        raise SystemExit("usage: onnx_spinning.py on|off")
    if spinning == "on":  # undo the shipped setting
        plain = ort.SessionOptions

        class Spinning(plain):
            def add_session_config_entry(self, key, value):
                if key != "session.intra_op.allow_spinning":
                    super().add_session_config_entry(key, value)

        ort.SessionOptions = Spinning
    from rag import Assistant
    from rag.bench.speed import clear_query_cache

    a = Assistant.load(warm=False, notice=lambda m: None)
    for q in QUESTIONS:
        a.ask(q)
    embed, read = [], []
    for _ in range(10):
        for q in QUESTIONS:
            clear_query_cache(a)
            t0 = time.perf_counter()
            a.encoder.encode_queries([q])
            t1 = time.perf_counter()
            hits, _, _ = a.retrieve(q, 5)
            t2 = time.perf_counter()
            a.read(q, hits)
            t3 = time.perf_counter()
            embed.append(t1 - t0)
            read.append(t3 - t2)
    print(f"spinning {spinning}: embedding p50 {statistics.median(embed) * 1000:.1f} ms, "
          f"reading p50 {statistics.median(read) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
