"""``guardrail eval``: score the verifier on labelled data in the evaluation schema.

Pair files (``premise``/``claim``/``label``) score each claim against its premise as one whole
claim; response files (``context``/``response``/``hallucinated``) run the full check and call a
response hallucinated when any claim is flagged.  Thresholds come from ``Settings`` (fitted on
the verifier's validation data), never from the file being evaluated.  The two baselines score
with word overlap or embedding cosine at a fixed threshold of 0.5, chosen a priori.

The file is JSON Lines in UTF-8, one object per line (blank lines are skipped); the first record
decides the kind and every record must then carry that kind's keys:

* pairs: ``premise`` and ``claim`` (strings), ``label`` (supported | unsupported | contradicted);
* responses: ``response`` (string), ``context`` (list of strings), ``hallucinated`` (true or
  false, not a string), optionally ``question`` (string or null) and ``spans`` (objects with
  integer ``start`` and ``end``, character offsets into ``response``).

``source`` (a string) is optional and defaults to ``"unknown"``: it only groups the per-source
table, so a file of one's own needs none.  :func:`read_records` raises :class:`InputError`
naming the file, the line and the key for the first record that breaks these rules.
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
LABELS = ("supported", "unsupported", "contradicted")
UNKNOWN_SOURCE = "unknown"
# The keys that decide a file's kind; the first record must have all of one set.
_KIND_KEYS = {"pairs": ("premise", "claim", "label"), "responses": ("response", "context", "hallucinated")}


def read_records(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """The file's kind ("pairs" or "responses") and its records, each checked (module docstring)."""
    kind: str | None = None
    records: list[dict[str, Any]] = []
    try:
        with path.open("rb") as fh:
            for n, raw in enumerate(fh, start=1):
                try:
                    # utf-8-sig: a byte-order mark some editors write before the first line
                    line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise InputError(f"{path}:{n}: not UTF-8 text (is this a JSONL file?)") from None
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise InputError(f"{path}:{n}: expected a JSON object, got {_json_type(record)}")
                if kind is None:
                    kind = _kind(path, record)
                records.append(_checked(f"{path}:{n}", kind, record))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if kind is None:
        raise InputError(f"{path} has no records")
    return kind, records


def _kind(path: Path, first: dict[str, Any]) -> str:
    for kind, keys in _KIND_KEYS.items():
        if set(keys) <= first.keys():
            return kind
    raise InputError(f"{path}: records need premise/claim/label (pairs) or "
                     f"context/response/hallucinated (responses); got keys {sorted(first)}")


def _checked(where: str, kind: str, record: dict[str, Any]) -> dict[str, Any]:
    missing = [k for k in _KIND_KEYS[kind] if k not in record]
    if missing:
        raise InputError(f"{where}: missing key {missing[0]!r} (every record of a {kind} file needs "
                         f"{', '.join(_KIND_KEYS[kind])})")
    source = record.setdefault("source", UNKNOWN_SOURCE)
    if not isinstance(source, str):
        raise InputError(f"{where}: 'source' must be a string, got {_json_type(source)}")
    if kind == "pairs":
        _check_pair(where, record)
    else:
        _check_response(where, record)
    return record


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def _check_pair(where: str, record: dict[str, Any]) -> None:
    for key in ("premise", "claim"):
        if not isinstance(record[key], str):
            raise InputError(f"{where}: {key!r} must be a string, got {_json_type(record[key])}")
    if not record["claim"].strip():  # scored "unsupported" it would count as a right answer or a wrong one
        raise InputError(f"{where}: 'claim' is empty")
    if record["label"] not in LABELS:
        raise InputError(f"{where}: 'label' must be one of {', '.join(LABELS)}; got {record['label']!r}")


def _check_response(where: str, record: dict[str, Any]) -> None:
    if not isinstance(record["response"], str):
        raise InputError(f"{where}: 'response' must be a string, got {_json_type(record['response'])}")
    context = record["context"]
    if not isinstance(context, list) or not all(isinstance(c, str) for c in context):
        raise InputError(f"{where}: 'context' must be a list of strings (the grounding passages)")
    if not isinstance(record["hallucinated"], bool):
        raise InputError(f"{where}: 'hallucinated' must be true or false, got {record['hallucinated']!r}")
    question = record.get("question")
    if question is not None and not isinstance(question, str):
        raise InputError(f"{where}: 'question' must be a string or null, got {_json_type(question)}")
    spans = record.get("spans")
    if spans is None:
        return
    # bool is an int subclass: a span of true/false offsets is as wrong as a string one
    if not isinstance(spans, list) or not all(
            isinstance(s, dict) and all(isinstance(s.get(k), int) and not isinstance(s.get(k), bool)
                                        for k in ("start", "end")) for s in spans):
        raise InputError(f"{where}: 'spans' must be a list of objects with integer start and end")
    # a span outside the response would score span F1 on characters that do not exist
    n = len(record["response"])
    bad = next((s for s in spans if not 0 <= s["start"] <= s["end"] <= n), None)
    if bad is not None:
        raise InputError(f"{where}: span {bad['start']}-{bad['end']} is not within the "
                         f"{n}-character response (0 <= start <= end <= {n})")


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
    base = [{"source": r["source"], "gold": r["hallucinated"],
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
