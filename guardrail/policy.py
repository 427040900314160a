"""What the user sees: the four built-in policies and the citation renderer they share.

``annotate``  the answer with ``[n]`` after each supported claim and a Sources list (default)
``flag``      the answer unchanged; the report says what is wrong
``redact``    flagged claims removed from the answer (supported ones keep their citations)
``block``     raise ``BlockedResponse`` when any claim is flagged, else as ``annotate``
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from guardrail.exceptions import BlockedResponse, ConfigError
from guardrail.protocols import Policy
from guardrail.report import ClaimResult, Passage, Report

_TRAILING = re.compile(r"[.!?;:,]+$")
_OWN_MARKERS = re.compile(r"\s*(?:\[\d{1,3}\])+$")
_JOIN_BEFORE = re.compile(r"(?:\s*[,;])?\s+(?:and|but|while|whereas)\s*$|\s*[,;]\s*$")
_JOIN_AFTER = re.compile(r"^\s*[,;]?\s*(?:and|but|while|whereas)\s+")
_EMPTY_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]*(?:\r?\n|$)", re.MULTILINE)
_EMPTY_EMPHASIS = re.compile(r"(\*{1,3}|_{1,3})[ \t]*\1[ \t]?")  # "**Mars is the fifth planet.**" cut
_EXTRA_BLANK_LINES = re.compile(r"(?:[ \t]*\r?\n){3,}")
_PRONOUN = re.compile(r"(?:he|she|it|they|this|that|its|his|her|their)\b", re.IGNORECASE)


def _cut(text: str, start: int, end: int) -> str:
    """``text`` without ``text[start:end]``, a redacted claim, keeping the rest well formed:
    a clause takes its "and"/"but" with it ("X weighs 3 kg, and it was designed by NASA." ->
    "X weighs 3 kg."), and only the spaces at the cut are folded (code and indentation stay)."""
    left, dropped, right = text[:start], text[start:end], text[end:]
    stop = dropped.rstrip()[-1:] if dropped.rstrip().endswith((".", "!", "?")) else ""
    before = _JOIN_BEFORE.search(left)
    if before and not left[: before.start()].rstrip().endswith((".", "!", "?", ":", "\n")) \
            and left[: before.start()].strip():
        return left[: before.start()] + stop + right  # the sentence's later clause
    after = _JOIN_AFTER.match(right)
    if after and not stop:  # the sentence's first clause: what follows opens it now
        rest = right[after.end():]
        return left + rest[:1].upper() + rest[1:]
    at_sentence_start = not left.strip() or left.rstrip().endswith((".", "!", "?", "\n"))
    if at_sentence_start and right[:1] in (".", "!", "?"):
        right = right[1:]  # the stop left by a later clause redacted first: the sentence is gone
    if left.endswith((" ", "\t")) or not left or left.endswith("\n"):
        right = right.lstrip(" \t")  # a whole sentence: one space between its neighbours
    return left + right


def assign_citations(claims: Sequence[ClaimResult]) -> tuple[list[ClaimResult], list[Passage]]:
    """Number sources in order of first use by a supported claim; return claims with ``citation``."""
    sources: list[Passage] = []
    index: dict[str, int] = {}
    out = []
    for c in claims:
        if c.verdict == "supported" and c.evidence:
            passage = c.evidence[0].passage
            if passage.id not in index:
                sources.append(passage)
                index[passage.id] = len(sources)
            c = replace(c, citation=index[passage.id])
        out.append(c)
    return out, sources


def render(answer: str, claims: Sequence[ClaimResult], sources: Sequence[Passage], *,
           drop_flagged: bool = False, sources_heading: str = "Sources") -> str:
    """The answer with ``[n]`` markers before each cited claim's final punctuation, optionally
    without flagged claims, followed by the Sources list."""
    edits: list[tuple[int, int, str]] = []
    # Claims may share a span ("Both X and Y are Z" is one claim about each): the span is cut
    # once, and nothing inside a cut is cited or edited.
    cuts = _outermost({(c.claim.start, c.claim.end) for c in claims if c.flagged}) if drop_flagged else []
    edits += [(start, end, "") for start, end in cuts]
    # Several claims from one sentence share its end: cite once per distinct end.
    by_end: dict[int, list[int]] = {}
    # a sentence that one of its claims makes false is cited for none ("Both X and Y ...")
    false_spans = {(c.claim.start, c.claim.end) for c in claims if c.flagged}
    for i, c in enumerate(claims):
        if any(start <= c.claim.start and c.claim.end <= end for start, end in cuts):
            continue
        if drop_flagged and i and claims[i - 1].flagged and (named := _named_subject(answer, c)):
            edits.append(named)  # "She won ..." must not lose "Marie Curie" with the cut before it
        if c.citation is not None and (c.claim.start, c.claim.end) not in false_spans:
            by_end.setdefault(c.claim.end, [])
            if c.citation not in by_end[c.claim.end]:
                by_end[c.claim.end].append(c.citation)
    for end, numbers in by_end.items():
        span = answer[:end]
        trailing = _TRAILING.search(span)
        at = trailing.start() if trailing else end
        # the answer's own marker there gives way to ours, which the Sources list below explains
        own = _OWN_MARKERS.search(answer, 0, at)
        edits.append((own.start() if own else at, at, " " + "".join(f"[{n}]" for n in sorted(numbers))))
    text = answer
    for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = _cut(text, start, end) if start < end and not new else text[:start] + new + text[end:]
    if drop_flagged:
        text = _EMPTY_EMPHASIS.sub("", text)
        text = _EMPTY_ITEM.sub("", text)
        text = _EXTRA_BLANK_LINES.sub("\r\n\r\n" if "\r\n" in answer else "\n\n", text).strip()
    if sources and by_end:  # no Sources list under an answer with no [n] left in it
        lines = [f"[{i}] {p.label}" + (f" <{p.url}>" if p.url and p.url != p.label else "")
                 for i, p in enumerate(sources, start=1)]
        text = text.rstrip() + f"\n\n{sources_heading}:\n" + "\n".join(lines)
    return text


def _outermost(spans: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans not inside another one: cutting a span twice would cut text that has moved."""
    return [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]


