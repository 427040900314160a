"""What every integration shares: policy handling, fault handling, and finding the answer text.

Only guardrail's public API is used here; nothing in this module imports LangChain.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from guardrail import (
    BlockedResponse,
    Claim,
    ClaimExtractor,
    Guardrail,
    GuardrailError,
    Report,
    VerificationError,
)

POLICY_NAMES = ("annotate", "flag", "redact", "block")

log = logging.getLogger("guardrail.integrations")


class _LazyNLI:
    """Defers to the parent Guardrail's verifier, so a derived Guardrail loads nothing new and a
    model that fails to load still fails inside ``check`` (where fail-open applies)."""

    def __init__(self, parent: Guardrail) -> None:
        self._parent = parent

    def predict(self, pairs: Any) -> Any:
        return self._parent.nli.predict(pairs)


def policy_name(g: Guardrail) -> str:
    return str(getattr(g.policy, "name", "annotate"))


def derive(g: Guardrail, *, policy: Any = None, extractor: ClaimExtractor | None = None) -> Guardrail:
    """A Guardrail sharing ``g``'s settings, retrievers and model, with another policy/extractor."""
    return Guardrail(
        policy=policy if policy is not None else g.policy,
        settings=g.settings,
        extractor=extractor or g.extractor,
        retrievers=g.retrievers,
        nli=_LazyNLI(g),
    )


def resolve(guardrail: Guardrail | None, policy: Any = None) -> Guardrail:
    """The Guardrail an integration runs: the user's, with ``policy`` overriding its own."""
    if guardrail is None:
        return Guardrail(policy=policy or "annotate")
    if policy is None or policy == policy_name(guardrail) or policy is guardrail.policy:
        return guardrail
    return derive(guardrail, policy=policy)


def passthrough(g: Guardrail, answer: str, error: str | None = None) -> Report:
    """The report of an answer that was not (fully) checked: the answer goes out unchanged."""
    return Report(
        answer=answer,
        claims=(),
        sources=(),
        annotated=answer,
        output=answer,
        policy=policy_name(g),
        errors=(error,) if error else (),
    )


def fault(g: Guardrail, answer: str, exc: Exception) -> Report:
    """An integration-level fault: raise it under ``fail="closed"``, else let the answer through."""
    if g.settings.fail == "closed":
        if isinstance(exc, GuardrailError):
            raise exc
        raise VerificationError(str(exc)) from exc
    return passthrough(g, answer, f"{type(exc).__name__}: {exc}")


def run_check(g: Guardrail, answer: str, context: Any = None, question: str | None = None) -> Report:
    """``g.check`` with the integration fault rules: BlockedResponse propagates; any other error
    (bad input such as an oversized answer, a custom extractor or retriever crashing) fails open or
    closed per settings: the wrapped code never loses its answer unless ``fail="closed"``."""
    try:
        return g.check(answer, context=context, question=question)
    except BlockedResponse:
        raise
    except Exception as exc:
        return fault(g, answer, exc)


async def arun_check(g: Guardrail, answer: str, context: Any = None, question: str | None = None) -> Report:
    try:
        return await g.acheck(answer, context=context, question=question)
    except BlockedResponse:
        raise
    except Exception as exc:
        return fault(g, answer, exc)


def report_data(report: Report) -> dict[str, Any]:
    """The report as plain JSON data (safe to store in message metadata or send over the wire)."""
    data: dict[str, Any] = json.loads(report.to_json())
    return data


class ScopedExtractor:
    """Extracts from ``text[context_start:]`` and keeps only claims that reach past ``keep_from``.

    Streaming checks one new sentence at a time while the previous sentence stays in view,
    so "She won ..." still resolves to the name said before it.  A claim that starts in the
    previous sentence and ends in the new one (the extractor joined what the stream split) is
    kept: dropping it would leave the new sentence unchecked.
    """

    def __init__(self, base: ClaimExtractor, context_start: int, keep_from: int) -> None:
        self.base, self.context_start, self.keep_from = base, context_start, keep_from

    def _shift(self, claims: Sequence[Claim]) -> list[Claim]:
        o = self.context_start
        return [
            Claim(text=c.text, start=c.start + o, end=c.end + o)
            for c in claims
            if c.end + o > self.keep_from
        ]

    def extract(self, text: str, *, question: str | None = None) -> list[Claim]:
        return self._shift(self.base.extract(text[self.context_start :], question=question))

    async def aextract(self, text: str, *, question: str | None = None) -> list[Claim]:
        part = text[self.context_start :]
        aextract = getattr(self.base, "aextract", None)
        if aextract is not None:
            return self._shift(await aextract(part, question=question))
        return self._shift(await asyncio.to_thread(self.base.extract, part, question=question))


# -- answers inside return values --------------------------------------------------------------


def _blocks_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
        parts = [
            b
            if isinstance(b, str)
            else b.get("text", "")
            if isinstance(b, Mapping) and b.get("type", "text") == "text"
            else ""
            for b in content
        ]
        return "".join(p for p in parts if isinstance(p, str))
    return None


def _choice(obj: Any) -> Any:
    choices = obj.get("choices") if isinstance(obj, Mapping) else getattr(obj, "choices", None)
    if isinstance(choices, Sequence) and not isinstance(choices, str) and choices:
        return choices[0]
    return None


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)


