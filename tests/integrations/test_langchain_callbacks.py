"""Monitoring callbacks: documents from on_retriever_end, reports to sinks and custom events."""

from __future__ import annotations

import json
import logging

import pytest
from _integration_helpers import BAD, DOCS, GOOD
from guardrail.integrations.langchain import AsyncGuardrailCallbackHandler, GuardrailCallbackHandler
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnablePassthrough

from guardrail import BlockedResponse

PROMPT = ChatPromptTemplate.from_messages([("system", "Answer from: {context}"), ("human", "{question}")])


class _Docs(BaseRetriever):
    def _get_relevant_documents(self, query, *, run_manager):  # type: ignore[no-untyped-def]
        return list(DOCS)


def _chain(answer: str):
    return (
        {"context": _Docs(), "question": RunnablePassthrough()}
        | PROMPT
        | FakeListChatModel(responses=[answer])
        | StrOutputParser()
    )


class _Events(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list = []

    def on_custom_event(self, name, data, **kwargs):  # type: ignore[no-untyped-def]
        self.events.append((name, data))


def test_checks_answer_against_retrieved_docs_and_emits(lexical) -> None:
    sink: list = []
    events = _Events()
    out = _chain(GOOD).invoke(
        "Who was Marie Curie?",
        config={"callbacks": [GuardrailCallbackHandler(lexical, sink=sink.append), events]},
    )
    assert out == GOOD  # the response is never modified
    (event,) = sink
    assert event["report"]["ok"] is True and event["report"]["sources"][0]["id"] == "curie"
    assert events.events and events.events[0][0] == "guardrail_report"


def test_block_raises_only_with_raise_error(lexical) -> None:
    sink: list = []
    quiet = GuardrailCallbackHandler(lexical, policy="block", sink=sink.append)
    assert _chain(BAD).invoke("q", config={"callbacks": [quiet]}) == BAD
    assert sink[0]["report"]["flagged"] == [1]
    loud = GuardrailCallbackHandler(lexical, policy="block", raise_error=True)
    with pytest.raises(BlockedResponse):
        _chain(BAD).invoke("q", config={"callbacks": [loud]})


async def test_async_handler_writes_jsonl(lexical, tmp_path) -> None:
    path = tmp_path / "reports.jsonl"
    handler = AsyncGuardrailCallbackHandler(lexical, sink=path)
    await _chain(GOOD).ainvoke("q", config={"callbacks": [handler]})
    await _chain(BAD).ainvoke("q", config={"callbacks": [handler]})
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["report"]["ok"] for line in lines] == [True, False]
    assert not handler._tree.docs  # per-run state is released when the run ends


async def test_async_handler_blocks(lexical) -> None:
    handler = AsyncGuardrailCallbackHandler(lexical, policy="block", raise_error=True)
    with pytest.raises(BlockedResponse):
        await _chain(BAD).ainvoke("q", config={"callbacks": [handler]})


def test_bare_model_tool_calls_and_logger_sink(lexical, caplog) -> None:
    logger = logging.getLogger("test.guardrail.sink")
    handler = GuardrailCallbackHandler(lexical, sink=logger)
    model = FakeListChatModel(responses=[GOOD])
    with caplog.at_level(logging.INFO, logger="test.guardrail.sink"):
        model.invoke("hi", config={"callbacks": [handler]})  # no retriever: nothing supports it
    assert '"flagged": [0, 1]' in caplog.text

    sink: list = []
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel

    tool_only = FakeMessagesListChatModel(
        responses=[AIMessage(content="", tool_calls=[{"name": "t", "args": {}, "id": "1"}])]
    )
    tool_only.invoke("hi", config={"callbacks": [GuardrailCallbackHandler(lexical, sink=sink.append)]})
    assert sink == []


def test_broken_sink_does_not_break_the_chain(lexical) -> None:
    def sink(_: dict) -> None:
        raise OSError("disk full")

    assert (
        _chain(GOOD).invoke("q", config={"callbacks": [GuardrailCallbackHandler(lexical, sink=sink)]}) == GOOD
    )


def test_documents_a_retriever_returns_inside_a_tool_are_evidence(lexical) -> None:
    # An agent's retriever tool: the retriever's run sits under the tool's run.
    from _integration_helpers import ToolModel
    from langchain.agents import create_agent
    from langchain_core.messages import HumanMessage
    from langchain_core.tools import tool

    @tool
    def search(query: str) -> str:
        """Search the encyclopedia."""
        return "\n".join(d.page_content for d in _Docs().invoke(query))

    call = AIMessage(content="", tool_calls=[{"name": "search", "args": {"query": "Curie"}, "id": "c1"}])
    agent = create_agent(ToolModel(messages=iter([call, GOOD]), seen=[]), tools=[search])
    sink: list = []
    handler = GuardrailCallbackHandler(lexical, sink=sink.append)
    agent.invoke({"messages": [HumanMessage("Who was Marie Curie?")]}, config={"callbacks": [handler]})
    (event,) = sink
    assert event["report"]["ok"] is True and event["report"]["sources"][0]["id"] == "curie"
    assert not handler._tree.parent and not handler._tree.docs


async def test_runs_that_fail_or_stand_alone_leave_no_state(lexical) -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    for handler in (GuardrailCallbackHandler(lexical), AsyncGuardrailCallbackHandler(lexical)):
        failing = GenericFakeChatModel(messages=iter([]))  # raises when called
        for runnable in (_chain(GOOD).first | PROMPT | failing, failing):
            with pytest.raises(Exception):  # noqa: B017 - the model's own error
                await runnable.ainvoke("q", config={"callbacks": [handler]})
        await _Docs().ainvoke("q", config={"callbacks": [handler]})
        tree = handler._tree
        assert not tree.parent and not tree.docs and not tree.question
