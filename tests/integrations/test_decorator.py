"""@guarded around plain chat functions: sync, async, generators, return shapes, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace

import pytest
from _integration_helpers import BAD, GOOD, tokens
from guardrail.integrations.decorator import guarded
from langchain_core.messages import AIMessage

from guardrail import BlockedResponse, EvidenceError, Guardrail, Settings


def test_sync_str_gets_citations_and_report(lexical, docs) -> None:
    reports = []

    @guarded(lexical, context="docs", on_report=reports.append)
    def chat(question: str, docs: list) -> str:
        return GOOD

    out = chat("Who was Marie Curie?", docs)
    assert out == lexical.check(GOOD, context=docs).annotated
    assert reports[0].ok and chat.__name__ == "chat"


def test_openai_style_dict_and_object(lexical, docs) -> None:
    @guarded(lexical, context="docs")
    def as_dict(docs: list) -> dict:
        return {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": GOOD}}]}

    out = as_dict(docs)
    assert out["choices"][0]["message"]["content"].startswith("Marie Curie was a physicist [1].")
    assert out["guardrail"]["ok"] is True and out["id"] == "x"

    @guarded(lexical, context="docs", policy="flag")
    def as_object(docs: list) -> SimpleNamespace:
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=BAD))])

    obj = as_object(docs)
    assert obj.choices[0].message.content == BAD  # flag: text unchanged
    assert obj.guardrail_report["flagged"] == [1]


def test_langchain_message_and_callable_context(lexical, docs) -> None:
    @guarded(lexical, context=lambda q, **kw: kw["sources"], question=lambda q, **kw: q)
    def chat(q: str, *, sources: list) -> AIMessage:
        return AIMessage(content=GOOD, id="m1")

    msg = chat("Tell me about Curie", sources=docs)
    assert isinstance(msg, AIMessage) and msg.id == "m1" and "[1]" in msg.content
    assert msg.response_metadata["guardrail"]["ok"] is True


async def test_async_function_blocks(lexical, docs) -> None:
    reports = []

    @guarded(lexical, context="docs", policy="block", on_report=reports.append)
    async def chat(docs: list) -> str:
        return BAD

    with pytest.raises(BlockedResponse) as info:
        await chat(docs)
    assert info.value.report.answer == BAD and reports[0] is info.value.report


def test_generator_streams_with_citations(lexical, docs) -> None:
    reports = []

    @guarded(lexical, context="docs", cite=True, on_report=reports.append)
    def chat(docs: list) -> Iterator[str]:
        yield from tokens(GOOD)

    assert "".join(chat(docs)) == lexical.check(GOOD, context=docs).annotated
    assert reports[0].ok


async def test_async_generator_of_openai_chunks(lexical, docs) -> None:
    @guarded(lexical, context="docs", policy="block", release="sentence")
    async def chat(docs: list) -> AsyncIterator[dict]:
        for t in tokens(BAD):
            yield {"choices": [{"index": 0, "delta": {"content": t}}]}
        yield {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}

    seen = []
    with pytest.raises(BlockedResponse):
        async for chunk in chat(docs):
            seen.append(chunk["choices"][0]["delta"].get("content", ""))
    assert "".join(seen) == "Marie Curie was a physicist. "


def test_function_errors_propagate_untouched(lexical) -> None:
    @guarded(lexical, context="docs")
    def chat(docs: list) -> str:
        raise TimeoutError("model timed out")

    with pytest.raises(TimeoutError):
        chat([])


def test_missing_evidence_argument_fails_open_or_closed(lexical) -> None:
    reports = []

    @guarded(lexical, context="docs", policy="block", on_report=reports.append)
    def chat(docs: list | None = None) -> str:
        return BAD

    assert chat() == BAD  # fail open: the answer goes out unchanged, the report says why
    assert "docs" in reports[0].errors[0] and not reports[0].claims

    closed = Guardrail(settings=Settings(fail="closed"), nli=lexical.nli)

    @guarded(closed, context="docs")
    def strict(docs: list | None = None) -> str:
        return BAD

    with pytest.raises(EvidenceError):
        strict()


def test_tool_call_only_and_empty_replies_pass_through(lexical, docs) -> None:
    call = AIMessage(content="", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "c1"}])

    @guarded(lexical, context="docs")
    def chat(docs: list, reply: object) -> object:
        return reply

    assert chat(docs, call) is call
    assert chat(docs, "") == ""


def test_verifier_failure_keeps_the_answer(failing, docs) -> None:
    reports = []

    @guarded(failing, context="docs", policy="block", on_report=reports.append)
    def chat(docs: list) -> str:
        return GOOD

    assert chat(docs) == GOOD and reports[0].errors


def test_generator_with_missing_evidence_streams_unchecked(lexical) -> None:
    reports = []

    @guarded(lexical, context="docs", policy="block", release="sentence", on_report=reports.append)
    def chat(docs: list | None = None) -> Iterator[str]:
        yield from tokens(BAD)

    assert "".join(chat()) == BAD  # not blocked: nothing was checked, and the report says why
    assert "docs" in reports[0].errors[0] and not reports[0].claims
