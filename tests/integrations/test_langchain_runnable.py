"""GuardrailRunnable in LCEL chains: types in = types out, RAG evidence, block, batch, streaming, faults."""

from __future__ import annotations

import pytest
from _integration_helpers import BAD, DOCS, GOOD
from guardrail.integrations.langchain import GuardrailRunnable, LangChainRetriever, get_report
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from guardrail import BlockedResponse, ConfigError, EvidenceError, Guardrail, InputError, Settings

PROMPT = ChatPromptTemplate.from_messages([("system", "Answer from: {context}"), ("human", "{question}")])


def _model(*answers: str) -> FakeListChatModel:
    return FakeListChatModel(responses=list(answers))


def _retriever():
    store = InMemoryVectorStore(DeterministicFakeEmbedding(size=32))
    store.add_documents(DOCS)
    return store.as_retriever(search_kwargs={"k": 2})


def test_message_in_message_out_with_report(lexical) -> None:
    guard = GuardrailRunnable(lexical)
    chain = PROMPT | _model(GOOD) | guard
    out = chain.invoke({"context": "", "question": "Who?"})
    assert isinstance(out, AIMessage)
    # no evidence reached the guard: every claim is unsupported, nothing cited
    report = get_report(out)
    assert report is not None and len(report["flagged"]) == 2 and out.content == GOOD


def test_rag_dict_output_uses_context_key(lexical) -> None:
    retriever = _retriever()
    chain = (
        RunnablePassthrough.assign(context=lambda x: retriever.invoke(x["question"]))
        | RunnablePassthrough.assign(answer=PROMPT | _model(GOOD))
        | GuardrailRunnable(lexical)
    )
    out = chain.invoke({"question": "Who was Marie Curie?"})
    assert isinstance(out["answer"], AIMessage) and "[1]" in out["answer"].content
    assert out["guardrail"]["ok"] is True and out["question"] == "Who was Marie Curie?"
    assert get_report(out["answer"])["sources"][0]["id"] == "curie"


def test_wrap_picks_up_the_retriever_of_the_chain(lexical) -> None:
    rag = (
        {"context": _retriever(), "question": RunnablePassthrough()}
        | PROMPT
        | _model(GOOD)
        | StrOutputParser()
    )
    guarded = GuardrailRunnable(lexical).wrap(rag)
    out = guarded.invoke("Who was Marie Curie?")
    assert out == lexical.check(GOOD, context=DOCS).annotated


def test_block_raises_and_with_fallbacks_recovers(lexical) -> None:
    guard = GuardrailRunnable(lexical, policy="block")
    chain = (PROMPT | _model(BAD) | guard).with_fallbacks(
        [RunnableLambda(lambda _: AIMessage(content="I could not verify an answer."))],
        exceptions_to_handle=(BlockedResponse,),
    )
    out = chain.invoke({"context": "", "question": "q"})
    assert out.content == "I could not verify an answer."
    with pytest.raises(BlockedResponse) as info:
        guard.invoke({"answer": BAD, "context": DOCS})
    assert info.value.report.flagged[0].verdict == "contradicted"


def test_batch_is_one_pass_and_keeps_types(lexical) -> None:
    guard = GuardrailRunnable(lexical, policy="block")
    outs = guard.batch(
        [{"answer": GOOD, "context": DOCS}, {"answer": BAD, "context": DOCS}, "  "], return_exceptions=True
    )
    assert outs[0]["guardrail"]["ok"] is True
    assert isinstance(outs[1], BlockedResponse)
    assert outs[2] == "  "


def test_batch_emits_one_report_event_per_checked_input(lexical) -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    class Events(BaseCallbackHandler):
        def __init__(self) -> None:
            self.seen: list[bool] = []

        def on_custom_event(self, name, data, **kwargs) -> None:  # type: ignore[no-untyped-def]
            if name == "guardrail_report":
                self.seen.append(data["ok"])

    events = Events()
    GuardrailRunnable(lexical, policy="block").batch(
        [{"answer": GOOD, "context": DOCS}, {"answer": BAD, "context": DOCS}, "  "],
        {"callbacks": [events]}, return_exceptions=True)
    assert sorted(events.seen) == [False, True]  # the blocked answer's report too; nothing for "  "


async def test_ainvoke_and_abatch(lexical) -> None:
    guard = GuardrailRunnable(lexical)
    out = await guard.ainvoke(AIMessage(content=GOOD, id="a1"))
    assert out.id == "a1" and get_report(out)["policy"] == "annotate"
    outs = await guard.abatch([{"answer": GOOD, "context": DOCS}])
    assert outs[0]["guardrail"]["ok"] is True


