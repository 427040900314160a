"""``--calibrate labeled.jsonl``: choose the support threshold on data labeled by people.

An answer is flagged when its weakest claim scores below ``support_threshold``
(``Report.score < threshold``), and a claim's score does not depend on the threshold, so one
scoring pass over the labeled data is enough to evaluate every candidate threshold exactly.
The chosen threshold maximises balanced accuracy (hallucinated vs faithful answers; robust to
the usual imbalance), or, with ``target_precision``, maximises recall among the thresholds
whose precision reaches the target.  It is saved with ``Settings.save`` so the checker, the
audit (``--settings``) and the app load the same file.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardrail import ConfigError, Guardrail, Settings

from .formats import FieldMap, RejectedLine, SkippedLine, get_path, parse_line
from .inputs import open_input
from .runner import check_records

__all__ = ["Calibration", "calibrate", "choose_threshold", "parse_label"]

# Fields holding "is this answer hallucinated?"; the second group holds the opposite.
_POSITIVE_FIELDS = ("hallucinated", "is_hallucination", "hallucination", "label", "is_hallucinated")
_NEGATIVE_FIELDS = ("faithful", "is_faithful", "supported", "grounded")
_POSITIVE = {
    "hallucinated",
    "hallucination",
    "unfaithful",
    "unsupported",
    "contradicted",
    "not_supported",
    "bad",
    "fail",
    "failed",
    "incorrect",
    "1",
    "true",
    "yes",
}
_NEGATIVE = {
    "faithful",
    "supported",
    "grounded",
    "correct",
    "ok",
    "good",
    "pass",
    "passed",
    "0",
    "false",
    "no",
    "not_hallucinated",
}


@dataclass(frozen=True)
class Calibration:
    threshold: float
    objective: str
    n: int
    positives: int
    chosen: Mapping[str, float]
    default: Mapping[str, float]
    curve: tuple[Mapping[str, float], ...]
    unlabeled: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "support_threshold": self.threshold,
            "objective": self.objective,
            "n": self.n,
            "hallucinated": self.positives,
            "faithful": self.n - self.positives,
            "unlabeled_or_unusable": self.unlabeled,
            "at_chosen": dict(self.chosen),
            "at_default": dict(self.default),
            "curve": [dict(c) for c in self.curve],
        }


def parse_label(raw: Mapping[str, Any], field: str | None = None) -> bool | None:
    """True when the record is labeled hallucinated, False when faithful, None when unlabeled."""
    candidates = (
        [(field, not _is_negative_name(field))]
        if field
        else ([(f, True) for f in _POSITIVE_FIELDS] + [(f, False) for f in _NEGATIVE_FIELDS])
    )
    for name, positive_field in candidates:
        value = get_path(raw, name) if name else None
        if value is None:
            continue
        verdict = _truth(value)
        if verdict is None:
            continue
        return verdict if positive_field else not verdict
    return None


def _is_negative_name(field: str) -> bool:
    return field.rsplit(".", 1)[-1].lower() in _NEGATIVE_FIELDS


def _truth(value: Any) -> bool | None:
    """Whether a label value means "hallucinated" (for a positive field)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower().replace(" ", "_").replace("-", "_")
        if v in _POSITIVE:
            return True
        if v in _NEGATIVE:
            return False
    return None


def metrics(scores: Sequence[float], labels: Sequence[bool], threshold: float) -> dict[str, float]:
    """Confusion-derived metrics of "flag when score < threshold" against labels (True = hallucinated)."""
    tp = fp = tn = fn = 0
    for s, y in zip(scores, labels, strict=True):
        flagged = s < threshold
        if flagged and y:
            tp += 1
        elif flagged:
            fp += 1
        elif y:
            fn += 1
        else:
            tn += 1
    tpr = tp / (tp + fn) if tp + fn else 0.0
    tnr = tn / (tn + fp) if tn + fp else 0.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    return {
        "threshold": round(threshold, 4),
        "balanced_accuracy": round((tpr + tnr) / 2, 4),
        "precision": round(precision, 4),
        "recall": round(tpr, 4),
        "specificity": round(tnr, 4),
        "accuracy": round((tp + tn) / max(1, len(labels)), 4),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
    }


