"""Callback handlers that monitor chains you cannot rewrite.

Each model output (``on_llm_end``, chat models included) is checked against the documents
that retrievers returned in the same run tree (``on_retriever_end``), with the last user
message or prompt as the question.  Results go out as a ``guardrail_report`` custom event
and to ``sink``; the response itself is never touched.  Under the ``block`` policy a flagged
answer raises ``BlockedResponse``; it stops the chain only with ``raise_error=True`` (LangChain
logs and swallows errors of other handlers).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from langchain_core.callbacks import (
    AsyncCallbackHandler,
    BaseCallbackHandler,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult

from guardrail import BlockedResponse, Guardrail, Report

from .._common import arun_check, report_data, resolve, run_check, text_of
from .runnable import EVENT

__all__ = ["AsyncGuardrailCallbackHandler", "GuardrailCallbackHandler", "Sink"]

log = logging.getLogger("guardrail.integrations.langchain")

Sink = Callable[[dict[str, Any]], None] | logging.Logger | str | Path | None


class _RunTree:
    """Parents, retrieved documents and questions per root run, shared by both handlers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.parent: dict[UUID, UUID | None] = {}
        self.docs: dict[UUID, list[Document]] = {}
        self.question: dict[UUID, str] = {}

    def start(self, run_id: UUID, parent_run_id: UUID | None) -> None:
        with self.lock:
            self.parent[run_id] = parent_run_id

    def root(self, run_id: UUID) -> UUID:
        with self.lock:
            seen = set()
            while (p := self.parent.get(run_id)) is not None and run_id not in seen:
                seen.add(run_id)
                run_id = p
            return run_id

    def add_docs(self, run_id: UUID, documents: Sequence[Document]) -> None:
        root = self.root(run_id)
        with self.lock:
            self.docs.setdefault(root, []).extend(documents)

    def ended(self, run_id: UUID, parent_run_id: UUID | None) -> None:
        """A model, retriever or tool run is over: drop what only it needed.  A failed model
        never reaches on_llm_end, and a run with no parent has no chain to end after it."""
        with self.lock:
            self.question.pop(run_id, None)
        if parent_run_id is None:
            self.forget(run_id)

    def forget(self, root: UUID) -> None:
        with self.lock:
            self.docs.pop(root, None)
            self.question.pop(root, None)
            for run, _ in [(r, p) for r, p in self.parent.items() if r == root or self._under(r, root)]:
                self.parent.pop(run, None)

    def _under(self, run_id: UUID, root: UUID) -> bool:
        seen = set()
        while (p := self.parent.get(run_id)) is not None and run_id not in seen:
            if p == root:
                return True
            seen.add(run_id)
            run_id = p
        return False


def _sink_fn(sink: Sink) -> Callable[[dict[str, Any]], None] | None:
    if sink is None or (callable(sink) and not isinstance(sink, logging.Logger)):
        return sink  # type: ignore[return-value]
    if isinstance(sink, logging.Logger):
        return lambda event: sink.info("guardrail report %s", json.dumps(event, ensure_ascii=False))
    path = Path(sink)
    lock = threading.Lock()

    def write(event: dict[str, Any]) -> None:
        with lock, path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(event, ensure_ascii=False) + "\n")

    return write


class _Common:
    def _setup(self, guardrail: Guardrail | None, policy: Any, sink: Sink, raise_error: bool) -> None:
        self.guardrail = resolve(guardrail, policy)
        self.raise_error = raise_error
        self._sink = _sink_fn(sink)
        self._tree = _RunTree()

    def _question_from_messages(self, messages: list[list[BaseMessage]]) -> str | None:
        for m in reversed(messages[0] if messages else []):
            if getattr(m, "type", None) == "human":
                return text_of(m)
        return None

    def _answer(self, response: LLMResult) -> str | None:
        try:
            gen = response.generations[0][0]
        except IndexError:
            return None
        message = getattr(gen, "message", None)
        text = text_of(message) if message is not None else gen.text
        return text if text and text.strip() else None  # empty / tool-call-only: nothing to check

    def _event(self, report: Report, run_id: UUID, root: UUID) -> dict[str, Any]:
        return {"run_id": str(run_id), "root_run_id": str(root), "report": report_data(report)}

    def _deliver(self, event: dict[str, Any]) -> None:
        if self._sink is None:
            return
        try:
            self._sink(event)
        except Exception:  # a broken sink must not break the chain it watches
            log.exception("guardrail sink failed")


