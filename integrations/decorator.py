"""``@guarded``: check what a plain chat function returns, or streams.

>>> @guarded(guardrail, context="docs")
... def answer(question: str, docs: list[str]) -> str:
...     return llm(question, docs)

Works on sync and async functions and on (async) generators, which are verified while they
stream (see ``guardrail.integrations.streaming``); so is a stream a function returns (an
iterator or async iterator, such as OpenAI's ``Stream``), and a coroutine is checked once
awaited.  The answer is found in a ``str``, an
OpenAI-style completion (dict or SDK object) or a LangChain message; the same type comes
back with the policy's output in place of the text.  The report goes to ``on_report`` and,
where the return type has room for it, rides along (``response_metadata["guardrail"]`` on a
message, a ``"guardrail"`` key on a dict, a ``guardrail_report`` attribute on other objects).
An empty or tool-call-only answer (``content`` None) comes back unchanged, unchecked.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import Any, TypeVar, cast

from guardrail import (
    BlockedResponse,
    ConfigError,
    EvidenceError,
    Guardrail,
    GuardrailError,
    InputError,
    Report,
)

from ._common import (
    arun_check,
    fault,
    finish_reason,
    policy_name,
    report_data,
    resolve,
    run_check,
    text_of,
    with_text,
)
from ._pump import aclose_source, apump, pump
from .streaming import REDACT_NEEDS_SENTENCES, Release, StreamVerifier

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
    release: Release | None = None,
    on_report: Callable[[Report], None] | None = None,
    report_key: str = "guardrail",
) -> Callable[[F], F]:
    """Wrap a chat function so its answer is checked before the caller sees it.

    ``context``: the name of the argument holding the evidence, or a callable receiving the
    function's arguments and returning it.  ``question``: likewise (default: an argument named
    ``question`` if there is one).  ``policy`` overrides the Guardrail's.  ``cite``/``release``
    apply to streams: generator functions, and functions that return an iterator, an async
    iterator or a coroutine (checked once awaited); a streamed chunk with a finish reason (and
    anything after it) is held back until all text, citations and Sources have gone out.

    Mistakes that would silently turn checking off fail when decorating: an argument name the
    function does not have (``ConfigError``), a ``context``/``question`` that is neither a name
    nor a callable, ``@guarded`` without parentheses (``TypeError``), and ``policy="redact"``
    on a generator function with ``release="token"``, which sends text before it is checked.

    Faults: a missing evidence argument, or a ``context`` callable that raises, means the
    function still runs and its answer goes out unchanged with the error in the report
    (``fail="open"``), or ``EvidenceError`` is raised (``fail="closed"``); a ``question``
    callable that raises likewise, with ``InputError``.  An object with a ``.content`` comes
    back as a copy of the same type; one whose content cannot be set comes back unchanged,
    with the report as a ``<report_key>_report`` attribute if it takes one.
    """
    if guardrail is not None and not isinstance(guardrail, Guardrail):
        raise TypeError(
            f"guarded() takes a Guardrail, got {type(guardrail).__name__}: "
            "write @guarded(g, ...) or @guarded(), with parentheses"
        )
    for name, source in (("context", context), ("question", question)):
        if source is not None and not isinstance(source, str) and not callable(source):
            raise TypeError(
                f"{name}= is an argument name or a callable returning the {name}, got a "
                f"{type(source).__name__}; for fixed evidence write {name}=lambda *a, **kw: value"
            )
    if release not in (None, "token", "sentence"):
        raise ConfigError(f"release must be 'token' or 'sentence', got {release!r}")

    def decorate(fn: F) -> F:
        g = resolve(guardrail, policy)
        signature = inspect.signature(fn)
        q_source = question
        if q_source is None and "question" in signature.parameters:
            q_source = "question"
        for name, source in (("context", context), ("question", q_source)):
            if isinstance(source, str):
                _check_name(fn, signature, name, source)
        if _redacts_nothing(g, release) and (inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)):
            raise ConfigError(REDACT_NEEDS_SENTENCES)

        def inputs(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[Any, str | None, GuardrailError | None]:
            """(evidence, question, the fault that stops the check).  Never raises: a failing
            ``context``/``question`` callable is a fault like a missing argument, so the
            wrapped function still runs and the Faults table applies."""
            bound = signature.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            error: GuardrailError | None = None
            evidence: Any = None
            if callable(context):
                try:
                    evidence = context(*args, **kwargs)
                except Exception as exc:
                    error = _caused(EvidenceError(f"the context callable failed: {_describe(exc)}"), exc)
            elif isinstance(context, str):
                evidence = _argument(signature, bound, context)
                if evidence is None:
                    error = EvidenceError(f"evidence argument {context!r} is missing")
            q: Any = None
            if callable(q_source):
                try:
                    q = q_source(*args, **kwargs)
                except Exception as exc:
                    error = error or _caused(
                        InputError(f"the question callable failed: {_describe(exc)}"), exc
                    )
            elif isinstance(q_source, str):
                q = _argument(signature, bound, q_source)
            return evidence, (q if isinstance(q, str) else None), error

        def finish(value: Any, report: Report) -> Any:
            if on_report:
                on_report(report)
            return with_text(value, report.output, report_data(report), report_key=report_key)

        def prepare(value: Any, error: GuardrailError | None) -> tuple[str | None, Report | None]:
            text = text_of(value)
            if text is None:
                return None, fault(g, "", InputError(f"no answer text in a {type(value).__name__}"))
            if not text.strip():
                # Empty or tool-call-only (content None): returned unchanged, no check, no report,
                # whatever `fail` says (README, Faults), as GuardrailRunnable does.
                return None, None
            if error is not None:
                return text, fault(g, text, error)
            return text, None

        def _side(value: Any, report: Report) -> Any:
            if on_report:
                on_report(report)
            return value

        def blocked(exc: BlockedResponse) -> BlockedResponse:
            if on_report:
                on_report(exc.report)
            return exc

        def maker(evidence: Any, q: str | None, error: GuardrailError | None) -> Callable[[], StreamVerifier]:
            unchecked = None
            if error is not None:
                # Raises under fail="closed"; else the stream goes out unchecked, the report says why.
                unchecked = fault(g, "", error).errors[0]
            return _maker(g, evidence, q, cite, release, unchecked)

        def stream(source: Iterable[Any], make: Callable[[], StreamVerifier]) -> Iterator[Any]:
            shape = _Shape()
            try:
                yield from pump(
                    source,
                    make,
                    get_text=shape.text,
                    rewrap=_rewrap,
                    tail=shape.tail,
                    on_report=on_report,
                    is_end=_ends_stream,
                )
            finally:
                # The function's own cleanup (an HTTP response, a `finally`) runs now, not at GC.
                close = getattr(source, "close", None)
                if callable(close):
                    close()

        async def astream(source: AsyncIterable[Any], make: Callable[[], StreamVerifier]) -> AsyncIterator[Any]:
            shape = _Shape()
            checked = apump(
                source,
                make,
                get_text=shape.text,
                rewrap=_rewrap,
                tail=shape.tail,
                on_report=on_report,
                is_end=_ends_stream,
            )
            try:
                async for item in checked:
                    yield item
            finally:
                # `async for` never closes what it iterates: without this the pending checks
                # kept running and the function's cleanup waited for the garbage collector.
                await checked.aclose()
                await aclose_source(source)

        def streamed(value: Any, evidence: Any, q: str | None, error: GuardrailError | None) -> Any:
            """A stream the function returned (not yielded), checked as it flows; else None."""
            is_async = isinstance(value, AsyncIterator)
            if not (is_async or isinstance(value, Iterator)) or text_of(value) is not None:
                return None
            try:
                if _redacts_nothing(g, release):
                    raise ConfigError(REDACT_NEEDS_SENTENCES)
                make = maker(evidence, q, error)
            except GuardrailError:
                close = None if is_async else getattr(value, "close", None)  # async: settle() awaits it
                if callable(close):  # the stream will never be read: release it (an HTTP response) now
                    close()
                raise
            return astream(value, make) if is_async else stream(value, make)

        async def acheck(value: Any, evidence: Any, q: str | None, error: GuardrailError | None) -> Any:
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

        async def settle(value: Any, evidence: Any, q: str | None, error: GuardrailError | None) -> Any:
            """What an async function's value becomes: a checked stream, or the checked value."""
            try:
                s = streamed(value, evidence, q, error)
            except GuardrailError:
                if isinstance(value, AsyncIterator):  # never to be read: release it now
                    await aclose_source(value)
                raise
            return s if s is not None else await acheck(value, evidence, q, error)

        async def awaited(value: Awaitable[Any], evidence: Any, q: str | None, error: GuardrailError | None) -> Any:
            return await settle(await value, evidence, q, error)

        if inspect.isasyncgenfunction(fn):

            @functools.wraps(fn)
            async def agen_wrapper(*args: Any, **kwargs: Any) -> Any:
                make = maker(*inputs(args, kwargs))
                items = astream(fn(*args, **kwargs), make)
                try:
                    async for item in items:
                        yield item
                finally:
                    await items.aclose()  # see astream: our aclose() must reach the checks

            return cast(F, agen_wrapper)

        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                make = maker(*inputs(args, kwargs))
                yield from stream(fn(*args, **kwargs), make)

            return cast(F, gen_wrapper)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                evidence, q, error = inputs(args, kwargs)
                value = await fn(*args, **kwargs)  # the function's own errors propagate untouched
                return await settle(value, evidence, q, error)

            return cast(F, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            evidence, q, error = inputs(args, kwargs)
            value = fn(*args, **kwargs)
            # A callable object with an async __call__, or a sync wrapper around an async
            # function, returns a coroutine: check what it gives once awaited.
            if inspect.isawaitable(value):
                return awaited(value, evidence, q, error)
            s = streamed(value, evidence, q, error)
            if s is not None:
                return s
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


def _redacts_nothing(g: Guardrail, release: Release | None) -> bool:
    return release == "token" and policy_name(g) == "redact"


def _check_name(fn: Callable[..., Any], signature: inspect.Signature, option: str, name: str) -> None:
    """A misspelt argument name would disable checking on every call (fail-open): refuse it now."""
    params = signature.parameters
    if name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    raise ConfigError(
        f"{option}={name!r}: {getattr(fn, '__qualname__', fn)!s} has no argument {name!r} "
        f"(its arguments: {', '.join(params) or 'none'})"
    )


def _argument(signature: inspect.Signature, bound: inspect.BoundArguments, name: str) -> Any:
    """The value of argument ``name``, also when it came in through ``**kwargs``."""
    if name in signature.parameters:
        return bound.arguments.get(name)
    for p in signature.parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            return bound.arguments.get(p.name, {}).get(name)
    return None


def _maker(
    g: Guardrail, evidence: Any, q: str | None, cite: bool, release: Release | None, unchecked: str | None
) -> Callable[[], StreamVerifier]:
    return lambda: StreamVerifier(
        g, context=evidence, question=q, cite=cite, release=release, unchecked=unchecked
    )


def _caused(error: GuardrailError, cause: Exception) -> GuardrailError:
    # fault() raises the GuardrailError itself under fail="closed": keep the user's traceback.
    error.__cause__ = cause
    return error


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _ends_stream(chunk: Any) -> bool:
    return bool(finish_reason(chunk))


def _rewrap(chunk: Any, text: str) -> Any:
    if isinstance(chunk, str):
        return text or None
    return with_text(chunk, text)


_OPENAI_CHUNK_FIELDS = ("id", "object", "created", "model", "system_fingerprint")


class _Shape:
    """Remembers the last chunk with text so the closing text (held-back sentences, citations,
    Sources) comes in the same shape, as a content chunk without a finish reason."""

    def __init__(self) -> None:
        self.last: Any = None

    def text(self, chunk: Any) -> str | None:
        found = text_of(chunk)
        if found:
            self.last = chunk
        return found

    def tail(self, text: str, report: Report) -> Any:
        if not text:
            return None
        last = self.last
        if last is None or isinstance(last, str):
            return text
        if isinstance(last, dict) and "choices" in last:
            piece: dict[str, Any] = {k: last[k] for k in _OPENAI_CHUNK_FIELDS if k in last}
            choice = (last.get("choices") or [{}])[0]
            index = choice.get("index", 0) if isinstance(choice, dict) else 0
            # OpenAI's chunk schema always carries finish_reason; null: the stream is not over yet
            piece["choices"] = [{"index": index, "delta": {"content": text}, "finish_reason": None}]
            return piece
        if hasattr(last, "model_copy") and hasattr(last, "content") and hasattr(last, "response_metadata"):
            return type(last)(content=text, id=getattr(last, "id", None))
        out = with_text(last, text)
        if isinstance(out, str):
            return out
        # A copy of the last text chunk (an SDK object): it must not repeat an end marker.
        for holder in (_first_choice(out), out):
            if holder is not None and getattr(holder, "finish_reason", None) is not None:
                with contextlib.suppress(AttributeError, TypeError, ValueError):
                    holder.finish_reason = None
        return out


def _first_choice(value: Any) -> Any:
    choices = getattr(value, "choices", None)
    return choices[0] if isinstance(choices, list) and choices else None
