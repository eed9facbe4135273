"""Time the app's first question against the next ten, through its HTTP API.

    RAG_DATA_DIR=/tmp/fresh/data RAG_INDEX_DIR=/tmp/fresh/index RAG_LIBRARY_DIR=/tmp/fresh/lib \\
        make run SERVE_ARGS='--port 7861' &          # a fresh data dir: model, index, export
    # once it prints its URL:
    .venv/bin/python eval/tools/first_question.py http://127.0.0.1:7861/

Prints the first question's time, the median of the next ten and their ratio (the app warms its
query path before it prints its URL, so the ratio should be near 1).
"""

from __future__ import annotations

import statistics
import sys
import time

from gradio_client import Client

QUESTIONS = ("北约的三大核心任务是什么？", "北约如何看待中国？", "What does NATO say about Russia?",
             "伙伴关系反恐行动计划的目标是什么？", "北约反应部队是什么？", "北约对网络攻击怎么应对？",
             "How will NATO respond to hybrid threats?", "欧大西洋伙伴关系理事会有什么作用？",
             "北约的核威慑有什么目的？", "Which countries does NATO call authoritarian?", "气候变化对安全有什么影响？")


def main(url: str) -> int:
    client = Client(url, verbose=False)
    times = []
    for q in QUESTIONS:
        t = time.perf_counter()
        client.predict(q, 5, "hybrid", api_name="/ask")
        times.append((time.perf_counter() - t) * 1000)
    rest = statistics.median(times[1:])
    print(f"first {times[0]:.0f} ms; median of the next ten {rest:.0f} ms; ratio {times[0] / rest:.2f}")
    print("all (ms):", [round(x) for x in times])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:7860/"))
