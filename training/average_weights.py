"""Average verifier models fine-tuned one from another into one model (a "model soup").

    python training/average_weights.py --out /tmp/soup guardrail/models/verifier /tmp/phase9

Two phases of one lineage sit in one basin of the loss; the mean of their weights often scores
better than either, at no cost at inference (Wortsman et al., 2022, "Model soups").  Phase 9
improved the engine-shaped validation pairs and lost a little of NLI validation; the mean of
phases 8 and 9 keeps both (see the model card).  It is only meant for models of one lineage:
models trained apart from the same base need not share a basin, and their mean can be worse
than both.

Every input must have the same tensors (names and shapes) and the same tokenizer.  The output
gets the first input's config and tokenizer, the mean in fp16 safetensors, a ``metrics.json``
that records the inputs (each with its own metrics, so the lineage is kept) and a manifest.
It gets no ``calibration.json``: refit one for it with ``calibrate_verifier.py --model OUT``,
and score it with ``validate_verifier.py`` before it replaces the shipped model.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_verifier import sha256, write_manifest

COPIED = ("config.json", "tokenizer.json", "tokenizer_config.json")


def average(models: list[Path]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the models' weights, computed in fp32, stored in each tensor's dtype."""
    weights = [load_file(str(m / "model.safetensors")) for m in models]
    first = weights[0]
    for model, w in zip(models[1:], weights[1:]):
        if w.keys() != first.keys():
            raise ValueError(f"{model} has other tensors than {models[0]}: not the same architecture")
        shapes = [k for k in first if w[k].shape != first[k].shape]
        if shapes:
            raise ValueError(f"{model}: tensor {shapes[0]} has shape {tuple(w[shapes[0]].shape)}, "
                             f"{models[0]} has {tuple(first[shapes[0]].shape)}")
        if (model / "tokenizer.json").read_bytes() != (models[0] / "tokenizer.json").read_bytes():
            raise ValueError(f"{model} has another tokenizer than {models[0]}")
    return {k: (sum(w[k].float() for w in weights) / len(weights)).to(first[k].dtype).contiguous()
            for k in first}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", type=Path, help="model directories to average (two or more)")
    ap.add_argument("--out", type=Path, required=True, help="model directory to write")
    ap.add_argument("--force", action="store_true", help="replace a model already in --out")
    args = ap.parse_args(argv)
    if len(args.models) < 2:
        ap.error("give two or more model directories to average")
    missing = [str(m) for m in args.models if not (m / "model.safetensors").is_file()]
    if missing:
        ap.error(f"no model.safetensors in {', '.join(missing)}")
    if (args.out / "MANIFEST.json").exists() and not args.force:
        ap.error(f"{args.out} already holds a model; add --force to replace it")
    try:
        mean = average(args.models)
    except ValueError as exc:
        ap.error(str(exc))
    # Read before anything is written: --out may be one of the inputs.
    inputs = []
    for m in args.models:
        metrics = m / "metrics.json"
        inputs.append({"model": str(m), "model_sha256": sha256(m / "model.safetensors"),
                       "metrics": json.loads(metrics.read_text()) if metrics.exists() else None})

    args.out.mkdir(parents=True, exist_ok=True)
    if args.models[0].resolve() != args.out.resolve():
        for name in COPIED:
            shutil.copy(args.models[0] / name, args.out / name)
    # A calibration belongs to the weights it was fitted on; the mean's is refitted, never inherited.
    (args.out / "calibration.json").unlink(missing_ok=True)
    save_file(mean, str(args.out / "model.safetensors"), metadata={"format": "pt"})
    (args.out / "metrics.json").write_text(json.dumps({"averaged": inputs}, indent=1) + "\n")
    write_manifest(args.out)
    print(f"{args.out}: mean of {len(args.models)} models; next: "
          f"python training/calibrate_verifier.py --model {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
