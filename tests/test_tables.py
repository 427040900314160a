"""Markdown tables read as claims, each cell with its row label and column header."""

from __future__ import annotations

from guardrail.tables import tables

COMPARISON = """Compare them.

| Feature | H2 | H3 |
|---|---|---|
| Weight | 3.4 kg | 3.9 kg |
| **Battery life** | 180 min | - |

| Name | Height | Opened |
| :--- | ---: | --- |
| Eiffel Tower | 330 m | 1889 |

| Spec | Value |
|--|--|
| RAM | 8 GB |
"""


def test_each_cell_is_read_with_its_row_and_column() -> None:
    claims, covered = tables(COMPARISON)
    assert [(c.text, COMPARISON[c.start:c.end]) for c in claims] == [
        ("The weight of H2 is 3.4 kg.", "3.4 kg"),
        ("The weight of H3 is 3.9 kg.", "3.9 kg"),
        ("The battery life of H2 is 180 min.", "180 min"),  # an empty cell ("-") claims nothing
        ("The height of Eiffel Tower is 330 m.", "330 m"),
        ("Eiffel Tower, opened: 1889.", "1889"),
        ("RAM: 8 GB.", "8 GB"),
    ]
    assert [COMPARISON[a:b].splitlines()[0] for a, b in covered] == [
        "| Feature | H2 | H3 |", "| Name | Height | Opened |", "| Spec | Value |"]


def test_no_table_without_its_rule_row_or_inside_code() -> None:
    assert tables("| a | b |\n| c | d |") == ([], [])
    assert tables("```\n| City | Country |\n|---|---|\n| Paris | France |\n```") == ([], [])


def test_a_row_longer_or_shorter_than_its_header() -> None:
    text = "| City | Country |\n|---|---|\n| Paris | France | extra |\n| Rome |\n"
    claims, _ = tables(text)
    assert [c.text for c in claims] == ["The country of Paris is France."]
