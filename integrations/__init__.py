"""Adapters that put guardrail where LLM calls already are; installed as ``guardrail.integrations``.

They use only guardrail's public API (``from guardrail import ...``); the core never imports them.
"""
