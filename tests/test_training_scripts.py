"""The training and benchmark scripts' command lines: guards that fail fast, output that never
claims what it did not measure.  Nothing is trained here (seconds in all)."""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
import train_verifier  # noqa: E402


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("args", [[], ["--help"]])
def test_hard_negatives_says_it_is_a_library(args: list[str]) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "training" / "hard_negatives.py"), *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "train_verifier.py" in done.stdout


def test_default_out_never_replaces_the_shipped_model_without_force(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(train_verifier, "REPO", tmp_path)
    shipped = tmp_path / "guardrail" / "models" / "verifier"
    shipped.mkdir(parents=True)
    (shipped / "MANIFEST.json").write_text("{}")
    with pytest.raises(SystemExit) as exc:
        train_verifier.main(["--work-dir", str(tmp_path / "w")])
    assert exc.value.code == 2 and "--force" in capsys.readouterr().err
    # --force gets past the guard (to the missing data, here), as does an explicit --out
    for extra in (["--force"], ["--out", str(shipped)]):
        with pytest.raises(FileNotFoundError):
            train_verifier.main(["--work-dir", str(tmp_path / "w"), "--data-dir", str(tmp_path / "none"), *extra])
    assert sorted(p.name for p in shipped.iterdir()) == ["MANIFEST.json"]


def test_resume_without_a_checkpoint_is_an_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        train_verifier.main(["--resume", "--work-dir", str(tmp_path), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2 and "no checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        train_verifier.main(["--export-only", "--work-dir", str(tmp_path), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2 and "--resume" in capsys.readouterr().err


def test_a_run_with_its_own_out_checkpoints_beside_it(tmp_path, capsys) -> None:
    # A trial run (--out elsewhere) must not leave a checkpoint that resuming the shipped model reads.
    with pytest.raises(SystemExit) as exc:
        train_verifier.main(["--resume", "--out", str(tmp_path / "trial")])
    assert exc.value.code == 2 and str(tmp_path / "trial.work" / "checkpoint.pt") in capsys.readouterr().err


def test_shaped_rate_adds_pairs_and_leaves_the_plan_alone_at_zero(tmp_path) -> None:
    rows = [{"premise": f"Page {i % 5}: Item {i} was made in {1900 + i}.",
             "hypothesis": f"Item {i} was made in {1900 + i}.", "label": "entailment", "source": "vitaminc",
             "id": str(i), "orig_label": "True"} for i in range(60)]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    def plan(*rate: float) -> list[dict[str, str]]:
        return train_verifier.build_training_set(tmp_path, random.Random(13), 0.35, 0.15, *rate)

    # the phase 1-7 plan is the same whether the argument is left out or 0: the shipped model stays reproducible
    assert plan() == plan(0.0) == plan(0.0, 0.0)
    more = plan(1.0)
    assert len(more) > len(plan()) and any(r["source"] in {
        "synthetic_conjoined", "synthetic_qa", "synthetic_extrinsic", "synthetic_outside_name"} for r in more)
    # and phase 8's plan is the same without surname pairs
    assert plan(1.0, 0.0) == more


def test_validate_verifier_scores_the_three_validation_sets(tmp_path, capsys) -> None:
    validate = load(ROOT / "training" / "validate_verifier.py")
    rows = [{"premise": "Ada Lovelace: Ada Lovelace was born in London in 1815.", "label": "entailment",
             "hypothesis": "Ada Lovelace was born in 1815.", "source": "vitaminc", "id": "1"},
            {"premise": "Ada Lovelace: She wrote the first published algorithm in 1843.", "label": "entailment",
             "hypothesis": "Ada Lovelace wrote an algorithm.", "source": "vitaminc", "id": "2"},
            {"premise": "Ada Lovelace: She wrote the first published algorithm in 1843.", "label": "contradiction",
             "hypothesis": "Ada Lovelace wrote nothing.", "source": "vitaminc", "id": "3"}]
    (tmp_path / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert validate.main(["--data-dir", str(tmp_path)]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["model"].endswith("verifier") and line["validation"]["n"] == 3
    shaped = line["shaped_validation"]
    assert shaped["n"] > 0 and set(shaped["accuracy_3way_by_kind"]) <= {
        "synthetic_conjoined", "synthetic_qa", "synthetic_qa_wrong", "synthetic_qa_outside", "synthetic_extrinsic",
        "synthetic_outside_name"}
    # each premise names "Ada Lovelace" in full; each rewrite calls her "Lovelace"
    assert line["surname_validation"]["n"] == 3
    for scored in (line["validation"], shaped, line["surname_validation"]):
        assert 0.0 <= scored["accuracy_3way"] <= 1.0 and 0.0 <= scored["bacc_entailed_vs_not"] <= 1.0


def test_validate_compare_judges_the_second_model_against_the_first(tmp_path, capsys) -> None:
    validate = load(ROOT / "training" / "validate_verifier.py")
    shipped = ROOT / "guardrail" / "models" / "verifier"
    rows = [{"premise": "Ada Lovelace: Ada Lovelace was born in London in 1815.", "label": "entailment",
             "hypothesis": "Ada Lovelace was born in 1815.", "source": "vitaminc", "id": "1"},
            {"premise": "Ada Lovelace: She wrote the first published algorithm in 1843.", "label": "contradiction",
             "hypothesis": "Ada Lovelace wrote nothing.", "source": "vitaminc", "id": "3"}]
    (tmp_path / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    # the same weights are within noise of themselves
    assert validate.main([str(shipped), str(shipped), "--data-dir", str(tmp_path), "--compare"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["calibration"]["main"] == json.loads((shipped / "calibration.json").read_text())["bacc_on_fit_data"]
    assert lines[2] == {"within_noise": True, "beyond": []}
    # a calibration fit 0.006 lower is beyond the 0.005 allowed, both ways; 0.005 is within
    ref = {part: dict(lines[0][part]) for part in ("validation", "shaped_validation", "calibration")}
    main = ref["calibration"]["main"]
    for delta in (0.005, -0.005, 0.006, -0.006):
        moved = {**ref, "calibration": {**ref["calibration"], "main": main + delta}}
        beyond = [f"calibration.main: {main:.4f} -> {main + delta:.4f} (tolerance 0.005)"] if abs(delta) > 0.005 else []
        assert validate.beyond_noise(ref, moved) == beyond
    # a model without a calibration cannot be judged on it
    bare = tmp_path / "bare"
    bare.mkdir()
    assert validate.calibration_fits(bare) == {"main": None, "short_answer": None}
    assert validate.beyond_noise(ref, {**ref, "calibration": validate.calibration_fits(bare)}) == [
        f"calibration.main: {main} -> None (missing)",
        f"calibration.short_answer: {ref['calibration']['short_answer']} -> None (missing)"]
    with pytest.raises(SystemExit) as exc:
        validate.main([str(shipped), "--compare"])
    assert exc.value.code == 2 and "exactly two models" in capsys.readouterr().err


class FakeClassifier:
    """Says "entailment" to everything."""

    def eval(self) -> None: ...

    def train(self) -> None: ...

    def __call__(self, input_ids: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(logits=torch.tensor([[2.0, 0.0, 0.0]]).repeat(len(input_ids), 1))


def fake_tokenizer(premises: list[str], hypotheses: list[str], **_: object) -> dict[str, torch.Tensor]:
    return {"input_ids": torch.zeros(len(premises), 2)}


def test_validation_stops_at_its_deadline_after_the_minimum() -> None:
    model, tokenizer = FakeClassifier(), fake_tokenizer
    rows = [{"premise": "p", "hypothesis": "h", "label": "entailment"}] * 300
    assert train_verifier.evaluate(model, tokenizer, rows, 8, "cpu")["n"] == 300
    late = train_verifier.evaluate(model, tokenizer, rows, 8, "cpu", deadline=time.monotonic() - 1, min_rows=128)
    assert late["n"] == 128 and late["accuracy_3way"] == 1.0
    assert 0.0 <= train_verifier.process_age() < 24 * 3600


def test_audit_benchmark_never_claims_what_it_did_not_measure() -> None:
    bench = load(ROOT / "benchmarks" / "audit_throughput.py")
    assert bench.fmt(None, ".2f") == "n/a" and bench.fmt(0.0, ".2f") == "0.00"
    assert bench.fmt(7.234, ".1f", "s") == "7.2s"
    untested = {"batch_size": 2, "killed": False, "exactly_once": None,
                "note": "not tested: the audit wrote all 8 of 8 records before the kill at 4"}
    line = bench.resume_line(untested, 8)
    assert "not tested" in line and "exactly once: n/a" in line and "True" not in line
    tested = {"batch_size": 2, "killed_after_records": 4, "resume_wall_s": 10.4, "resumed_records": 4,
              "resume_first_new_result_s": None, "exactly_once": True}
    assert "first new result after n/a" in bench.resume_line(tested, 8)


def test_int8_quantisation_is_silent() -> None:
    bench = load(ROOT / "benchmarks" / "verifier_speed.py")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bench.quantize(torch.nn.Sequential(torch.nn.Linear(4, 4)))
    assert not [str(w.message) for w in caught]


def shipped_copy(tmp_path: Path, name: str, nudge: float = 0.0) -> Path:
    """A copy of the shipped model with ``nudge`` added to its classifier bias."""
    shipped = ROOT / "guardrail" / "models" / "verifier"
    out = tmp_path / name
    out.mkdir()
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json", "metrics.json"):
        (out / f).write_bytes((shipped / f).read_bytes())
    weights = load_file(str(shipped / "model.safetensors"))
    weights["classifier.bias"] = (weights["classifier.bias"].float() + nudge).to(weights["classifier.bias"].dtype)
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    train_verifier.write_manifest(out)
    return out


def test_average_weights_writes_the_mean_as_a_model_guardrail_loads(tmp_path, capsys) -> None:
    from guardrail.nli import EmbeddedNLI
    soup = load(ROOT / "training" / "average_weights.py")
    a, b = shipped_copy(tmp_path, "a"), shipped_copy(tmp_path, "b", nudge=2.0)
    out = tmp_path / "soup"
    assert soup.main([str(a), str(b), "--out", str(out)]) == 0
    assert "calibrate_verifier.py --model" in capsys.readouterr().out
    mean, wa = load_file(str(out / "model.safetensors")), load_file(str(a / "model.safetensors"))
    assert torch.allclose(mean["classifier.bias"].float(), wa["classifier.bias"].float() + 1.0, atol=1e-2)
    assert torch.equal(mean["classifier.weight"], wa["classifier.weight"])
    lineage = json.loads((out / "metrics.json").read_text())["averaged"]
    assert [x["model"] for x in lineage] == [str(a), str(b)]
    assert lineage[0]["metrics"] == json.loads((a / "metrics.json").read_text())
    assert not (out / "calibration.json").exists()  # refitted for the mean, never inherited
    probs = EmbeddedNLI(out).predict([("Ada Lovelace was born in 1815.", "Ada Lovelace was born in 1815.")])
    assert probs.shape == (1, 3) and abs(float(probs.sum()) - 1.0) < 1e-4


def test_average_weights_refuses_what_it_cannot_average(tmp_path, capsys) -> None:
    soup = load(ROOT / "training" / "average_weights.py")
    a = shipped_copy(tmp_path, "a")

    def refused(argv: list[str], says: str) -> None:
        with pytest.raises(SystemExit) as exc:
            soup.main(argv)
        assert exc.value.code == 2 and says in capsys.readouterr().err

    refused([str(a), "--out", str(tmp_path / "o")], "two or more")
    refused([str(a), str(tmp_path / "none"), "--out", str(tmp_path / "o")], "no model.safetensors")
    other = shipped_copy(tmp_path, "other")
    weights = load_file(str(other / "model.safetensors"))
    weights["classifier.bias"] = torch.zeros(2, dtype=weights["classifier.bias"].dtype)
    save_file(weights, str(other / "model.safetensors"))
    refused([str(a), str(other), "--out", str(tmp_path / "o")], "classifier.bias")
    refused([str(a), str(a), "--out", str(a)], "--force")
    assert not (tmp_path / "o").exists()


def done_step(model: Path, stopped: str = "plan complete", refits: list | None = None) -> None:
    model.mkdir(parents=True, exist_ok=True)
    (model / "MANIFEST.json").write_text("{}")
    (model / "metrics.json").write_text(json.dumps({"budget": {"stopped": stopped, "refits": refits or []}}))


def test_rebuild_recipe_passes_each_script_options_it_takes(tmp_path, capsys) -> None:
    rebuild = load(ROOT / "training" / "rebuild_verifier.py")
    mains = {name: load(ROOT / "training" / name).main for name in
             ("average_weights.py", "calibrate_verifier.py", "validate_verifier.py")}
    mains["train_verifier.py"] = train_verifier.main
    steps = rebuild.recipe(tmp_path / "out", tmp_path / "w", tmp_path / "data")
    assert [s.name for s in steps] == ["passes", "phase8", "phase9", "mean", "calibrate", "validate"]
    # no budget: no schedule fitted to the machine's speed
    assert all(s.command[s.command.index("--max-minutes") + 1] == "0" for s in steps if s.trains)
    for step in steps:
        with pytest.raises(SystemExit) as exc:
            mains[Path(step.command[1]).name](["--help"])
        assert exc.value.code == 0
        usage = capsys.readouterr().out
        assert [o for o in step.command[2:] if o.startswith("--") and o not in usage] == []
    # phase 9 starts where phase 8's plan ends, from phase 8, on the same plan
    phase8, phase9 = steps[1].command, steps[2].command
    assert phase9[phase9.index("--init-from") + 1] == str(tmp_path / "w" / "phase8")
    assert phase8[phase8.index("--shaped-rate") + 1] == phase9[phase9.index("--shaped-rate") + 1]
    assert int(6081 * float(phase8[phase8.index("--epochs") + 1])) == int(phase9[phase9.index("--start-batch") + 1])


def test_the_shipped_weights_are_what_the_rebuild_recipe_trains(tmp_path) -> None:
    """The shipped metrics.json records every training step's options: they must be the recipe's,
    each step trained to the end of its plan with no budget, so the documented command rebuilds
    what ships (a recipe changed without rebuilding fails here)."""
    rebuild = load(ROOT / "training" / "rebuild_verifier.py")
    lineage = json.loads((rebuild.SHIPPED / "metrics.json").read_text())["averaged"]
    assert len(lineage) == 2
    phase8, phase9 = (entry["metrics"] for entry in lineage)
    recorded = {"passes": phase8["phases"][0], "phase8": phase8, "phase9": phase9}
    assert phase9["phases"][0] == phase8
    # paths differ by machine; where each step starts from and writes to is compared by step name
    by_name = {"out", "init_from"}
    machine = {"data_dir", "work_dir", "resume", "checkpoint_minutes"}
    for step in (s for s in rebuild.recipe(tmp_path / "out", tmp_path / "w", tmp_path / "d") if s.trains):
        expected = vars(train_verifier.arg_parser().parse_args(step.command[2:]))
        metrics = recorded[step.name]
        assert metrics["budget"]["stopped"] == "plan complete" and not metrics["budget"]["refits"], step.name
        for key, value in expected.items():
            got = metrics["args"][key]
            if key in by_name:
                assert Path(got).name == (Path(value).name if value else "None"), (step.name, key)
            elif key not in machine:
                assert got == str(value), (step.name, key, got, value)


NLI_TRAIN = ROOT.parent / "shared" / "nli-train"


@pytest.mark.skipif(not (NLI_TRAIN / "train.jsonl").exists(), reason="needs ../shared/nli-train")
def test_the_phase_8_plan_the_rebuild_splits_has_6081_batches() -> None:
    data = train_verifier.build_training_set(NLI_TRAIN, random.Random(13), 0.35, 0.15, 1.0)
    assert len(data) == 194_592  # as phase 8 and 9 logged
    assert len(train_verifier.batches(data, 32, random.Random(13))) == 6081


def test_rebuild_skips_finished_steps_resumes_interrupted_ones_and_refuses_budget_stops(tmp_path, capsys) -> None:
    rebuild = load(ROOT / "training" / "rebuild_verifier.py")
    out, work = tmp_path / "rebuilt", tmp_path / "rebuilt.steps"
    done_step(work / "passes")
    (work / "phase8.work").mkdir(parents=True)
    torch.save({"step": 1200, "total_steps": 3160, "model": {}}, work / "phase8.work" / "checkpoint.pt")
    (work / "phase9.work").mkdir(parents=True)
    (work / "phase9.work" / "checkpoint.pt").write_bytes(b"")  # the step itself will say what is wrong
    assert rebuild.main(["--out", str(out), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("]")[0].split(" (")[0] for line in lines] == [
        "[passes: done", "[phase8: resume at step 1,200 of 3,160", "[phase9: resume", "[mean: run",
        "[calibrate: run", "[validate: run"]
    assert f"({work / 'phase9.work' / 'checkpoint.pt'} unreadable: " in lines[2]
    assert lines[1].endswith("--resume") and lines[2].endswith("--resume")
    assert not out.exists()  # a dry run writes nothing
    # a step whose budget fitted its schedule to the machine is never built on, finished or not
    for stopped, refits in (("budget", []), ("plan complete", [[100, 2723], [200, 2921]])):
        done_step(work / "phase8", stopped, refits)
        assert rebuild.main(["--out", str(out), "--dry-run"]) == 2
        err = capsys.readouterr().err
        assert "phase8" in err and "budget" in err and "delete" in err
    with pytest.raises(SystemExit) as exc:
        rebuild.main(["--out", str(ROOT / "guardrail" / "models" / "verifier")])
    assert exc.value.code == 2


def test_rebuild_stops_at_a_failed_step(tmp_path, capsys) -> None:
    rebuild = load(ROOT / "training" / "rebuild_verifier.py")
    ok = rebuild.Step("ok", [sys.executable, "-c", "print('ran')"])
    failing = rebuild.Step("bad", [sys.executable, "-c", "raise SystemExit(3)"])
    silent = rebuild.Step("silent", [sys.executable, "-c", "pass"], trains=tmp_path / "model")
    with pytest.raises(rebuild.RebuildError, match="step bad failed"):
        rebuild.run([(ok, "run"), (failing, "run"), (ok, "run")], dry_run=False)
    assert capsys.readouterr().out.count("[ok: run]") == 1  # nothing after the failure
    with pytest.raises(rebuild.RebuildError, match="wrote no model"):
        rebuild.run([(silent, "run")], dry_run=False)
    # the last step judges the rebuilt model; a verdict against it says so, not "fix the cause"
    validate = rebuild.recipe(tmp_path / "out", tmp_path / "w", tmp_path / "data")[-1]
    assert validate.command[2:4] == [str(ROOT / "guardrail" / "models" / "verifier"), str(tmp_path / "out")]
    assert validate.command[-1] == "--compare"
    judged = rebuild.Step("validate", [sys.executable, "-c", "raise SystemExit(1)"], failure=validate.failure)
    with pytest.raises(rebuild.RebuildError, match=r"step validate says .*out is not within noise of the shipped"):
        rebuild.run([(judged, "run")], dry_run=False)


def tiny_nli_data(data_dir: Path) -> None:
    """48 labelled pairs as train and validation split: a real training run in seconds."""
    rows = [{"premise": f"Item {i} was made in {1900 + i} in Oslo.", "hypothesis": f"Item {i} was made in {1900 + i}.",
             "label": "entailment", "source": "vitaminc", "id": str(i)} for i in range(24)]
    rows += [{**r, "hypothesis": r["hypothesis"].replace("made", "not made"), "label": "contradiction"} for r in rows]
    for name in ("train.jsonl", "validation.jsonl"):
        (data_dir / name).write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_a_resumed_run_trains_exactly_as_an_uninterrupted_one(tmp_path, monkeypatch) -> None:
    tiny_nli_data(tmp_path)

    def train(out: str, *extra: str) -> None:
        train_verifier.main(["--data-dir", str(tmp_path), "--out", str(tmp_path / out), "--epochs", "2",
                             "--batch-size", "16", "--max-length", "32", "--checkpoint-minutes", "0", *extra])

    train("whole")
    real = train_verifier.save_checkpoint

    def killed_after_step_2(path: Path, state: dict) -> None:
        real(path, state)
        if state["step"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_verifier, "save_checkpoint", killed_after_step_2)
    with pytest.raises(KeyboardInterrupt):
        train("resumed")
    monkeypatch.setattr(train_verifier, "save_checkpoint", real)
    train("resumed", "--resume")
    whole, resumed = (load_file(str(tmp_path / m / "model.safetensors")) for m in ("whole", "resumed"))
    assert json.loads((tmp_path / "resumed" / "metrics.json").read_text())["steps"] > 2
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)  # dropout included


def test_a_budget_fitted_schedule_that_ends_early_is_a_budget_stop_and_no_budget_trains_the_plan(
        tmp_path, monkeypatch) -> None:
    """A machine busy for the first 40 steps (100 s each on a fake clock), then quiet (1 s): the
    refit at step 40 fits the schedule to the budget, and the run ends there, before its plan.  The
    clock is wholly fake, each encoded batch advancing it, so a loaded test machine changes nothing."""
    tiny_nli_data(tmp_path)
    clock, real_encode = {"now": 0.0, "steps": 0}, train_verifier.encode

    def busy_then_quiet(*args: object, **kwargs: object) -> object:
        clock["steps"] += 1
        clock["now"] += 100.0 if clock["steps"] <= 40 else 1.0
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(train_verifier, "encode", busy_then_quiet)
    monkeypatch.setattr(train_verifier, "time", SimpleNamespace(monotonic=lambda: clock["now"]))

    def train(out: str, minutes: str, *extra: str) -> dict:
        clock.update(now=0.0, steps=0)
        assert train_verifier.main(["--data-dir", str(tmp_path), "--out", str(tmp_path / out), "--epochs", "12",
                                    "--batch-size", "16", "--max-length", "24", "--max-minutes", minutes,
                                    *extra]) == 0
        return json.loads((tmp_path / out / "metrics.json").read_text())

    whole = train("whole", "0")  # no budget: the whole plan on its own schedule, however slow the machine
    plan = whole["steps"]
    assert plan > 40 and (whole["budget"]["stopped"], whole["budget"]["refits"]) == ("plan complete", [])
    assert whole["validation"] == {"pairs": 48, "of": 48, "capped": False}
    # 76 minutes: the refit at step 40 finds time for 2 or 3 more steps, then the machine is quiet
    fitted = train("fitted", "76")
    assert 40 < fitted["steps"] < plan
    assert fitted["budget"]["stopped"] == "budget"
    assert fitted["budget"]["refits"] == [[40, fitted["steps"]]]
    # resumed without a budget, the fitted run trains to the end of its plan, and says its schedule changed
    finished = train("fitted", "0", "--resume")
    assert (finished["steps"], finished["budget"]["stopped"]) == (plan, "plan complete")
    assert finished["budget"]["refits"] == [[40, fitted["steps"]], [fitted["steps"], plan]]
