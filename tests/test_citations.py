from __future__ import annotations

from guardrail import Passage
from guardrail.citations import find_citations, strip_markers

PASSAGES = [Passage("A", "doc1"), Passage("B", "doc2"), Passage("C", "x")]


def test_markers_resolve_by_id_then_position() -> None:
    answer = "First fact [doc2]. Second fact [3]. Third [^1]. Bad [9]."
    sentences = [(0, 18), (19, 35), (36, 47), (48, 57)]
    got = find_citations(answer, sentences, PASSAGES)
    assert [(m, p.id if p else None) for m, _, _, p in got] == [
        ("[doc2]", "doc2"), ("[3]", "x"), ("[^1]", "doc1"), ("[9]", None)]
    assert got[1][1:3] == (19, 35)


def test_strip_markers() -> None:
    assert strip_markers("Paris is big [1][2].") == "Paris is big ."
