"""``@guarded``: check what a plain chat function returns, or streams.

>>> @guarded(guardrail, context="docs")
... def answer(question: str, docs: list[str]) -> str:
...     return llm(question, docs)

Works on sync and async functions and on (async) generators, which are verified while they
stream (see ``guardrail.integrations.streaming``).  The answer is found in a ``str``, an
OpenAI-style completion (dict or SDK object) or a LangChain message; the same type comes
back with the policy's output in place of the text.  The report goes to ``on_report`` and,
where the return type has room for it, rides along (``response_metadata["guardrail"]`` on a
message, a ``"guardrail"`` key on a dict).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from guardrail import BlockedResponse, EvidenceError, Guardrail, InputError, Report

from ._common import arun_check, fault, report_data, resolve, run_check, text_of, with_text
from .streaming import Release, StreamVerifier, _apump, _pump

__all__ = ["guarded"]

F = TypeVar("F", bound=Callable[..., Any])
Source = str | Callable[..., Any] | None


def guarded(
    guardrail: Guardrail | None = None,
    *,
    policy: Any = None,
    context: Source = None,
    question: Source = None,
    cite: bool = False,
    release: Release = "token",
    on_report: Callable[[Report], None] | None = None,
    report_key: str = "guardrail",
) -> Callable[[F], F]:
    """Wrap a chat function so its answer is checked before the caller sees it.

    ``context``: the name of the argument holding the evidence, or a callable receiving the
    function's arguments and returning it.  ``question``: likewise (default: an argument named
    ``question`` if there is one).  ``policy`` overrides the Guardrail's.  ``cite``/``release``
    apply to generator functions.  A missing evidence argument is a fault: the answer goes out
    unchanged with the error in the report (``fail="open"``) or ``EvidenceError`` is raised.
    """

    def decorate(fn: F) -> F:
        g = resolve(guardrail, policy)
        signature = inspect.signature(fn)
        q_source = question
        if q_source is None and "question" in signature.parameters:
            q_source = "question"

        def inputs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, str | None, str | None]:
            bound = signature.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            error = None
            evidence: Any = None
            if callable(context):
                evidence = context(*args, **kwargs)
            elif isinstance(context, str):
                if context in bound.arguments and bound.arguments[context] is not None:
                    evidence = bound.arguments[context]
                else:
                    error = f"evidence argument {context!r} is missing"
            q = (
                q_source(*args, **kwargs)
                if callable(q_source)
                else (bound.arguments.get(q_source) if isinstance(q_source, str) else None)
            )
            return evidence, (q if isinstance(q, str) else None), error

        def finish(value: Any, report: Report) -> Any:
            if on_report:
                on_report(report)
            return with_text(value, report.output, report_data(report), report_key=report_key)

        def prepare(value: Any, error: str | None) -> tuple[str | None, Report | None]:
            text = text_of(value)
            if text is None:
                return None, fault(g, "", InputError(f"no answer text in a {type(value).__name__}"))
            if not text.strip():
                return None, None  # nothing to check (empty or tool-call-only reply)
            if error:
                return text, fault(g, text, EvidenceError(error))
            return text, None

        def _side(value: Any, report: Report) -> Any:
            if on_report:
                on_report(report)
            return value

        def blocked(exc: BlockedResponse) -> BlockedResponse:
            if on_report:
                on_report(exc.report)
            return exc

        if inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
                evidence, q, error = inputs(args, kwargs)
                unchecked = None
                if error:
                    # Raises under fail="closed"; else the stream goes out unchecked, the report says why.
                    unchecked = fault(g, "", EvidenceError(error)).errors[0]
                make = _maker(g, evidence, q, cite, release, unchecked)
                shape = _Shape()
                async for item in _apump(
                    fn(*args, **kwargs),
                    make,
                    get_text=shape.text,
                    rewrap=_rewrap,
                    tail=shape.tail,
                    on_report=on_report,
                ):
                    yield item

            return cast(F, agen_wrapper)

        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                evidence, q, error = inputs(args, kwargs)
                unchecked = None
                if error:
                    unchecked = fault(g, "", EvidenceError(error)).errors[0]
                make = _maker(g, evidence, q, cite, release, unchecked)
                shape = _Shape()
                yield from _pump(
                    fn(*args, **kwargs),
                    make,
                    get_text=shape.text,
                    rewrap=_rewrap,
                    tail=shape.tail,
                    on_report=on_report,
                )

            return cast(F, gen_wrapper)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                evidence, q, error = inputs(args, kwargs)
                value = await fn(*args, **kwargs)  # the function's own errors propagate untouched
                text, early = prepare(value, error)
                if text is None and early is None:
                    return value
                if early is not None:
                    return finish(value, early) if text is not None else _side(value, early)
                try:
                    report = await arun_check(g, text, evidence, q)
                except BlockedResponse as exc:
                    raise blocked(exc) from None
                return finish(value, report)

            return cast(F, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            evidence, q, error = inputs(args, kwargs)
            value = fn(*args, **kwargs)
            text, early = prepare(value, error)
            if text is None and early is None:
                return value
            if early is not None:
                return finish(value, early) if text is not None else _side(value, early)
            try:
                report = run_check(g, text, evidence, q)
            except BlockedResponse as exc:
                raise blocked(exc) from None
            return finish(value, report)

        return cast(F, wrapper)

    return decorate


def _maker(
    g: Guardrail, evidence: Any, q: str | None, cite: bool, release: Release, unchecked: str | None
) -> Callable[[], StreamVerifier]:
    return lambda: StreamVerifier(
        g, context=evidence, question=q, cite=cite, release=release, unchecked=unchecked
    )


def _rewrap(chunk: Any, text: str) -> Any:
    if isinstance(chunk, str):
        return text or None
    return with_text(chunk, text)


class _Shape:
    """Remembers the last chunk so the closing text (citations, Sources) comes in the same shape."""

    def __init__(self) -> None:
        self.last: Any = None

    def text(self, chunk: Any) -> str | None:
        found = text_of(chunk)
        if found is not None:
            self.last = chunk
        return found

    def tail(self, text: str, report: Report) -> Any:
        if not text:
            return None
        last = self.last
        if last is None or isinstance(last, str):
            return text
        if isinstance(last, dict) and "choices" in last:
            return {"choices": [{"index": 0, "delta": {"content": text}}]}
        if hasattr(last, "model_copy") and hasattr(last, "content"):
            return type(last)(content=text)
        return text
