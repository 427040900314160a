"""Verify an answer while it streams.

Each sentence is checked as soon as it is complete (the next one has begun), in the
background, so the text keeps flowing: with the default ``release="token"`` every chunk goes
out unchanged the moment it arrives, and what remains after the last token is the check of
the last sentence.  Options:

``cite=True``         ``[n]`` markers are inserted at sentence ends (before the final
                      punctuation, as ``Report.annotated`` does) and a Sources list closes the
                      stream; the text after a sentence waits until that sentence is checked.
``release="sentence"`` a sentence is released only once checked, so under ``block`` a bad
                      sentence never reaches the user and under ``redact`` it is removed
                      (under ``redact`` the default; ``"token"`` there is a ConfigError).
``policy="block"``    a flagged claim stops the stream with ``BlockedResponse`` (its ``report``
                      covers the text so far).  With ``release="token"`` the flagged sentence
                      has already gone out (with ``cite=True``, all but its final punctuation);
                      only ``release="sentence"`` keeps it from the user.

>>> for piece in guard_stream(model_tokens, guardrail, context=docs):
...     print(piece, end="")
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Literal

from guardrail import (
    BlockedResponse,
    ClaimResult,
    ConfigError,
    Guardrail,
    Passage,
    Report,
    RuleBasedExtractor,
    as_passages,
)

from ._common import (
    POLICY_NAMES,
    ScopedExtractor,
    arun_check,
    derive,
    passthrough,
    policy_name,
    resolve,
    run_check,
)
from ._pump import apump, pump

__all__ = ["StreamVerifier", "aguard_stream", "guard_stream"]

Release = Literal["token", "sentence"]
REDACT_NEEDS_SENTENCES = (
    "policy='redact' on a stream needs release='sentence' (its default): with release='token' every "
    "chunk goes out before it is checked, so nothing could be removed"
)

_TERMINAL = re.compile(r"[.!?…。\n]")
# What may turn out to be a sentence end: held back under cite=True until it is known.
_HOLD = re.compile(r"[.!?;:,…)\]\"'”’»\s]*$")
_TRAILING = re.compile(r"[.!?;:,]+$")


@dataclass
class _Range:
    """A run of complete sentences checked together: ``text[start:end]``."""

    start: int
    end: int
    sentences: list[tuple[int, int]]
    job: Any = None  # Future / asyncio.Task returning a Report
    results: list[ClaimResult] | None = None  # set once merged


def _marker_pos(text: str, end: int) -> int:
    m = _TRAILING.search(text[:end])
    return m.start() if m else end


class StreamVerifier:
    """Incremental checker behind :func:`guard_stream`; usable directly for custom stream loops.

    ``feed(delta)`` returns the text to emit now; ``close()`` checks what is left and returns
    the rest; ``report`` is the report of the whole answer after ``close``.  ``afeed``/``aclose``
    are the asyncio twins (checks run via ``Guardrail.acheck``).  ``background=False`` checks
    each sentence inline instead of on a worker thread.
    """

    def __init__(
        self,
        guardrail: Guardrail | None = None,
        *,
        context: Any = None,
        question: str | None = None,
        policy: Any = None,
        cite: bool = False,
        release: Release | None = None,
        background: bool = True,
        unchecked: str | None = None,
    ) -> None:
        if release not in (None, "token", "sentence"):
            raise ConfigError(f"release must be 'token' or 'sentence', got {release!r}")
        self.guardrail = resolve(guardrail, policy)
        self.policy = policy_name(self.guardrail)
        if self.policy == "redact" and release == "token":  # text already sent cannot be removed
            raise ConfigError(REDACT_NEEDS_SENTENCES)
        self.release: Release = release or ("sentence" if self.policy == "redact" else "token")
        self.cite, self.background = cite, background
        self.question = question
        self._passages: list[Passage] = as_passages(context)
        self._splitter = RuleBasedExtractor()
        self._text = ""
        self._done = 0  # text[:_done] is complete sentences, handed to checking
        self._prev_sentence = 0  # start of the last complete sentence: context for the next check
        self._ranges: list[_Range] = []
        self._merged = 0  # ranges[:_merged] have results
        self._emit_pos = 0  # raw offset emitted so far
        self._released = 0  # release="sentence": ranges emitted
        self._inserts: list[tuple[int, str]] = []  # cite=True: markers still to emit, in order
        self._results: list[ClaimResult] = []
        self._sources: list[Passage] = []
        self._source_index: dict[str, int] = {}
        self._citations: list[Any] = []
        self._errors: list[str] = []
        self._elapsed = 0.0
        self._executor: ThreadPoolExecutor | None = None
        self._lock: asyncio.Lock | None = None
        self._closed = False
        self._report: Report | None = None
        # A fault before the first token (evidence missing, fail-open): pass the text through unchecked.
        self._unchecked = unchecked
        self._delivered: list[str] = []
        self.unsent = ""  # safe text still to emit when BlockedResponse is raised

    # -- public API -----------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The raw answer received so far (never altered)."""
        return self._text

    @property
    def passthrough(self) -> bool:
        """True when every chunk is emitted unchanged, as it arrives."""
        return self._unchecked is not None or (self.release == "token" and not self.cite)

    @property
    def report(self) -> Report:
        """The report of the answer: final after ``close``, partial before."""
        return self._report or self._build(final=False)

    def feed(self, delta: str) -> str:
        self._append(delta, asynchronous=False)
        self._merge_ready()
        return delta if self.passthrough else self._emit(self._limit())

    async def afeed(self, delta: str) -> str:
        self._append(delta, asynchronous=True)
        self._merge_ready()
        return delta if self.passthrough else self._emit(self._limit())

    def close(self) -> str:
        """Check the last sentence, wait for all checks and return the text still to emit."""
        if self._closed:
            return ""
        if self._unchecked is not None:
            return self._final_emit()
        self._finish_segmenting(asynchronous=False)
        try:
            for r in self._ranges[self._merged :]:
                if isinstance(r.job, Future):
                    r.job.exception()  # wait; errors surface in _merge_ready
            self._merge_ready()
        finally:
            self._shutdown()
        return self._final_emit()

    async def aclose(self) -> str:
        if self._closed:
            return ""
        if self._unchecked is not None:
            return self._final_emit()
        self._finish_segmenting(asynchronous=True)
        try:
            pending = [r.job for r in self._ranges[self._merged :] if isinstance(r.job, asyncio.Future)]
            if pending:
                await asyncio.wait(pending)
            self._merge_ready()
        finally:
            self._shutdown()
        return self._final_emit()

    def abort(self, reason: str) -> Report:
        """Stop checking (the stream failed or the consumer left); returns the partial report."""
        if not self._closed:
            self._errors.append(reason)
            for r in self._ranges[self._merged :]:
                if r.job is not None:
                    r.job.cancel()
            self._shutdown()
            self._report = self._build(final=False)
        return self.report

    # -- segmenting and checking ------------------------------------------------------------

    def _append(self, delta: str, *, asynchronous: bool) -> None:
        if self._closed:
            raise RuntimeError("the stream verifier is closed")
        if not delta:
            return
        self._text += delta
        if self._unchecked is not None:
            return
        tail = self._text[self._done :]
        # A sentence is known complete only once the next one has begun; skip the segmenter
        # until the unfinished tail holds something that can end a sentence.
        if not _TERMINAL.search(tail):
            return
        spans = self._splitter.sentences(tail)
        if len(spans) < 2:
            return
        boundary = self._done + spans[-1][0]
        sentences = [(self._done + s, self._done + e) for s, e in spans[:-1]]
        self._submit(_Range(self._done, boundary, sentences), asynchronous)

    def _finish_segmenting(self, *, asynchronous: bool) -> None:
        tail = self._text[self._done :]
        if tail.strip():
            spans = self._splitter.sentences(tail) or [(0, len(tail.rstrip()))]
            sentences = [(self._done + s, self._done + e) for s, e in spans]
            self._submit(_Range(self._done, len(self._text), sentences), asynchronous)
        elif tail:  # trailing whitespace: nothing to check, still to emit
            r = _Range(self._done, len(self._text), [], results=[])
            self._ranges.append(r)
            self._done = len(self._text)

    def _submit(self, r: _Range, asynchronous: bool) -> None:
        snapshot = self._text[: r.end]
        extractor = ScopedExtractor(self.guardrail.extractor, self._prev_sentence, r.start)
        # The sentence checks only gather verdicts; the stream's own policy decides afterwards.
        checker = derive(self.guardrail, policy="flag", extractor=extractor)
        self._prev_sentence = r.sentences[-1][0] if r.sentences else r.start
        self._done = r.end
        self._ranges.append(r)
        if asynchronous:
            if self._lock is None:
                self._lock = asyncio.Lock()
            r.job = asyncio.ensure_future(self._acheck(checker, snapshot, self._lock))
        elif self.background:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guardrail-stream")
            r.job = self._executor.submit(self._check, checker, snapshot)
        else:
            r.job = Future()
            try:
                r.job.set_result(self._check(checker, snapshot))
            except BaseException as exc:
                r.job.set_exception(exc)

    def _check(self, checker: Guardrail, snapshot: str) -> Report:
        # the integrations' fault rules: under fail="open" any error (an answer grown past
        # max_answer_chars, a custom extractor crashing) leaves the text unchecked, not lost
        return run_check(checker, snapshot, self._passages, self.question)

    async def _acheck(self, checker: Guardrail, snapshot: str, lock: asyncio.Lock) -> Report:
        async with lock:  # one check at a time, in order: the CPU is shared with the model
            return await arun_check(checker, snapshot, self._passages, self.question)

    def _merge_ready(self) -> None:
        """Fold finished checks into the running results, in order; raise on block or failure."""
        while self._merged < len(self._ranges):
            r = self._ranges[self._merged]
            if r.results is None:
                if r.job is None or not r.job.done():
                    return
                if r.job.cancelled():
                    return
                exc = r.job.exception()
                if exc is not None:
                    self.abort(f"check failed: {exc}")
                    raise exc
                self._absorb(r, r.job.result())
            self._maybe_block(r)
            self._merged += 1

    def _absorb(self, r: _Range, report: Report) -> None:
        results: list[ClaimResult] = []
        for c in report.claims:
            if c.claim.end <= r.start:  # the previous sentence, in view only to resolve pronouns
                continue
            if c.citation is not None:
                p = report.sources[c.citation - 1]
                n = self._source_index.get(p.id)
                if n is None:
                    self._sources.append(p)
                    n = self._source_index[p.id] = len(self._sources)
                c = replace(c, citation=n)
            results.append(c)
        r.results = results
        self._results.extend(results)
        self._citations.extend(x for x in report.citations if x.start >= r.start)
        self._errors.extend(e for e in report.errors if e not in self._errors)
        self._elapsed += report.elapsed_ms
        if self.cite:
            for s, e in r.sentences:
                numbers = sorted(
                    {
                        c.citation
                        for c in results
                        if c.citation is not None and _sentence_of(c, r.sentences) == (s, e)
                    }
                )
                if numbers:
                    self._inserts.append(
                        (_marker_pos(self._text, e), " " + "".join(f"[{n}]" for n in numbers))
                    )

    def _maybe_block(self, r: _Range) -> None:
        if self.policy != "block" or not r.results:
            return
        # After a fail-open fault nothing was verified: unsupported is not evidence of a problem.
        failed_open = bool(self._errors) and all(not c.evidence for c in r.results)
        bad = [c for c in r.results if c.verdict == "contradicted" or (c.flagged and not failed_open)]
        if bad:
            # What was checked and passed before this range still goes out (not the bad range).
            self.unsent = "" if self.passthrough else self._emit(self._limit())
            report = replace(self._build(final=False), output="")
            self.abort("blocked")
            self._report = report
            raise BlockedResponse(report)

    # -- emitting ---------------------------------------------------------------------------

    def _limit(self) -> int:
        """How far into the raw text may be emitted now."""
        if self.release == "sentence":
            limit = self._emit_pos
            for r in self._ranges[: self._merged]:
                limit = max(limit, r.end)
            return limit
        limit = len(self._text) - len(_HOLD.search(self._text[self._done :]).group())
        if self._merged < len(self._ranges):  # a complete sentence awaits its citation
            r = self._ranges[self._merged]
            first_end = r.sentences[0][1] if r.sentences else r.end
            limit = min(limit, _marker_pos(self._text, first_end))
        return max(limit, self._emit_pos)

    def _emit(self, limit: int) -> str:
        out: list[str] = []
        if self.release == "sentence":
            while self._released < self._merged:
                r = self._ranges[self._released]
                out.append(self._render_range(r))
                self._emit_pos = r.end
                self._released += 1
        else:
            pos = self._emit_pos
            while self._inserts and self._inserts[0][0] <= limit:
                at, marker = self._inserts.pop(0)
                out.append(self._text[pos:at] + marker)
                pos = at
            out.append(self._text[pos:limit])
            self._emit_pos = max(pos, limit)
        piece = "".join(out)
        self._delivered.append(piece)
        return piece

    def _render_range(self, r: _Range) -> str:
        drop = self.policy == "redact"
        return _render(self._text, r.start, r.end, r.sentences, r.results or [], cite=self.cite, drop=drop)

    def _final_emit(self) -> str:
        self._closed = True
        if self.passthrough:
            self._report = self._build(final=True)
            return ""
        piece = self._emit(len(self._text)) if self._ranges else ""
        if self._emit_pos < len(self._text):  # cancelled or unmerged work: never lose the answer
            piece += self._text[self._emit_pos :]
            self._delivered.append(self._text[self._emit_pos :])
            self._emit_pos = len(self._text)
        if self.cite and self._sources:
            piece += _sources_block(self._sources)
            self._delivered.append(_sources_block(self._sources))
        self._report = self._build(final=True)
        return piece

    # -- the report ---------------------------------------------------------------------------

    def _build(self, *, final: bool) -> Report:
        if self._unchecked is not None:
            return passthrough(self.guardrail, self._text, self._unchecked)
        claims = tuple(sorted(self._results, key=lambda c: (c.claim.start, c.claim.end)))
        ranges = [r for r in self._ranges if r.results is not None]
        annotated = "".join(
            _render(self._text, r.start, r.end, r.sentences, r.results or [], cite=True) for r in ranges
        )
        covered = ranges[-1].end if ranges else 0
        annotated += self._text[covered:]
        if self._sources:
            annotated += _sources_block(self._sources)
        report = Report(
            answer=self._text,
            claims=claims,
            sources=tuple(self._sources),
            annotated=annotated,
            output="",
            policy=self.policy,
            citations=tuple(self._citations),
            errors=tuple(self._errors),
            elapsed_ms=round(self._elapsed, 2),
        )
        # output is what the stream delivered: the text itself, or with citations / redactions.
        output = self._text if self.passthrough else "".join(self._delivered)
        if self.policy not in POLICY_NAMES and final:
            output = self.guardrail.policy.apply(report)
        return replace(report, output=output)

    def _shutdown(self) -> None:
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _sentence_of(c: ClaimResult, sentences: list[tuple[int, int]]) -> tuple[int, int] | None:
    # a claim begun in the previous range (the extractor joined two sentences) counts from here
    start = max(c.claim.start, sentences[0][0]) if sentences else c.claim.start
    for s, e in sentences:
        if s <= start < e:
            return (s, e)
    return sentences[-1] if sentences else None


