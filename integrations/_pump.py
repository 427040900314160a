"""Stream adapters: feed a stream of arbitrary chunks (str, message chunks, OpenAI-style chunk
dicts and objects) through a :class:`~guardrail.integrations.streaming.StreamVerifier`.

Shared by ``guard_stream``, the decorator and the LangChain runnable; each passes how to read a
chunk's text (``get_text``), put text back into one (``rewrap``) and close the stream (``tail``).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from guardrail import BlockedResponse, Report

if TYPE_CHECKING:
    from .streaming import StreamVerifier

__all__ = ["aclose_source", "apump", "pump"]


def pump(
    chunks: Iterable[Any],
    make: Callable[[], StreamVerifier],
    *,
    get_text: Callable[[Any], str | None],
    rewrap: Callable[[Any, str], Any],
    tail: Callable[[str, Report], Any],
    on_report: Callable[[Report], None] | None,
    is_end: Callable[[Any], bool] | None = None,
) -> Iterator[Any]:
    """Feed a stream of arbitrary chunks through a StreamVerifier (made at the first text).

    ``is_end`` marks the chunk that ends the stream (an OpenAI ``finish_reason``): it and every
    chunk after it are held back and go out last, after the closing text (``tail``), because
    clients stop reading at that marker.  Such a chunk's own text goes out with the closing
    text, and the chunk itself with its text removed.  Chunks without text (``get_text`` None
    or empty) pass through untouched, and a stream with no text at all is never checked.
    """
    sv: StreamVerifier | None = None
    it = iter(chunks)
    finished = exhausted = False
    held: list[Any] = []  # the end marker and what follows it
    carried = ""  # text of held chunks that the verifier has released
    try:
        while True:
            try:
                chunk = next(it)
            except StopIteration:
                exhausted = True
                break
            except Exception as exc:  # the source broke mid-stream: keep what was said, re-raise
                # Held end markers are dropped: a finish_reason just before the error would
                # tell a client that stops reading there that the answer ended normally.
                if sv is not None:
                    sv.abort(f"stream interrupted: {type(exc).__name__}: {exc}")
                    if on_report:
                        on_report(sv.report)
                finished = True
                raise
            text = get_text(chunk)
            if held or (is_end is not None and is_end(chunk)):
                if text:
                    if sv is None:
                        sv = make()
                    carried += sv.feed(text)
                    chunk = rewrap(chunk, "")
                if chunk is not None:
                    held.append(chunk)
                continue
            if not text:
                yield chunk
                continue
            if sv is None:
                sv = make()
            out = sv.feed(text)
            if sv.passthrough or out == text:
                yield chunk
            else:
                wrapped = rewrap(chunk, out)
                if wrapped is not None:
                    yield wrapped
        if sv is None:
            finished = True
            for chunk in held:
                yield chunk
            return
        rest = carried + sv.close()
        finished = True
        if on_report:
            on_report(sv.report)
        last = tail(rest, sv.report)
        if last is not None:
            yield last
        for chunk in held:
            yield chunk
    except BlockedResponse as exc:
        # The held end marker is dropped: the stream did not end normally.
        finished = True
        if on_report:
            on_report(exc.report)
        unsent = carried + (sv.unsent if sv is not None else "")
        if unsent:
            yield tail(unsent, exc.report)
        raise
    finally:
        # the consumer left early (break, close(), aclose()) or a check failed: on_report still
        # gets the partial report, and the source (a model's stream) is closed now, not at GC
        if sv is not None and not finished:
            report = sv.abort("stream closed before the end")
            if on_report:
                on_report(report)
        close = getattr(chunks, "close", None)
        if not exhausted and callable(close):  # a source read to its end (a file, stdin) stays open
            close()


async def apump(
    chunks: AsyncIterable[Any],
    make: Callable[[], StreamVerifier],
    *,
    get_text: Callable[[Any], str | None],
    rewrap: Callable[[Any, str], Any],
    tail: Callable[[str, Report], Any],
    on_report: Callable[[Report], None] | None,
    is_end: Callable[[Any], bool] | None = None,
) -> AsyncIterator[Any]:
    """Async twin of :func:`pump`."""
    sv: StreamVerifier | None = None
    it = chunks.__aiter__()
    finished = exhausted = False
    held: list[Any] = []
    carried = ""
    try:
        while True:
            try:
                chunk = await it.__anext__()
            except StopAsyncIteration:
                exhausted = True
                break
            except Exception as exc:
                if sv is not None:
                    sv.abort(f"stream interrupted: {type(exc).__name__}: {exc}")
                    if on_report:
                        on_report(sv.report)
                finished = True
                raise
            text = get_text(chunk)
            if held or (is_end is not None and is_end(chunk)):
                if text:
                    if sv is None:
                        sv = make()
                    carried += await sv.afeed(text)
                    chunk = rewrap(chunk, "")
                if chunk is not None:
                    held.append(chunk)
                continue
            if not text:
                yield chunk
                continue
            if sv is None:
                sv = make()
            out = await sv.afeed(text)
            if sv.passthrough or out == text:
                yield chunk
            else:
                wrapped = rewrap(chunk, out)
                if wrapped is not None:
                    yield wrapped
        if sv is None:
            finished = True
            for chunk in held:
                yield chunk
            return
        rest = carried + await sv.aclose()
        finished = True
        if on_report:
            on_report(sv.report)
        last = tail(rest, sv.report)
        if last is not None:
            yield last
        for chunk in held:
            yield chunk
    except BlockedResponse as exc:
        # The held end marker is dropped: the stream did not end normally.
        finished = True
        if on_report:
            on_report(exc.report)
        unsent = carried + (sv.unsent if sv is not None else "")
        if unsent:
            yield tail(unsent, exc.report)
        raise
    finally:
        if sv is not None and not finished:
            report = sv.abort("stream closed before the end")
            if on_report:
                on_report(report)
        if not exhausted:
            await aclose_source(chunks)


async def aclose_source(source: Any) -> None:
    """Close what a stream came from now, not at garbage collection (an open HTTP response, the
    producer's ``finally``): async generators have ``aclose()``, OpenAI's AsyncStream an async
    ``close()``."""
    close = getattr(source, "aclose", None) or getattr(source, "close", None)
    if callable(close):
        result = close()
        if inspect.isawaitable(result):
            await result
