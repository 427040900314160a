"""The output directory: durable appends, torn-line repair, resume identity (no model needed)."""

from __future__ import annotations

import json

import pytest
from conftest import read_jsonl
from guardrail.integrations.audit.checkpoint import AuditDir, ResumeError

IDENT = {"input": "10:abc", "shape": "auto", "settings": {"support_threshold": 0.5}}


def test_done_set_comes_from_results_and_rejects(tmp_path):
    d = AuditDir(tmp_path)
    assert d.open(IDENT, resume=False) == set()
    d.append([{"line": 1, "status": "checked"}, {"line": 3, "status": "skipped"}], [{"line": 2, "reason": "x"}])
    d.close(complete=False)
    state = json.loads(d.checkpoint.read_text())
    assert state["done"] == 3 and state["complete"] is False
    assert AuditDir(tmp_path).open(IDENT, resume=True) == {1, 2, 3}


def test_a_torn_last_line_is_dropped_and_redone(tmp_path):
    d = AuditDir(tmp_path)
    d.open(IDENT, resume=False)
    d.append([{"line": 1}, {"line": 2}])
    d.close(complete=False)
    with open(d.report, "ab") as fh:  # what a SIGKILL in the middle of a write leaves
        fh.write(b'{"line": 3, "status": "chec')
    d2 = AuditDir(tmp_path)
    assert d2.open(IDENT, resume=True) == {1, 2}
    d2.append([{"line": 3}])
    d2.close(complete=True)
    assert [r["line"] for r in read_jsonl(d.report)] == [1, 2, 3]
    assert json.loads(d.checkpoint.read_text())["runs"] == 2


def test_existing_audit_needs_resume_or_overwrite(tmp_path):
    d = AuditDir(tmp_path)
    d.open(IDENT, resume=False)
    d.append([{"line": 1}])
    d.close(complete=True)
    with pytest.raises(ResumeError, match="--resume"):
        AuditDir(tmp_path).open(IDENT, resume=False)
    assert AuditDir(tmp_path).open(IDENT, resume=False, overwrite=True) == set()
    assert not d.report.exists()


def test_resume_refuses_a_different_input_or_options(tmp_path):
    d = AuditDir(tmp_path)
    d.open(IDENT, resume=False)
    d.close(complete=False)
    with pytest.raises(ResumeError, match="input changed"):
        AuditDir(tmp_path).open({**IDENT, "input": "11:def"}, resume=True)
    with pytest.raises(ResumeError, match="settings"):
        AuditDir(tmp_path).open({**IDENT, "settings": {"support_threshold": 0.7}}, resume=True)


def test_resume_on_an_empty_directory_starts_fresh(tmp_path):
    assert AuditDir(tmp_path / "new").open(IDENT, resume=True) == set()


def test_results_are_streamed_once_per_line(tmp_path):
    d = AuditDir(tmp_path)
    d.open(IDENT, resume=False)
    d.append([{"line": 5, "v": 1}, {"line": 2}, {"line": 5, "v": 2}])
    assert [(r["line"], r.get("v")) for r in d.results()] == [(5, 1), (2, None)]


def test_a_finished_audit_has_its_rejects_in_line_order(tmp_path):
    d = AuditDir(tmp_path)
    d.open(IDENT, resume=False)
    d.append(rejects=[{"line": 7, "reason": "parse"}])
    d.append(rejects=[{"line": 4, "reason": "checker"}, {"line": 7, "reason": "a copy"}])
    d.close(complete=False)  # a run that stops keeps the append order: it is resumed by appending
    assert [r["line"] for r in read_jsonl(d.rejects)] == [7, 4, 7]
    d2 = AuditDir(tmp_path)
    d2.open(IDENT, resume=True)
    d2.close(complete=True)
    assert [(r["line"], r["reason"]) for r in read_jsonl(d.rejects)] == [(4, "checker"), (7, "parse")]
