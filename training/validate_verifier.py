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
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from hard_negatives import shaped, surnames  # noqa: E402
from train_verifier import LABELS, read_jsonl  # noqa: E402

from guardrail.metrics import balanced_accuracy  # noqa: E402
from guardrail.nli import EmbeddedNLI  # noqa: E402


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
    args = ap.parse_args(argv)
    validation = read_jsonl(args.data_dir / "validation.jsonl")
    shaped_rows = list(shaped(validation, random.Random(args.seed), 1.0))
    surname_rows = list(surnames(validation, random.Random(args.seed), 1.0))
    for model in args.models:
        nli = EmbeddedNLI(model)
        print(json.dumps({"model": str(model), "validation": scores(nli, validation),
                          "shaped_validation": scores(nli, shaped_rows, by="source"),
                          "surname_validation": scores(nli, surname_rows)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
