"""``guardrail audit`` end to end with the real engine: outputs, rejects, exit codes, resume."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys

import pytest
from conftest import (
    EXAMPLE_LINES,
    EXAMPLE_REJECTED,
    EXAMPLE_SKIPPED,
    EXAMPLES,
    REPO,
    assert_same_verdicts,
    copy_audit,
    read_jsonl,
)

from guardrail import Settings


def test_example_logs_produce_the_three_reports(example_audit):
    for name in ("report.jsonl", "summary.json", "report.html", "rejects.jsonl", "checkpoint.json"):
        assert (example_audit / name).stat().st_size > 0, name
    results = read_jsonl(example_audit / "report.jsonl")
    lines = [r["line"] for r in results]
    assert sorted(lines) == sorted(EXAMPLE_LINES - EXAMPLE_REJECTED)  # one result per valid line
    assert {r["line"] for r in results if r["status"] == "skipped"} == EXAMPLE_SKIPPED
    checked = [r for r in results if r["status"] == "checked"]
    assert all(r["claims"] and r["answer"] for r in checked)
    for r in checked:
        assert r["hallucinated"] == any(c["flagged"] for c in r["claims"])
        for c in r["claims"]:  # offsets point into the logged answer
            assert 0 <= c["start"] < c["end"] <= len(r["answer"])
    rejects = read_jsonl(example_audit / "rejects.jsonl")
    assert [x["line"] for x in rejects] == sorted(EXAMPLE_REJECTED)
    assert rejects[0]["reason"].startswith("invalid JSON")
    summary = json.loads((example_audit / "summary.json").read_text())
    assert summary["counts"]["checked"] == len(checked) == 10
    assert summary["counts"]["rejected"] == 1
    assert set(summary["by_group"]) >= {"model", "route"}
    assert summary["citations"]["records_with_citations"] >= 2  # the answers that carry [n] markers
    assert json.loads((example_audit / "checkpoint.json").read_text())["complete"] is True


def test_clean_input_exits_zero_and_json_summary(run_cli, tmp_path):
    logs = tmp_path / "clean.jsonl"
    logs.write_text(
        "\n".join(
            line for i, line in enumerate(EXAMPLES.read_text().splitlines(), 1) if i not in EXAMPLE_REJECTED and i <= 4
        )
        + "\n"
    )
    result = run_cli(logs, "--out", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["counts"]["checked"] == 4 and summary["counts"]["rejected"] == 0


def test_rerun_needs_resume_and_resume_of_a_finished_audit_adds_nothing(run_cli, example_audit, tmp_path):
    out = copy_audit(example_audit, tmp_path / "out")
    before = (out / "report.jsonl").read_bytes()
    refused = run_cli(EXAMPLES, "--out", out)
    assert refused.exit_code == 2 and "--resume" in refused.output
    resumed = run_cli(EXAMPLES, "--out", out, "--resume")
    assert resumed.exit_code == 3, resumed.output  # still reports the rejected line
    assert (out / "report.jsonl").read_bytes() == before
    assert len(read_jsonl(out / "rejects.jsonl")) == 1
    other = run_cli(EXAMPLES, "--out", out, "--resume", "--support-threshold", "0.9")
    assert other.exit_code == 2 and "different options" in other.output
    # The setting that differs, not every setting twice.
    assert "settings.support_threshold: 0.5 -> 0.9" in other.output and "max_claims" not in other.output


def test_resume_finishes_a_partial_audit_without_duplicates(run_cli, example_audit, tmp_path):
    out = copy_audit(example_audit, tmp_path / "out")
    rows = (out / "report.jsonl").read_text().splitlines(keepends=True)
    (out / "report.jsonl").write_text("".join(rows[:4]) + rows[4][:25])  # as a kill mid-write leaves it
    (out / "rejects.jsonl").unlink()
    result = run_cli(EXAMPLES, "--out", out, "--resume")
    assert result.exit_code == 3, result.output
    results = read_jsonl(out / "report.jsonl")
    assert sorted(r["line"] for r in results) == sorted(EXAMPLE_LINES - EXAMPLE_REJECTED)
    assert [x["line"] for x in read_jsonl(out / "rejects.jsonl")] == sorted(EXAMPLE_REJECTED)
    assert json.loads((out / "summary.json").read_text())["counts"]["checked"] == 10


def test_stdin_gzip_limit_sample_and_field_overrides(run_cli, tmp_path):
    text = EXAMPLES.read_text()
    piped = run_cli("-", "--out", tmp_path / "stdin", "--limit", "3", input=text)
    assert piped.exit_code == 0, piped.output
    assert [r["line"] for r in read_jsonl(tmp_path / "stdin" / "report.jsonl")] == [1, 2, 3]
    assert not list((tmp_path / "stdin").glob("audit-stdin-*"))  # the spool is removed

    gz = tmp_path / "logs.jsonl.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    sampled = run_cli(gz, "--out", tmp_path / "gz", "--sample", "4", "--seed", "3")
    assert sampled.exit_code in (0, 3), sampled.output
    n = len(read_jsonl(tmp_path / "gz" / "report.jsonl")) + len(read_jsonl(tmp_path / "gz" / "rejects.jsonl"))
    assert n == 4

    custom = tmp_path / "custom.jsonl"
    custom.write_text(
        json.dumps(
            {
                "trace": {
                    "uid": "t-1",
                    "q": "Where is the tower?",
                    "out": "The Eiffel Tower is in Paris.",
                    "docs": ["The Eiffel Tower is a landmark in Paris, France."],
                },
                "metadata": {"feature": "landmarks"},
            }
        )
        + "\n"
    )
    mapped = run_cli(
        custom,
        "--out",
        tmp_path / "custom",
        "--answer-field",
        "trace.out",
        "--question-field",
        "trace.q",
        "--context-field",
        "trace.docs",
        "--id-field",
        "trace.uid",
        "--group-by",
        "feature",
    )
    assert mapped.exit_code == 0, mapped.output
    (row,) = read_jsonl(tmp_path / "custom" / "report.jsonl")
    assert (row["id"], row["question"]) == ("t-1", "Where is the tower?")
    assert row["groups"] == {"feature": "landmarks"}
    assert row["passages"][0]["text"].startswith("The Eiffel Tower is a landmark")


def test_workers_give_the_same_verdicts(run_cli, example_audit, tmp_path):
    result = run_cli(EXAMPLES, "--out", tmp_path / "w2", "--workers", "2", "--batch-size", "2")
    assert result.exit_code == 3, result.output

    assert_same_verdicts(tmp_path / "w2" / "report.jsonl", example_audit / "report.jsonl")


def test_fail_over_and_settings_file(run_cli, example_audit, tmp_path):
    summary = json.loads((example_audit / "summary.json").read_text())
    settings = tmp_path / "settings.json"
    Settings(support_threshold=0.05).save(settings)
    result = run_cli(EXAMPLES, "--out", tmp_path / "out", "--settings", settings, "--fail-over", "0")
    low = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert low["thresholds"]["support"] == 0.05
    # A lower bar flags no more answers than the default one.
    assert low["counts"]["hallucinated"] <= summary["counts"]["hallucinated"]
    assert result.exit_code == (4 if low["hallucination_rate"] else 3), result.output


def test_usage_errors(run_cli, tmp_path):
    assert run_cli("--out", tmp_path).exit_code == 2  # neither input nor --calibrate
    missing = run_cli(tmp_path / "nope.jsonl", "--out", tmp_path / "o")
    assert missing.exit_code == 2 and "no such input file" in missing.output
    assert not (tmp_path / "o").exists()  # nothing left behind by a run that could not start
    assert run_cli(EXAMPLES, "--ray-address", "auto", "--out", tmp_path / "o2").exit_code == 2


def test_an_unreadable_input_or_output_is_a_usage_error_and_leaves_no_audit(run_cli, tmp_path):
    data = gzip.compress(EXAMPLES.read_bytes() * 40)
    cut = tmp_path / "cut.jsonl.gz"  # a log still being written, or a download cut short
    cut.write_bytes(data[: len(data) // 2])
    result = run_cli(cut, "--out", tmp_path / "o")
    assert result.exit_code == 2, result.output
    assert "truncated or corrupt after line" in result.output and "Aborted" not in result.output
    assert not (tmp_path / "o" / "checkpoint.json").exists()  # the rerun needs no --overwrite

    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    for args in ((EXAMPLES,), ("-",)):
        refused = run_cli(*args, "--out", not_a_dir, input="")
        assert refused.exit_code == 2, refused.output
        assert "cannot use" in refused.output and "output directory (--out)" in refused.output


def test_a_finished_audit_removes_what_killed_runs_left_in_out(run_cli, example_audit, tmp_path):
    out = copy_audit(example_audit, tmp_path / "out")
    rows = (out / "report.jsonl").read_text().splitlines(keepends=True)
    (out / "report.jsonl").write_text("".join(rows[:4]))
    # A SIGKILLed --engine ray run leaves its shards (a copy of the log), a piped run its spool.
    (out / ".ray-pending").mkdir()
    (out / ".ray-pending" / "part-000000.jsonl").write_text('{"record": "{}"}\n')
    (out / "audit-stdin-dead.jsonl").write_text("{}\n")
    result = run_cli(EXAMPLES, "--out", out, "--resume")
    assert result.exit_code == 3, result.output
    assert not (out / ".ray-pending").exists() and not list(out.glob("audit-stdin-*"))
    assert sorted(r["line"] for r in read_jsonl(out / "report.jsonl")) == sorted(EXAMPLE_LINES - EXAMPLE_REJECTED)


def test_module_entry_point_help():
    out = subprocess.run(
        [sys.executable, "-m", "guardrail.integrations.audit", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and "--resume" in out.stdout


def test_real_guardrail_console_script(tmp_path):
    exe = shutil.which("guardrail")
    if exe is None:
        pytest.skip("the guardrail console script is not installed (pip install -e .)")
    probe = subprocess.run([exe, "audit", "--help"], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0 or "--resume" not in probe.stdout:
        pytest.skip(
            "the installed guardrail CLI has no audit command (entry point guardrail.commands "
            "not registered: reinstall with pip install -e .)"
        )
    out = tmp_path / "out"
    run = subprocess.run(
        [exe, "audit", str(EXAMPLES), "--out", str(out), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 3, run.stdout + run.stderr
    assert {p.name for p in out.iterdir()} >= {"report.jsonl", "summary.json", "report.html", "rejects.jsonl"}


def test_a_record_the_checker_refuses_is_rejected_and_its_batch_survives(run_cli, tmp_path):
    logs = tmp_path / "logs.jsonl"
    rows = [
        {
            "id": "ok-1",
            "context": ["Paris is the capital of France."],
            "response": "Paris is the capital of France.",
        },
        {"id": "binary", "context": ["x"], "response": "looks like\u0000binary"},
        {"id": "ok-2", "context": ["Rome is in Italy."], "response": "Rome is in Italy."},
    ]
    logs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_cli(logs, "--out", tmp_path / "out", "--batch-size", "8")
    assert result.exit_code == 3, result.output
    assert [r["id"] for r in read_jsonl(tmp_path / "out" / "report.jsonl")] == ["ok-1", "ok-2"]
    (reject,) = read_jsonl(tmp_path / "out" / "rejects.jsonl")
    assert reject["line"] == 2 and reject["reason"].startswith("cannot check") and "NUL" in reject["reason"]


def test_rejects_hold_the_start_of_the_line_in_line_order(run_cli, tmp_path):
    ok = {"context": ["Paris is the capital of France."], "response": "Paris is the capital of France."}
    lines = [
        json.dumps({"id": "ok-1", **ok}),
        json.dumps({"id": "binary", "context": ["x" * 600], "response": "looks like\u0000binary"}),
        json.dumps({"id": "ok-2", **ok}),
        '{"id": "torn", "response": "cut off',  # rejected while parsing, before line 2's batch runs
    ]
    logs = tmp_path / "logs.jsonl"
    logs.write_text("\n".join(lines) + "\n")
    result = run_cli(logs, "--out", tmp_path / "out", "--batch-size", "8")
    assert result.exit_code == 3, result.output
    rejects = read_jsonl(tmp_path / "out" / "rejects.jsonl")
    assert [x["line"] for x in rejects] == [2, 4]
    assert [x["text"] for x in rejects] == [lines[1][:500], lines[3]]  # the raw line, not the answer
    assert rejects[0]["reason"].startswith("cannot check") and rejects[1]["reason"].startswith("invalid JSON")


def test_summary_line_counts_answers_and_a_skipped_record_keeps_its_shape(run_cli, tmp_path):
    example = EXAMPLES.read_text().splitlines()
    logs = tmp_path / "logs.jsonl"
    logs.write_text("\n".join([example[0], example[11], "not json"]) + "\n")  # checked, tool calls only, rejected
    first = run_cli(logs, "--out", tmp_path / "out")
    assert first.exit_code == 3, first.output
    assert "audited 1 answer (1 this run," in first.output
    assert "1 skipped · 0 errors · 1 rejected" in " ".join(first.output.split())
    skipped = next(r for r in read_jsonl(tmp_path / "out" / "report.jsonl") if r["status"] == "skipped")
    assert (skipped["line"], skipped["shape"], skipped["claims"]) == (2, "openai", [])
    resumed = run_cli(logs, "--out", tmp_path / "out", "--resume")
    assert "audited 1 answer (0 this run," in resumed.output
