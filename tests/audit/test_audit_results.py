"""report.jsonl lines from real checks: evidence that resolves into the record's passages, and
claims past ``max_claims`` kept apart from the flagged ones, in the summary and the HTML."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from guardrail.integrations.audit import cli as audit_cli
from guardrail.integrations.audit import html, results
from guardrail.integrations.audit.formats import AuditRecord
from guardrail.integrations.audit.results import verdict_result
from guardrail.integrations.audit.summary import summarize_results

from guardrail import Guardrail

SPEC = "The H2 weighs 3.4 kg and ships in May."


def record(answer: str, context: tuple) -> AuditRecord:
    return AuditRecord(line=1, id="r1", shape="generic", answer=answer, context=context)


@pytest.fixture(scope="module")
def short_guard(guard: Guardrail) -> Guardrail:
    """Two claims checked per answer, the rest left unverified; the session's model."""
    return Guardrail(max_claims=2, nli=guard.nli)


def test_passages_carry_the_ids_evidence_points_at(guard):
    # The empty first item is dropped by the engine, yet the ids stay positional (ctx2).
    rec = record("The H2 weighs 3.4 kg. The H2 is red.", ("", SPEC, {"text": "Colour: red.", "id": "kb-7"}))
    row = verdict_result(rec, guard.check(**rec.check_item()))
    passages = {p["id"]: p for p in row["passages"]}
    assert [(p["n"], p["id"]) for p in row["passages"]] == [(1, "ctx2"), (2, "kb-7")]
    evidence = [e for c in row["claims"] for e in c["evidence"]]
    assert evidence
    for e in evidence:
        assert passages[e["passage_id"]]["text"][e["start"] : e["end"]] == e["quote"]
    assert not any(p["truncated"] for p in row["passages"])


def test_a_passage_over_the_cap_is_cut_and_says_so(guard, monkeypatch):
    monkeypatch.setattr(results, "MAX_PASSAGE_CHARS", 20)
    rec = record("The H2 weighs 3.4 kg.", (SPEC,))
    (p,) = verdict_result(rec, guard.check(**rec.check_item()))["passages"]
    assert (p["id"], p["text"], p["chars"], p["truncated"]) == ("ctx1", SPEC[:20], len(SPEC), True)


def test_claims_past_max_claims_are_unverified_not_flagged(short_guard, tmp_path):
    answer = "The H2 weighs 3.4 kg. The H2 ships in May. The H2 is blue. The H2 costs $5."
    rec = record(answer, (SPEC,))
    row = verdict_result(rec, short_guard.check(**rec.check_item()))
    assert (row["n_claims"], row["n_unverified"], row["n_flagged"]) == (4, 2, 0)

    s = summarize_results([row], [], {})
    assert (s["counts"]["flagged_claims"], s["counts"]["unverified_claims"]) == (0, 2)
    assert s["verdicts"]["unsupported"] == 0 and s["verdicts"]["unverified"] == 2
    assert s["top_unsupported_claims"] == []
    outcome = SimpleNamespace(checked=1, elapsed_s=1.0)
    assert "0 of 4 claims flagged (2 unverified)" in audit_cli._summary_line(s, outcome)

    view = html._view(row)  # the drill-down neither highlights nor lists them, but says so
    assert [c["n"] for c in view["claims"]] == [1, 2]
    assert view["errors"] == ["2 claims not verified: the answer has over 2 claims"]
    assert not any(seg["verdict"] == "unsupported" for seg in view["segments"])


def test_html_shows_the_start_of_a_long_passage():
    text = "word " * 400
    row = {"answer": "", "claims": [], "passages": [{"n": 1, "id": "ctx1", "text": text, "truncated": False}]}
    (p,) = html._view(row)["passages"]
    assert p["text"] == text[: html.PASSAGE_CHARS] + "…"
