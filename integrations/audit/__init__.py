"""Offline audit of logged LLM answers: ``guardrail audit logs.jsonl --out out/``.

Reads JSONL logs (OpenAI chat-completions records, LangSmith/LangChain run exports, or a
generic ``{id, question, context, response}``), checks every answer with one ``Guardrail``,
and writes ``report.jsonl``, ``summary.json`` and a self-contained ``report.html``.  Runs are
resumable (``--resume``) and scale out on Ray (``--engine ray``).  See docs/audit.md.

>>> from guardrail.integrations.audit import AuditOptions, run_audit
>>> outcome = run_audit(AuditOptions(input="logs.jsonl", out=Path("out")))
"""

from .calibrate import Calibration, calibrate, choose_threshold
from .checkpoint import AuditDir, ResumeError
from .formats import AuditRecord, FieldMap, parse_line
from .html import render_html
from .runner import AuditOptions, AuditOutcome, build_guardrail, check_records, run_audit
from .summary import summarize, summarize_results

__all__ = [
    "AuditDir",
    "AuditOptions",
    "AuditOutcome",
    "AuditRecord",
    "Calibration",
    "FieldMap",
    "ResumeError",
    "build_guardrail",
    "calibrate",
    "check_records",
    "choose_threshold",
    "parse_line",
    "render_html",
    "run_audit",
    "summarize",
    "summarize_results",
]
