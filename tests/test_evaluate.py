"""``guardrail eval`` on small labelled files written here (never the evaluation data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guardrail import Guardrail, InputError
from guardrail.cli import app
from guardrail.evaluate import evaluate, read_records

FACTS = ("The Eiffel Tower is a wrought-iron lattice tower in Paris. It was completed in 1889 and is "
         "330 metres tall.")


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def pairs(tmp_path: Path) -> Path:
    rows = [("The Eiffel Tower was completed in 1889.", "supported"),
            ("The Eiffel Tower is in Paris.", "supported"),
            ("The Eiffel Tower was completed in 1925.", "contradicted"),
            ("The Eiffel Tower was designed by a woman from Lyon.", "unsupported")]
    return write(tmp_path / "pairs.jsonl", [
        {"id": str(i), "source": "toy" if i % 2 else "other", "premise": FACTS, "claim": c, "label": label}
        for i, (c, label) in enumerate(rows)])


@pytest.fixture()
def responses(tmp_path: Path) -> Path:
    rows = [("Where is the Eiffel Tower?", "Paris", False, []),
            ("When was it completed?", "It was completed in 1889 and is 330 metres tall.", False, []),
            ("When was it completed?", "The tower was completed in 1925.", True, [(0, 32)]),
            ("How tall is it?", "The tower is 330 metres tall and was painted gold by Napoleon.", True, [])]
    return write(tmp_path / "responses.jsonl", [
        {"id": str(i), "source": "toy", "context": [FACTS], "question": q, "response": r, "hallucinated": h,
         "spans": [{"start": s, "end": e, "text": r[s:e], "type": "x", "n_annotators": 1} for s, e in spans]}
        for i, (q, r, h, spans) in enumerate(rows)])


def test_pairs_metrics_per_source_and_overall(guard: Guardrail, pairs: Path) -> None:
    result = evaluate(pairs, guard=guard)
    assert result["kind"] == "pairs" and result["n"] == 4
    assert set(result["per_source"]) == {"toy", "other"}
    overall = result["overall"]
    assert overall["bacc"] == 1.0 and overall["auc"] == 1.0
    assert "macro_f1_3way" in overall


def test_responses_metrics_and_span_f1(guard: Guardrail, responses: Path) -> None:
    result = evaluate(responses, guard=guard)
    overall = result["overall"]
    assert result["kind"] == "responses"
    assert overall["bacc"] == 1.0 and overall["auc"] == 1.0
    assert overall["span_f1"] > 0.5


def test_baselines_score_with_the_same_command(pairs: Path, responses: Path) -> None:
    overlap = evaluate(pairs, baseline="overlap")
    assert overlap["scorer"] == "overlap" and 0 <= overlap["overall"]["bacc"] <= 1
    assert evaluate(responses, baseline="overlap")["overall"]["n"] == 4


def test_cli_prints_json_and_rejects_bad_files(pairs: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["eval", str(pairs), "--baseline", "overlap", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["kind"] == "pairs"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"premise": "x", "claim": "y", "label": "supported"}\n{not json\n')
    out = runner.invoke(app, ["eval", str(bad)])
    assert out.exit_code == 2 and "bad.jsonl:2: not valid JSON" in " ".join(out.output.split())
    assert runner.invoke(app, ["eval", str(pairs), "--baseline", "bm25"]).exit_code != 0


def test_unknown_schema_and_empty_file_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no records"):
        read_records(write(tmp_path / "empty.jsonl", []))
    with pytest.raises(InputError, match="premise/claim/label"):
        read_records(write(tmp_path / "odd.jsonl", [{"text": "hello"}]))
