"""One line of ``report.jsonl``: the verdict on one input record, the same from every engine.

Evidence keeps the quote, its offsets and the passage's id/title/url rather than the whole
passage text, which ``Report.to_dict`` would repeat per evidence window.  The record's own
context is written once, in ``passages``, under the ids the engine gave it (``ctx1``, ...
unless the record named them), so evidence offsets resolve against ``passages[].text``.  A
passage over ``MAX_PASSAGE_CHARS`` is cut there and marked ``truncated``: the full text is in
the input log, and one huge tool output must not make the report as big as the log; offsets
past the cut do not resolve, but every evidence entry carries its quote.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guardrail import Passage, Report, as_passages

from .formats import AuditRecord

__all__ = ["MAX_PASSAGE_CHARS", "SCHEMA_VERSION", "error_result", "is_unverified", "skipped_result", "verdict_result"]

SCHEMA_VERSION = 1
MAX_PASSAGE_CHARS = 20_000  # far above a retrieved chunk; stops a pasted file or tool dump


def is_unverified(claim: Mapping[str, Any]) -> bool:
    """Whether a claim of ``report.jsonl`` was reported without being checked (the engine's
    ``ClaimResult.verified``): its verdict and score say nothing.  Lines written before that
    field existed (an audit resumed across the upgrade) carry only the engine's issue text."""
    if "verified" in claim:
        return claim["verified"] is False
    return any(str(i).startswith("not verified") for i in claim.get("issues") or ())


def _base(record: AuditRecord | None, line: int, rid: str, shape: str, status: str) -> dict[str, Any]:
    return {
        "v": SCHEMA_VERSION,
        "line": line,
        "id": rid,
        "shape": shape,
        "status": status,
        "groups": dict(record.groups) if record else {},
        "question": record.question if record else None,
        # Every status carries the key, so readers of report.jsonl need no special case.
        "claims": [],
    }


def verdict_result(record: AuditRecord, report: Report) -> dict[str, Any]:
    out = _base(record, record.line, record.id, record.shape, "checked")
    flagged = report.flagged
    unverified = sum(not c.verified for c in report.claims)
    out.update(
        # The record keeps the engine's verdict: an answer with claims nobody checked cannot be
        # called faithful.  The counts below keep those claims apart from the ones found wrong.
        hallucinated=bool(flagged),
        ok=report.ok,
        score=round(report.score, 4),
        n_claims=len(report.claims),
        n_flagged=sum(c.flagged and c.verified for c in report.claims),
        n_unverified=unverified,
        n_contradicted=sum(c.verdict == "contradicted" for c in report.claims),
        factual_precision=_round(report.factual_precision),
        citation_recall=_round(report.citation_recall),
        citation_precision=_round(report.citation_precision),
        answer=report.answer,
        annotated=report.annotated,
        claims=[_claim(c) for c in report.claims],
        sources=[_passage(p) for p in report.sources],
        citations=[
            {
                "marker": c.marker,
                "start": c.start,
                "end": c.end,
                "passage_id": c.passage_id,
                "supports": c.supports,
            }
            for c in report.citations
        ],
        # as_passages is what the engine itself runs on the context: same ids, same order (empty
        # passages dropped), so evidence ids and [n] markers point into this list.
        passages=[_passage_ref(p, n) for n, p in enumerate(as_passages(record.context), start=1)],
        errors=list(report.errors),
        elapsed_ms=report.elapsed_ms,
    )
    return out


def skipped_result(line: int, rid: str | None, shape: str, reason: str) -> dict[str, Any]:
    out = _base(None, line, rid or f"line-{line}", shape or "unknown", "skipped")
    out["reason"] = reason
    return out


def error_result(record: AuditRecord, error: str) -> dict[str, Any]:
    """A record the checker failed on: it raised (``fail="closed"``) or its report carries
    errors (``fail="open"``).  Kept, so resume will not retry it forever."""
    out = _base(record, record.line, record.id, record.shape, "error")
    out.update(error=error, answer=record.answer)
    return out


def _claim(c: Any) -> dict[str, Any]:
    return {
        "text": c.claim.text,
        "start": c.claim.start,
        "end": c.claim.end,
        "verdict": c.verdict,
        "score": round(c.score, 4),
        "flagged": c.flagged,
        "verified": c.verified,
        "issues": list(c.issues),
        "citation": c.citation,
        "evidence": [
            {
                "passage_id": e.passage.id,
                "title": e.passage.title,
                "url": e.passage.url,
                "quote": e.quote,
                "start": e.start,
                "end": e.end,
                "entailment": round(e.entailment, 4),
                "contradiction": round(e.contradiction, 4),
            }
            for e in c.evidence
        ],
    }


def _passage(p: Any) -> dict[str, Any]:
    return {"id": p.id, "title": p.title, "url": p.url, "label": p.label}


def _passage_ref(p: Passage, n: int) -> dict[str, Any]:
    """One of the record's context passages: ``n`` is its position, what a bare [n] points at."""
    return {
        "n": n,
        "id": p.id,
        "title": p.title,
        "url": p.url,
        "text": p.text[:MAX_PASSAGE_CHARS],
        "chars": len(p.text),
        "truncated": len(p.text) > MAX_PASSAGE_CHARS,
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
