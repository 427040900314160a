"""guardrail: catch hallucinations in LLM answers before users see them.

>>> from guardrail import Guardrail
>>> report = Guardrail().check(answer, context=docs)
>>> print(report.output)
"""

from guardrail.config import Settings
from guardrail.engine import Guardrail
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
from guardrail.extract import RuleBasedExtractor
from guardrail.llm_extract import LLMClaimExtractor
from guardrail.nli import EmbeddedNLI
from guardrail.protocols import ClaimExtractor, NLIModel, Policy, Retriever
from guardrail.report import CitationCheck, Claim, ClaimResult, Evidence, Passage, Report, Verdict

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The index (faiss) and web search (httpx clients, trafilatura) cost import time that
    # plain checks with context do not need, so they load on first use.
    if name == "EvidenceIndex":
        from guardrail.index import EvidenceIndex

        return EvidenceIndex
    if name == "WebRetriever":
        from guardrail.web import WebRetriever

        return WebRetriever
    raise AttributeError(f"module 'guardrail' has no attribute {name!r}")


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
    "EvidenceIndex",
    "Guardrail",
    "GuardrailError",
    "InputError",
    "LLMClaimExtractor",
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
    "WebRetriever",
    "__version__",
    "as_passages",
]
