"""What an audit does when a check fails, the model cannot load, or an option is unusable.

The engine is real throughout; only the part that fails is swapped in through the public API
(``Guardrail(retrievers=..., nli=...)``).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES, read_jsonl
from guardrail.integrations.audit import AuditOptions, ResumeError, build_guardrail, run_audit

from guardrail import ConfigError, Guardrail, GuardrailError, Passage, Settings, VerificationError

ROWS = [
    {"id": "a", "context": ["Paris is the capital of France."], "response": "Paris is the capital of France."},
    {"id": "b", "context": ["Rome is in Italy."], "response": "Rome is in Italy."},
]


class DownRetriever:
    """An evidence source that is down: every lookup raises."""

    def retrieve(self, query: str, k: int) -> list[Passage]:
        raise RuntimeError("search backend down")

    async def aretrieve(self, query: str, k: int) -> list[Passage]:
        raise RuntimeError("search backend down")


class BrokenNLI:
    def predict(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        raise RuntimeError("cannot import name 'AutoModelForSequenceClassification'")


class ThreadLoggingNLI:
    """The real model, noting which thread each prediction ran on."""

    def __init__(self, model: object) -> None:
        self.model = model
        self.threads: list[str] = []

    def predict(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        self.threads.append(threading.current_thread().name)
        return self.model.predict(pairs)


def write_logs(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def options(tmp_path: Path, **kw: object) -> AuditOptions:
    logs = write_logs(tmp_path / "logs.jsonl", ROWS)
    return AuditOptions(input=str(logs), out=tmp_path / "out", progress=False, html=False, **kw)


@pytest.mark.parametrize("fail", ["open", "closed"])
def test_a_record_whose_check_failed_is_an_error_never_a_faithful_answer(guard, tmp_path, fail):
    broken = Guardrail(settings=Settings(fail=fail), retrievers=[DownRetriever()], nli=guard.nli)
    opts = options(tmp_path, batch_size=1)
    outcome = run_audit(opts, guard=broken)
    rows = read_jsonl(tmp_path / "out" / "report.jsonl")
    assert sorted(r["id"] for r in rows) == ["a", "b"]
    for r in rows:
        assert r["status"] == "error" and "search backend down" in r["error"], r
        assert "hallucinated" not in r and "score" not in r and r["claims"] == []
    counts = outcome.summary["counts"]
    assert (counts["errors"], counts["checked"], outcome.errors) == (2, 0, 2)
    assert outcome.summary["hallucination_rate"] is None
    # Like every finished record, an errored one is done: a resume does not check it again.
    again = run_audit(dataclasses.replace(opts, resume=True), guard=broken)
    assert again.new == 0 and again.summary["counts"]["errors"] == 2


def test_the_model_is_loaded_on_the_main_thread_before_workers_start(guard, tmp_path):
    nli = ThreadLoggingNLI(guard.nli)
    outcome = run_audit(options(tmp_path, workers=2, batch_size=1), guard=Guardrail(nli=nli))
    assert outcome.new == 2
    assert nli.threads[0] == threading.main_thread().name
    assert any(name.startswith("audit") for name in nli.threads[1:])  # the records ran on the pool


def test_a_model_that_cannot_load_fails_the_run_before_any_record(tmp_path):
    with pytest.raises(VerificationError, match="verifier failed"):
        run_audit(options(tmp_path, workers=2), guard=Guardrail(nli=BrokenNLI()))
    assert not (tmp_path / "out" / "report.jsonl").exists()


def test_a_bad_index_is_a_usage_error(run_cli, tmp_path):
    missing = run_cli(EXAMPLES, "--out", tmp_path / "o1", "--index", tmp_path / "nonexist")
    assert missing.exit_code == 2, missing.output
    (line,) = missing.output.strip().splitlines()  # one line, however long the path
    assert line.startswith("error:") and "--index" in line and str(tmp_path / "nonexist") in line
    assert not (tmp_path / "o1").exists()  # nothing to --overwrite afterwards

    corrupt = tmp_path / "corrupt-index"
    corrupt.mkdir()
    (corrupt / "manifest.json").write_text("{not json")
    broken = run_cli(EXAMPLES, "--out", tmp_path / "o2", "--index", corrupt)
    assert broken.exit_code == 2 and "corrupt" in broken.output, broken.output


def test_resume_errors_are_config_errors_that_name_the_flag_and_the_option(guard, tmp_path):
    opts = options(tmp_path)
    run_audit(opts, guard=guard)
    with pytest.raises(ResumeError) as refused:
        run_audit(opts, guard=guard)
    assert isinstance(refused.value, ConfigError) and isinstance(refused.value, GuardrailError)
    message = str(refused.value)
    assert all(s in message for s in ("--resume", "resume=True", "--overwrite", "overwrite=True"))
    changed = dataclasses.replace(opts, resume=True, settings=Settings(support_threshold=0.9))
    with pytest.raises(ResumeError, match=r"--resume \(resume=True\) with different options"):
        run_audit(changed, guard=guard)


def test_web_without_a_provider_name_is_a_config_error():
    with pytest.raises(ConfigError, match="provider name"):
        build_guardrail(Settings(), web=True)  # the old boolean option