def text_of(value: Any) -> str | None:
    """The answer text in a return value or stream chunk; None when there is none to check.

    Understands ``str``, LangChain messages and chunks, OpenAI-style completions and stream
    chunks (dicts or SDK objects: ``choices[0].message.content`` / ``choices[0].delta.content``)
    and ``{"content": ...}`` mappings.
    """
    if isinstance(value, str):
        return value
    choice = _choice(value)
    if choice is not None:
        holder = _get(choice, "message") or _get(choice, "delta")
        if holder is None:
            text = _get(choice, "text")  # legacy completions
            return text if isinstance(text, str) else None
        return _content_text(_get(holder, "content"))
    if isinstance(value, Mapping):
        return _content_text(value.get("content")) if "content" in value else None
    if hasattr(value, "content"):
        return _content_text(value.content)
    return None


def _content_text(content: Any) -> str | None:
    # A message whose content is None (OpenAI's tool-call-only replies and deltas, a finish
    # chunk's empty delta) is an answer with no text: empty, nothing to check, not "no answer".
    return "" if content is None else _blocks_text(content)


def finish_reason(chunk: Any) -> Any:
    """Why a stream ended, when ``chunk`` says it has (OpenAI ``choices[0].finish_reason``,
    a LangChain chunk's ``response_metadata["finish_reason"]`` or ``chunk_position="last"``)."""
    choice = _choice(chunk)
    if choice is not None:
        return _get(choice, "finish_reason")
    if isinstance(chunk, (str, Mapping)):
        return None
    meta = getattr(chunk, "response_metadata", None)
    if isinstance(meta, Mapping) and meta.get("finish_reason"):
        return meta["finish_reason"]
    return "last" if getattr(chunk, "chunk_position", None) == "last" else None


def with_text(
    value: Any, text: str, report: dict[str, Any] | None = None, *, report_key: str = "guardrail"
) -> Any:
    """A copy of ``value``, of the same type, with its answer text replaced (and the report
    attached where it fits: a ``report_key`` key on dicts, ``response_metadata`` on LangChain
    messages, a ``<report_key>_report`` attribute on other objects that accept one).  An object
    whose ``.content`` cannot be replaced comes back unchanged (see ``_with_content``)."""
    if isinstance(value, str):
        return text
    choice = _choice(value)
    if choice is not None:
        out = copy.deepcopy(value)
        holder = _get(_choice(out), "message") or _get(_choice(out), "delta")
        if isinstance(holder, dict):
            holder["content"] = text
        elif holder is not None:
            holder.content = text
        else:
            c = _choice(out)
            if isinstance(c, dict):
                c["text"] = text
            else:
                c.text = text
        if report is not None:
            if isinstance(out, dict):
                out[report_key] = report
            else:
                _attach_attribute(out, report, report_key)
        return out
    if hasattr(value, "content") and hasattr(value, "model_copy"):  # a LangChain message
        update: dict[str, Any] = {"content": _replace_blocks(value.content, text)}
        if report is not None and hasattr(value, "response_metadata"):
            update["response_metadata"] = {
                **(getattr(value, "response_metadata", None) or {}),
                report_key: report,
            }
        out = value.model_copy(update=update)
        if report is not None and not hasattr(value, "response_metadata"):
            _attach_attribute(out, report, report_key)
        return out
    if isinstance(value, Mapping):
        out = dict(value)
        out["content"] = _replace_blocks(value.get("content"), text)
        if report is not None:
            out[report_key] = report
        return out
    if hasattr(value, "content"):
        return _with_content(value, text, report, report_key)
    return text


def _with_content(value: Any, text: str, report: dict[str, Any] | None, report_key: str) -> Any:
    """Any other object with a ``.content``: a copy of the same type with the new text.

    Tried in turn: ``dataclasses.replace`` (frozen dataclasses too), a named tuple's
    ``_replace``, then ``copy.copy`` and setting ``content``.  When the object allows none of
    these, it comes back unchanged (never swapped for a bare ``str``, which would break the
    caller's code), with the report attached where it fits and a warning logged, because the
    policy's output (citations, redactions) could not be applied.
    """
    content = _replace_blocks(value.content, text)
    out: Any = None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        with contextlib.suppress(TypeError, ValueError):
            out = dataclasses.replace(value, content=content)
    if out is None and callable(getattr(value, "_replace", None)):
        with contextlib.suppress(TypeError, ValueError):
            out = value._replace(content=content)
    if out is None:
        try:
            out = copy.copy(value)
            out.content = content
        except Exception:  # read-only property, __slots__ without content, a C type, ...
            out = None
    if out is None:
        if text != _blocks_text(value.content):
            log.warning(
                "cannot set .content on a %s: returned unchanged, without the policy's output",
                type(value).__name__,
            )
        out = value
    if report is not None:
        _attach_attribute(out, report, report_key)
    return out


def _attach_attribute(obj: Any, report: dict[str, Any], report_key: str) -> None:
    # A strict object may refuse new attributes: the report still reaches on_report.
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        setattr(obj, f"{report_key}_report", report)


def _replace_blocks(content: Any, text: str) -> Any:
    """New content with the text replaced; non-text blocks (images, tool use) are kept."""
    if isinstance(content, str) or not isinstance(content, Sequence):
        return text
    out: list[Any] = []
    placed = False
    for block in content:
        is_text = isinstance(block, str) or (
            isinstance(block, Mapping) and block.get("type", "text") == "text"
        )
        if not is_text:
            out.append(block)
        elif not placed:
            out.append({"type": "text", "text": text})
            placed = True
    if not placed:
        out.append({"type": "text", "text": text})
    return out
