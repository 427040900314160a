"""``GuardrailRunnable``: a guard that composes in LCEL: ``prompt | model | guard``, ``guard.wrap(chain)``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import adispatch_custom_event, dispatch_custom_event
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import ensure_config, patch_config
from pydantic import BaseModel

from guardrail import BlockedResponse, ConfigError, EvidenceError, Guardrail, InputError, Report

from .._common import arun_check, fault, policy_name, report_data, resolve, run_check, text_of, with_text
from .._pump import aclose_source, apump, pump
from ..streaming import REDACT_NEEDS_SENTENCES, Release, StreamVerifier
from ._evidence import DocumentCollector, as_evidence_list

EVENT = "guardrail_report"


class GuardrailRunnable(Runnable[Any, Any]):
    """Checks a chain's answer and returns it in the type it came in, with the report attached.

    Input: a ``str``, a message (``AIMessage``) or a dict holding the answer under
    ``answer_key``; evidence comes from ``context_key`` of that dict, from the documents the
    retrievers of a chain wrapped with :meth:`wrap` returned, and from the Guardrail's own
    retrievers.  Output: the same type with ``report.output`` as text; a message carries the
    report in ``response_metadata[report_key]``, a dict under ``report_key``.  Under ``block``
    a flagged answer raises ``BlockedResponse`` (use ``with_fallbacks``).  Each check also
    emits a ``guardrail_report`` custom event.
    """

    def __init__(
        self,
        guardrail: Guardrail | None = None,
        *,
        policy: Any = None,
        answer_key: str = "answer",
        context_key: str | None = "context",
        question_key: str | None = "question",
        report_key: str = "guardrail",
        cite: bool = False,
        release: Release | None = None,
        name: str | None = None,
    ) -> None:
        self.guardrail = resolve(guardrail, policy)
        redact = policy_name(self.guardrail) == "redact"
        if redact and release == "token":  # a token stream sends text before it is checked
            raise ConfigError(REDACT_NEEDS_SENTENCES)
        self.answer_key, self.context_key, self.question_key = answer_key, context_key, question_key
        self.report_key, self.cite = report_key, cite
        self.release: Release = release or ("sentence" if redact else "token")
        self.name = name or "Guardrail"

    def wrap(self, chain: Runnable[Any, Any]) -> GuardedRunnable:
        """``chain`` followed by this guard, with the chain's retrieved documents as evidence."""
        return GuardedRunnable(chain, self)

    # -- invoke / batch -----------------------------------------------------------------------

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self._call_with_config(self._invoke, input, config, **kwargs)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return await self._acall_with_config(self._ainvoke, input, config, **kwargs)

    def _invoke(self, input: Any, run_manager: Any, config: RunnableConfig) -> Any:
        return self.guard(input, config=patch_config(config, callbacks=run_manager.get_child()))

    async def _ainvoke(self, input: Any, run_manager: Any, config: RunnableConfig) -> Any:
        return await self.aguard(input, config=patch_config(config, callbacks=run_manager.get_child()))

    def guard(
        self,
        value: Any,
        *,
        evidence: Sequence[Any] = (),
        question: str | None = None,
        config: RunnableConfig | None = None,
    ) -> Any:
        """Check ``value`` (no run of its own); ``evidence``/``question`` add to what the value holds."""
        text, context, q, early = self._prepare(value, evidence, question)
        if text is None:
            return value
        report = early if early is not None else self._check(run_check, text, context, q, config)
        _emit(report, config)
        return self._attach(value, report)

    async def aguard(
        self,
        value: Any,
        *,
        evidence: Sequence[Any] = (),
        question: str | None = None,
        config: RunnableConfig | None = None,
    ) -> Any:
        text, context, q, early = self._prepare(value, evidence, question)
        if text is None:
            return value
        if early is None:
            try:
                report = await arun_check(self.guardrail, text, context, q)
            except BlockedResponse as exc:
                await _aemit(exc.report, config)
                raise
        else:
            report = early
        await _aemit(report, config)
        return self._attach(value, report)

    def _check(
        self, fn: Callable[..., Report], text: str, context: Any, q: str | None, config: RunnableConfig | None
    ) -> Report:
        try:
            return fn(self.guardrail, text, context, q)
        except BlockedResponse as exc:
            _emit(exc.report, config)
            raise

    def batch(
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        # One batched verifier pass for all answers (Guardrail.check_many), one traced run each.
        return self._batch_with_config(
            self._batch, inputs, config, return_exceptions=return_exceptions, **kwargs
        )

    async def abatch(
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        import asyncio

        return await asyncio.to_thread(
            self.batch, inputs, config, return_exceptions=return_exceptions, **kwargs
        )

    def _batch(self, inputs: list[Any], run_manager: list[Any], config: list[RunnableConfig]) -> list[Any]:
        """One result per input: its output, or the exception that input alone raised (a fault
        under ``fail="closed"``, ``BlockedResponse``).  ``_batch_with_config`` then returns them
        (``return_exceptions=True``) or raises the first, so one bad input never costs the
        others their answers.  Each checked input emits its report event in its own run."""
        out: list[Any] = list(inputs)
        reports: dict[int, Report] = {}
        todo: dict[int, tuple[str, list[Any], str | None]] = {}
        for i, value in enumerate(inputs):
            try:
                text, context, q, early = self._prepare(value, (), None)
            except Exception as exc:
                out[i] = exc
                continue
            if text is None:
                continue  # nothing to check: the value as it came
            if early is not None:
                reports[i] = early
            else:
                todo[i] = (text, context, q)
        for i, result in zip(todo, self._check_batch(list(todo.values())), strict=True):
            if isinstance(result, BlockedResponse):
                reports[i] = result.report
            if isinstance(result, Exception):
                out[i] = result
            else:
                reports[i] = result
        for i, report in reports.items():
            if not isinstance(out[i], Exception):
                out[i] = self._batch_result(inputs[i], report)
            _emit(report, patch_config(config[i], callbacks=run_manager[i].get_child()))
        return out

    def _check_batch(self, items: list[tuple[str, list[Any], str | None]]) -> list[Report | Exception]:
        if not items:
            return []
        try:
            return list(
                self.guardrail.check_many([{"answer": t, "context": c, "question": q} for t, c, q in items])
            )
        except Exception:
            # check_many fails as a whole (one answer over max_answer_chars, a verifier failing
            # under fail="closed"): check one by one, so each answer gets its own outcome.
            return [self._check_one(*item) for item in items]

    def _check_one(self, text: str, context: list[Any], q: str | None) -> Report | Exception:
        try:
            return run_check(self.guardrail, text, context, q)
        except Exception as exc:  # BlockedResponse, or this answer's own fault under fail="closed"
            return exc

    def _batch_result(self, value: Any, report: Report) -> Any:
        if report.policy == "block" and report.flagged and not report.output and not report.errors:
            return BlockedResponse(report)
        return self._attach(value, report)

    # -- streaming ------------------------------------------------------------------------------

    def transform(
        self, input: Iterator[Any], config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        yield from self._transform_stream_with_config(input, self._transform, config, **kwargs)

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        yield from self.transform(iter([input]), config, **kwargs)

    async def atransform(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        async for chunk in self._atransform_stream_with_config(input, self._atransform, config, **kwargs):
            yield chunk

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        async def one() -> AsyncIterator[Any]:
            yield input

        async for chunk in self.atransform(one(), config, **kwargs):
            yield chunk

    def _transform(self, chunks: Iterator[Any], run_manager: Any, config: RunnableConfig) -> Iterator[Any]:
        child = patch_config(config, callbacks=run_manager.get_child())
        yield from self.guard_stream(chunks, config=child)

    async def _atransform(
        self, chunks: AsyncIterator[Any], run_manager: Any, config: RunnableConfig
    ) -> AsyncIterator[Any]:
        child = patch_config(config, callbacks=run_manager.get_child())
        async for chunk in self.aguard_stream(chunks, config=child):
            yield chunk

    def guard_stream(
        self,
        chunks: Iterator[Any],
        *,
        evidence: Sequence[Any] | Callable[[], Sequence[Any]] = (),
        question: str | None = None,
        config: RunnableConfig | None = None,
    ) -> Iterator[Any]:
        """Check a stream of str / message chunks / dict chunks as it flows (no run of its own).

        ``evidence``: documents, or a callable returning them when the answer starts (documents
        a retriever returns while the chain runs)."""
        s = _StreamState(self, evidence, question)
        yield from pump(
            s.evidence_first(chunks),
            s.make,
            get_text=s.text,
            rewrap=s.rewrap,
            tail=s.tail,
            on_report=lambda r: _emit(r, config),
        )

    async def aguard_stream(
        self,
        chunks: AsyncIterator[Any],
        *,
        evidence: Sequence[Any] | Callable[[], Sequence[Any]] = (),
        question: str | None = None,
        config: RunnableConfig | None = None,
    ) -> AsyncIterator[Any]:
        s = _StreamState(self, evidence, question)
        reports: list[Report] = []
        checked = apump(
            s.aevidence_first(chunks),
            s.make,
            get_text=s.text,
            rewrap=s.rewrap,
            tail=s.tail,
            on_report=reports.append,
        )
        try:
            async for chunk in checked:
                yield chunk
        finally:
            # `async for` never closes what it iterates: a consumer that left early must stop
            # the pending checks now, close the model's stream and still get the partial report.
            await checked.aclose()
            await aclose_source(chunks)
            if reports:
                await _aemit(reports[-1], config)

    # -- shared -----------------------------------------------------------------------------------

    def _prepare(
        self, value: Any, evidence: Sequence[Any], question: str | None
    ) -> tuple[str | None, list[Any], str | None, Report | None]:
        """(answer text, evidence, question, a report when a fault ends the check early)."""
        context = list(evidence)

        def no_answer(message: str) -> tuple[str, list[Any], str | None, Report]:
            return "", context, question, fault(self.guardrail, "", InputError(message))

        if isinstance(value, dict):
            if self.answer_key not in value:
                keys = ", ".join(map(str, value))
                return no_answer(f"the chain output has no {self.answer_key!r} key (keys: {keys})")
            text = text_of(value[self.answer_key])
            if text is None:  # a type with no text we know of: a fault, never a silent pass
                return no_answer(f"cannot find an answer in the {self.answer_key!r} value, a "
                                 f"{type(value[self.answer_key]).__name__}: pass a str or a message")
            if self.question_key and question is None and isinstance(value.get(self.question_key), str):
                question = value[self.question_key]
            if self.context_key:
                if self.context_key in value:
                    context = as_evidence_list(value[self.context_key]) + context
                elif not evidence:
                    if text is None or not text.strip():
                        return None, context, question, None
                    return (
                        text,
                        context,
                        question,
                        fault(
                            self.guardrail,
                            text,
                            EvidenceError(
                                f"the chain output has no {self.context_key!r} key to take evidence from"
                            ),
                        ),
                    )
        else:
            text = text_of(value)
            if text is None:
                return (
                    "",
                    context,
                    question,
                    fault(
                        self.guardrail,
                        "",
                        InputError(
                            f"cannot find an answer in a {type(value).__name__}: "
                            "pass a str, a message or a dict"
                        ),
                    ),
                )
        if text is None or not text.strip():
            return None, context, question, None  # empty or tool-call-only: nothing to check
        return text, context, question, None

    def _attach(self, value: Any, report: Report) -> Any:
        data = report_data(report)
        if isinstance(value, dict):
            out = dict(value)
            # An answer the guard could not read (fault) stays as it was, not replaced by "".
            if self.answer_key in value and text_of(value[self.answer_key]) is not None:
                out[self.answer_key] = with_text(
                    value[self.answer_key], report.output, data, report_key=self.report_key
                )
            out[self.report_key] = data
            return out
        if isinstance(value, BaseMessage):
            return with_text(value, report.output, data, report_key=self.report_key)
        return report.output if isinstance(value, str) else value


_MAX_HELD = 256  # answer chunks a dict stream may hold while its context is on the way


class _StreamState:
    """Per-stream bookkeeping: evidence seen in dict chunks, and the shape of the last chunk."""

    def __init__(
        self,
        guard: GuardrailRunnable,
        evidence: Sequence[Any] | Callable[[], Sequence[Any]],
        question: str | None,
    ):
        self.guard, self._evidence, self.question = guard, evidence, question
        self.context: list[Any] = []
        self.saw_context = False
        self.dicts = False
        self.last: Any = None
        self.held: list[Any] = []  # dict chunks of the answer waiting for the context key

    def evidence(self) -> list[Any]:
        return list(self._evidence() if callable(self._evidence) else self._evidence)

    def _order(self, chunk: Any) -> list[Any]:
        """The chunks to pass on now.  RunnableParallel streams its branches as they come, so the
        answer can arrive before the retriever's documents: the answer's chunks wait for them
        (the check needs them from the first sentence), and go on right after the context."""
        g = self.guard
        if not isinstance(chunk, dict) or not g.context_key:
            return [*self._release(), chunk] if self.held else [chunk]
        if g.context_key in chunk:
            self.saw_context = True
            if not self.held or g.answer_key not in chunk:
                return [chunk, *self._release()]
            # the context first, then the answer held so far, then this chunk's own answer text
            rest = {k: v for k, v in chunk.items() if k != g.answer_key}
            return [rest, *self._release(), {g.answer_key: chunk[g.answer_key]}]
        # Waiting is bounded: a stream whose context never comes (evidence from the Guardrail's
        # own retrievers, a misnamed key) goes on after _MAX_HELD chunks, unchecked or not.
        waiting = self.held or (not self.saw_context and g.answer_key in chunk and not self.evidence())
        if waiting and len(self.held) < _MAX_HELD and not g.guardrail.retrievers:
            self.held.append(chunk)
            return []
        return [*self._release(), chunk]

    def _release(self) -> list[Any]:
        out, self.held = self.held, []
        return out

    def evidence_first(self, chunks: Iterable[Any]) -> Iterator[Any]:
        for chunk in chunks:
            yield from self._order(chunk)
        yield from self._release()  # the context never came: make() reports that

    async def aevidence_first(self, chunks: AsyncIterable[Any]) -> AsyncIterator[Any]:
        async for chunk in chunks:
            for out in self._order(chunk):
                yield out
        for out in self._release():
            yield out

    def text(self, chunk: Any) -> str | None:
        g = self.guard
        if isinstance(chunk, dict):
            self.dicts = True
            if g.context_key and g.context_key in chunk:  # _order has seen it already
                self.context += as_evidence_list(chunk[g.context_key])
            if g.question_key and isinstance(chunk.get(g.question_key), str) and self.question is None:
                self.question = chunk[g.question_key]
            if g.answer_key not in chunk:
                return None
            found = text_of(chunk[g.answer_key])
        else:
            found = text_of(chunk)
        if found is not None:
            self.last = chunk[g.answer_key] if isinstance(chunk, dict) else chunk
        return found

    def make(self) -> StreamVerifier:
        g = self.guard
        extra = list(self.evidence())
        unchecked = None
        if self.dicts and g.context_key and not self.saw_context and not extra and not g.guardrail.retrievers:
            # The answer waited for the evidence until the stream ended (see _order): a fault.
            unchecked = fault(
                g.guardrail, "", EvidenceError(f"the stream has no {g.context_key!r} key to take evidence from")
            ).errors[0]
        return StreamVerifier(
            g.guardrail,
            context=self.context + extra,
            question=self.question,
            cite=g.cite,
            release=g.release,
            unchecked=unchecked,
        )

    def rewrap(self, chunk: Any, text: str) -> Any:
        if isinstance(chunk, dict):
            return {**chunk, self.guard.answer_key: with_text(chunk[self.guard.answer_key], text)}
        if isinstance(chunk, str):
            return text or None
        return with_text(chunk, text)

    def tail(self, text: str, report: Report) -> Any:
        data = report_data(report)
        last, key = self.last, self.guard.report_key
        if isinstance(last, BaseMessage):
            piece: Any = AIMessageChunk(content=text, response_metadata={key: data}, id=last.id)
        else:
            piece = text
        if self.dicts:
            return {self.guard.answer_key: piece, key: data}
        if isinstance(piece, str):
            return piece or None
        return piece


class GuardedRunnable(Runnable[Any, Any]):
    """A chain followed by a guard; the chain's retrieved documents are evidence (see ``wrap``)."""

    def __init__(self, bound: Runnable[Any, Any], guard: GuardrailRunnable) -> None:
        self.bound, self.guard = bound, guard
        self.name = f"Guarded[{bound.get_name()}]"

    @property
    def InputType(self) -> Any:
        return self.bound.InputType

    def get_input_schema(self, config: RunnableConfig | None = None) -> type[BaseModel]:
        # The chain's own input (a LangServe form, a tool's arguments), not an untyped Any.
        return self.bound.get_input_schema(config)

    def _inputs(self, input: Any) -> tuple[list[Any], str | None]:
        g = self.guard
        if isinstance(input, str):
            return [], input
        if isinstance(input, dict):
            evidence = as_evidence_list(input.get(g.context_key)) if g.context_key else []
            q = input.get(g.question_key) if g.question_key else None
            return evidence, q if isinstance(q, str) else None
        return [], None

    def _child(self, run_manager: Any, config: RunnableConfig) -> tuple[RunnableConfig, DocumentCollector]:
        collector = DocumentCollector()
        manager = run_manager.get_child()
        manager.add_handler(collector, inherit=True)
        return patch_config(config, callbacks=manager), collector

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self._call_with_config(self._invoke, input, ensure_config(config), **kwargs)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return await self._acall_with_config(self._ainvoke, input, ensure_config(config), **kwargs)

    def _invoke(self, input: Any, run_manager: Any, config: RunnableConfig) -> Any:
        child, collector = self._child(run_manager, config)
        output = self.bound.invoke(input, child)  # the model's own errors propagate untouched
        evidence, q = self._inputs(input)
        return self.guard.guard(output, evidence=evidence + collector.documents, question=q, config=child)

    async def _ainvoke(self, input: Any, run_manager: Any, config: RunnableConfig) -> Any:
        child, collector = self._child(run_manager, config)
        output = await self.bound.ainvoke(input, child)
        evidence, q = self._inputs(input)
        return await self.guard.aguard(
            output, evidence=evidence + collector.documents, question=q, config=child
        )

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        yield from self._transform_stream_with_config(iter([input]), self._transform, config, **kwargs)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        async def one() -> AsyncIterator[Any]:
            yield input

        async for chunk in self._atransform_stream_with_config(one(), self._atransform, config, **kwargs):
            yield chunk

    def _transform(self, inputs: Iterator[Any], run_manager: Any, config: RunnableConfig) -> Iterator[Any]:
        (input,) = list(inputs)
        child, collector = self._child(run_manager, config)
        evidence, q = self._inputs(input)
        chunks = self.bound.stream(input, child)
        yield from self.guard.guard_stream(
            chunks, evidence=lambda: evidence + collector.documents, question=q, config=child
        )

    async def _atransform(
        self, inputs: AsyncIterator[Any], run_manager: Any, config: RunnableConfig
    ) -> AsyncIterator[Any]:
        items = [i async for i in inputs]
        input = items[0]
        child, collector = self._child(run_manager, config)
        evidence, q = self._inputs(input)
        async for chunk in self.guard.aguard_stream(
            self.bound.astream(input, child),
            evidence=lambda: evidence + collector.documents,
            question=q,
            config=child,
        ):
            yield chunk


def get_report(value: Any, report_key: str = "guardrail") -> dict[str, Any] | None:
    """The report data a guard attached to its output (a message, a dict or a streamed chunk)."""
    if isinstance(value, dict):
        found = value.get(report_key)
        return found if isinstance(found, dict) else None
    meta = getattr(value, "response_metadata", None) or {}
    found = meta.get(report_key)
    return found if isinstance(found, dict) else None


def _emit(report: Report, config: RunnableConfig | None) -> None:
    if config is None:
        return
    # No parent run (a bare call) means no event; the report is still on the output.
    with contextlib.suppress(RuntimeError):
        dispatch_custom_event(EVENT, report_data(report), config=config)


async def _aemit(report: Report, config: RunnableConfig | None) -> None:
    if config is None:
        return
    with contextlib.suppress(RuntimeError):
        await adispatch_custom_event(EVENT, report_data(report), config=config)
