"""GuardrailMiddleware in a `create_agent` loop, offline: tool results are the evidence; `retry`
re-asks the model once with the claims it got wrong.

    python examples/langchain_agent.py
"""

from __future__ import annotations

from typing import Any

from guardrail.integrations.langchain import GuardrailMiddleware, get_report
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool

from guardrail import Guardrail


class ScriptedModel(GenericFakeChatModel):
    """A fake chat model that accepts tools; replies come from `messages` in order."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


@tool
def billing_policy(topic: str) -> str:
    """Look up Acme Cloud's billing policy."""
    return (
        "Acme Cloud refunds annual plans in full within 30 days of purchase. "
        "Monthly plans are never refunded."
    )


def main() -> None:
    model = ScriptedModel(
        messages=iter(
            [
                AIMessage(
                    content="",
                    tool_calls=[{"name": "billing_policy", "args": {"topic": "refunds"}, "id": "c1"}],
                ),
                "Annual plans are refunded within 90 days. Monthly plans are never refunded.",  # first try
                "Annual plans are refunded in full within 30 days of purchase. "
                "Monthly plans are never refunded.",
            ]
        )
    )
    reports = []
    middleware = GuardrailMiddleware(
        Guardrail(), strategy="retry", retry_then="flag", on_report=reports.append
    )
    agent = create_agent(model, tools=[billing_policy], middleware=[middleware])
    result = agent.invoke({"messages": [HumanMessage("Can I get a refund on my annual plan?")]})
    final = result["messages"][-1]
    print(final.content)
    report = get_report(final)
    print("verdicts:", [(c["claim"]["text"], c["verdict"]) for c in report["claims"]])


if __name__ == "__main__":
    main()
