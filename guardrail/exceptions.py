"""Every error guardrail raises, in one hierarchy.

::

    GuardrailError                      base of everything below
    ├── InputError                      the answer or a record cannot be checked (binary, too large)
    ├── ConfigError                     an option or a config file is wrong
    ├── ModelLoadError                  model files missing, corrupt or not installable offline
    ├── EvidenceError                   an evidence source failed (index, retriever)
    │   └── WebError                    search or page fetch failed (HTTP status, timeout)
    │       └── BlockedHostError        a URL resolved to an address the safety policy forbids
    ├── VerificationError               the verifier or the LLM claim extractor failed on valid input
    └── BlockedResponse                 the ``block`` policy refused an answer; carries ``.report``

Catch ``GuardrailError`` to handle all of them.  ``BlockedResponse`` is the one a normal
run raises on purpose: it carries the full report so callers can show why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guardrail.report import Report


class GuardrailError(Exception):
    """Base class for all guardrail errors."""


class InputError(GuardrailError, ValueError):
    """The text to check is unusable: binary, not valid UTF-8, or over the size limit."""


class ConfigError(GuardrailError, ValueError):
    """An option, threshold or configuration file is invalid."""


class ModelLoadError(GuardrailError):
    """A model could not be loaded; the message says what to install or where to put it."""


class EvidenceError(GuardrailError):
    """An evidence source (index, retriever, search) failed."""


class WebError(EvidenceError):
    """A web search or page fetch failed after its retries."""


class BlockedHostError(WebError):
    """A request would reach an address the safety policy forbids (private, loopback, ...)."""


class VerificationError(GuardrailError):
    """The verifier, or the LLM claim extractor, failed on input that was otherwise valid."""


class BlockedResponse(GuardrailError):
    """The ``block`` policy refused an answer.  ``report`` says which claims failed and why."""

    def __init__(self, report: Report, message: str | None = None) -> None:
        self.report = report
        flagged = len(report.flagged)
        super().__init__(message or f"response blocked: {flagged} of {len(report.claims)} claims "
                                    "are contradicted or unsupported by the evidence")
