"""Cutting an over-long sentence down to the clauses around an answer span.

Some documents run a whole section into one sentence: a court judgment's facts, joined by ，
for hundreds of characters with no 。. Quoting all of it buries the answer, so the quote is
cut to whole clauses around the answer span instead.
"""

from __future__ import annotations

from bisect import bisect_right

from rag.text.sentences import CLOSERS

CLAUSE_ENDS = "，；：,;:。！？!?"  # a clause ends after one of these (、 joins list items: it does not)
ASCII_NUMERIC = ",:"  # ... except 1,000 and 12:30, between two digits


def clause_cuts(text: str) -> list[int]:
    """Offsets where the clauses of ``text`` begin, from 0, and ``len(text)`` last.

    A clause ends after a clause mark (see CLAUSE_ENDS) and any closing quotes or brackets
    right after it (……，” stays whole).
    """
    cuts = [0]
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch in CLAUSE_ENDS and not (ch in ASCII_NUMERIC and 0 < i < n - 1
                                      and text[i - 1].isdigit() and text[i + 1].isdigit()):
            end = i + 1
            while end < n and text[end] in CLOSERS:
                end += 1
            if end < n:
                cuts.append(end)
            i = end
            continue
        i += 1
    cuts.append(n)
    return cuts


def around_span(text: str, start: int, end: int, limit: int = 150) -> tuple[int, int]:
    """Offsets (a, b) of the run of whole clauses of ``text`` to quote around the span [start, end).

    ``text`` no longer than ``limit``: all of it, (0, len(text)). Otherwise the clauses the span
    touches, grown one neighbouring clause at a time, always the one that keeps the run
    shorter (on a tie, the other side than last time, the left one first), while the run stays
    within ``limit`` characters. A span whose own clauses are already longer gets just those.
    Whitespace at either end of the run is left out (never any of the span itself), so
    ``a <= start <= end <= b`` and ``text[a:b]`` holds ``text[start:end]``.
    """
    n = len(text)
    if not 0 <= start <= end <= n:
        raise ValueError(f"span ({start}, {end}) is not inside a text of {n} characters")
    if n <= limit:
        return 0, n
    cuts = clause_cuts(text)
    count = len(cuts) - 1  # clause k is text[cuts[k]:cuts[k + 1]]

    def clause_at(pos: int) -> int:
        return min(bisect_right(cuts, pos) - 1, count - 1)

    def run(i: int, j: int) -> tuple[int, int]:  # clauses i..j, trimmed, never cutting the span
        a, b = cuts[i], cuts[j + 1]
        while a < min(b, start) and text[a].isspace():
            a += 1
        while b > max(a, end) and text[b - 1].isspace():
            b -= 1
        return a, b

    def size(i: int, j: int) -> int:
        a, b = run(i, j)
        return b - a

    i = clause_at(start)
    j = max(i, clause_at(end - 1)) if end > start else i
    last_left = False
    while True:
        options = []  # (length, tie-break, side)
        if i > 0:
            options.append((size(i - 1, j), last_left, "left"))
        if j < count - 1:
            options.append((size(i, j + 1), not last_left, "right"))
        fitting = sorted(o for o in options if o[0] <= limit)
        if not fitting:
            return run(i, j)
        side = fitting[0][2]
        if side == "left":
            i -= 1
        else:
            j += 1
        last_left = side == "left"