def choose_threshold(
    scores: Sequence[float], labels: Sequence[bool], *, target_precision: float | None = None
) -> tuple[float, list[dict[str, float]]]:
    """The best threshold and the curve of every candidate (midpoints between observed scores)."""
    if len(set(labels)) < 2:
        raise ConfigError("calibration needs both hallucinated and faithful examples in the labeled data")
    distinct = sorted(set(scores))
    candidates = {
        0.0,
        1.0,
        *((a + b) / 2 for a, b in itertools.pairwise(distinct)),
        *(min(1.0, s + 1e-4) for s in distinct),
    }
    curve = [metrics(scores, labels, t) for t in sorted(candidates)]
    if target_precision is None:
        best = max(curve, key=lambda m: (m["balanced_accuracy"], -abs(m["threshold"] - 0.5)))
    else:
        ok = [m for m in curve if m["precision"] >= target_precision and m["tp"] > 0]
        if not ok:
            top = max(m["precision"] for m in curve if m["tp"] > 0)
            raise ConfigError(
                f"no threshold reaches precision {target_precision:.2f} on this data "
                f"(best is {top:.2f}); lower --target-precision or add labeled data"
            )
        best = max(ok, key=lambda m: (m["recall"], m["balanced_accuracy"]))
    return float(best["threshold"]), curve


def calibrate(
    labeled: str,
    guard: Guardrail,
    *,
    save_to: Path,
    report_to: Path | None = None,
    shape: str = "auto",
    fields: FieldMap | None = None,
    label_field: str | None = None,
    target_precision: float | None = None,
    batch_size: int = 16,
) -> Calibration:
    """Score the labeled records, pick the threshold, save the settings with it."""
    source = open_input(labeled)
    records, labels = [], []
    unusable = 0
    try:
        for line_no, text in source.lines():
            try:
                raw = json.loads(text)
                label = parse_label(raw, label_field) if isinstance(raw, dict) else None
                record = parse_line(line_no, text, shape, fields)
            except (json.JSONDecodeError, RejectedLine, SkippedLine):
                unusable += 1
                continue
            if label is None:
                unusable += 1
                continue
            records.append(record)
            labels.append(label)
    finally:
        source.cleanup()
    if not records:
        raise ConfigError(
            f"{labeled}: no labeled records (label fields tried: "
            f"{label_field or ', '.join(_POSITIVE_FIELDS + _NEGATIVE_FIELDS)})"
        )
    scores: dict[int, float] = {}
    for i in range(0, len(records), batch_size):
        results, _ = check_records(guard, records[i : i + batch_size])
        for r in results:
            if r.get("status") == "checked":
                # An answer without claims is never flagged, whatever the threshold.
                scores[r["line"]] = float(r["score"]) if r.get("n_claims") else 2.0
    kept = [(scores[r.line], y) for r, y in zip(records, labels, strict=True) if r.line in scores]
    xs, ys = [s for s, _ in kept], [y for _, y in kept]
    threshold, curve = choose_threshold(xs, ys, target_precision=target_precision)
    objective = "balanced_accuracy" if target_precision is None else f"recall@precision>={target_precision}"
    result = Calibration(
        threshold=threshold,
        objective=objective,
        n=len(xs),
        positives=sum(ys),
        chosen=metrics(xs, ys, threshold),
        default=metrics(xs, ys, guard.settings.support_threshold),
        curve=tuple(curve[:: max(1, len(curve) // 200)]),
        unlabeled=unusable + len(records) - len(kept),
    )
    calibrated = Settings.model_validate({**guard.settings.model_dump(), "support_threshold": threshold})
    save_to.parent.mkdir(parents=True, exist_ok=True)
    calibrated.save(save_to)
    if report_to is not None:
        report_to.write_text(json.dumps(result.to_dict(), indent=1) + "\n", encoding="utf-8")
    return result