def test_stream_through_the_guard(lexical) -> None:
    guard = GuardrailRunnable(lexical)
    chain = {"context": _retriever(), "question": RunnablePassthrough()} | PROMPT | _model(GOOD)
    chunks = list(guard.wrap(chain).stream("Who was Marie Curie?"))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    merged = chunks[0]
    for c in chunks[1:]:
        merged = merged + c
    assert merged.content == GOOD  # text unchanged by default
    assert get_report(merged)["ok"] is True


def test_stream_str_chunks_with_citations(lexical) -> None:
    guard = GuardrailRunnable(lexical, cite=True)
    chain = (
        {"context": _retriever(), "question": RunnablePassthrough()}
        | PROMPT
        | _model(GOOD)
        | StrOutputParser()
    )
    text = "".join(guard.wrap(chain).stream("Who?"))
    assert text == lexical.check(GOOD, context=DOCS).annotated


async def test_astream_dict_chunks_and_custom_event(lexical) -> None:
    chain = (
        RunnablePassthrough.assign(context=lambda _: DOCS)
        | RunnablePassthrough.assign(answer=PROMPT | _model(GOOD))
        | GuardrailRunnable(lexical)
    )
    chunks = [c async for c in chain.astream({"question": "Who?"})]
    final = [c for c in chunks if "guardrail" in c]
    assert final and final[-1]["guardrail"]["ok"] is True
    events = [
        e
        async for e in chain.astream_events({"question": "Who?"}, version="v2")
        if e["event"] == "on_custom_event"
    ]
    assert events and events[0]["name"] == "guardrail_report" and events[0]["data"]["ok"] is True


def test_block_stops_a_stream(lexical) -> None:
    guard = GuardrailRunnable(lexical, policy="block", release="sentence")
    chain = RunnablePassthrough.assign(context=lambda _: DOCS) | RunnablePassthrough.assign(
        answer=PROMPT | _model(BAD)
    )
    seen = []
    with pytest.raises(BlockedResponse):
        for chunk in (chain | guard).stream({"question": "q"}):
            seen.append(chunk)
    text = "".join(c["answer"].content for c in seen if "answer" in c)
    assert "Eiffel" not in text


def test_model_error_mid_stream_propagates_and_keeps_text(lexical) -> None:
    model = FakeListChatModel(responses=[GOOD], error_on_chunk_number=20)
    guard = GuardrailRunnable(lexical)
    seen = []
    with pytest.raises(Exception) as info:
        for chunk in (PROMPT | model | guard).stream({"context": "", "question": "q"}):
            seen.append(chunk.content)
    assert type(info.value).__name__ == "FakeListChatModelError"
    assert "".join(seen) == GOOD[:20]


def test_faults_open_and_closed(lexical) -> None:
    guard = GuardrailRunnable(lexical, policy="block")
    out = guard.invoke({"answer": BAD})  # no "context" key: fail open, answer unchanged
    assert out["answer"] == BAD and "context" in out["guardrail"]["errors"][0]
    tool_only = AIMessage(content="", tool_calls=[{"name": "t", "args": {}, "id": "1"}])
    assert guard.invoke(tool_only) is tool_only
    assert guard.invoke(42) == 42  # unsupported input, fail open

    closed = GuardrailRunnable(Guardrail(settings=Settings(fail="closed"), nli=lexical.nli))
    with pytest.raises(EvidenceError):
        closed.invoke({"answer": BAD})
    with pytest.raises(InputError):
        closed.invoke({"reply": BAD})

    failing = GenericFakeChatModel(messages=iter([]))  # raises StopIteration-based error when called
    with pytest.raises(Exception):  # noqa: B017 - the model's own error, untouched
        (PROMPT | failing | guard).invoke({"context": "", "question": "q"})


def test_langchain_retriever_as_guardrail_retriever(lexical) -> None:
    g = Guardrail(retrievers=[LangChainRetriever(_retriever())], nli=lexical.nli)
    report = GuardrailRunnable(g).invoke(AIMessage(content=GOOD))
    assert get_report(report)["ok"] is True


def test_real_verifier_chain(guard) -> None:
    chain = {"context": _retriever(), "question": RunnablePassthrough()} | PROMPT | _model(GOOD)
    out = GuardrailRunnable(guard).wrap(chain).invoke("Who was Marie Curie?")
    report = get_report(out)
    assert isinstance(out, AIMessage) and len(report["claims"]) == 2 and not report["errors"]
    assert {d.metadata["id"] for d in DOCS} >= {
        e["passage"]["id"] for c in report["claims"] for e in c["evidence"]
    }
    assert isinstance(Document(page_content="x"), Document)


def _closed(lexical: Guardrail, **settings: object) -> Guardrail:
    return Guardrail(settings=Settings(fail="closed", **settings), nli=lexical.nli)


