"""From NLI probabilities and extra checks to a verdict per claim.

Each claim is scored against its best evidence windows and its selection of sentences
(``evidence.candidates``).  The support score is a logistic combination of: the best window's
entailment, the contradiction of the most relevant windows, lexical support, and whether
numbers/dates/names of the claim are missing from the evidence.
Its weights are fitted on the verifier's validation split (``training/calibrate_verifier.py``)
and shipped as ``calibration.json`` beside the model; the defaults below are used otherwise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from guardrail.checks import CheckResult, check_claim, lexical_support, numbers
from guardrail.compare import alternatives, check_order
from guardrail.evidence import Selection, Window
from guardrail.report import Claim, ClaimResult, Evidence, Passage, Verdict

FEATURES = ("entail_logit", "contradiction", "lexical", "number_missing", "name_missing")


@dataclass(frozen=True)
class Calibration:
    """Logistic weights turning claim features into a support probability.

    ``short_answer`` holds a second set for short answers restated with their question
    ("Paris" -> "The capital of France is Paris"): only the answer's words are checked for
    lexical support there, so the weights are fitted on question-answer pairs of their own.
    """

    bias: float = -1.0
    weights: tuple[float, ...] = (1.0, -1.0, 1.5, -1.5, -0.5)
    short_answer: Calibration | None = None

    @classmethod
    def load(cls, model_dir: str | Path) -> Calibration:
        path = Path(model_dir) / "calibration.json"
        if not path.exists():
            return cls()
        return cls.from_dict(json.loads(path.read_text()))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        nested = data.get("short_answer")
        return cls(bias=float(data["bias"]), weights=tuple(float(w) for w in data["weights"]),
                   short_answer=cls.from_dict(nested) if nested else None)

    def for_claim(self, asserted: str | None) -> Calibration:
        """The weights for a claim: the short-answer set when the claim is one."""
        return self.short_answer if asserted and self.short_answer else self

    def score(self, features: Sequence[float]) -> float:
        z = self.bias + sum(w * f for w, f in zip(self.weights, features))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


@dataclass(frozen=True)
class Scored:
    """NLI probabilities of one claim (or claim chunk) against one window."""

    window: Window | Selection
    relevance: float
    entailment: float
    contradiction: float


def claim_features(claim_text: str, scored: Sequence[Scored],
                   asserted: str | None = None) -> tuple[list[float], CheckResult]:
    """Features, and what the number, date and name checks found.

    ``asserted`` is what the answer itself states when ``claim_text`` carries more: a short
    answer to a question is verified restated with the question, but the question's own words
    and names are given, not claimed, so the lexical, number and name checks look only at
    the answer's words.
    """
    best = max(scored, key=lambda s: s.entailment)
    top_relevance = max(s.relevance for s in scored)
    # Contradiction counts only from windows about the claim: NLI models "contradict" unrelated text.
    # and an absolute floor keeps a claim checked against off-topic evidence "unsupported".
    relevant = max(0.6 * top_relevance, 0.3)
    contradiction = max((s.contradiction for s in scored if s.relevance >= relevant), default=0.0)
    relied_on = [s.window.premise for s in sorted(scored, key=lambda s: -s.entailment)[:2]]
    # Numbers and dates count from the windows relied on and those about the claim: a page's
    # dateline ("Nov 10, 2018") states the date of a claim that its body supports
    about = " ".join(dict.fromkeys([*relied_on, *(s.window.premise for s in scored if s.relevance >= relevant)]))
    checked = asserted or claim_text
    # Lexical support counts over every window looked at: an answer's words found anywhere in
    # the retrieved evidence, even where the NLI model preferred another window.  Names count
    # over the whole passages those windows come from: a page names a person in full once and
    # by surname after, and a name it gives anywhere is not one the answer made up.
    retrieved = " ".join(dict.fromkeys(s.window.premise for s in scored))
    checks = check_claim(checked, about, retrieved=f"{retrieved} {_pages(scored)}")
    lexical = lexical_support(checked, retrieved)
    features = [_logit(best.entailment), contradiction, lexical,
                float(checks.conflict), float(bool(checks.missing_names))]
    return features, checks


def decide(claim: Claim, scored: Sequence[Scored], calibration: Calibration,
           support_threshold: float, contradiction_threshold: float, asserted: str | None = None,
           question: str | None = None, context: Sequence[Passage] = ()) -> ClaimResult:
    """The verdict on one claim from its scored windows (empty: no evidence at all).

    ``question`` is the one the answer replies to: a "which came first" choice is then settled
    by the years the evidence gives (``compare.check_order``), which NLI cannot compare.  That
    evidence is ``context`` (the passages of the answer) and the pages of the claim's windows:
    the claim names one of the two, and its windows may all be about that one."""
    if not scored:
        return ClaimResult(claim, "unsupported", 0.0, (), ("no evidence found for this claim",))
    features, checks = claim_features(claim.text, scored, asserted)
    score = calibration.for_claim(asserted).score(features)
    contradiction = features[1]
    issues = checks.issues
    verdict: Verdict
    # a measurement the evidence gives with another value ("9 kg" / "3.4 kg" or "3,400 grams")
    # is a contradiction however the NLI model scored the pair
    if score >= support_threshold and not checks.wrong_measures:
        verdict = "supported"
    elif contradiction >= contradiction_threshold or checks.wrong_measures or (checks.conflict and features[2] >= 0.5):
        verdict = "contradicted"
    else:
        verdict = "unsupported"
    # the passages are joined only for a comparison question: most questions are none
    if question and alternatives(question) and (
            order := check_order(question, asserted or claim.text, _pages(scored, context))):
        # the years settle it; the score stops short of certainty, since a year may have been
        # read off a sentence about another subject
        verdict, score = ("supported", max(score, 0.9)) if order.right else ("contradicted", min(score, 0.1))
        issues = issues if order.right else (*issues, order.issue)
    ranked = sorted(scored, key=lambda s: (-s.entailment, -s.relevance))
    seen: set[tuple[str, int]] = set()
    evidence: list[Evidence] = []
    # a selection of sentences is quoted sentence by sentence, each with the selection's
    # probabilities: together they are what the verifier read.  The sentence most about the
    # claim comes first, since the first quote's passage is the one the claim cites.
    quoted = ((w, s) for s in ranked for w in sorted(_parts(s.window), key=lambda part: -_about(claim.text, part.text)))
    for w, s in quoted:
        if (w.passage.id, w.start) in seen:
            continue
        seen.add((w.passage.id, w.start))
        evidence.append(Evidence(w.passage, w.text, w.start, w.end, round(s.entailment, 4), round(s.contradiction, 4)))
        if len(evidence) == 3:
            break
    return ClaimResult(claim, verdict, round(score, 4), tuple(evidence), issues)


def _pages(scored: Sequence[Scored], more: Sequence[Passage] = ()) -> str:
    """The whole passages a claim's windows come from, and ``more``, each once."""
    pages = [*(p.text for p in more), *(w.passage.text for s in scored for w in _parts(s.window))]
    return " ".join(dict.fromkeys(pages))


def _parts(window: Window | Selection) -> tuple[Window, ...]:
    """The windows a selection of sentences is made of; a window is its own one part."""
    return window.parts if isinstance(window, Selection) else (window,)


def _about(claim: str, text: str) -> float:
    """How much ``text`` is about the claim: its words, and a number of it (the claim's
    numbers tell its sentence from another about the same subject)."""
    return lexical_support(claim, text) + 0.5 * bool(numbers(claim) & numbers(text))


def merge_chunks(chunk_probs: Sequence[np.ndarray]) -> np.ndarray:
    """A claim split into chunks is entailed only as much as its least entailed chunk,
    and contradicted as much as its most contradicted one."""
    stacked = np.stack(chunk_probs)
    return np.array([stacked[:, 0].min(), stacked[:, 1].max(), stacked[:, 2].max()], dtype=np.float32)
