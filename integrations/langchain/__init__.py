"""LangChain integration: a Runnable guard, an agent middleware and monitoring callbacks.

>>> from guardrail.integrations.langchain import GuardrailRunnable
>>> chain = prompt | model | GuardrailRunnable(guardrail)

Needs ``pip install "guardrail[langchain]"`` (langchain-core; ``langchain`` for the middleware).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    import langchain_core  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'guardrail.integrations.langchain needs LangChain: pip install "guardrail[langchain]"'
    ) from exc

from ._evidence import LangChainRetriever
from .callbacks import AsyncGuardrailCallbackHandler, GuardrailCallbackHandler
from .runnable import EVENT, GuardedRunnable, GuardrailRunnable, get_report

if TYPE_CHECKING:
    from .middleware import GuardrailMiddleware

__all__ = [
    "EVENT",
    "AsyncGuardrailCallbackHandler",
    "GuardedRunnable",
    "GuardrailCallbackHandler",
    "GuardrailMiddleware",
    "GuardrailRunnable",
    "LangChainRetriever",
    "get_report",
]


def __getattr__(name: str) -> Any:
    # The middleware needs the `langchain` package (agents); the rest only langchain-core.
    if name == "GuardrailMiddleware":
        from .middleware import GuardrailMiddleware

        return GuardrailMiddleware
    raise AttributeError(name)