async def test_batch_gives_each_bad_input_its_own_exception(lexical) -> None:
    guard = GuardrailRunnable(_closed(lexical))
    annotated = lexical.check(GOOD, context=[]).annotated
    outs_sync = guard.batch([GOOD, 12345], return_exceptions=True)
    outs_async = await guard.abatch([GOOD, 12345], return_exceptions=True)
    for outs in (outs_sync, outs_async):
        assert outs[0] == annotated and isinstance(outs[1], InputError)
    # LangChain's convention without return_exceptions: the first error is raised
    with pytest.raises(InputError, match="int"):
        guard.batch([GOOD, 12345])
    with pytest.raises(EvidenceError):
        await guard.abatch([{"answer": GOOD, "context": DOCS}, {"answer": BAD}])


def test_batch_isolates_an_answer_that_fails_the_whole_verifier_pass(lexical) -> None:
    # An over-long answer makes check_many raise for the batch: the others still get their outcome.
    guard = GuardrailRunnable(_closed(lexical, max_answer_chars=100), policy="block")
    long = "Marie Curie was a physicist. " * 5
    good, bad = {"answer": GOOD, "context": DOCS}, {"answer": BAD, "context": DOCS}
    outs = guard.batch([good, {"answer": long, "context": DOCS}, bad], return_exceptions=True)
    assert outs[0]["guardrail"]["ok"] is True and outs[0]["answer"].startswith("Marie Curie was a physicist [1].")
    assert isinstance(outs[1], InputError) and isinstance(outs[2], BlockedResponse)


def test_tool_call_only_stream_passes_through_without_a_report(lexical) -> None:
    guard = GuardrailRunnable(lexical)
    chunks = [
        AIMessageChunk(
            content="", id="t", tool_call_chunks=[{"name": "search", "args": "", "id": "c1", "index": 0}]
        ),
        AIMessageChunk(content="", id="t", tool_call_chunks=[{"args": '{"q": "x"}', "index": 0}]),
    ]
    out = list(guard.transform(iter(chunks)))
    assert out == chunks and all(get_report(c) is None for c in out)
    merged = out[0] + out[1]
    assert merged.tool_calls[0]["args"] == {"q": "x"}
    assert guard.invoke(merged) is merged  # invoke agrees: no check, no report


def test_dict_answer_of_unknown_type_is_a_fault_not_a_silent_pass(lexical) -> None:
    # Like a bare value of an unknown type: open lets it through with the error, closed raises.
    value = {"answer": [AIMessage(content=BAD)], "context": DOCS}
    out = GuardrailRunnable(lexical).invoke(value)
    assert out["answer"] == value["answer"] and "list" in out["guardrail"]["errors"][0]
    closed = GuardrailRunnable(_closed(lexical))
    with pytest.raises(InputError, match="'answer' value, a list"):
        closed.invoke(value)
    assert isinstance(closed.batch([value], return_exceptions=True)[0], InputError)


def test_evidence_of_other_shapes(lexical) -> None:
    # bytes are one text (as Guardrail.check reads them), not a list of ints
    out = GuardrailRunnable(lexical).invoke({"answer": GOOD, "context": DOCS[0].page_content.encode()})
    assert out["guardrail"]["ok"] is True
    # a number is no document: an error naming what works, not a check against "42"; the answer
    # goes on unchanged under fail="open"
    out = GuardrailRunnable(lexical).invoke({"answer": GOOD, "context": 42})
    assert out["answer"] == GOOD and "cannot use int as evidence" in out["guardrail"]["errors"][0]
    with pytest.raises(InputError, match="cannot use int as evidence"):
        GuardrailRunnable(_closed(lexical)).invoke({"answer": GOOD, "context": 42})


def _dict_chunks(*context: object) -> list[dict]:
    """A RunnableParallel stream whose answer branch is faster than its retriever branch."""
    answer = [AIMessageChunk(content=t, id="m") for t in ("Marie Curie was a physicist. ", "She won ", "the Nobel")]
    answer.append(AIMessageChunk(content=" Prize in Physics in 1903.", id="m"))
    return [{"question": "Who?"}, *({"answer": a} for a in answer), *({"context": c} for c in context)]


def test_dict_stream_answer_waits_for_context_from_a_slower_branch(lexical) -> None:
    guard = GuardrailRunnable(lexical)
    chunks = list(guard.transform(iter(_dict_chunks(DOCS))))
    assert "context" in chunks[1]  # the context went on first, then the answer that waited for it
    report = chunks[-1]["guardrail"]
    assert report["ok"] is True and not report["errors"]
    merged = chunks[0]
    for c in chunks[1:]:
        merged = {**merged, **{k: merged[k] + v if k == "answer" and k in merged else v for k, v in c.items()}}
    assert merged["answer"].content == GOOD
    # never arriving is still the fault it was, reported once the stream ends
    unchecked = list(guard.transform(iter(_dict_chunks())))
    assert "no 'context' key" in unchecked[-1]["guardrail"]["errors"][0]


