"""guardrail: catch hallucinations in LLM answers before users see them.

>>> from guardrail import Guardrail
>>> report = Guardrail().check(answer, context=docs)
>>> print(report.output)
"""

from guardrail.config import Settings
from guardrail.evidence import as_passages
from guardrail.exceptions import (
    BlockedHostError,
    BlockedResponse,
    ConfigError,
    EvidenceError,
    GuardrailError,
    InputError,
    ModelLoadError,
    VerificationError,
    WebError,
)
from guardrail.engine import Guardrail
from guardrail.extract import RuleBasedExtractor
from guardrail.nli import EmbeddedNLI
from guardrail.protocols import ClaimExtractor, NLIModel, Policy, Retriever
from guardrail.report import CitationCheck, Claim, ClaimResult, Evidence, Passage, Report, Verdict

__version__ = "0.1.0"

__all__ = [
    "BlockedHostError",
    "BlockedResponse",
    "CitationCheck",
    "Claim",
    "ClaimExtractor",
    "ClaimResult",
    "ConfigError",
    "EmbeddedNLI",
    "Evidence",
    "EvidenceError",
    "Guardrail",
    "GuardrailError",
    "InputError",
    "ModelLoadError",
    "NLIModel",
    "Passage",
    "Policy",
    "Report",
    "Retriever",
    "RuleBasedExtractor",
    "Settings",
    "Verdict",
    "VerificationError",
    "WebError",
    "__version__",
    "as_passages",
]
