"""``GuardrailMiddleware`` for ``langchain.agents.create_agent``: checks the agent's final answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Literal

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from guardrail import BlockedResponse, ConfigError, Guardrail, Report

from .._common import arun_check, derive, policy_name, report_data, resolve, run_check, text_of, with_text
from ._evidence import as_evidence_list, tool_evidence

__all__ = ["GuardrailMiddleware", "Strategy"]

Strategy = Literal["annotate", "flag", "redact", "block", "retry"]

_RETRY_PROMPT = (
    "Some statements in your last answer are not supported by the available evidence. Answer again "
    "using only facts the evidence supports; leave out or correct these statements:\n\n{items}"
)


class GuardrailMiddleware(AgentMiddleware):
    """Verifies the agent's final model message (one without tool calls) before it is kept.

    ``strategy``: ``annotate`` (citations added), ``flag`` (text unchanged, report attached),
    ``redact`` (flagged claims removed), ``block`` (raise ``BlockedResponse``) or ``retry``
    (re-ask the model once with the flagged claims and their evidence, then apply
    ``retry_then`` to the new answer).  Evidence: the conversation's tool results
    (``tool_results_as_evidence``), ``context`` (documents, or a callable receiving the agent
    state) and the Guardrail's retrievers.  The report rides in
    ``response_metadata["guardrail"]`` of the final message.  ``name`` tells two instances in
    one agent apart (``create_agent`` refuses two middlewares of the same name).
    """

    def __init__(
        self,
        guardrail: Guardrail | None = None,
        *,
        strategy: Strategy = "annotate",
        retry_then: Literal["annotate", "flag", "redact", "block"] = "flag",
        context: Any = None,
        tool_results_as_evidence: bool = True,
        retry_prompt: str = _RETRY_PROMPT,
        on_report: Callable[[Report], None] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__()
        self._name = name
        if strategy not in ("annotate", "flag", "redact", "block", "retry"):
            raise ConfigError(f"unknown strategy {strategy!r}; choose annotate, flag, redact, block or retry")
        base = resolve(guardrail)
        self.strategy = strategy
        self.guardrail = derive(base, policy=retry_then if strategy == "retry" else strategy)
        # The first look under retry only needs verdicts; the policy applies to the retried answer.
        self._probe = derive(base, policy="flag") if strategy == "retry" else self.guardrail
        self.context, self.tool_results_as_evidence = context, tool_results_as_evidence
        self.retry_prompt, self.on_report = retry_prompt, on_report

    @property
    def name(self) -> str:
        return self._name or type(self).__name__

    # -- helpers ---------------------------------------------------------------------------

    def _settle(self, first: Report) -> Report:
        """``retry_then`` applied to a first answer that needed no retry: its verdicts stand, so
        the answer is not checked a second time.  A report with nothing verified (the verifier
        failed open) stays as it is, the answer unchanged, as the engine leaves it."""
        if first.errors and not any(c.verified for c in first.claims):
            return first
        settled = replace(first, policy=policy_name(self.guardrail))  # what BlockedResponse carries too
        return replace(settled, output=self.guardrail.policy.apply(settled))

    def _final(self, response: ModelResponse) -> tuple[int, AIMessage, str] | None:
        for i in range(len(response.result) - 1, -1, -1):
            m = response.result[i]
            if isinstance(m, AIMessage):
                if m.tool_calls:
                    return None  # the agent is still working: not a final answer
                text = text_of(m)
                return (i, m, text) if text and text.strip() else None
        return None

    def _inputs(self, request: ModelRequest) -> tuple[list[Any], str | None]:
        evidence: list[Any] = []
        if self.tool_results_as_evidence:
            evidence += tool_evidence(request.messages)
        if self.context is not None:
            found = self.context(request.state) if callable(self.context) else self.context
            evidence += as_evidence_list(found)
        question = next((text_of(m) for m in reversed(request.messages) if isinstance(m, HumanMessage)), None)
        return evidence, question

    def _retry_request(self, request: ModelRequest, message: AIMessage, report: Report) -> ModelRequest:
        lines = []
        for c in report.flagged:
            line = f'- "{c.claim.text}" ({c.verdict})'
            if c.evidence:
                line += f'; closest evidence: "{c.evidence[0].quote.strip()}"'
            lines.append(line)
        feedback = HumanMessage(self.retry_prompt.format(items="\n".join(lines)))
        messages: list[BaseMessage] = [*request.messages, message, feedback]
        return request.override(messages=messages)

    def _replace(
        self, response: ModelResponse, index: int, message: AIMessage, report: Report
    ) -> ModelResponse:
        if self.on_report:
            self.on_report(report)
        result = list(response.result)
        result[index] = with_text(message, report.output, report_data(report))
        return ModelResponse(result=result, structured_response=response.structured_response)

    # -- hooks ------------------------------------------------------------------------------

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        response = handler(request)
        final = self._final(response)
        if final is None:
            return response
        index, message, text = final
        evidence, question = self._inputs(request)
        try:
            if self.strategy != "retry":
                report = run_check(self.guardrail, text, evidence, question)
            elif not (first := run_check(self._probe, text, evidence, question)).flagged or first.errors:
                report = self._settle(first)
            else:
                if self.on_report:  # every report: the first answer's too, before the retry
                    self.on_report(first)
                response = handler(self._retry_request(request, message, first))
                final = self._final(response)
                if final is None:
                    return response
                index, message, text = final
                report = run_check(self.guardrail, text, evidence, question)
        except BlockedResponse as exc:
            if self.on_report:
                self.on_report(exc.report)
            raise
        return self._replace(response, index, message, report)

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> Any:
        response = await handler(request)
        final = self._final(response)
        if final is None:
            return response
        index, message, text = final
        evidence, question = self._inputs(request)
        try:
            if self.strategy != "retry":
                report = await arun_check(self.guardrail, text, evidence, question)
            elif not (first := await arun_check(self._probe, text, evidence, question)).flagged or first.errors:
                report = self._settle(first)
            else:
                if self.on_report:
                    self.on_report(first)
                response = await handler(self._retry_request(request, message, first))
                final = self._final(response)
                if final is None:
                    return response
                index, message, text = final
                report = await arun_check(self.guardrail, text, evidence, question)
        except BlockedResponse as exc:
            if self.on_report:
                self.on_report(exc.report)
            raise
        return self._replace(response, index, message, report)
