"""Score verifier models on the validation data that decides whether a training phase is kept.

    python training/validate_verifier.py [MODEL_DIR ...]   # default: the shipped model

Three sets, none ever trained on: the NLI validation split (``../shared/nli-train/validation.jsonl``,
4,155 pairs), pairs shaped like the engine's inputs made from it by ``hard_negatives.shaped``
(compound claims over two premises of one page, restated short answers, unsupported details and
outside names; seed 7), and its pairs whose premise names the claim's person in full, rewritten to
call them by surname alone (``hard_negatives.surnames``, as retrieved chunks often do).  For each:
3-way accuracy, and balanced accuracy of entailed (p > 0.5) against not; for the shaped set also
3-way accuracy per kind.  One JSON line per model.
The evaluation data (``../shared/eval``) is never read here.

    python training/validate_verifier.py guardrail/models/verifier training/runs/rebuilt --compare

``--compare`` judges the second model against the first (the reference) and adds a line
``{"within_noise": ..., "beyond": [...]}``: every figure of ``TOLERANCE`` must be within its
tolerance of the reference's, both ways, else the exit status is 1.  The tolerances are the rule
written in session 19 before its rerun of phase 9 was compared (the model card's history); that
rule's dev figures are measured apart, with ``guardrail eval``, since training scripts never read
the evaluation data.  The surname pairs are scored, not judged.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hard_negatives import shaped, surnames  # noqa: E402
from train_verifier import LABELS, read_jsonl  # noqa: E402

from guardrail.metrics import balanced_accuracy  # noqa: E402
from guardrail.nli import EmbeddedNLI  # noqa: E402

# (set, figure): largest difference from the reference that is still noise.  "calibration" is the
# fit's balanced accuracy in the model's calibration.json (main, and the short-answer fit).
TOLERANCE = {
    ("validation", "accuracy_3way"): 0.003, ("validation", "bacc_entailed_vs_not"): 0.003,
    ("shaped_validation", "accuracy_3way"): 0.010, ("shaped_validation", "bacc_entailed_vs_not"): 0.010,
    ("calibration", "main"): 0.005, ("calibration", "short_answer"): 0.010,
}


def calibration_fits(model: Path) -> dict[str, float | None]:
    """The balanced accuracy each of the model's calibration fits reached on its fit data."""
    path = model / "calibration.json"
    if not path.exists():
        return {"main": None, "short_answer": None}
    data = json.loads(path.read_text())
    return {"main": data.get("bacc_on_fit_data"), "short_answer": data.get("short_answer", {}).get("bacc_on_fit_data")}


def beyond_noise(reference: dict[str, Any], model: dict[str, Any]) -> list[str]:
    """Each figure of ``TOLERANCE`` on which ``model`` is not within noise of ``reference``."""
    out = []
    for (part, figure), tolerance in TOLERANCE.items():
        ref, got = reference[part].get(figure), model[part].get(figure)
        if not isinstance(ref, (int, float)) or not isinstance(got, (int, float)):
            out.append(f"{part}.{figure}: {ref} -> {got} (missing)")
        elif abs(got - ref) > tolerance + 1e-9:  # figures are rounded to 4 places
            out.append(f"{part}.{figure}: {ref:.4f} -> {got:.4f} (tolerance {tolerance})")
    return out


def scores(nli: EmbeddedNLI, rows: list[dict[str, str]], by: str | None = None) -> dict[str, object]:
    probs = nli.predict([(r["premise"], r["hypothesis"]) for r in rows])
    gold = np.array([LABELS.index(r["label"]) for r in rows])
    right = probs.argmax(1) == gold
    bacc = balanced_accuracy(gold == 0, probs[:, 0] > 0.5)
    out: dict[str, object] = {"n": len(rows), "accuracy_3way": round(float(right.mean()), 4),
                              "bacc_entailed_vs_not": round(bacc, 4)}
    if by:
        kinds = np.array([r[by] for r in rows])
        out["accuracy_3way_by_kind"] = {k: round(float(right[kinds == k].mean()), 4) for k in sorted(set(kinds))}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", type=Path, default=[REPO / "guardrail" / "models" / "verifier"])
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "nli-train")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--compare", action="store_true",
                    help="two models: is the second within noise of the first? (exit status 1 if not)")
    args = ap.parse_args(argv)
    if args.compare and len(args.models) != 2:
        ap.error("--compare takes exactly two models: the reference, then the one judged against it")
    validation = read_jsonl(args.data_dir / "validation.jsonl")
    shaped_rows = list(shaped(validation, random.Random(args.seed), 1.0))
    surname_rows = list(surnames(validation, random.Random(args.seed), 1.0))
    results: list[dict[str, Any]] = []
    for model in args.models:
        nli = EmbeddedNLI(model)
        results.append({"model": str(model), "validation": scores(nli, validation),
                        "shaped_validation": scores(nli, shaped_rows, by="source"),
                        "surname_validation": scores(nli, surname_rows), "calibration": calibration_fits(model)})
        print(json.dumps(results[-1]), flush=True)
    if not args.compare:
        return 0
    beyond = beyond_noise(results[0], results[1])
    print(json.dumps({"within_noise": not beyond, "beyond": beyond}), flush=True)
    verdict = "within noise of" if not beyond else "NOT within noise of"
    print(f"{args.models[1]} is {verdict} {args.models[0]}" + "".join(f"\n  {b}" for b in beyond), file=sys.stderr)
    return 1 if beyond else 0


if __name__ == "__main__":
    raise SystemExit(main())
