from __future__ import annotations

import math

from guardrail.metrics import balanced_accuracy, f1, macro_f1, roc_auc, span_f1


def test_balanced_accuracy() -> None:
    assert balanced_accuracy([True, True, False, False], [True, False, False, False]) == 0.75


def test_roc_auc_with_ties_and_degenerate_input() -> None:
    assert roc_auc([True, False], [0.9, 0.1]) == 1.0
    assert roc_auc([True, False], [0.5, 0.5]) == 0.5
    assert roc_auc([True, True, False], [0.2, 0.8, 0.5]) == 0.5
    assert math.isnan(roc_auc([True], [0.3]))


def test_f1_and_macro_f1() -> None:
    assert f1([True, False, True], [True, True, False]) == 0.5
    assert macro_f1(["a", "b"], ["a", "b"], ["a", "b"]) == 1.0


def test_span_f1_counts_characters() -> None:
    assert span_f1([(0, 10)], [(5, 15)]) == (5, 10, 10)
