"""The pluggable parts of a check.  Each has one default; any object with these methods fits.

=================  =========================================  ==============================
part               default                                    what else fits
=================  =========================================  ==============================
ClaimExtractor     ``RuleBasedExtractor`` (pysbd, offline)    ``LLMClaimExtractor``
Retriever          the ``context`` passed to ``check``        ``EvidenceIndex``, web search,
                                                              a LangChain retriever adapter
NLIModel           ``EmbeddedNLI`` (the shipped verifier)     any cross-encoder, hub name
Policy             ``annotate``                               flag, redact, block, your own
=================  =========================================  ==============================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from guardrail.report import Claim, Passage, Report


@runtime_checkable
class ClaimExtractor(Protocol):
    """Splits an answer into atomic claims with character offsets into it."""

    def extract(self, text: str, *, question: str | None = None) -> list[Claim]:
        """Claims of ``text``, each with ``start``/``end`` offsets into it."""
        ...


@runtime_checkable
class Retriever(Protocol):
    """Finds evidence passages for a query (a claim's text)."""

    def retrieve(self, query: str, k: int) -> list[Passage]:
        """At most ``k`` passages about ``query``, best first."""
        ...

    async def aretrieve(self, query: str, k: int) -> list[Passage]:
        """Async twin of ``retrieve``."""
        ...


@runtime_checkable
class NLIModel(Protocol):
    """Scores (evidence, claim) pairs: rows of [entailment, neutral, contradiction] probabilities."""

    def predict(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """An ``[n, 3]`` array of (entailment, neutral, contradiction) probabilities."""
        ...


@runtime_checkable
class Policy(Protocol):
    """Decides what the user sees: returns the output text, or raises ``BlockedResponse``.

    A ``name`` attribute is optional (``Report.policy`` then says the class name), so it is not
    part of the protocol: a policy with ``apply`` alone type-checks and passes ``isinstance``.
    """

    def apply(self, report: Report) -> str:
        """The text the user sees for this report, or raise ``BlockedResponse``."""
        ...