def _sources_block(sources: list[Passage]) -> str:
    # Same layout as Report.annotated from Guardrail.check.
    lines = [
        f"[{i}] {p.label}" + (f" <{p.url}>" if p.url and p.url != p.label else "")
        for i, p in enumerate(sources, start=1)
    ]
    return "\n\nSources:\n" + "\n".join(lines)


def _render(
    text: str,
    start: int,
    end: int,
    sentences: list[tuple[int, int]],
    results: list[ClaimResult],
    *,
    cite: bool,
    drop: bool = False,
) -> str:
    """``text[start:end]`` with ``[n]`` before each sentence's final punctuation, flagged claims
    removed when ``drop``."""
    edits: list[tuple[int, int, str]] = []
    cuts: set[tuple[int, int]] = set()  # claims may share a span ("Both X and Y are Z"): cut it once
    if drop:
        for c in results:
            if c.flagged:
                e = c.claim.end
                while e < end and text[e] in " \t":
                    e += 1
                cuts.add((max(c.claim.start, start), e))  # text before start has gone out
        cuts = {s for s in cuts if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in cuts)}
        edits += [(s, e, "") for s, e in cuts]
    if cite:
        false_spans = {(c.claim.start, c.claim.end) for c in results if c.flagged}
        for s, e in sentences:
            numbers = sorted(
                {
                    c.citation
                    for c in results
                    if c.citation is not None
                    and not any(a <= c.claim.start and c.claim.end <= b for a, b in cuts)
                    and (c.claim.start, c.claim.end) not in false_spans  # "Both X and Y": one is false
                    and _sentence_of(c, sentences) == (s, e)
                }
            )
            if numbers:
                at = _marker_pos(text, e)
                edits.append((at, at, " " + "".join(f"[{n}]" for n in numbers)))
    out = text[start:end]
    for s, e, new in sorted(edits, key=lambda x: (x[0], x[1]), reverse=True):
        out = out[: s - start] + new + out[e - start :]
    if drop and edits:
        out = re.sub(r"[ \t]{2,}", " ", out)
        out = re.sub(r"[ \t]+([.,;:!?])", r"\1", out)
    return out