def _named_subject(answer: str, c: ClaimResult) -> tuple[int, int, str] | None:
    """The edit that puts back the subject the extractor resolved a claim's opening pronoun to
    ("She won ..." checked as "Marie Curie won ..."), or None when the claim opens otherwise."""
    span = answer[c.claim.start:c.claim.end]
    pronoun = _PRONOUN.match(span)
    if not pronoun:
        return None
    rest, text = _TRAILING.sub("", span[pronoun.end():]), _TRAILING.sub("", c.claim.text)
    subject = text[: len(text) - len(rest)]
    if not rest or not text.endswith(rest) or not subject.strip() or _PRONOUN.fullmatch(subject.strip()):
        return None
    return c.claim.start, c.claim.start + pronoun.end(), subject.rstrip()


@dataclass(frozen=True)
class Annotate:
    name: str = "annotate"

    def apply(self, report: Report) -> str:
        return report.annotated


@dataclass(frozen=True)
class Flag:
    name: str = "flag"

    def apply(self, report: Report) -> str:
        return report.answer


@dataclass(frozen=True)
class Redact:
    name: str = "redact"

    def apply(self, report: Report) -> str:
        return render(report.answer, report.claims, report.sources, drop_flagged=True)


@dataclass(frozen=True)
class Block:
    name: str = "block"

    def apply(self, report: Report) -> str:
        if report.flagged:
            raise BlockedResponse(report)
        return report.annotated


POLICIES: dict[str, Policy] = {p.name: p for p in (Annotate(), Flag(), Redact(), Block())}


def get_policy(policy: str | Policy) -> Policy:
    if isinstance(policy, str):
        try:
            return POLICIES[policy]
        except KeyError:
            raise ConfigError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}") from None
    if not hasattr(policy, "apply"):
        raise ConfigError(f"a policy needs an apply(report) method, got {type(policy).__name__}")
    return policy
