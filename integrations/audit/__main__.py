"""``python -m guardrail.integrations.audit LOGS.jsonl --out out/``: the audit without the core CLI."""

from .cli import standalone_app

standalone_app()(prog_name="guardrail-audit")
