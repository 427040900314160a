"""Answers to "which came first" questions, decided from the years the evidence gives.

"Who was born first, George Marshall or Allan Dwan?" asks for an order that no sentence of
the evidence states: one sentence dates Dwan (1885), another Marshall (1891).  A small NLI
model reads "George Marshall was born earlier" against them as near-entailed; comparing the
two years is exact.  The rules cover a choice between two names ("X or Y", "between X and Y")
asked with an order word ("first", "earlier", "older", "later", "younger", ...).  Anything else,
or evidence that does not date both names to different years, returns ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from guardrail.evidence import STOPWORDS

_EARLY = r"first|earlier|earliest|older|oldest|sooner"
_LATE = r"later|latest|last|younger|youngest|newer|newest|more recent|most recent"
# lower case: "First" is more often a name's ("First World War", "First for Women")
_ORDER = re.compile(rf"\b(?:(?P<early>{_EARLY})|(?P<late>{_LATE}))\b")
# a name: capitalised words, with the small words titles and names have between them
_NAME = r"[A-Z][\w'’.&-]*(?:\s+(?:(?:of|the|for|and|de|la|le|von|van|del|du)\s+)*[A-Z][\w'’.&-]*)*"
_BETWEEN = re.compile(rf"\b(?i:between)\b.*?(?P<x>{_NAME})\s+and\s+(?P<y>{_NAME})")
_NAME_RUN = re.compile(_NAME)
# a question's capitalised first word that is not part of the name after it
_QUESTION_WORDS = {"was", "is", "were", "are", "did", "does", "do", "has", "had", "which", "who", "what"}
_DIGITS = re.compile(r"\d+")
_REACH = 300  # how far after a name its year may stand: "Allan Dwan (3 April 1885 - ...)"
# A longer text is no such question, and the name patterns' time grows with its square.
_MAX_QUESTION = 1000


@dataclass(frozen=True)
class Order:
    """What the evidence's years say of an answer to a "which came first" question."""

    chosen: str
    other: str
    years: tuple[int, int]  # the chosen name's year, the other's
    right: bool

    @property
    def issue(self) -> str:
        return (f"the evidence dates {self.chosen} to {self.years[0]} and {self.other} to {self.years[1]}: "
                f"the question asks for the other one")


def _asked(question: str) -> tuple[str, re.Match[str]] | None:
    q = " ".join(question.split()).rstrip(" ?")
    order = _ORDER.search(q)
    return None if order is None or len(q) > _MAX_QUESTION else (q, order)


def _predicate(q: str, order: re.Match[str]) -> list[str]:
    """The content words just before the order word ("born first", "founded first"): what a
    sentence answering the question says again."""
    # lower-case words only: "Jesus Camp released first" asks "released", not "camp"
    before = re.findall(r"\b[a-z]+\b", q[max(0, order.start() - 30):order.start()])[-2:]
    return [w for w in before if w not in STOPWORDS]


def alternatives(question: str) -> tuple[str, str, bool] | None:
    """The two names a question chooses between, and whether it asks for the earlier one."""
    asked = _asked(question)
    if asked is None:
        return None
    q, order = asked
    early = order["early"] is not None
    if between := _BETWEEN.search(q):
        return between["x"], between["y"], early
    head, sep, tail = q.rpartition(" or ")
    if not sep:
        return None
    after = _NAME_RUN.match(tail)
    if after is None:
        return None
    if order.end() <= len(head):  # "Who was born first, X, the ..., or Y": X follows the order word
        before = _NAME_RUN.search(head, order.end())
    else:  # "Was X or Y released first?": X ends just before "or"
        before = next((m for m in _NAME_RUN.finditer(head) if m.end() == len(head.rstrip(" ,"))), None)
        first, _, rest = before.group().partition(" ") if before else ("", "", "")
        if before is not None and before.start() == 0 and first.lower() in _QUESTION_WORDS:
            return (rest, after.group(), early) if rest else None  # "Was Beyond the Gates ..."
    return (before.group(), after.group(), early) if before else None


def _mentions(name: str, text: str, flags: int = 0) -> list[int]:
    """Where ``text`` names ``name`` (the ends): in full, else by its last word ("Clijsters")."""
    found = [m.end() for m in re.finditer(rf"\b{re.escape(name)}\b", text, flags)]
    if not found and len(name.split()) > 1:
        found = [m.end() for m in re.finditer(rf"\b{re.escape(name.split()[-1])}\b", text, flags)]
    return found


def _year(name: str, other: str, text: str) -> int | None:
    """The year after the first mention of ``name``, before ``other`` is named: the first number
    there that is not a day ("3 April 1885"); ``None`` if that number is no year (a count, or
    digits run together as in "26 September 188926 May 1976")."""
    mentions = _mentions(name, text)
    if not mentions:
        return None
    at = mentions[0]
    rivals = [p - len(other.split()[-1]) for p in _mentions(other, text) if p > at]
    for digits in _DIGITS.finditer(text, at, min([at + _REACH, *rivals])):
        if len(digits.group()) > 2:
            value = int(digits.group())
            return value if len(digits.group()) == 4 and 1000 <= value <= 2099 else None
    return None


def check_order(question: str, answer: str, evidence: str) -> Order | None:
    """Whether ``answer`` picks the name the evidence's years make the answer.

    ``answer`` is the bare name ("Mary Pierce") or a sentence that says what the question asks,
    its order word in the question's direction and the words before it ("George Marshall was
    born earlier" for "born first"): another sentence that names one of the two ("Allan Dwan
    was the first director to ...") says something else of it.  ``None`` when the question is
    no such choice, the answer names both or neither, or a year is missing or shared."""
    found = alternatives(question)
    if found is None:
        return None
    x, y, early = found
    picks = [n for n in (x, y) if _mentions(n, answer, re.IGNORECASE)]
    if len(picks) != 1:
        return None
    chosen, other = (x, y) if picks[0] == x else (y, x)
    if re.sub(rf"(?i:{re.escape(chosen)})|\W", "", answer) and not _says_order(answer, question, early):
        return None
    years = _year(chosen, other, evidence), _year(other, chosen, evidence)
    if years[0] is None or years[1] is None or years[0] == years[1]:
        return None
    return Order(chosen, other, (years[0], years[1]), (years[0] < years[1]) == early)


def _says_order(sentence: str, question: str, early: bool) -> bool:
    asked = _asked(question)
    said = _ORDER.search(sentence)
    if asked is None or said is None or (said["early"] is not None) != early:
        return False
    words = set(re.findall(r"[a-z]+", sentence.lower()))
    return all(w in words for w in _predicate(*asked))
