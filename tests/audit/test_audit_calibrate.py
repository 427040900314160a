"""--calibrate: threshold choice (exact, on synthetic scores) and the saved config (real engine)."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import EXAMPLES
from guardrail.integrations.audit.calibrate import choose_threshold, metrics, parse_label

from guardrail import ConfigError, Settings

# examples/logs.jsonl lines with the answers a person would call hallucinated.
HALLUCINATED = {2, 3, 5, 7, 13}
FAITHFUL = {1, 4, 6, 8, 11}


def test_balanced_accuracy_threshold_separates_the_classes():
    scores = [0.05, 0.1, 0.2, 0.35, 0.6, 0.7, 0.8, 0.95]
    labels = [True, True, True, True, False, False, False, False]
    t, curve = choose_threshold(scores, labels)
    assert 0.35 < t <= 0.6
    assert metrics(scores, labels, t)["balanced_accuracy"] == 1.0
    assert max(c["balanced_accuracy"] for c in curve) == 1.0


def test_target_precision_maximises_recall_at_that_precision():
    scores = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    labels = [True, False, True, True, False, False]
    t, _ = choose_threshold(scores, labels, target_precision=0.75)
    m = metrics(scores, labels, t)
    assert m["precision"] >= 0.75 and m["recall"] == 1.0
    with pytest.raises(ConfigError, match="precision"):
        choose_threshold([0.1, 0.2], [False, True], target_precision=0.99)
    with pytest.raises(ConfigError, match="both"):
        choose_threshold([0.1, 0.2], [True, True])


@pytest.mark.parametrize(
    ("raw", "field", "expected"),
    [
        ({"label": "hallucinated"}, None, True),
        ({"label": "faithful"}, None, False),
        ({"hallucinated": 1}, None, True),
        ({"is_hallucination": False}, None, False),
        ({"faithful": True}, None, False),
        ({"grounded": "no"}, None, True),
        ({"meta": {"verdict": "FAIL"}}, "meta.verdict", True),
        ({"label": "maybe"}, None, None),
        ({}, None, None),
    ],
)
def test_labels_in_common_spellings(raw, field, expected):
    assert parse_label(raw, field) is expected


def labeled_file(tmp_path):
    rows = []
    for i, line in enumerate(EXAMPLES.read_text().splitlines(), start=1):
        if i in HALLUCINATED | FAITHFUL:
            raw = json.loads(line)
            raw["label"] = "hallucinated" if i in HALLUCINATED else "faithful"
            rows.append(json.dumps(raw))
    path = tmp_path / "labeled.jsonl"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_calibrate_saves_settings_the_checker_loads(run_cli, tmp_path):
    labeled = labeled_file(tmp_path)
    out = tmp_path / "cal"
    result = run_cli("--calibrate", labeled, "--out", out)
    assert result.exit_code == 0, result.output
    saved = Settings.load(out / "settings.json")
    report = json.loads((out / "calibration.json").read_text())
    assert report["n"] == 10 and report["hallucinated"] == 5
    assert saved.support_threshold == report["support_threshold"]
    assert report["at_chosen"]["balanced_accuracy"] >= report["at_default"]["balanced_accuracy"]
    assert "calibrated support_threshold" in result.output

    # Calibrate and audit in one go: the audit runs with the calibrated threshold.
    both = run_cli(
        EXAMPLES,
        "--calibrate",
        labeled,
        "--out",
        tmp_path / "audit",
        "--save-settings",
        tmp_path / "cfg" / "guardrail.json",
    )
    assert both.exit_code == 3, both.output
    summary = json.loads((tmp_path / "audit" / "summary.json").read_text())
    saved = Settings.load(tmp_path / "cfg" / "guardrail.json")
    assert summary["thresholds"]["support"] == saved.support_threshold


def test_calibrate_into_an_audit_in_use_is_refused_before_calibrating(run_cli, tmp_path, example_audit):
    out = tmp_path / "in-use"
    shutil.copytree(example_audit, out)
    before = (out / "report.jsonl").read_bytes()
    result = run_cli(EXAMPLES, "--calibrate", labeled_file(tmp_path), "--out", out)
    assert result.exit_code == 2 and "already holds an audit" in result.output
    assert not (out / "settings.json").exists() and not (out / "calibration.json").exists()
    assert (out / "report.jsonl").read_bytes() == before
