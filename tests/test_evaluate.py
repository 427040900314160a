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
    out = runner.invoke(app, ["eval", str(pairs), "--baseline", "bm25"])
    assert out.exit_code == 2 and "--baseline must be overlap or cosine, got 'bm25'" in out.output


def test_unknown_schema_and_empty_file_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no records"):
        read_records(write(tmp_path / "empty.jsonl", []))
    with pytest.raises(InputError, match="premise/claim/label"):
        read_records(write(tmp_path / "odd.jsonl", [{"text": "hello"}]))


PAIR = {"premise": "Paris is in France.", "claim": "Paris is in France.", "label": "supported"}
RESPONSE = {"context": ["Paris is in France."], "response": "Paris is in France.", "hallucinated": False}


def eval_error(path: Path) -> str:
    """The CLI's one-line error for ``path``, after checking it exits 2 without a traceback."""
    out = CliRunner().invoke(app, ["eval", str(path)])
    assert out.exit_code == 2, out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)
    assert "Traceback" not in out.output
    return " ".join(out.output.split())


def test_binary_file_is_an_input_error(tmp_path: Path) -> None:
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x01")
    assert f"error: {binary}:1: not UTF-8 text" in eval_error(binary)


@pytest.mark.parametrize(("line", "got"), [("[1, 2]", "an array"), ("null", "null"), ('"text"', "a string")])
def test_a_line_that_is_not_an_object_is_an_input_error(tmp_path: Path, line: str, got: str) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps(PAIR) + "\n" + line + "\n")
    assert f"error: {path}:2: expected a JSON object, got {got}" in eval_error(path)


def test_a_later_record_missing_a_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path / "pairs.jsonl", [PAIR, PAIR, {"premise": "x", "claim": "y"}])
    assert f"error: {path}:3: missing key 'label'" in eval_error(path)
    path = write(tmp_path / "responses.jsonl", [RESPONSE, {"context": ["x"], "hallucinated": True}])
    assert f"error: {path}:2: missing key 'response'" in eval_error(path)


@pytest.mark.parametrize(("kind", "change", "message"), [
    ("pairs", {"label": "maybe"}, "'label' must be one of supported, unsupported, contradicted; got 'maybe'"),
    ("pairs", {"claim": 3}, "'claim' must be a string, got a number"),
    ("pairs", {"claim": "  "}, "'claim' is empty"),
    ("pairs", {"source": ["a"]}, "'source' must be a string, got an array"),
    ("responses", {"hallucinated": "yes"}, "'hallucinated' must be true or false, got 'yes'"),
    ("responses", {"hallucinated": 1}, "'hallucinated' must be true or false, got 1"),
    ("responses", {"context": "Paris is in France."}, "'context' must be a list of strings (the grounding passages)"),
    ("responses", {"question": 7}, "'question' must be a string or null, got a number"),
    ("responses", {"spans": [{"start": 0}]}, "'spans' must be a list of objects with integer start and end"),
    ("responses", {"spans": [{"start": 5, "end": 2}]}, "span 5-2 is not within the 19-character response "
                                                        "(0 <= start <= end <= 19)"),
    ("responses", {"spans": [{"start": 0, "end": 99}]}, "span 0-99 is not within the 19-character response "
                                                         "(0 <= start <= end <= 19)"),
    ("responses", {"spans": [{"start": -1, "end": 3}]}, "span -1-3 is not within the 19-character response "
                                                         "(0 <= start <= end <= 19)"),
])
def test_a_bad_value_is_an_input_error(tmp_path: Path, kind: str, change: dict, message: str) -> None:
    first = PAIR if kind == "pairs" else RESPONSE
    path = write(tmp_path / f"{kind}.jsonl", [first, {**first, **change}])
    with pytest.raises(InputError) as info:
        read_records(path)
    assert str(info.value) == f"{path}:2: {message}"
    assert f"error: {path}:2: {message}" in eval_error(path)


def test_source_is_optional_and_defaults_to_unknown(tmp_path: Path) -> None:
    path = write(tmp_path / "pairs.jsonl", [PAIR, {**PAIR, "source": "mine"}])
    kind, records = read_records(path)
    assert kind == "pairs" and [r["source"] for r in records] == ["unknown", "mine"]
    result = evaluate(path, baseline="overlap")
    assert set(result["per_source"]) == {"unknown", "mine"}


def test_blank_lines_and_a_byte_order_mark_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(RESPONSE).encode() + b"\n\n  \n" + json.dumps(RESPONSE).encode())
    kind, records = read_records(path)
    assert kind == "responses" and len(records) == 2


def test_empty_file_and_directory_exit_2_with_a_message(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    assert f"error: {empty} has no records" in eval_error(empty)
    out = CliRunner().invoke(app, ["eval", str(tmp_path)])
    text = " ".join(out.output.replace("│", " ").split())  # typer's usage errors come in a rich panel
    assert out.exit_code == 2 and "Invalid value for 'FILE'" in text and "is a directory" in text
