"""@guarded around plain chat functions: sync, async, generators, return shapes, faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from _integration_helpers import BAD, GOOD, tokens
from guardrail.integrations.decorator import guarded
from langchain_core.messages import AIMessage

from guardrail import BlockedResponse, ConfigError, EvidenceError, Guardrail, InputError, Settings


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


async def test_an_answer_the_engine_refuses_keeps_the_answer_unless_fail_closed(lexical, docs) -> None:
    reports = []
    small = Guardrail(settings=Settings(max_answer_chars=100), nli=lexical.nli)
    long = GOOD * 10

    @guarded(small, context="docs", policy="block", on_report=reports.append)
    def chat(docs: list) -> str:
        return long

    @guarded(small, context="docs", on_report=reports.append)
    async def achat(docs: list) -> str:
        return "Marie Curie was born in Warsaw.\x00"

    assert chat(docs) == long  # fail open: the model's answer is not lost to an InputError
    assert await achat(docs) == "Marie Curie was born in Warsaw.\x00"
    assert ["InputError" in r.errors[0] and not r.claims for r in reports] == [True, True]

    closed = Guardrail(settings=Settings(fail="closed", max_answer_chars=100), nli=lexical.nli)

    @guarded(closed, context="docs")
    def strict(docs: list) -> str:
        return long

    with pytest.raises(InputError, match="over the limit"):
        strict(docs)


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


# -- tool-call-only answers: unchanged, unchecked, no report, whatever `fail` says ------------------

_TOOL_CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


@pytest.mark.parametrize("fail", ["open", "closed"])
def test_tool_call_only_openai_responses_are_returned_unchecked(lexical, docs, fail) -> None:
    g = Guardrail(settings=Settings(fail=fail), nli=lexical.nli)
    as_dict = {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [_TOOL_CALL]}}]}
    as_object = SimpleNamespace(
        choices=[SimpleNamespace(message=SimpleNamespace(content=None, tool_calls=[_TOOL_CALL]))]
    )
    reports = []

    @guarded(g, context="docs", on_report=reports.append)
    def chat(docs: list, reply: object) -> object:
        return reply

    assert chat(docs, as_dict) is as_dict and "guardrail" not in as_dict
    assert chat(docs, as_object) is as_object and not hasattr(as_object, "guardrail_report")
    assert reports == []  # like GuardrailRunnable: no check, so no report

    @guarded(g, context="docs", on_report=reports.append)
    def stream(docs: list) -> Iterator[dict]:
        yield {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None, "tool_calls": [_TOOL_CALL]}}]}
        yield {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}

    assert list(stream(docs)) == list(stream.__wrapped__(docs)) and reports == []


# -- OpenAI-style streams: all text before the chunk that carries finish_reason ---------------------


def _delta(text: str | None, finish: str | None = None) -> dict:
    choice: dict = {"index": 0, "delta": {} if text is None else {"content": text}}
    if finish:
        choice["finish_reason"] = finish
    return {"id": "chatcmpl-1", "model": "m", "choices": [choice]}


def _openai_chunks() -> list[dict]:
    usage = {"id": "chatcmpl-1", "choices": [], "usage": {"total_tokens": 9}}
    return [*(_delta(t) for t in tokens(GOOD)), _delta(None, "stop"), usage]


def _check_stream_end(chunks: list[dict], expected: str) -> None:
    finish = next(i for i, c in enumerate(chunks) if c["choices"] and c["choices"][0].get("finish_reason"))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:finish])
    assert text == expected  # citations and the Sources list included
    assert chunks[finish:] == _openai_chunks()[-2:]  # the finish and usage chunks, last and unchanged
    assert chunks[finish - 1]["id"] == "chatcmpl-1" and chunks[finish - 1]["choices"][0]["finish_reason"] is None


def test_generator_of_openai_chunks_with_citations_ends_with_the_finish_chunk(lexical, docs) -> None:
    reports = []

    @guarded(lexical, context="docs", cite=True, on_report=reports.append)
    def chat(docs: list) -> Iterator[dict]:
        yield from _openai_chunks()

    expected = lexical.check(GOOD, context=docs).annotated
    _check_stream_end(list(chat(docs)), expected)
    assert reports[0].output == expected


async def test_async_generator_of_openai_chunks_with_citations_ends_with_the_finish_chunk(lexical, docs) -> None:
    @guarded(lexical, context="docs", cite=True, release="sentence")
    async def chat(docs: list) -> AsyncIterator[dict]:
        for chunk in _openai_chunks():
            yield chunk

    _check_stream_end([c async for c in chat(docs)], lexical.check(GOOD, context=docs).annotated)


def test_finish_chunk_that_carries_text_keeps_it_before_the_end(lexical, docs) -> None:
    # SDK objects, and the last token arriving in the finish chunk itself.
    def chunk(text: str | None, finish: str | None = None) -> SimpleNamespace:
        return SimpleNamespace(
            id="c", choices=[SimpleNamespace(index=0, delta=SimpleNamespace(content=text), finish_reason=finish)]
        )

    words = tokens(GOOD)

    @guarded(lexical, context="docs", cite=True)
    def chat(docs: list) -> Iterator[SimpleNamespace]:
        yield from (chunk(t) for t in words[:-1])
        yield chunk(words[-1], "stop")

    out = list(chat(docs))
    assert all(isinstance(c, SimpleNamespace) for c in out)
    assert [c.choices[0].finish_reason for c in out].count("stop") == 1
    assert out[-1].choices[0].finish_reason == "stop" and not out[-1].choices[0].delta.content
    assert "".join(c.choices[0].delta.content or "" for c in out) == lexical.check(GOOD, context=docs).annotated


def test_blocked_stream_never_sends_the_finish_chunk(lexical, docs) -> None:
    @guarded(lexical, context="docs", policy="block")
    def chat(docs: list) -> Iterator[dict]:
        yield from (_delta(t) for t in tokens(BAD))
        yield _delta(None, "stop")

    seen = []
    with pytest.raises(BlockedResponse):
        for c in chat(docs):
            seen.append(c)
    assert not any(c["choices"][0].get("finish_reason") for c in seen)


# -- a context / question callable that raises is a fault, not a crash -----------------------------


def test_context_callable_that_raises_fails_open_or_closed(lexical) -> None:
    calls, reports = [], []

    @guarded(lexical, context=lambda q, **kw: kw["sources"], policy="block", on_report=reports.append)
    def chat(q: str, **kw: object) -> str:
        calls.append(q)
        return BAD

    assert chat("q") == BAD and calls == ["q"]  # the function ran; its answer goes out unchanged
    assert reports[0].errors == ("EvidenceError: the context callable failed: KeyError: 'sources'",)
    assert not reports[0].claims

    closed = Guardrail(settings=Settings(fail="closed"), nli=lexical.nli)

    @guarded(closed, context=lambda q, **kw: kw["sources"])
    def strict(q: str, **kw: object) -> str:
        calls.append(q)
        return GOOD

    with pytest.raises(EvidenceError) as info:
        strict("q2")
    assert isinstance(info.value.__cause__, KeyError) and calls[-1] == "q2"

    @guarded(closed, context=lambda q: [], question=lambda q: q["text"])
    def bad_question(q: str) -> str:
        return GOOD

    with pytest.raises(InputError, match="question callable failed: TypeError"):
        bad_question("q")


async def test_context_callable_that_raises_in_async_and_generator_functions(lexical) -> None:
    reports = []

    @guarded(lexical, context=lambda **kw: kw["sources"], on_report=reports.append)
    async def achat() -> str:
        return GOOD

    @guarded(lexical, context=lambda **kw: kw["sources"], cite=True, on_report=reports.append)
    def stream() -> Iterator[str]:
        yield from tokens(GOOD)

    assert await achat() == GOOD
    assert "".join(stream()) == GOOD  # streamed unchecked, no citations
    assert all("KeyError" in r.errors[0] and not r.claims for r in reports) and len(reports) == 2


# -- other objects with .content come back as the same type ----------------------------------------


@dataclass(frozen=True)
class _Frozen:
    content: str
    model: str = "m"


class _Plain:
    def __init__(self, content: str) -> None:
        self.content, self.model = content, "m"


class _ReadOnly:
    __slots__ = ("_content",)

    def __init__(self, content: str) -> None:
        self._content = content

    @property
    def content(self) -> str:
        return self._content


def test_objects_with_content_come_back_as_the_same_type(lexical, docs, caplog) -> None:
    annotated = lexical.check(GOOD, context=docs).annotated

    @guarded(lexical, context="docs")
    def chat(docs: list, reply: object) -> object:
        return reply

    frozen = chat(docs, _Frozen(GOOD))
    assert type(frozen) is _Frozen and frozen == _Frozen(annotated)
    original = _Plain(GOOD)
    plain = chat(docs, original)
    assert type(plain) is _Plain and plain is not original and original.content == GOOD
    assert plain.content == annotated and plain.model == "m" and plain.guardrail_report["ok"] is True

    read_only = _ReadOnly(GOOD)
    with caplog.at_level("WARNING", logger="guardrail.integrations"):
        assert chat(docs, read_only) is read_only  # cannot be changed: unchanged, never a bare str
    assert read_only.content == GOOD and "cannot set .content on a _ReadOnly" in caplog.text


# -- review: streams, names and shapes the decorator used to let through unchecked ----------------


async def test_async_generator_aclose_stops_checks_and_closes_the_function(lexical, docs) -> None:
    closed = []

    @guarded(lexical, context="docs")
    async def chat(docs: list) -> AsyncIterator[str]:
        try:
            for t in tokens(GOOD + " " + GOOD):
                yield t
        finally:
            closed.append(True)

    gen = chat(docs)
    seen = [await gen.__anext__() for _ in range(8)]  # the first sentence is being checked
    assert "".join(seen).startswith("Marie Curie")
    await gen.aclose()
    # The check of that sentence was cancelled and the function's own cleanup ran, now.
    assert closed == [True]
    await asyncio.sleep(0)  # let the cancellation land
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]


def test_closing_a_returned_stream_closes_it(lexical, docs) -> None:
    class Stream:  # like openai.Stream: an iterator whose close() releases the HTTP response
        def __init__(self) -> None:
            self.items, self.closed = iter(tokens(GOOD)), False

        def __iter__(self) -> Stream:
            return self

        def __next__(self) -> str:
            return next(self.items)

        def close(self) -> None:
            self.closed = True

    made = [Stream(), Stream()]
    sources = list(made)

    @guarded(lexical, context="docs", cite=True)
    def chat(docs: list) -> Stream:
        return sources.pop()

    assert "".join(chat(docs)) == lexical.check(GOOD, context=docs).annotated
    out = chat(docs)
    next(out)
    out.close()  # the consumer leaves early
    assert made[0].closed and made[1].closed


def test_function_returning_a_stream_is_checked_as_one(lexical, docs) -> None:
    # A plain function returning an iterator (an OpenAI Stream, model.stream(...)): block applies.
    @guarded(lexical, context="docs", policy="block", release="sentence")
    def chat(docs: list) -> Iterator[str]:
        return iter(tokens(BAD))

    seen = []
    with pytest.raises(BlockedResponse):
        seen.extend(chat(docs))
    assert "".join(seen) == "Marie Curie was a physicist. "


async def test_function_returning_a_coroutine_or_async_stream_is_checked(lexical, docs) -> None:
    class Model:  # a callable object with an async __call__ is not a coroutine function
        async def __call__(self, docs: list) -> str:
            return BAD

    chat = guarded(lexical, context="docs", policy="block")(Model())
    with pytest.raises(BlockedResponse):
        await chat(docs)

    async def stream() -> AsyncIterator[dict]:
        for t in tokens(BAD):
            yield {"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]}

    @guarded(lexical, context="docs", policy="block", release="sentence")
    async def achat(docs: list) -> AsyncIterator[dict]:
        return stream()  # as `await client.chat.completions.create(..., stream=True)` does

    seen = []
    with pytest.raises(BlockedResponse):
        async for chunk in await achat(docs):
            seen.append(chunk["choices"][0]["delta"]["content"])
    assert "".join(seen) == "Marie Curie was a physicist. "


def test_evidence_passed_through_keyword_arguments_is_found(lexical, docs) -> None:
    @guarded(lexical, context="docs", policy="block")
    def chat(question: str, **kwargs: object) -> str:
        return BAD

    with pytest.raises(BlockedResponse):
        chat("q", docs=docs)


def test_wrong_decorator_arguments_fail_when_decorating(lexical, docs) -> None:
    def chat(question: str, docs: list) -> str:
        return BAD

    with pytest.raises(ConfigError, match="'doc'"):
        guarded(lexical, context="doc")(chat)  # a typo would turn every check off (fail open)
    with pytest.raises(ConfigError, match="'q'"):
        guarded(lexical, context="docs", question="q")(chat)
    with pytest.raises(TypeError, match="argument name or a callable"):
        guarded(lexical, context=docs)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"@guarded\(\)"):
        guarded(chat)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="release"):
        guarded(lexical, release="sentences")  # type: ignore[arg-type]


def test_redact_on_a_token_stream_is_a_config_error(lexical, docs) -> None:
    # release="token" sends text before it is checked: nothing could ever be redacted.
    with pytest.raises(ConfigError, match="release='sentence'"):

        @guarded(lexical, context="docs", policy="redact", release="token")
        def chat(docs: list) -> Iterator[str]:
            yield from tokens(BAD)

    @guarded(lexical, context="docs", policy="redact")  # under redact, streams release by sentence
    def ok(docs: list) -> Iterator[str]:
        yield from tokens(BAD)

    assert "".join(ok(docs)) == "Marie Curie was a physicist. "


def test_a_returned_stream_that_cannot_be_checked_is_closed_before_the_error(lexical, docs) -> None:
    closed = []

    def source() -> Iterator[str]:
        try:
            yield from tokens(BAD)
        finally:
            closed.append(True)

    @guarded(lexical, context="docs", policy="redact", release="token")  # on a returned stream
    def chat(docs: list) -> Iterator[str]:
        stream = source()
        next(stream)  # started, as an HTTP response would be
        return stream

    with pytest.raises(ConfigError, match="release='sentence'"):
        chat(docs)
    assert closed == [True]


async def test_a_returned_async_stream_that_cannot_be_checked_is_closed_before_the_error(lexical, docs) -> None:
    closed = []

    async def source() -> AsyncIterator[str]:
        try:
            for t in tokens(BAD):
                yield t
        finally:
            closed.append(True)

    @guarded(lexical, context="docs", policy="redact", release="token")
    async def chat(docs: list) -> AsyncIterator[str]:
        stream = source()
        await stream.__anext__()
        return stream

    with pytest.raises(ConfigError, match="release='sentence'"):
        await chat(docs)
    assert closed == [True]
