"""guard_stream / StreamVerifier: sentence-by-sentence checks while the text flows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from _integration_helpers import BAD, GOOD, tokens
from guardrail.integrations.streaming import StreamVerifier, aguard_stream, guard_stream

from guardrail import BlockedResponse, Claim, ConfigError, Guardrail, InputError, Settings, VerificationError


def test_token_mode_yields_chunks_unchanged_and_reports_every_sentence(lexical, docs) -> None:
    reports = []
    chunks = tokens(GOOD)
    out = list(guard_stream(iter(chunks), lexical, context=docs, on_report=reports.append))
    assert out == chunks  # same chunks, same boundaries
    (report,) = reports
    assert report.answer == GOOD and report.ok
    assert [c.claim.text for c in report.claims] == [
        "Marie Curie was a physicist.",
        "Marie Curie won the Nobel Prize in Physics in 1903.",
    ]  # "She" resolved
    assert GOOD[report.claims[1].claim.start : report.claims[1].claim.end].startswith("She won")


def test_cite_inserts_markers_like_the_engine_and_ends_with_sources(lexical, docs) -> None:
    reports = []
    out = "".join(
        guard_stream(iter(tokens(GOOD)), lexical, context=docs, cite=True, on_report=reports.append)
    )
    assert out == lexical.check(GOOD, context=docs).annotated
    assert out.startswith("Marie Curie was a physicist [1]. She won") and out.endswith(
        "<https://example.org/curie>"
    )
    assert reports[0].annotated == out and reports[0].output == out


def test_block_in_sentence_mode_never_releases_the_bad_sentence(lexical, docs) -> None:
    seen: list[str] = []
    with pytest.raises(BlockedResponse) as info:
        for piece in guard_stream(
            iter(tokens(BAD)), lexical, context=docs, policy="block", release="sentence"
        ):
            seen.append(piece)
    assert "".join(seen) == "Marie Curie was a physicist. "
    assert [c.verdict for c in info.value.report.flagged] == ["contradicted"]
    assert "Eiffel" in info.value.report.answer  # the original answer is kept in the report


def test_block_in_token_mode_stops_the_stream(lexical, docs) -> None:
    seen: list[str] = []
    with pytest.raises(BlockedResponse):
        for piece in guard_stream(
            iter(tokens(BAD + " Paris is nice.")), lexical, context=docs, policy="block"
        ):
            seen.append(piece)
    assert "".join(seen).startswith("Marie Curie was a physicist.")


def test_redact_in_sentence_mode_drops_flagged_sentences(lexical, docs) -> None:
    reports = []
    out = "".join(
        guard_stream(
            iter(tokens(BAD)),
            lexical,
            context=docs,
            policy="redact",
            release="sentence",
            on_report=reports.append,
        )
    )
    assert out.strip() == "Marie Curie was a physicist."
    assert reports[0].output == out and reports[0].answer == BAD
    assert reports[0].answer == BAD


def test_source_failing_midway_reraises_and_keeps_partial_report(lexical, docs) -> None:
    def broken() -> Iterator[str]:
        yield from tokens(GOOD)[:8]
        raise ConnectionError("socket closed")

    reports, seen = [], []
    with pytest.raises(ConnectionError):
        for piece in guard_stream(broken(), lexical, context=docs, on_report=reports.append):
            seen.append(piece)
    assert "".join(seen) == "".join(tokens(GOOD)[:8])
    assert reports[0].answer == "".join(tokens(GOOD)[:8])
    assert any("stream interrupted" in e for e in reports[0].errors)


def test_consumer_leaving_early_stops_checking(lexical, docs) -> None:
    gen = guard_stream(iter(tokens(GOOD)), lexical, context=docs)
    assert next(gen) == "Marie "
    gen.close()  # no error, no hang


def test_verifier_failure_fails_open_or_closed(failing, docs) -> None:
    reports = []
    out = "".join(
        guard_stream(iter(tokens(GOOD)), failing, context=docs, policy="block", on_report=reports.append)
    )
    assert out == GOOD and reports[0].errors and not reports[0].supported
    closed = Guardrail(settings=Settings(fail="closed"), nli=failing.nli)
    with pytest.raises(VerificationError):
        "".join(guard_stream(iter(tokens(GOOD)), closed, context=docs))


def test_verifier_inline_mode_and_empty_stream(lexical, docs) -> None:
    sv = StreamVerifier(lexical, context=docs, background=False, cite=True)
    emitted = "".join(sv.feed(t) for t in tokens(GOOD)) + sv.close()
    assert emitted == lexical.check(GOOD, context=docs).annotated
    assert list(guard_stream(iter([]), lexical, context=docs)) == []
    with pytest.raises(ConfigError, match="release must be 'token' or 'sentence', got 'word'"):
        StreamVerifier(lexical, release="word")  # type: ignore[arg-type]


async def test_async_stream_with_citations(lexical, docs) -> None:
    async def source() -> AsyncIterator[str]:
        for t in tokens(GOOD):
            yield t

    reports = []
    out = "".join(
        [p async for p in aguard_stream(source(), lexical, context=docs, cite=True, on_report=reports.append)]
    )
    assert out == lexical.check(GOOD, context=docs).annotated
    assert reports[0].ok


async def test_async_block(lexical, docs) -> None:
    async def source() -> AsyncIterator[str]:
        for t in tokens(BAD):
            yield t

    with pytest.raises(BlockedResponse):
        _ = [
            p
            async for p in aguard_stream(source(), lexical, context=docs, policy="block", release="sentence")
        ]


def test_real_verifier_stream_round_trip(guard, docs) -> None:
    reports = []
    out = "".join(guard_stream(iter(tokens(GOOD)), guard, context=docs, on_report=reports.append))
    assert out == GOOD
    assert len(reports[0].claims) == 2 and reports[0].answer == GOOD and not reports[0].errors


class _WholeText:
    """An extractor that makes the whole text one claim, as a model that joins sentences might."""

    def extract(self, text: str, *, question: str | None = None) -> list[Claim]:
        core = text.strip()
        return [Claim(core, text.find(core), text.find(core) + len(core))] if core else []


def test_a_claim_the_extractor_carries_over_from_the_previous_sentence_is_still_checked(lexical, docs) -> None:
    g = Guardrail(extractor=_WholeText(), nli=lexical.nli)
    text = "Marie Curie was a physicist. She won the Nobel Prize. She was born in Warsaw."
    verifier = StreamVerifier(g, context=docs, background=False)
    for chunk in tokens(text):
        verifier.feed(chunk)
    verifier.close()
    claims = verifier.report.claims
    # every sentence is inside a checked claim: none is dropped for starting one sentence early
    for sentence in ("She won the Nobel Prize.", "She was born in Warsaw."):
        start = text.index(sentence)
        assert any(c.claim.start <= start and c.claim.end >= start + len(sentence) for c in claims), sentence


async def test_a_consumer_leaving_early_still_gets_the_partial_report(lexical, docs) -> None:
    text = "Marie Curie was a physicist. She won the Nobel Prize. She was born in Warsaw."
    reports, closed = [], []

    def source() -> Iterator[str]:
        try:
            yield from tokens(text)
        finally:
            closed.append("sync")

    async def asource() -> AsyncIterator[str]:
        try:
            for t in tokens(text):
                yield t
        finally:
            closed.append("async")

    stream = guard_stream(source(), lexical, context=docs, on_report=reports.append)
    next(stream)
    stream.close()
    astream = aguard_stream(asource(), lexical, context=docs, on_report=reports.append)
    await astream.__anext__()
    await astream.aclose()
    assert len(reports) == 2
    assert all("stream closed before the end" in r.errors for r in reports)
    assert closed == ["sync", "async"]  # the sources (a model's stream) are closed at once



def test_an_answer_growing_past_the_limit_streams_on_unless_fail_closed(lexical, docs) -> None:
    text = "Marie Curie was a physicist. She won the Nobel Prize. She was born in Warsaw. " * 3
    small = Guardrail(settings=Settings(max_answer_chars=100), nli=lexical.nli)
    reports = []
    out = "".join(guard_stream(iter(tokens(text)), small, context=docs, on_report=reports.append))
    assert out == text and any("InputError" in e for e in reports[0].errors)
    closed = Guardrail(settings=Settings(max_answer_chars=100, fail="closed"), nli=lexical.nli)
    with pytest.raises(InputError, match="over the limit"):
        "".join(guard_stream(iter(tokens(text)), closed, context=docs))


class _Source:
    """An iterator with close(), like a file or an SDK stream."""

    def __init__(self, items: list[str]) -> None:
        self.items, self.closed = iter(items), False

    def __iter__(self) -> _Source:
        return self

    def __next__(self) -> str:
        return next(self.items)

    def close(self) -> None:
        self.closed = True


def test_a_source_read_to_its_end_stays_open_one_left_early_is_closed(lexical, docs) -> None:
    read = _Source(tokens(GOOD))
    assert "".join(guard_stream(read, lexical, context=docs)) == GOOD and not read.closed  # a file, stdin
    left = _Source(tokens(GOOD))
    stream = guard_stream(left, lexical, context=docs)
    next(stream)
    stream.close()
    assert left.closed  # the model's stream stops at once
