"""``summary.json``: how often the app hallucinates, overall, per group, and what it gets wrong.

Computed from ``report.jsonl`` as written (not from in-memory state), so an audit finished
over several resumed runs is summarised exactly like one that ran straight through.  Its lines
are in completion order, which changes with ``--workers``; so every list and table here is
ordered by its content (count, then text or line), never by the order records came in.

Claims the engine reports without checking them (past ``Settings.max_claims``; they carry
``verified: false``, verdict "unsupported" and score 0.0) are counted as
``unverified_claims``, apart from the flagged ones: one very long answer would otherwise
fill the top unsupported claims and the 0.0 histogram bin with claims nobody judged.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import guardrail

from .checkpoint import AuditDir
from .results import is_unverified

__all__ = ["HISTOGRAM_BINS", "summarize", "summarize_results"]

HISTOGRAM_BINS = 10
MAX_GROUP_VALUES = 50  # a grouping field like user id would make an unreadable table
TOP_CLAIMS = 25
RECORDS_PER_CLAIM = 5  # links to the first records with a claim, enough to go and look

_MARKERS = re.compile(r"\[\^?[A-Za-z_-]*\d+\]")
_NON_WORD = re.compile(r"[^\w\s]")


def summarize(adir: AuditDir, meta: Mapping[str, Any]) -> dict[str, Any]:
    """Summarise the results in ``adir`` and write ``summary.json`` there."""
    rejects = adir.rejected()
    summary = summarize_results(adir.results(), rejects, meta)
    adir.summary.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


class _Acc:
    """Running sums for one slice of the records (all of them, or one group value)."""

    def __init__(self) -> None:
        self.records = self.hallucinated = self.claims = self.flagged = self.contradicted = self.unverified = 0
        self.score_sum = 0.0
        self.fp: list[float] = []
        self.rec: list[float] = []
        self.prec: list[float] = []

    def add(self, r: Mapping[str, Any]) -> None:
        self.records += 1
        self.hallucinated += bool(r.get("hallucinated"))
        claims = r.get("claims") or ()
        self.claims += int(r.get("n_claims", len(claims)))
        unverified = [is_unverified(c) for c in claims]
        self.unverified += sum(unverified)
        self.flagged += sum(bool(c.get("flagged")) and not u for c, u in zip(claims, unverified, strict=True))
        self.contradicted += sum(c.get("verdict") == "contradicted" for c in claims)
        self.score_sum += float(r.get("score", 1.0))
        for key, acc in (
            ("factual_precision", self.fp),
            ("citation_recall", self.rec),
            ("citation_precision", self.prec),
        ):
            if r.get(key) is not None:
                acc.append(float(r[key]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "hallucinated": self.hallucinated,
            "hallucination_rate": _ratio(self.hallucinated, self.records),
            "claims": self.claims,
            "flagged_claims": self.flagged,
            "contradicted_claims": self.contradicted,
            "unverified_claims": self.unverified,
            "mean_score": _ratio(self.score_sum, self.records),
            "factual_precision": _mean(self.fp),
            "citation_recall": _mean(self.rec),
            "citation_precision": _mean(self.prec),
            "records_with_citations": len(self.rec),
        }


def summarize_results(
    results: Iterable[Mapping[str, Any]], rejects: Iterable[Mapping[str, Any]], meta: Mapping[str, Any]
) -> dict[str, Any]:
    overall = _Acc()
    groups: dict[str, dict[str, _Acc]] = defaultdict(lambda: defaultdict(_Acc))
    status = Counter()
    verdicts = Counter()
    response_hist = [0] * HISTOGRAM_BINS
    claim_hist = {
        "supported": [0] * HISTOGRAM_BINS,
        "unsupported": [0] * HISTOGRAM_BINS,
        "contradicted": [0] * HISTOGRAM_BINS,
    }
    unsupported: dict[str, dict[str, Any]] = {}
    cite = {
        "sentences": 0,
        "sentences_supported": 0,
        "markers": 0,
        "markers_supported": 0,
        "unknown_markers": 0,
    }
    skip_reasons = Counter()
    for r in results:
        status[r.get("status", "checked")] += 1
        if r.get("status") == "skipped":
            skip_reasons[str(r.get("reason"))] += 1
        if r.get("status") != "checked":
            continue
        overall.add(r)
        for name, value in (r.get("groups") or {}).items():
            groups[name][str(value)].add(r)
        response_hist[_bin(float(r.get("score", 1.0)))] += 1 if r.get("n_claims") else 0
        for c in r.get("claims", ()):
            if is_unverified(c):
                verdicts["unverified"] += 1  # its verdict and 0.0 score are placeholders
                continue
            verdicts[c["verdict"]] += 1
            claim_hist.setdefault(c["verdict"], [0] * HISTOGRAM_BINS)[_bin(float(c["score"]))] += 1
            if c.get("flagged"):
                _count_claim(unsupported, c, r)
        _count_citations(cite, r.get("citations", ()))
    rejects = list(rejects)
    reject_reasons = Counter(_reason_kind(str(x.get("reason", ""))) for x in rejects)
    edges = [round(i / HISTOGRAM_BINS, 2) for i in range(HISTOGRAM_BINS + 1)]
    settings = meta.get("settings") or {}
    totals = overall.to_dict()
    return {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "guardrail_version": getattr(guardrail, "__version__", None),
        "input": meta.get("input"),
        "engine": meta.get("engine"),
        "thresholds": {
            "support": settings.get("support_threshold"),
            "contradiction": settings.get("contradiction_threshold"),
        },
        "counts": {
            "in_scope": meta.get("in_scope"),
            "checked": status["checked"],
            "skipped": status["skipped"],
            "errors": status["error"],
            "rejected": len(rejects),
            "hallucinated": totals["hallucinated"],
            "claims": totals["claims"],
            "flagged_claims": totals["flagged_claims"],
            "unverified_claims": totals["unverified_claims"],
        },
        "hallucination_rate": totals["hallucination_rate"],
        "overall": totals,
        "verdicts": {v: verdicts.get(v, 0) for v in ("supported", "unsupported", "contradicted", "unverified")},
        "by_group": {name: _group_table(values) for name, values in sorted(groups.items())},
        "histograms": {"edges": edges, "response_score": response_hist, "claim_score": claim_hist},
        "top_unsupported_claims": _top_claims(unsupported),
        "citations": _citation_summary(cite, overall, groups),
        "skipped_reasons": _by_count(skip_reasons),
        "reject_reasons": _by_count(reject_reasons),
    }


def _by_count(counts: Counter) -> dict[str, int]:
    """Most frequent first, ties by name (``most_common`` breaks ties by arrival order)."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _bin(score: float) -> int:
    return min(HISTOGRAM_BINS - 1, max(0, int(score * HISTOGRAM_BINS)))


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