async def test_astream_answer_waits_for_context_in_runnable_parallel(lexical) -> None:
    import asyncio

    from langchain_core.runnables import RunnableParallel

    async def slow_docs(_: object) -> list[Document]:
        await asyncio.sleep(0.2)  # the model branch streams its whole answer meanwhile
        return list(DOCS)

    chain = RunnableParallel(
        answer=PROMPT | _model(GOOD), context=RunnableLambda(slow_docs), question=RunnablePassthrough()
    ) | GuardrailRunnable(lexical)
    chunks = [c async for c in chain.astream({"context": "", "question": "Who?"})]
    report = [c for c in chunks if "guardrail" in c][-1]["guardrail"]
    assert report["ok"] is True and not report["errors"]
    assert (await chain.ainvoke({"context": "", "question": "Who?"}))["guardrail"]["ok"] is True


def test_guard_stream_takes_evidence_as_documents_too(lexical) -> None:
    guard = GuardrailRunnable(lexical)
    chunks = [AIMessageChunk(content=t, id="m") for t in ("Marie Curie was a physicist. ", "She won the Nobel ")]
    chunks.append(AIMessageChunk(content="Prize in Physics in 1903.", id="m"))
    out = list(guard.guard_stream(iter(chunks), evidence=DOCS))
    assert get_report(out[-1])["ok"] is True


async def test_aguard_stream_closed_early_ends_its_checks_and_reports(lexical, monkeypatch) -> None:
    emitted = []

    async def emit(report, config):  # what the guardrail_report event would carry
        emitted.append(report)

    monkeypatch.setattr("guardrail.integrations.langchain.runnable._aemit", emit)

    closed = []

    async def chunks():
        try:
            for t in ("Marie Curie was a physicist. ", "She won the Nobel ", "Prize in Physics in 1903."):
                yield AIMessageChunk(content=t, id="m")
        finally:
            closed.append(True)  # the model's stream (an HTTP response) is closed at once, not at GC

    stream = GuardrailRunnable(lexical).aguard_stream(chunks(), evidence=DOCS)
    await stream.__anext__()
    await stream.aclose()
    assert len(emitted) == 1 and "stream closed before the end" in emitted[0].errors and closed == [True]


def test_wrapped_chain_keeps_its_input_schema(lexical) -> None:
    chain = PROMPT | _model(GOOD)
    guarded = GuardrailRunnable(lexical).wrap(chain)
    assert guarded.get_input_jsonschema()["properties"] == chain.get_input_jsonschema()["properties"]
    assert guarded.InputType == chain.InputType


def test_dict_stream_waits_a_bounded_time_and_not_for_a_guardrail_with_retrievers(lexical) -> None:
    chunks = [{"answer": AIMessageChunk(content=t, id="m")} for t in ("Marie Curie was a physicist. ",) * 300]
    state_out = list(GuardrailRunnable(lexical).guard_stream(iter(chunks)))
    assert len(state_out) >= 300  # held at most 256, then streamed on (unchecked: no context came)
    g = Guardrail(retrievers=[LangChainRetriever(_retriever())], nli=lexical.nli)
    out = list(GuardrailRunnable(g).guard_stream(iter(_dict_chunks()[1:])))
    report = get_report(out[-1]["answer"]) if "answer" in out[-1] else out[-1]["guardrail"]
    assert report["ok"] is True and not report["errors"]  # the retrievers' evidence, no fault


def test_a_chunk_with_context_and_answer_goes_out_after_the_held_answer(lexical) -> None:
    first = {"answer": AIMessageChunk(content="Marie Curie was a physicist. ", id="m")}
    both = {"context": DOCS, "answer": AIMessageChunk(content="She won the Nobel Prize in Physics in 1903.", id="m")}
    out = list(GuardrailRunnable(lexical).guard_stream(iter([first, both])))
    texts = [c["answer"].content for c in out if "answer" in c and c["answer"].content]
    assert "".join(texts).startswith("Marie Curie was a physicist. She won")


def test_redact_streams_sentence_by_sentence_so_it_can_redact(lexical) -> None:
    guard = GuardrailRunnable(lexical, policy="redact")
    assert guard.release == "sentence"
    chain = {"context": _retriever(), "question": RunnablePassthrough()} | PROMPT | _model(BAD)
    text = "".join(c.content for c in guard.wrap(chain).stream("Who was Marie Curie?"))
    assert "Eiffel" not in text and text.startswith("Marie Curie was a physicist.")
    with pytest.raises(ConfigError, match="release='sentence'"):
        GuardrailRunnable(lexical, policy="redact", release="token")