def _str_text(chunk: Any) -> str | None:
    return chunk if isinstance(chunk, str) else None


def guard_stream(
    chunks: Iterable[str],
    guardrail: Guardrail | None = None,
    *,
    context: Any = None,
    question: str | None = None,
    policy: Any = None,
    cite: bool = False,
    release: Release | None = None,
    on_report: Callable[[Report], None] | None = None,
) -> Iterator[str]:
    """Yield the text of ``chunks`` while checking it sentence by sentence (see module doc).

    ``on_report`` receives the final report (or the partial one when the source fails or the
    stream is blocked).  Non-string chunks pass through untouched.
    """

    def make() -> StreamVerifier:
        return StreamVerifier(
            guardrail, context=context, question=question, policy=policy, cite=cite, release=release
        )

    return pump(
        chunks,
        make,
        get_text=_str_text,
        rewrap=lambda _c, t: t or None,
        tail=lambda t, _r: t or None,
        on_report=on_report,
    )


def aguard_stream(
    chunks: AsyncIterable[str],
    guardrail: Guardrail | None = None,
    *,
    context: Any = None,
    question: str | None = None,
    policy: Any = None,
    cite: bool = False,
    release: Release | None = None,
    on_report: Callable[[Report], None] | None = None,
) -> AsyncIterator[str]:
    """Async twin of :func:`guard_stream`."""

    def make() -> StreamVerifier:
        return StreamVerifier(
            guardrail, context=context, question=question, policy=policy, cite=cite, release=release
        )

    return apump(
        chunks,
        make,
        get_text=_str_text,
        rewrap=lambda _c, t: t or None,
        tail=lambda t, _r: t or None,
        on_report=on_report,
    )
