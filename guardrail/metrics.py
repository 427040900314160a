"""Evaluation metrics, in numpy only: balanced accuracy, ROC-AUC, macro-F1, character-span F1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def balanced_accuracy(gold: Sequence[bool], pred: Sequence[bool]) -> float:
    g, p = np.asarray(gold, bool), np.asarray(pred, bool)
    rates = [float((p[g == cls] == cls).mean()) for cls in (True, False) if (g == cls).any()]
    return float(np.mean(rates)) if rates else float("nan")


def roc_auc(gold: Sequence[bool], score: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    g, s = np.asarray(gold, bool), np.asarray(score, float)
    pos, neg = s[g], s[~g]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    values = np.concatenate([pos, neg])[order]
    i = 0
    while i < len(values):  # average ranks over ties
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def f1(gold: Sequence[bool], pred: Sequence[bool]) -> float:
    g, p = np.asarray(gold, bool), np.asarray(pred, bool)
    tp = float((g & p).sum())
    denom = float(g.sum() + p.sum())
    return 2 * tp / denom if denom else float("nan")


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    return float(np.mean([f1([x == lab for x in gold], [y == lab for y in pred]) for lab in labels]))


def span_f1(gold_spans: Sequence[tuple[int, int]], pred_spans: Sequence[tuple[int, int]]) -> tuple[int, int, int]:
    """Character-level (true positives, gold chars, predicted chars) for one text."""
    gold = {i for s, e in gold_spans for i in range(s, e)}
    pred = {i for s, e in pred_spans for i in range(s, e)}
    return len(gold & pred), len(gold), len(pred)