class GuardrailCallbackHandler(_Common, BaseCallbackHandler):
    """Sync monitoring handler: ``chain.invoke(x, config={"callbacks": [GuardrailCallbackHandler(g)]})``.

    ``sink``: a callable receiving each event dict, a ``logging.Logger``, or a path to append
    JSON lines to.  ``raise_error=True`` lets ``BlockedResponse`` (``block`` policy) and
    fail-closed errors stop the run.
    """

    def __init__(
        self,
        guardrail: Guardrail | None = None,
        *,
        policy: Any = None,
        sink: Sink = None,
        raise_error: bool = False,
    ) -> None:
        self._setup(guardrail, policy, sink, raise_error)

    def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.start(run_id, parent_run_id)

    def on_retriever_start(
        self, serialized: Any, query: str, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.start(run_id, parent_run_id)
        root = self._tree.root(run_id)
        with self._tree.lock:
            self._tree.question.setdefault(root, query)

    def on_retriever_end(
        self, documents: Sequence[Document], *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.add_docs(run_id, documents)
        if parent_run_id is None:  # a bare retriever call: no model in its tree will read them
            self._tree.forget(run_id)

    def on_tool_start(
        self, serialized: Any, input_str: str, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        # Tracked so that a retriever called inside a tool (an agent's retriever tool) finds its root.
        self._tree.start(run_id, parent_run_id)

    def on_tool_end(self, output: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._tree.ended(run_id, parent_run_id)

    def on_tool_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.ended(run_id, parent_run_id)

    def on_retriever_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.ended(run_id, parent_run_id)

    def on_llm_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.ended(run_id, parent_run_id)

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._tree.start(run_id, parent_run_id)
        q = self._question_from_messages(messages)
        if q:
            with self._tree.lock:
                self._tree.question[run_id] = q

    def on_llm_start(
        self,
        serialized: Any,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._tree.start(run_id, parent_run_id)
        if prompts:
            with self._tree.lock:
                self._tree.question[run_id] = prompts[0]

    def on_llm_end(
        self, response: LLMResult, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        answer = self._answer(response)
        root = self._tree.root(run_id)
        with self._tree.lock:
            docs = list(self._tree.docs.get(root, []))
            question = self._tree.question.pop(run_id, None) or self._tree.question.get(root)
        if root == run_id:
            self._tree.forget(root)
        if answer is None:
            return
        try:
            report = run_check(self.guardrail, answer, docs, question)
        except BlockedResponse as exc:
            self._publish(exc.report, run_id, root)
            raise
        self._publish(report, run_id, root)

    def _publish(self, report: Report, run_id: UUID, root: UUID) -> None:
        event = self._event(report, run_id, root)
        self._deliver(event)
        # No enclosing run (a bare model call) means no event; the sink still has the report.
        with contextlib.suppress(Exception):
            dispatch_custom_event(EVENT, event)

    def on_chain_end(
        self, outputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        if parent_run_id is None:
            self._tree.forget(run_id)

    def on_chain_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        if parent_run_id is None:
            self._tree.forget(run_id)


class AsyncGuardrailCallbackHandler(_Common, AsyncCallbackHandler):
    """Async twin of :class:`GuardrailCallbackHandler` (checks run with ``Guardrail.acheck``)."""

    def __init__(
        self,
        guardrail: Guardrail | None = None,
        *,
        policy: Any = None,
        sink: Sink = None,
        raise_error: bool = False,
    ) -> None:
        self._setup(guardrail, policy, sink, raise_error)

    async def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.start(run_id, parent_run_id)

    async def on_retriever_start(
        self, serialized: Any, query: str, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.start(run_id, parent_run_id)
        root = self._tree.root(run_id)
        with self._tree.lock:
            self._tree.question.setdefault(root, query)

    async def on_retriever_end(
        self, documents: Sequence[Document], *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.add_docs(run_id, documents)
        if parent_run_id is None:  # a bare retriever call: no model in its tree will read them
            self._tree.forget(run_id)

    async def on_tool_start(
        self, serialized: Any, input_str: str, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        # Tracked so that a retriever called inside a tool (an agent's retriever tool) finds its root.
        self._tree.start(run_id, parent_run_id)

    async def on_tool_end(self, output: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        self._tree.ended(run_id, parent_run_id)

    async def on_tool_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.ended(run_id, parent_run_id)

    async def on_retriever_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.ended(run_id, parent_run_id)

    async def on_llm_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        self._tree.ended(run_id, parent_run_id)

    async def on_chat_model_start(
        self,
        serialized: Any,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._tree.start(run_id, parent_run_id)
        q = self._question_from_messages(messages)
        if q:
            with self._tree.lock:
                self._tree.question[run_id] = q

    async def on_llm_start(
        self,
        serialized: Any,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self._tree.start(run_id, parent_run_id)
        if prompts:
            with self._tree.lock:
                self._tree.question[run_id] = prompts[0]

    async def on_llm_end(
        self, response: LLMResult, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        answer = self._answer(response)
        root = self._tree.root(run_id)
        with self._tree.lock:
            docs = list(self._tree.docs.get(root, []))
            question = self._tree.question.pop(run_id, None) or self._tree.question.get(root)
        if root == run_id:
            self._tree.forget(root)
        if answer is None:
            return
        try:
            report = await arun_check(self.guardrail, answer, docs, question)
        except BlockedResponse as exc:
            await self._publish(exc.report, run_id, root)
            raise
        await self._publish(report, run_id, root)

    async def _publish(self, report: Report, run_id: UUID, root: UUID) -> None:
        event = self._event(report, run_id, root)
        self._deliver(event)
        with contextlib.suppress(Exception):
            await adispatch_custom_event(EVENT, event)

    async def on_chain_end(
        self, outputs: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        if parent_run_id is None:
            self._tree.forget(run_id)

    async def on_chain_error(
        self, error: BaseException, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        if parent_run_id is None:
            self._tree.forget(run_id)
