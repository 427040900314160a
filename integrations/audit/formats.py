"""Log shapes an audit reads, auto-detected per line, and how each maps to (question, answer, context).

=============  ==========================================================================
shape          recognised by / mapped from
=============  ==========================================================================
``openai``     ``messages`` + ``choices`` at the top level, under ``request``/``response``,
               or an OpenAI Batch output line (``response.body``).  The answer is the first
               choice's message; the question is the last user message; the evidence is
               every system/developer/tool message, earlier turns, and the last user message
               when it is long (RAG prompts paste documents there).  A chat log ending in an
               assistant message (fine-tuning format) works too.
``langsmith``  ``inputs`` + ``outputs`` (LangSmith run export, LangChain callbacks).  The
               answer is ``outputs.answer|output|result|text|response`` (or an AI message, or
               ``generations``); the evidence is ``source_documents|context|documents`` in
               outputs or inputs.  Runs without an answer (retriever, embedding, parser runs)
               are skipped, not rejected.
``generic``    ``{id, question, context, response}``; ``answer``/``output``/``completion``
               and ``contexts``/``passages``/``documents`` are accepted as aliases.
=============  ==========================================================================

Every field can be overridden with a dotted path (``FieldMap``): ``response.choices.0.message.content``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "FORMATS",
    "LINE_HEAD_CHARS",
    "AuditRecord",
    "FieldMap",
    "RejectedLine",
    "SkippedLine",
    "get_path",
    "parse_line",
]

Format = Literal["auto", "openai", "langsmith", "generic"]
FORMATS: tuple[str, ...] = ("auto", "openai", "langsmith", "generic")

# How much of a rejected input line rejects.jsonl keeps: enough to find and read it, while a
# log of huge lines still gives a small rejects file.
LINE_HEAD_CHARS = 500

# A long last user message usually carries pasted documents, so it is evidence too; a short
# one is just the question, and letting it "support" the answer would hide hallucinations.
_USER_PROMPT_AS_EVIDENCE_WORDS = 50

_ANSWER_KEYS = ("response", "answer", "output", "completion", "result", "text", "generation")
_QUESTION_KEYS = ("question", "query", "input", "prompt", "user_input", "question_text")
_CONTEXT_KEYS = (
    "context",
    "contexts",
    "passages",
    "documents",
    "source_documents",
    "retrieved",
    "retrieved_documents",
    "docs",
    "evidence",
)
_ID_KEYS = ("id", "record_id", "request_id", "custom_id", "run_id", "trace_id", "uuid")
_GROUP_KEYS = ("model", "route", "endpoint", "app", "version", "env", "environment", "tenant")


class RejectedLine(Exception):
    """A line that cannot be audited; ``reason`` goes to rejects.jsonl."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SkippedLine(Exception):
    """A valid log line with nothing to check (a retriever run, a tool-call-only response)."""

    def __init__(self, reason: str, *, record_id: str | None = None, shape: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.record_id = record_id
        self.shape = shape


@dataclass(frozen=True)
class FieldMap:
    """Dotted paths that override what shape detection would pick (None: detect)."""

    id: str | None = None
    question: str | None = None
    answer: str | None = None
    context: str | None = None
    group_by: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "context": self.context,
            "group_by": list(self.group_by),
        }


