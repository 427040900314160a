"""One line of ``report.jsonl``: the verdict on one input record, the same from every engine.

Evidence keeps the quote, its offsets and the passage's id/title/url rather than the whole
passage text, which ``Report.to_dict`` would repeat per evidence window and which already is
in the input log: a report of a large log stays a fraction of the log's size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guardrail import Report

from .formats import AuditRecord

__all__ = ["SCHEMA_VERSION", "error_result", "skipped_result", "verdict_result"]

SCHEMA_VERSION = 1


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
    out.update(
        hallucinated=bool(flagged),
        ok=report.ok,
        score=round(report.score, 4),
        n_claims=len(report.claims),
        n_flagged=len(flagged),
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
        passages=[_passage_ref(p, i) for i, p in enumerate(record.context, start=1)],
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


def _passage_ref(item: Any, i: int) -> dict[str, Any]:
    """The record's own context passages by position, so the HTML can name what [n] points at."""
    if isinstance(item, Mapping):
        text = str(item.get("text") or "")
        return {
            "n": i,
            "id": item.get("id"),
            "title": item.get("title"),
            "url": item.get("url"),
            "text": text[:600],
        }
    return {"n": i, "id": None, "title": None, "url": None, "text": str(item)[:600]}


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
