"""Small helpers shared by the two parts of `rag bench`: timing, latency summaries, memory, logging.

Used by the real-corpus part (:mod:`rag.bench.speed`), the command (:mod:`rag.bench.run`) and
the scale part (:mod:`rag.bench.scale`).
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

perf = time.perf_counter


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def pct(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100)."""
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def summary_ms(seconds: Sequence[float]) -> dict:
    """p50/p95/mean/min of timings given in seconds, in milliseconds."""
    v = list(seconds)
    return {"p50": ms(pct(v, 50)), "p95": ms(pct(v, 95)), "mean": ms(float(np.mean(v))) if v else None,
            "min": ms(min(v)) if v else None, "n": len(v)}


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float:
    """Current resident set size (MB); the lifetime peak where /proc is unavailable."""
    kb = _status_kb("VmRSS")
    return round((kb if kb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024, 1)


def peak_rss_mb() -> float:
    """Peak RSS since the last :func:`reset_peak` (Linux VmHWM), else of the whole process."""
    kb = _status_kb("VmHWM")
    return round((kb if kb is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024, 1)


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter for this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def lifetime_peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def timed(fn: Callable, *a, **kw) -> tuple[float, object]:
    t = perf()
    out = fn(*a, **kw)
    return perf() - t, out


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)
