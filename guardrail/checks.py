"""Checks for what NLI models miss: numbers, dates and names that the evidence does not contain.

A small NLI model reads "born in 1867" and "born in 1876" as near-identical.  These checks
look for every number, year, month and capitalised name of the claim in the evidence the
verifier relied on; anything missing becomes an issue on the claim and lowers its score.
Numbers are compared as values ("1,200" = "1200", "3.0" = "3", "five" = "5"), so formatting
does not create false alarms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guardrail.evidence import STOPWORDS, content_tokens

_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(%|percent))?(?![\w])")
_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "thousand": 1000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "once": 1,
    "twice": 2,
    "thrice": 3,
    "dozen": 12,
    "single": 1,
    "double": 2,
}
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_NAME = re.compile(r"(?<![\w])[A-Z][a-zA-Z'’-]+(?:\s+[A-Z][a-zA-Z'’-]+)*")
_SENTENCE_WORDS = {
    "The",
    "A",
    "An",
    "In",
    "On",
    "At",
    "It",
    "He",
    "She",
    "They",
    "This",
    "That",
    "These",
    "Those",
    "There",
    "Its",
    "His",
    "Her",
    "Their",
    "As",
    "For",
    "By",
    "From",
    "After",
    "Before",
    "During",
    "However",
    "While",
    "When",
    "Where",
    "Yes",
    "No",
}


def numbers(text: str) -> set[float]:
    found = {float(m.group(1).replace(",", "")) for m in _NUMBER.finditer(text)}
    lowered = text.lower()
    found |= {float(v) for w, v in _WORD_NUMBERS.items() if re.search(rf"\b{w}\b", lowered)}
    return found


def months(text: str) -> set[str]:
    lowered = text.lower()
    return {m for m in _MONTHS if re.search(rf"\b{m}\b", lowered)} - ({"may"} if "May" not in text else set())


# Words capitalised only because they open the sentence ("Additionally, ...", "Despite Smith's ...").
_OPENERS = frozenset([
    "meanwhile", "overall", "furthermore", "moreover", "despite", "although", "though", "nevertheless",
    "nonetheless", "therefore", "thus", "hence", "instead", "besides", "later", "earlier", "today",
    "currently", "according", "following", "including", "since", "because", "unlike", "like",
    "without", "yet", "still",
])
_ADVERB = re.compile(r"(?:ally|ingly|ately|ently|ably|arly|ously|ively|edly)$")
_POSSESSIVE = re.compile(r"(?:['’]s?)$")


def names(text: str) -> set[str]:
    """Capitalised word runs, without sentence-opening words and possessive endings."""
    out: set[str] = set()
    for m in _NAME.finditer(text):
        words = [_POSSESSIVE.sub("", w) for w in m.group().split() if w not in _SENTENCE_WORDS]
        if m.start() == 0 and words and _opens_sentence(words[0]):
            words = words[1:]
        if words:
            out.add(" ".join(words).lower())
    return out


def _opens_sentence(word: str) -> bool:
    lowered = word.lower()
    return lowered in STOPWORDS or lowered in _OPENERS or bool(_ADVERB.search(lowered))


@dataclass(frozen=True)
class CheckResult:
    """What the extra checks found for one claim against its evidence."""

    missing_numbers: tuple[str, ...] = ()
    missing_months: tuple[str, ...] = ()
    missing_names: tuple[str, ...] = ()

    @property
    def issues(self) -> tuple[str, ...]:
        out = [f"number {n} is not in the evidence" for n in self.missing_numbers]
        out += [f"date '{m}' is not in the evidence" for m in self.missing_months]
        out += [f"name '{n}' is not in the evidence" for n in self.missing_names]
        return tuple(out)

    @property
    def conflict(self) -> bool:
        """A number or date of the claim is absent from evidence that has numbers or dates."""
        return bool(self.missing_numbers or self.missing_months)


def check_claim(claim: str, evidence: str) -> CheckResult:
    """Compare the claim's numbers, dates and names with ``evidence`` (the relied-on text)."""
    ev_numbers = numbers(evidence)
    missing_numbers = tuple(_fmt(n) for n in sorted(numbers(claim)) if n not in ev_numbers)
    missing_months = tuple(sorted(months(claim) - months(evidence)))
    ev_lower = evidence.lower()
    ev_stems = {_stem(t) for t in content_tokens(evidence)}
    missing_names = tuple(
        sorted(
            n
            for n in names(claim)
            # a name counts as present when all its words appear (word order and case may differ)
            if n not in ev_lower and not all(_stem(w) in ev_stems for w in n.split())
        )
    )
    return CheckResult(missing_numbers, missing_months, missing_names)


def lexical_support(claim: str, evidence: str) -> float:
    """Share of the claim's content words found in ``evidence`` (1.0 for a claim with none)."""
    claim_tokens = content_tokens(claim)
    return len(claim_tokens & content_tokens(evidence)) / len(claim_tokens) if claim_tokens else 1.0


def _stem(word: str) -> str:
    """Crude plural folding, enough for "Prizes" to match "Prize"."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _fmt(n: float) -> str:
    return str(int(n)) if n.is_integer() else str(n)
