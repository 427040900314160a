"""Evidence that LangChain produces: retrieved documents, tool results, and a retriever adapter."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage, ToolMessage

from guardrail import InputError, Passage, as_passages

from .._common import text_of


def as_evidence_list(value: Any) -> list[Any]:
    """Whatever sits under an evidence key, as a list of items ``as_passages`` understands."""
    if value is None:
        return []
    if isinstance(value, (bytes, bytearray)):  # one text, as Guardrail.check reads it, not a list of ints
        try:
            return [bytes(value).decode("utf-8")]
        except UnicodeDecodeError:
            raise InputError("the context is bytes that are not UTF-8 text") from None
    if isinstance(value, (str, Document, Mapping, Passage)):
        return [value]
    if isinstance(value, Iterable):
        return [v for v in value if v is not None]
    # A number, a stray object: as_passages names what it accepts, instead of checking against
    # str(value) as if it were a document.
    return [value]


def tool_evidence(messages: Sequence[BaseMessage]) -> list[Any]:
    """Tool results in a conversation as evidence; a retriever tool's documents when it returns them."""
    out: list[Any] = []
    for i, m in enumerate(messages):
        if not isinstance(m, ToolMessage) or getattr(m, "status", "success") == "error":
            continue
        artifact = getattr(m, "artifact", None)
        if isinstance(artifact, Sequence) and artifact and all(isinstance(d, Document) for d in artifact):
            out.extend(artifact)  # content_and_artifact tools keep source metadata here
            continue
        text = text_of(m)
        if text and text.strip():
            name = m.name or "tool"
            out.append({"text": text, "id": f"tool:{name}:{m.tool_call_id or i}", "title": f"{name} result"})
    return out


class DocumentCollector(BaseCallbackHandler):
    """Collects what retrievers return in the runs it is attached to (thread-safe)."""

    run_inline = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._docs: list[Document] = []

    @property
    def documents(self) -> list[Document]:
        with self._lock:
            return list(self._docs)

    def on_retriever_end(
        self, documents: Sequence[Document], *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        with self._lock:
            self._docs.extend(documents)


class LangChainRetriever:
    """A LangChain retriever as a guardrail ``Retriever``: ``Guardrail(retrievers=[LangChainRetriever(r)])``
    looks up evidence per claim in your vector store."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever

    def retrieve(self, query: str, k: int) -> list[Passage]:
        return as_passages(list(self.retriever.invoke(query))[:k])

    async def aretrieve(self, query: str, k: int) -> list[Passage]:
        return as_passages(list(await self.retriever.ainvoke(query))[:k])
