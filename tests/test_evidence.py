from __future__ import annotations

import pytest
from langchain_core.documents import Document

from guardrail import Passage, as_passages
from guardrail.evidence import rank_windows, windows


def test_as_passages_accepts_every_shape() -> None:
    doc = Document(page_content="LangChain text", metadata={"source": "https://example.org/a", "title": "A"})
    got = as_passages(["plain", Passage("given", "p9"), doc, {"text": "mapped", "id": "m1", "url": "u"}, "  "])
    assert [p.id for p in got] == ["ctx1", "p9", "https://example.org/a", "m1"]
    assert got[2].url == "https://example.org/a" and got[2].title == "A"
    assert as_passages(None) == [] and as_passages("single")[0].text == "single"


def test_as_passages_rejects_unknown_types() -> None:
    with pytest.raises(TypeError, match="cannot use int as evidence"):
        as_passages([42])


def test_long_evidence_is_windowed_not_truncated() -> None:
    text = " ".join(f"Sentence number {i} talks about topic {i}." for i in range(200))
    ws = windows(Passage(text, "long"))
    assert len(ws) > 10
    assert ws[0].start == 0 and ws[-1].end == len(text)
    covered = set()
    for w in ws:
        assert w.text == text[w.start:w.end] and len(w.text) <= 700
        covered.update(range(w.start, w.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_a_sentence_longer_than_a_window_is_chunked_with_overlap() -> None:
    text = "word " * 1000
    ws = windows(Passage(text.strip(), "w"))
    assert len(ws) > 5 and all(len(w.text) <= 700 for w in ws)
    assert all(ws[i + 1].start < ws[i].end for i in range(len(ws) - 1))


def test_rank_windows_puts_the_relevant_window_first() -> None:
    passages = [Passage("Bananas are yellow fruit grown in the tropics.", "a"),
                Passage("The Eiffel Tower is 330 metres tall and stands in Paris.", "b")]
    ws = [w for p in passages for w in windows(p)]
    best, score = rank_windows("How tall is the Eiffel Tower?", ws, 1)[0]
    assert best.passage.id == "b" and score > 0.5


def test_ten_thousand_passages_rank_quickly() -> None:
    import time

    ws = [w for i in range(10_000) for w in windows(Passage(f"Record {i} says item {i} costs {i} dollars.", str(i)))]
    t = time.perf_counter()
    top = rank_windows("item 4242 costs 4242 dollars", ws, 4)
    assert top[0][0].passage.id == "4242"
    assert time.perf_counter() - t < 5


def test_window_premise_carries_the_passage_title() -> None:
    text = "Apollo 11 launched on 16 July. " + "Filler sentence here. " * 40 + "The crew landed on 20 July."
    titled = windows(Passage(text, "a", title="Apollo 11"))
    assert titled[-1].premise == f"Apollo 11: {titled[-1].text}"
    assert titled[0].premise == titled[0].text  # already starts with its title
    assert all(w.premise == w.text for w in windows(Passage(text, "b")))
