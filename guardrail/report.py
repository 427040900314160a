"""The results guardrail returns: frozen, JSON-serialisable, and the same from every entry point."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from guardrail.exceptions import InputError

Verdict = Literal["supported", "contradicted", "unsupported"]
VERDICTS: tuple[Verdict, ...] = ("supported", "contradicted", "unsupported")


@dataclass(frozen=True)
class Passage:
    """A piece of evidence text and where it came from (``id`` is what citations name)."""

    text: str
    id: str
    url: str | None = None
    title: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How the Sources list names this passage."""
        return self.title or self.url or self.id


@dataclass(frozen=True)
class Claim:
    """An atomic statement of the answer; ``answer[start:end]`` is the span it came from.

    ``text`` may differ from that span when the extractor made it self-contained (an LLM
    extractor resolving "it" to a name); the offsets always point into the original answer.
    """

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Evidence:
    """A window of a passage scored against one claim; ``passage.text[start:end] == quote``."""

    passage: Passage
    quote: str
    start: int
    end: int
    entailment: float
    contradiction: float


@dataclass(frozen=True)
class ClaimResult:
    """The verdict on one claim, the evidence behind it and any extra check that fired."""

    claim: Claim
    verdict: Verdict
    score: float  # probability that the claim is supported, in [0, 1]
    evidence: tuple[Evidence, ...] = ()  # best first
    issues: tuple[str, ...] = ()  # e.g. "number '1994' is not in the evidence"
    citation: int | None = None  # 1-based index into Report.sources, set when supported
    # False when the claim was reported without being checked (past ``Settings.max_claims``,
    # the verifier failed open, or an empty claim given to ``verify_many``): its verdict and
    # score are then placeholders, and ``issues`` says why.  It still counts as flagged: nobody
    # vouched for it.
    verified: bool = True

    @property
    def flagged(self) -> bool:
        """Whether the verdict is contradicted or unsupported."""
        return self.verdict != "supported"


@dataclass(frozen=True)
class CitationCheck:
    """A citation marker the answer already carried, and whether its passage supports the sentence."""

    marker: str
    start: int  # the sentence the marker belongs to, offsets into the answer
    end: int
    passage_id: str | None  # None when the marker points at no known passage
    supports: bool


@dataclass(frozen=True)
class Report:
    """Everything guardrail found about one answer.

    ``output`` is the text to show the user after the policy ran (annotated, redacted or the
    answer unchanged); ``annotated`` is always the answer with citations and a Sources list.
    """

    answer: str
    claims: tuple[ClaimResult, ...]
    sources: tuple[Passage, ...]
    annotated: str
    output: str
    policy: str
    citations: tuple[CitationCheck, ...] = ()
    errors: tuple[str, ...] = ()  # what failed open (the check could not run in full)
    elapsed_ms: float = 0.0

    @property
    def flagged(self) -> tuple[ClaimResult, ...]:
        """Claims that are contradicted or have no support in the evidence."""
        return tuple(c for c in self.claims if c.flagged)

    @property
    def supported(self) -> tuple[ClaimResult, ...]:
        """The claims that are supported."""
        return tuple(c for c in self.claims if not c.flagged)

    @property
    def ok(self) -> bool:
        """True when every claim is supported and nothing failed."""
        return not self.flagged and not self.errors

    @property
    def score(self) -> float:
        """Response-level support: the weakest claim's score (1.0 when there are no claims)."""
        return min((c.score for c in self.claims), default=1.0)

    @property
    def factual_precision(self) -> float | None:
        """Share of claims that are supported (FActScore); None when there are no claims."""
        return len(self.supported) / len(self.claims) if self.claims else None

    @property
    def citation_recall(self) -> float | None:
        """ALCE citation recall: share of cited sentences whose cited passages support them."""
        sentences: dict[tuple[int, int], bool] = {}
        for c in self.citations:
            sentences[(c.start, c.end)] = sentences.get((c.start, c.end), False) or c.supports
        return sum(sentences.values()) / len(sentences) if sentences else None

    @property
    def citation_precision(self) -> float | None:
        """ALCE citation precision (simplified): share of citation markers that support their sentence."""
        return sum(c.supports for c in self.citations) / len(self.citations) if self.citations else None

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (what ``to_json`` writes)."""
        data = asdict(self)
        data.update(ok=self.ok, score=self.score, factual_precision=self.factual_precision,
                    citation_recall=self.citation_recall, citation_precision=self.citation_precision,
                    flagged=[i for i, c in enumerate(self.claims) if c.flagged])
        for c in data["claims"]:
            c["flagged"] = c["verdict"] != "supported"
        return data

    def to_json(self, **kwargs: Any) -> str:
        """The report as JSON; ``kwargs`` go to ``json.dumps`` (e.g. ``indent=2``)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, default=_jsonable, **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        """The report ``to_dict`` wrote (a stored report, read back); computed keys are ignored.

        ``InputError`` when ``data`` is not such a report.
        """
        try:
            return cls(
                answer=data["answer"],
                claims=tuple(_claim_result(c) for c in _list(data["claims"])),
                sources=tuple(_passage(p) for p in _list(data["sources"])),
                annotated=data["annotated"],
                output=data["output"],
                policy=data["policy"],
                citations=tuple(CitationCheck(**c) for c in _list(data.get("citations", []))),
                errors=tuple(_strings(data.get("errors", []))),
                elapsed_ms=float(data.get("elapsed_ms", 0.0)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"not a guardrail report: {type(exc).__name__}: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Report:
        """``from_dict`` of JSON text (what ``to_json`` wrote)."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..." nested past the stack
            raise InputError(f"not a guardrail report: {exc}") from None
        if not isinstance(data, dict):
            raise InputError(f"not a guardrail report: a JSON {type(data).__name__}")
        return cls.from_dict(data)


def _passage(d: Mapping[str, Any]) -> Passage:
    return Passage(d["text"], d["id"], d.get("url"), d.get("title"), dict(d.get("metadata") or {}))


def _claim_result(d: Mapping[str, Any]) -> ClaimResult:
    if d["verdict"] not in VERDICTS:
        raise ValueError(f"verdict {d['verdict']!r} is not one of {', '.join(VERDICTS)}")
    if not isinstance(d.get("verified", True), bool):
        raise TypeError(f"verified must be true or false, got {d['verified']!r}")
    evidence = tuple(Evidence(_passage(e["passage"]), e["quote"], e["start"], e["end"], float(e["entailment"]),
                              float(e["contradiction"])) for e in _list(d.get("evidence", [])))
    claim = Claim(d["claim"]["text"], d["claim"]["start"], d["claim"]["end"])
    return ClaimResult(claim, d["verdict"], float(d["score"]), evidence, tuple(_strings(d.get("issues", []))),
                       d.get("citation"), d.get("verified", True))


def _list(value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple)):  # a string would be read character by character
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return list(value)


def _strings(value: Any) -> list[str]:
    if not all(isinstance(v, str) for v in _list(value)):
        raise TypeError("expected a list of strings")
    return value


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return dict(obj)
    return str(obj)
