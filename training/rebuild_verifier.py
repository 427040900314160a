"""Rebuild the shipped verifier from its sources in one command, and score it beside the shipped one.

    python training/rebuild_verifier.py --out training/runs/rebuilt             # 7-14 hours on 2 CPU cores
    python training/rebuild_verifier.py --out training/runs/rebuilt --dry-run   # the commands it would run

To ship what it built: ``cp training/runs/rebuilt/* guardrail/models/verifier/``, then
``python training/calibrate_verifier.py`` (the same fit again; it rewrites ``MANIFEST.json``, which
then covers the model card too).

Its checkpoints are hours of work: keep ``--out`` on a disk that survives a reboot (``training/runs/``
is git-ignored), not in ``/tmp``, which many systems empty when they start.

The shipped weights (v0.2) are this command's output, run to its end on a 2-core CPU box (the
model card's "How it was built").  No step has a budget (``--max-minutes 0``), so each trains its
whole plan under the schedule made for it, whatever the machine's speed, and the rebuild is
deterministic for its seeds on one machine (other hardware: within floating-point noise).  The
weights before them (v0.1) came from phases that fitted each session's time; the steps keep their
names:

1. ``passes``: three passes over the phase 1-7 plan in one schedule (14,379 steps);
2. ``phase8``: from it, the first 3,160 of the 6,081 batches of the plan with the engine-shaped
   pairs, the schedule decaying to zero there, as v0.1's phase 8 did where its budget ended;
3. ``phase9``: from phase 8, the other 2,921 batches of that plan, as v0.1's phase 9 did;
4. the mean of phases 8 and 9 written to ``--out`` (``average_weights.py``);
5. ``calibration.json`` fitted for it (``calibrate_verifier.py``);
6. ``--out`` and the shipped model scored on the validation sets that decided every phase
   (``validate_verifier.py --compare``; one JSON line each), and judged: every figure within the
   tolerances fixed before any rebuild was compared (``validate_verifier.TOLERANCE``), or the
   rebuild fails (exit status 2, as for any failed step) after saying which figures are not.

Steps 1-3 go to ``--work-dir`` (default: OUT.steps beside ``--out``).  Run again, the command
skips a step whose model is written with its plan complete and resumes an interrupted one from
its checkpoint, exactly where it stopped (random state included; the log and ``--dry-run`` say at
which step).  A step directory whose model was trained under a budget that changed its schedule
(``budget.refits`` or ``budget.stopped`` in its ``metrics.json``) fails the rebuild: that schedule
was fitted to a machine's speed, so delete the step's directories and rerun.  A GPU is used when
there is one (``train_verifier.py`` picks it).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHIPPED = HERE.parent / "guardrail" / "models" / "verifier"


@dataclass(frozen=True)
class Step:
    name: str
    command: list[str]
    trains: Path | None = None  # the model directory a training step writes
    failure: str = "failed; fix the cause and rerun (finished steps are kept)"


class RebuildError(Exception):
    """A step cannot be resumed or skipped safely."""


def script(name: str, *args: object) -> list[str]:
    return [sys.executable, str(HERE / name), *map(str, args)]


def recipe(out: Path, work: Path, data_dir: Path) -> list[Step]:
    def train(name: str, *args: object) -> Step:
        return Step(name, script("train_verifier.py", "--data-dir", data_dir, "--max-minutes", 0,
                                 "--out", work / name, *args), trains=work / name)

    return [
        train("passes", "--epochs", 3),
        # 0.5197 of the plan is its first 3,160 batches: where phase 8's budget ended its schedule.
        train("phase8", "--init-from", work / "passes", "--shaped-rate", 1.0, "--lr", 2e-5, "--epochs", 0.5197),
        train("phase9", "--init-from", work / "phase8", "--shaped-rate", 1.0, "--lr", 1.5e-5,
              "--start-batch", 3160),
        Step("mean", script("average_weights.py", work / "phase8", work / "phase9", "--out", out, "--force")),
        Step("calibrate", script("calibrate_verifier.py", "--model", out, "--data-dir", data_dir)),
        Step("validate", script("validate_verifier.py", SHIPPED, out, "--data-dir", data_dir, "--compare"),
             failure=f"says {out} is not within noise of the shipped model (the figures above)"),
    ]


def trained(model: Path) -> bool:
    """Whether a training step's model is written with its whole plan trained on its own schedule."""
    metrics = model / "metrics.json"
    if not (model / "MANIFEST.json").exists() or not metrics.exists():
        return False
    budget = json.loads(metrics.read_text()).get("budget", {})
    if budget.get("stopped") != "plan complete" or budget.get("refits"):
        raise RebuildError(f"{model} was trained under a budget that fitted its learning-rate schedule to the "
                           f"machine's speed ({budget.get('stopped')}, refits {budget.get('refits')}); delete "
                           f"{model} and {model}.work and rerun")
    return True


def resume_from(checkpoint: Path) -> str:
    """Where a resumed step goes on from, for the log (the step itself reads the checkpoint)."""
    import torch  # here, not at import: only a step with a checkpoint needs it

    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
        return f"resume at step {state['step']:,} of {state['total_steps']:,}"
    except Exception as exc:  # a damaged checkpoint fails in the step, with the step's own error
        return f"resume ({checkpoint} unreadable: {type(exc).__name__})"


def actions(steps: list[Step]) -> list[tuple[Step, str]]:
    """Each step with what the run does with it: "run", "resume ..." or "done"."""
    out = []
    for step in steps:
        if step.trains is None:
            out.append((step, "run"))
        elif trained(step.trains):
            out.append((step, "done"))
        elif (checkpoint := step.trains.with_name(step.trains.name + ".work") / "checkpoint.pt").exists():
            out.append((replace(step, command=[*step.command, "--resume"]), resume_from(checkpoint)))
        else:
            out.append((step, "run"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], epilog=__doc__.split("\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="model directory to write (not the shipped one)")
    ap.add_argument("--work-dir", type=Path, default=None, help="the steps' models (default: OUT.steps)")
    ap.add_argument("--data-dir", type=Path, default=HERE.parent.parent / "shared" / "nli-train")
    ap.add_argument("--dry-run", action="store_true", help="print the commands and what is done, run nothing")
    args = ap.parse_args(argv)
    if args.out.resolve() == SHIPPED.resolve():
        ap.error("--out is the shipped model: rebuild elsewhere and compare first (the last step does)")
    work = args.work_dir or args.out.with_name(args.out.name + ".steps")
    try:
        return run(actions(recipe(args.out, work, args.data_dir)), args.dry_run)
    except RebuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run(steps: list[tuple[Step, str]], dry_run: bool) -> int:
    for step, action in steps:
        print(f"[{step.name}: {action}] {shlex.join(step.command)}", flush=True)
        if action == "done" or dry_run:
            continue
        if subprocess.run(step.command).returncode != 0:
            raise RebuildError(f"step {step.name} {step.failure}")
        if step.trains is not None and not trained(step.trains):
            raise RebuildError(f"step {step.name} wrote no model to {step.trains}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
