"""``guardrail eval``: score the verifier on labelled data in the evaluation schema.

Pair files (``premise``/``claim``/``label``) score each claim against its premise as one whole
claim; response files (``context``/``response``/``hallucinated``) run the full check and call a
response hallucinated when any claim is flagged.  Thresholds come from ``Settings`` (fitted on
the verifier's validation data), never from the file being evaluated.  The two baselines score
with word overlap or embedding cosine at a fixed threshold of 0.5, chosen a priori.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from guardrail.checks import lexical_support
from guardrail.engine import Guardrail
from guardrail.exceptions import InputError
from guardrail.metrics import balanced_accuracy, f1, macro_f1, roc_auc, span_f1

Baseline = Literal["overlap", "cosine"]
BATCH = 16


def read_records(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """The file's kind ("pairs" or "responses") and its records."""
    records = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
    if not records:
        raise InputError(f"{path} has no records")
    first = records[0]
    if {"premise", "claim", "label"} <= first.keys():
        return "pairs", records
    if {"response", "context", "hallucinated"} <= first.keys():
        return "responses", records
    raise InputError(f"{path}: records need premise/claim/label (pairs) or "
                     f"context/response/hallucinated (responses); got keys {sorted(first)}")


def _cosine_scorer() -> Callable[[Sequence[tuple[str, str]]], list[float]]:
    from guardrail.embeddings import load_embedder

    embedder = load_embedder()

    def score(pairs: Sequence[tuple[str, str]]) -> list[float]:
        a = embedder.encode([c for c, _ in pairs])
        b = embedder.encode([e for _, e in pairs])
        return [float(x) for x in (a * b).sum(axis=1)]

    return score


def _batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def evaluate(path: str | Path, *, guard: Guardrail | None = None, baseline: Baseline | None = None,
             progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Metrics per source and overall, as one JSON-ready dict."""
    started = time.perf_counter()
    kind, records = read_records(Path(path))
    guard = guard or Guardrail(policy="flag")
    cosine = _cosine_scorer() if baseline == "cosine" else None
    rows: list[dict[str, Any]] = []
    for batch in _batches(records, BATCH):
        if kind == "pairs":
            rows.extend(_score_pairs(batch, guard, baseline, cosine))
        else:
            rows.extend(_score_responses(batch, guard, baseline, cosine))
        if progress:
            progress(len(batch))
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_source[row["source"]].append(row)
    result = {"file": str(path), "kind": kind, "scorer": baseline or "guardrail",
              "overall": _metrics(kind, rows),
              "per_source": {s: _metrics(kind, r) for s, r in sorted(by_source.items())},
              "n": len(rows), "seconds": round(time.perf_counter() - started, 1)}
    return result


def _score_pairs(batch: Sequence[dict[str, Any]], guard: Guardrail, baseline: Baseline | None,
                 cosine: Callable[..., list[float]] | None) -> list[dict[str, Any]]:
    gold = [{"source": r["source"], "gold": r["label"]} for r in batch]
    if baseline == "overlap":
        scores = [lexical_support(r["claim"], r["premise"]) for r in batch]
        return [{**g, "score": s, "pred": "supported" if s >= 0.5 else "unsupported"} for g, s in zip(gold, scores)]
    if cosine is not None:
        scores = cosine([(r["claim"], r["premise"]) for r in batch])
        return [{**g, "score": s, "pred": "supported" if s >= 0.5 else "unsupported"} for g, s in zip(gold, scores)]
    results = guard.verify_many([(r["claim"], [r["premise"]]) for r in batch])
    return [{**g, "score": c.score, "pred": c.verdict} for g, c in zip(gold, results)]


def _score_responses(batch: Sequence[dict[str, Any]], guard: Guardrail, baseline: Baseline | None,
                     cosine: Callable[..., list[float]] | None) -> list[dict[str, Any]]:
    base = [{"source": r["source"], "gold": bool(r["hallucinated"]),
             "gold_spans": [(s["start"], s["end"]) for s in r.get("spans") or []]} for r in batch]
    if baseline is not None:
        texts = [(r["response"], " ".join(r["context"])) for r in batch]
        scores = ([lexical_support(a, c) for a, c in texts] if baseline == "overlap"
                  else cosine(texts) if cosine else [])
        return [{**b, "score": s, "pred": s < 0.5, "pred_spans": []} for b, s in zip(base, scores)]
    reports = guard.check_many([{"answer": r["response"], "context": r["context"],
                                 "question": r.get("question")} for r in batch])
    return [{**b, "score": rep.score, "pred": bool(rep.flagged),
             "pred_spans": [(c.claim.start, c.claim.end) for c in rep.flagged]}
            for b, rep in zip(base, reports)]


def _metrics(kind: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    def r4(x: float) -> float | None:
        return None if x != x else round(x, 4)  # NaN -> None keeps the JSON valid

    if kind == "pairs":
        gold = [r["gold"] == "supported" for r in rows]
        pred = [r["pred"] == "supported" for r in rows]
        out = {"n": len(rows), "bacc": r4(balanced_accuracy(gold, pred)),
               "auc": r4(roc_auc(gold, [r["score"] for r in rows]))}
        if any(r["gold"] == "contradicted" for r in rows):
            labels = ["supported", "unsupported", "contradicted"]
            out["macro_f1_3way"] = r4(macro_f1([r["gold"] for r in rows], [r["pred"] for r in rows], labels))
        return out
    gold = [r["gold"] for r in rows]
    pred = [r["pred"] for r in rows]
    # a high support score means "not hallucinated": AUC of the hallucinated class uses 1 - score
    out = {"n": len(rows), "bacc": r4(balanced_accuracy(gold, pred)),
           "auc": r4(roc_auc(gold, [1 - r["score"] for r in rows])), "f1_hallucinated": r4(f1(gold, pred))}
    with_spans = [r for r in rows if r["gold_spans"]]
    if with_spans:
        tp, g, p = np.sum([span_f1(r["gold_spans"], r["pred_spans"]) for r in with_spans], axis=0)
        out["span_f1"] = r4(2 * tp / (g + p) if g + p else float("nan"))
    return out