def _norm_claim(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", _MARKERS.sub(" ", text.lower())).split())


def _count_claim(table: dict[str, dict[str, Any]], c: Mapping[str, Any], r: Mapping[str, Any]) -> None:
    key = _norm_claim(c["text"])
    if not key:
        return
    entry = table.setdefault(key, {"forms": Counter(), "count": 0, "contradicted": 0, "score_sum": 0.0, "records": {}})
    entry["forms"][c["text"].strip()] += 1
    entry["count"] += 1
    entry["contradicted"] += c["verdict"] == "contradicted"
    entry["score_sum"] += float(c["score"])
    # One link per record however often it repeats the claim: the lowest lines, whatever
    # order the records arrive in.
    refs: dict[int, Any] = entry["records"]
    line = int(r.get("line") or 0)
    if line not in refs:
        refs[line] = r.get("id")
        if len(refs) > RECORDS_PER_CLAIM:
            del refs[max(refs)]


def _top_claims(table: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    def wording(e: Mapping[str, Any]) -> str:
        """The most frequent wording of the claim, ties by text."""
        return min(e["forms"].items(), key=lambda kv: (-kv[1], kv[0]))[0]

    # Scores are left out of the ranking: batches of other sizes move them in the last digits.
    ranked = sorted(((e, wording(e)) for e in table.values()), key=lambda ew: (-ew[0]["count"], ew[1]))
    return [
        {
            "claim": text,
            "count": e["count"],
            "contradicted": e["contradicted"],
            "mean_score": round(e["score_sum"] / e["count"], 4),
            "records": [{"id": rid, "line": line} for line, rid in sorted(e["records"].items())],
        }
        for e, text in ranked[:TOP_CLAIMS]
    ]


def _group_table(values: Mapping[str, _Acc]) -> dict[str, Any]:
    ranked = sorted(values.items(), key=lambda kv: (-kv[1].records, kv[0]))
    table = {k: acc.to_dict() for k, acc in ranked[:MAX_GROUP_VALUES]}
    if len(ranked) > MAX_GROUP_VALUES:
        other = _Acc()
        for _, acc in ranked[MAX_GROUP_VALUES:]:
            for f in ("records", "hallucinated", "claims", "flagged", "contradicted", "unverified"):
                setattr(other, f, getattr(other, f) + getattr(acc, f))
            other.score_sum += acc.score_sum
            other.fp += acc.fp
            other.rec += acc.rec
            other.prec += acc.prec
        table["(other)"] = other.to_dict()
    return table


def _count_citations(cite: dict[str, int], citations: Iterable[Mapping[str, Any]]) -> None:
    sentences: dict[tuple[int, int], bool] = {}
    for c in citations:
        cite["markers"] += 1
        cite["markers_supported"] += bool(c.get("supports"))
        cite["unknown_markers"] += c.get("passage_id") is None
        key = (int(c["start"]), int(c["end"]))
        sentences[key] = sentences.get(key, False) or bool(c.get("supports"))
    cite["sentences"] += len(sentences)
    cite["sentences_supported"] += sum(sentences.values())


def _citation_summary(
    cite: Mapping[str, int], overall: _Acc, groups: Mapping[str, Mapping[str, _Acc]]
) -> dict[str, Any]:
    """ALCE citation recall and precision: per record, then averaged over records with
    citations (ALCE's convention); the micro averages over all sentences/markers are beside them."""
    return {
        "records_with_citations": len(overall.rec),
        "recall": _mean(overall.rec),
        "precision": _mean(overall.prec),
        "recall_micro": _ratio(cite["sentences_supported"], cite["sentences"]),
        "precision_micro": _ratio(cite["markers_supported"], cite["markers"]),
        "cited_sentences": cite["sentences"],
        "markers": cite["markers"],
        "unsupported_markers": cite["markers"] - cite["markers_supported"],
        "unknown_markers": cite["unknown_markers"],
        "by_group": {
            name: {
                v: {
                    "recall": acc.to_dict()["citation_recall"],
                    "precision": acc.to_dict()["citation_precision"],
                    "records_with_citations": len(acc.rec),
                }
                for v, acc in sorted(values.items(), key=lambda kv: (-kv[1].records, kv[0]))
                if acc.rec
            }
            for name, values in sorted(groups.items())
        },
    }


def _reason_kind(reason: str) -> str:
    """Group reject reasons by their kind ("invalid JSON: ..." -> "invalid JSON")."""
    return reason.split(":", 1)[0] if ":" in reason else reason