@dataclass(frozen=True)
class AuditRecord:
    """One log line, normalised: what the checker needs plus the fields the summary groups by."""

    line: int
    id: str
    shape: str
    answer: str
    question: str | None = None
    context: tuple[Any, ...] = ()  # str or passage-like dicts, as ``Guardrail.check`` accepts
    groups: Mapping[str, str] = field(default_factory=dict)
    # The start of the input line, kept so that a record the checker rejects is reported like
    # one rejected while parsing (rejects.jsonl shows the line, not the answer).
    line_head: str = ""

    def check_item(self) -> dict[str, Any]:
        return {"answer": self.answer, "context": list(self.context), "question": self.question}

    def to_json(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "id": self.id,
            "shape": self.shape,
            "answer": self.answer,
            "question": self.question,
            "context": list(self.context),
            "groups": dict(self.groups),
            "line_head": self.line_head,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuditRecord:
        return cls(
            line=int(data["line"]),
            id=str(data["id"]),
            shape=str(data["shape"]),
            answer=str(data["answer"]),
            question=data.get("question"),
            context=tuple(data.get("context") or ()),
            groups=dict(data.get("groups") or {}),
            line_head=str(data.get("line_head") or ""),
        )


_MISSING = object()
NO_OVERRIDES = FieldMap()


def get_path(obj: Any, path: str, default: Any = None) -> Any:
    """``a.b.0.c`` into nested dicts and lists; ``default`` when any step is missing."""
    cur = obj
    for part in path.split("."):
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        elif isinstance(cur, Sequence) and not isinstance(cur, str) and part.lstrip("-").isdigit():
            i = int(part)
            if not -len(cur) <= i < len(cur):
                return default
            cur = cur[i]
        else:
            return default
    return cur


def parse_line(line_no: int, text: str, shape: str = "auto", fields: FieldMap | None = None) -> AuditRecord:
    """Parse one JSONL line.  Raises ``RejectedLine`` (malformed) or ``SkippedLine`` (nothing to check)."""
    fields = fields or NO_OVERRIDES
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        # Some messages end in "at" ("Invalid control character at"): the column says where.
        raise RejectedLine(f"invalid JSON: {exc.msg.removesuffix(' at')} (column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise RejectedLine(f"expected a JSON object, got {type(raw).__name__}")
    detected = detect(raw) if shape == "auto" else shape
    if detected is None and fields.answer is None:
        raise RejectedLine(
            "unrecognised shape: no answer field found (pass --answer-field, "
            f"top-level keys: {', '.join(sorted(raw)[:8])})"
        )
    parser = {"openai": _openai, "langsmith": _langsmith, "generic": _generic}.get(detected or "generic")
    if parser is None:
        raise RejectedLine(f"unknown format {shape!r}")
    try:
        rid, question, answer, context, groups = parser(raw)
    except SkippedLine as skip:
        if fields.answer is None:
            # The shape was detected even though there is nothing to check: report.jsonl keeps it.
            shape_found = skip.shape or detected or "generic"
            raise SkippedLine(skip.reason, record_id=skip.record_id, shape=shape_found) from None
        rid, question, answer, context, groups = None, None, None, [], {}
    # Overrides win over detection, field by field.
    if fields.id:
        rid = get_path(raw, fields.id, rid)
    if fields.question:
        question = get_path(raw, fields.question, question)
    if fields.answer:
        answer = get_path(raw, fields.answer, _MISSING)
        if answer is _MISSING:
            raise RejectedLine(f"no field {fields.answer!r} (from --answer-field)")
    if fields.context:
        context = get_path(raw, fields.context, context)
    for path in fields.group_by:
        value = _group_value(raw, path)
        if value is not None:
            groups[path.rsplit(".", 1)[-1]] = value
    answer = _text(answer)
    if answer is None:
        raise RejectedLine("the answer is not text")
    if not answer.strip():
        raise SkippedLine("empty answer", record_id=_id_text(rid, line_no), shape=detected or "generic")
    if question is not None and not isinstance(question, str):
        question = _text(question) or json.dumps(question, ensure_ascii=False)[:2000]
    return AuditRecord(
        line=line_no,
        id=_id_text(rid, line_no),
        shape=detected or "generic",
        answer=answer,
        question=question,
        context=_context(context),
        groups=groups,
        line_head=text[:LINE_HEAD_CHARS],
    )


def detect(raw: Mapping[str, Any]) -> str | None:
    """The shape of a parsed line, or None when no answer field can be found."""
    if "choices" in raw:
        return "openai"
    messages = raw.get("messages")
    if (
        isinstance(messages, list)
        and messages
        and (
            not any(k in raw for k in _ANSWER_KEYS)
            or (isinstance(messages[-1], Mapping) and messages[-1].get("role") == "assistant")
        )
    ):
        return "openai"
    for key in ("request", "response", "body"):
        sub = raw.get(key)
        if isinstance(sub, Mapping) and ("choices" in sub or "messages" in sub or "body" in sub):
            return "openai"
    if isinstance(raw.get("inputs"), Mapping) and "outputs" in raw:
        return "langsmith"
    if any(k in raw for k in _ANSWER_KEYS):
        return "generic"
    return None


# -- shapes ------------------------------------------------------------------------------

Parsed = tuple[Any, Any, Any, list[Any], dict[str, str]]


def _openai(raw: Mapping[str, Any]) -> Parsed:
    request = raw.get("request") if isinstance(raw.get("request"), Mapping) else raw
    response = raw.get("response") if isinstance(raw.get("response"), Mapping) else raw
    if isinstance(response.get("body"), Mapping):  # Batch API output line
        response = response["body"]
    messages = [m for m in (request.get("messages") or raw.get("messages") or []) if isinstance(m, Mapping)]
    choices = response.get("choices") or []
    answer: Any = None
    if choices and isinstance(choices[0], Mapping):
        first = choices[0]
        message = first.get("message") or {}
        answer = _content(message.get("content")) if isinstance(message, Mapping) else None
        if answer is None:
            answer = first.get("text")  # legacy completions
        if answer is None and isinstance(message, Mapping) and message.get("tool_calls"):
            raise SkippedLine("the response is tool calls only", record_id=_rid(raw, response), shape="openai")
    elif messages and messages[-1].get("role") == "assistant":  # chat log / fine-tuning format
        answer = _content(messages[-1].get("content"))
        messages = messages[:-1]
    if answer is None:
        raise RejectedLine("OpenAI record without an assistant answer (no choices[0].message.content)")
    user_turns = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    question = _content(messages[user_turns[-1]].get("content")) if user_turns else None
    context: list[Any] = []
    for i, m in enumerate(messages):
        text = _content(m.get("content"))
        if not text:
            continue
        is_question = bool(user_turns) and i == user_turns[-1]
        if not is_question or len(text.split()) >= _USER_PROMPT_AS_EVIDENCE_WORDS:
            role = m.get("role", "message")
            context.append({"text": text, "id": f"msg{i + 1}", "title": f"{role} message"})
    context.extend(_as_list(raw.get("context") or get_path(raw, "metadata.context")))
    groups = _groups(raw, request.get("metadata"), raw.get("metadata"))
    model = response.get("model") or request.get("model")
    if model:
        groups.setdefault("model", str(model))
    return _rid(raw, response), question, answer, context, groups


def _langsmith(raw: Mapping[str, Any]) -> Parsed:
    inputs, outputs = raw.get("inputs") or {}, raw.get("outputs")
    rid = raw.get("id") or raw.get("run_id") or raw.get("trace_id")
    if not isinstance(outputs, Mapping):
        if outputs is None:
            raise SkippedLine("run has no outputs (errored or unfinished)", record_id=_str(rid), shape="langsmith")
        outputs = {"output": outputs}
    answer = _first(outputs, ("answer", "output", "result", "text", "response", "output_text", "content"))
    if isinstance(answer, Mapping):  # an AIMessage dict, or a chain returning {"answer": ...} nested
        answer = _first(answer, ("content", "answer", "text", "output")) or get_path(answer, "kwargs.content")
    if answer is None and outputs.get("generations"):
        gens = outputs["generations"]
        first = gens[0][0] if gens and isinstance(gens[0], list) and gens[0] else (gens[0] if gens else None)
        if isinstance(first, Mapping):
            answer = (
                first.get("text") or get_path(first, "message.kwargs.content") or get_path(first, "message.content")
            )
    if answer is None:
        raise SkippedLine(
            f"{raw.get('run_type') or 'run'} run without an answer", record_id=_str(rid), shape="langsmith"
        )
    question = _first(inputs, _QUESTION_KEYS)
    if question is None and isinstance(inputs.get("messages"), list):
        msgs = inputs["messages"]
        flat = msgs[-1] if msgs and isinstance(msgs[-1], list) else msgs
        users = [m for m in flat if isinstance(m, Mapping) and _role(m) in ("user", "human")]
        question = _content(_msg_content(users[-1])) if users else None
    context = _first(outputs, _CONTEXT_KEYS)
    if context is None:
        context = _first(inputs, _CONTEXT_KEYS)
    meta = get_path(raw, "extra.metadata") or raw.get("metadata")
    groups = _groups(raw, meta)
    if "model" not in groups and isinstance(meta, Mapping):
        model = meta.get("ls_model_name") or meta.get("model_name")
        if model:
            groups["model"] = str(model)
    if raw.get("name"):
        groups.setdefault("run", str(raw["name"]))
    return rid, question, answer, _as_list(context), groups


def _generic(raw: Mapping[str, Any]) -> Parsed:
    answer = _first(raw, _ANSWER_KEYS)
    if isinstance(answer, Mapping):
        answer = _first(answer, ("content", "text", "answer"))
    return (
        _first(raw, _ID_KEYS),
        _first(raw, _QUESTION_KEYS),
        answer,
        _as_list(_first(raw, _CONTEXT_KEYS)),
        _groups(raw, raw.get("metadata")),
    )


# -- helpers -----------------------------------------------------------------------------


def _first(obj: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for k in keys:
        if k in obj and obj[k] is not None:
            return obj[k]
    return None


def _rid(raw: Mapping[str, Any], response: Mapping[str, Any]) -> Any:
    return _first(raw, _ID_KEYS) or response.get("id")


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _id_text(rid: Any, line_no: int) -> str:
    return str(rid) if rid not in (None, "") else f"line-{line_no}"


def _role(m: Mapping[str, Any]) -> str:
    if "kwargs" in m:  # LangChain-serialised message: {"lc": 1, "id": [..., "HumanMessage"], "kwargs": ...}
        role = get_path(m, "kwargs.type") or str((m.get("id") or [""])[-1]).removesuffix("Message")
    else:
        role = m.get("role") or m.get("type")
    return str(role).lower()


def _msg_content(m: Mapping[str, Any]) -> Any:
    return m.get("content") if "content" in m else get_path(m, "kwargs.content")


def _content(content: Any) -> str | None:
    """OpenAI message content: a string, or a list of parts of which the text ones count."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str)]
        return "\n".join(parts) if parts else None
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    return _content(value)


def _as_list(context: Any) -> list[Any]:
    if context is None:
        return []
    if isinstance(context, (str, Mapping)):
        context = [context]
    if not isinstance(context, list):
        raise RejectedLine(f"context must be text, a document or a list of them, got {type(context).__name__}")
    return context


def _context(items: Any) -> tuple[Any, ...]:
    """Passage-like values for ``Guardrail.check``: strings and dicts with a text field.

    LangChain's serialised Documents (``{"lc": 1, "kwargs": {"page_content": ...}}``) are unwrapped.
    """
    out: list[Any] = []
    for i, item in enumerate(_as_list(items), start=1):
        if isinstance(item, Mapping) and "kwargs" in item and "page_content" in item["kwargs"]:
            item = item["kwargs"]
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Mapping):
            text = _first(item, ("text", "page_content", "content", "passage", "snippet"))
            if not isinstance(text, str):
                raise RejectedLine(f"context item {i} has no text")
            meta = item.get("metadata") if isinstance(item.get("metadata"), Mapping) else {}
            doc = {"text": text, "metadata": dict(meta)}
            for key in ("id", "title", "url"):
                value = item.get(key) if item.get(key) is not None else meta.get(key)
                if value is not None:
                    doc[key] = str(value)
            if "url" not in doc and isinstance(meta.get("source"), str):
                doc["title"] = doc.get("title") or meta["source"]
            out.append(doc)
        else:
            raise RejectedLine(f"context item {i} is {type(item).__name__}, not text or a document")
    return tuple(out)


def _groups(raw: Mapping[str, Any], *metas: Any) -> dict[str, str]:
    """Well-known grouping fields (model, route, ...) from the top level, then metadata."""
    out: dict[str, str] = {}
    for source in (raw, *metas):
        if not isinstance(source, Mapping):
            continue
        for key in _GROUP_KEYS:
            value = source.get(key)
            if key not in out and isinstance(value, (str, int, float, bool)) and value != "":
                out[key] = str(value)
    return out


def _group_value(raw: Mapping[str, Any], path: str) -> str | None:
    for prefix in ("", "metadata.", "extra.metadata.", "request.metadata.", "response.metadata."):
        value = get_path(raw, prefix + path, _MISSING)
        if value is not _MISSING and value is not None:
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return None
