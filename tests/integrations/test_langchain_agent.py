"""GuardrailMiddleware in a real create_agent loop with a fake tool-calling model."""

from __future__ import annotations

import pytest
from _integration_helpers import BAD, GOOD, LexicalNLI, ToolModel
from guardrail.integrations.langchain import GuardrailMiddleware, get_report
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from guardrail import BlockedResponse, ConfigError, Guardrail


@tool
def lookup(topic: str) -> str:
    """Look up an encyclopedia entry."""
    return "Marie Curie was a physicist and chemist. She won the Nobel Prize in Physics in 1903."


def _call() -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": "lookup", "args": {"topic": "Curie"}, "id": "call1"}])


def _agent(middleware: GuardrailMiddleware, *answers: str | AIMessage) -> tuple[object, ToolModel]:
    model = ToolModel(messages=iter([_call(), *answers]), seen=[])
    return create_agent(model, tools=[lookup], middleware=[middleware]), model


def _ask(agent: object) -> list:
    return agent.invoke({"messages": [HumanMessage("Tell me about Marie Curie")]})["messages"]


def test_annotate_uses_tool_results_as_evidence(lexical) -> None:
    agent, model = _agent(GuardrailMiddleware(lexical), GOOD)
    messages = _ask(agent)
    final = messages[-1]
    assert isinstance(messages[2], ToolMessage)
    assert final.content.startswith("Marie Curie was a physicist [1].")
    report = get_report(final)
    assert report["ok"] is True and report["sources"][0]["id"].startswith("tool:lookup")
    assert model.calls == 2  # the tool-call message was not checked or retried


def test_flag_and_redact(lexical) -> None:
    agent, _ = _agent(GuardrailMiddleware(lexical, strategy="flag"), BAD)
    final = _ask(agent)[-1]
    assert final.content == BAD and get_report(final)["flagged"] == [1]
    agent, _ = _agent(GuardrailMiddleware(lexical, strategy="redact"), BAD)
    assert "Eiffel" not in _ask(agent)[-1].content


def test_block_raises(lexical) -> None:
    reports = []
    agent, _ = _agent(GuardrailMiddleware(lexical, strategy="block", on_report=reports.append), BAD)
    with pytest.raises(BlockedResponse):
        _ask(agent)
    assert reports[0].answer == BAD


def test_retry_reasks_once_with_flagged_claims(lexical) -> None:
    reports = []
    agent, model = _agent(GuardrailMiddleware(lexical, strategy="retry", on_report=reports.append), BAD, GOOD)
    final = _ask(agent)[-1]
    assert [r.answer for r in reports] == [BAD, GOOD]  # on_report hears of the first answer too
    assert final.content == GOOD and get_report(final)["ok"] is True
    assert model.calls == 3
    feedback = model.seen[-1][-1]
    assert isinstance(feedback, HumanMessage) and "The Eiffel Tower opened in 1925." in feedback.content
    assert "(unsupported)" in feedback.content and "closest evidence" in feedback.content


def test_retry_still_wrong_then_policy(lexical) -> None:
    agent, model = _agent(GuardrailMiddleware(lexical, strategy="retry", retry_then="redact"), BAD, BAD)
    final = _ask(agent)[-1]
    assert model.calls == 3 and "Eiffel" not in final.content


async def test_async_agent(lexical) -> None:
    agent, _ = _agent(GuardrailMiddleware(lexical, strategy="retry"), BAD, GOOD)
    out = await agent.ainvoke({"messages": [HumanMessage("Tell me about Marie Curie")]})
    assert get_report(out["messages"][-1])["ok"] is True


def test_static_context_and_verifier_failure(lexical, failing, docs) -> None:
    model = ToolModel(messages=iter([GOOD]), seen=[])
    agent = create_agent(model, tools=[], middleware=[GuardrailMiddleware(lexical, context=docs)])
    assert get_report(_ask(agent)[-1])["ok"] is True
    agent, _ = _agent(GuardrailMiddleware(failing, strategy="block"), GOOD)
    final = _ask(agent)[-1]  # fail open: not blocked, answer unchanged, error reported
    assert final.content == GOOD and get_report(final)["errors"]


def test_unknown_strategy_rejected(lexical) -> None:
    with pytest.raises(ConfigError, match="unknown strategy 'ignore'; choose annotate"):
        GuardrailMiddleware(lexical, strategy="ignore")  # type: ignore[arg-type]


def test_retry_checks_a_good_first_answer_once(lexical) -> None:
    agent, _ = _agent(GuardrailMiddleware(lexical), GOOD)
    before = LexicalNLI.calls
    _ask(agent)
    one_check = LexicalNLI.calls - before
    agent, model = _agent(GuardrailMiddleware(lexical, strategy="retry", retry_then="annotate"), GOOD)
    before = LexicalNLI.calls
    final = _ask(agent)[-1]
    assert LexicalNLI.calls - before == one_check and model.calls == 2
    assert final.content.startswith("Marie Curie was a physicist [1].") and get_report(final)["policy"] == "annotate"


def test_two_instances_in_one_agent_need_names(lexical, docs) -> None:
    with pytest.raises(AssertionError, match="duplicate middleware"):
        create_agent(ToolModel(messages=iter([GOOD]), seen=[]), tools=[],
                     middleware=[GuardrailMiddleware(lexical), GuardrailMiddleware(lexical)])
    seen = []
    both = [GuardrailMiddleware(lexical, strategy="flag", name="monitor", context=docs, on_report=seen.append),
            GuardrailMiddleware(lexical, context=docs, on_report=seen.append)]
    final = _ask(create_agent(ToolModel(messages=iter([GOOD]), seen=[]), tools=[], middleware=both))[-1]
    assert [r.policy for r in seen] == ["annotate", "flag"] and get_report(final)["ok"] is True


class _DownRetriever:
    def retrieve(self, query: str, k: int) -> list:
        raise TimeoutError("search timed out")

    async def aretrieve(self, query: str, k: int) -> list:
        raise TimeoutError("search timed out")


def test_retry_then_still_applies_when_a_retriever_failed(lexical) -> None:
    # the tool results are evidence enough to find the Eiffel claim wrong; a failing extra
    # retriever must not let the answer past retry_then="block"
    g = Guardrail(retrievers=[_DownRetriever()], nli=lexical.nli)
    agent, model = _agent(GuardrailMiddleware(g, strategy="retry", retry_then="block"), BAD)
    with pytest.raises(BlockedResponse) as info:
        _ask(agent)
    assert model.calls == 2 and info.value.report.policy == "block" and info.value.report.errors
