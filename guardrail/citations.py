"""Citation markers an answer already carries ("[1]", "[doc2]", "[^3]") and the passages they name.

Used for ALCE-style citation recall and precision: does each cited passage support the
sentence that cites it?  Markers resolve by passage id first ("[doc2]" -> the passage whose id
is "doc2"), then by position ("[2]" -> the second passage).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from guardrail.report import Passage

MARKER = re.compile(r"\[\^?([A-Za-z_-]*)(\d+)\]")


def find_citations(answer: str, sentences: Sequence[tuple[int, int]],
                   passages: Sequence[Passage]) -> list[tuple[str, int, int, Passage | None]]:
    """(marker, sentence start, sentence end, passage or None) for each marker in the answer.

    A marker right after a sentence's end (``... Paris. [1]``) belongs to that sentence.
    """
    by_id = {p.id: p for p in passages}
    out: list[tuple[str, int, int, Passage | None]] = []
    for m in MARKER.finditer(answer):
        span = next(((s, e) for s, e in sentences if s <= m.start() < e + 3), None)
        if span is None:
            span = max(((s, e) for s, e in sentences if e <= m.start()), default=(0, m.start()),
                       key=lambda se: se[1])
        prefix, number = m.group(1), int(m.group(2))
        passage = by_id.get(f"{prefix}{number}") or by_id.get(m.group(0)[1:-1])
        if passage is None and 1 <= number <= len(passages):
            passage = passages[number - 1]
        out.append((m.group(0), span[0], span[1], passage))
    return out


def strip_markers(text: str) -> str:
    return " ".join(MARKER.sub("", text).split())
