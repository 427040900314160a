"""``Guardrail``: check an answer against evidence and act on what is found.

One check runs extract -> gather evidence -> window and rank -> NLI (one batch for every
claim and citation of every answer in the call) -> decide -> cite -> apply the policy.
``check_many`` batches many answers through a single model pass, which is what audits use.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from guardrail.citations import find_citations, strip_markers
from guardrail.config import Settings
from guardrail.evidence import Selection, Window, as_passages, candidates, rank_windows, sentence_units, windows
from guardrail.exceptions import (
    BlockedResponse,
    ConfigError,
    EvidenceError,
    GuardrailError,
    InputError,
    VerificationError,
)
from guardrail.extract import RuleBasedExtractor
from guardrail.nli import EMBEDDED_VERIFIER, load_nli
from guardrail.policy import assign_citations, get_policy, render
from guardrail.protocols import ClaimExtractor, NLIModel, Policy, Retriever
from guardrail.questions import SHORT_ANSWER_WORDS
from guardrail.report import CitationCheck, Claim, ClaimResult, Passage, Report
from guardrail.verify import Calibration, Scored, decide, merge_chunks

_CLAIM_CHUNK_WORDS = 60  # a claim longer than the model window is verified in word chunks


@dataclass
class _Job:
    """One answer's state between the steps of a check."""

    answer: str
    question: str | None
    passages: list[Passage]
    claims: list[Claim] = field(default_factory=list)
    candidates: list[list[tuple[Window | Selection, float]]] = field(default_factory=list)
    citations: list[tuple[str, int, int, Passage | None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)


_ITEM_KEYS = frozenset({"answer", "context", "question"})


def _describe(item: object) -> str:
    if isinstance(item, Mapping):
        return f"keys {sorted(map(str, item))}"
    return f"{len(item)} items" if isinstance(item, (tuple, list)) else type(item).__name__


def _clean_answer(answer: Any, limit: int) -> str:
    if answer is None:
        return ""
    if isinstance(answer, (bytes, bytearray)):
        try:
            answer = bytes(answer).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"the answer is not valid UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not isinstance(answer, str):
        raise InputError(f"the answer must be text, got {type(answer).__name__}")
    if "\x00" in answer:
        raise InputError("the answer contains NUL bytes: it looks like binary data, not text")
    try:
        answer.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, e.g. from decoding with errors="surrogateescape"
        raise InputError(f"the answer is not valid Unicode text ({exc.reason} at character {exc.start})") from None
    if len(answer) > limit:
        raise InputError(f"the answer is {len(answer):,} characters, over the limit of {limit:,} "
                         "(Settings.max_answer_chars)")
    return answer


def _clean_question(question: Any) -> str | None:
    if question is None or isinstance(question, str):
        return question
    if isinstance(question, (bytes, bytearray)):  # read like the answer, which may be bytes too
        try:
            return bytes(question).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the question is bytes that are not UTF-8 text") from None
    raise InputError(f"the question must be text, got {type(question).__name__}")


def _checked_claims(claims: Any, answer: str, extractor: object) -> list[Claim]:
    """The extractor's claims, or ``VerificationError`` saying what is wrong with them: a claim
    whose offsets miss the answer would cite, redact and report the wrong text."""
    name = type(extractor).__name__
    if isinstance(claims, (str, bytes, Mapping)) or not isinstance(claims, Iterable):
        raise VerificationError(f"{name}.extract returned {type(claims).__name__}, not a list of Claim")
    out = list(claims)
    for c in out:
        if not isinstance(c, Claim):
            raise VerificationError(f"{name}.extract returned a {type(c).__name__} among its claims, not a Claim")
        if not isinstance(c.text, str) or not (0 <= c.start <= c.end <= len(answer)):
            raise VerificationError(f"{name}.extract returned {c!r}: its offsets are not a span of the "
                                    f"{len(answer)}-character answer")
    return out


def _checked_passages(found: Any, retriever: object) -> list[Passage]:
    """The retriever's passages, or ``EvidenceError``: a bare string has no id to cite."""
    name = type(retriever).__name__
    if isinstance(found, (str, bytes, Mapping)) or not isinstance(found, Iterable):
        raise EvidenceError(f"{name} returned {type(found).__name__}, not a list of Passage")
    out = list(found)
    bad = next((p for p in out if not isinstance(p, Passage)), None)
    if bad is not None:
        raise EvidenceError(f"{name} returned a {type(bad).__name__} among its passages, not a Passage "
                            "(guardrail.as_passages turns texts, dicts and Documents into passages)")
    return out


def _asserted(claim: Claim, answer: str, question: str | None) -> str | None:
    """The answer's own words when the claim restates a short answer with its question
    ("Paris" -> "The capital of France is Paris"): only those words are asserted."""
    if not question:
        return None
    own = answer[claim.start:claim.end].strip().rstrip(".!")
    text = claim.text.strip().rstrip(".!")
    if own and own != text and own in text and len(own.split()) <= SHORT_ANSWER_WORDS:
        return own
    return None


class Guardrail:
    """Checks LLM answers against evidence.

    >>> g = Guardrail()                       # embedded models, no network
    >>> report = g.check(answer, context=docs, question=q)
    >>> report.flagged, report.output

    ``policy`` is ``"annotate"`` (default), ``"flag"``, ``"redact"``, ``"block"`` or any object
    with ``apply(report) -> str`` (its ``name``, if it has one, goes in ``Report.policy``).
    ``retrievers`` add evidence beyond the ``context`` passed to each check (an
    ``EvidenceIndex``, a ``WebRetriever``, any ``Retriever``).  Keyword
    overrides (``fail="closed"``, ``support_threshold=0.6``) update ``settings``.
    """

    def __init__(self, *, policy: str | Policy = "annotate", settings: Settings | None = None,
                 extractor: ClaimExtractor | None = None, retrievers: Sequence[Retriever] = (),
                 nli: NLIModel | None = None, **overrides: Any) -> None:
        base = settings or Settings()
        # Guardrail(fail="maybe"), Guardrail(top_kk=3): Settings raises the one-line ConfigError
        self.settings = Settings(**{**base.model_dump(), **overrides}) if overrides else base
        self.policy = get_policy(policy)
        self._policy_name = str(getattr(self.policy, "name", type(self.policy).__name__))
        self.extractor: ClaimExtractor = extractor or RuleBasedExtractor()
        # a part without its method would otherwise fail open on every check, never at setup
        if not callable(getattr(self.extractor, "extract", None)):
            raise ConfigError(f"an extractor needs extract(text, *, question=None); "
                              f"{type(self.extractor).__name__} has not")
        if nli is not None and not callable(getattr(nli, "predict", None)):
            raise ConfigError(f"an NLI model needs predict(pairs); {type(nli).__name__} has not")
        self.retrievers = list(retrievers)
        for r in self.retrievers:
            if not callable(getattr(r, "retrieve", None)) or not callable(getattr(r, "aretrieve", None)):
                hint = (" (a LangChain retriever: wrap it in guardrail.integrations.langchain.LangChainRetriever)"
                        if callable(getattr(r, "invoke", None)) else "")
                raise ConfigError(f"a retriever needs retrieve(query, k) and aretrieve(query, k); "
                                  f"{type(r).__name__} has not{hint}")
        self._nli = nli
        self._calibration: Calibration | None = None

    @property
    def nli(self) -> NLIModel:
        """The verifier model, loaded on first use and shared by every Guardrail in the process."""
        if self._nli is None:
            self._nli = load_nli(self.settings.verifier_model, self.settings.device)
        return self._nli

    @property
    def calibration(self) -> Calibration:
        """The score combiner fitted for the verifier in use (its ``calibration.json``)."""
        if self._calibration is None:
            path = self.settings.verifier_model or EMBEDDED_VERIFIER
            self._calibration = Calibration.load(path)
        return self._calibration

    # -- public entry points -------------------------------------------------------------

    def check(self, answer: str | bytes, *, context: Iterable[Any] | None = None,
              question: str | bytes | None = None) -> Report:
        """Check one answer; under the ``block`` policy raises ``BlockedResponse``."""
        job = self._start(answer, context, question)
        self._gather_sync(job)
        return self._act(self._finish([job])[0])

    async def acheck(self, answer: str | bytes, *, context: Iterable[Any] | None = None,
                     question: str | bytes | None = None) -> Report:
        """Async twin of ``check``: retrievers run concurrently, the model in a worker thread."""
        job = self._start(answer, context, question, extract=False)
        aextract = getattr(self.extractor, "aextract", None)
        if job.answer.strip():  # as in check: a blank answer asserts nothing, no model call for it
            try:
                if aextract is not None:
                    claims = await aextract(job.answer, question=job.question)
                else:
                    claims = await asyncio.to_thread(self.extractor.extract, job.answer, question=job.question)
            except Exception as exc:
                claims = exc
            self._take_claims(job, claims)
        await self._gather_async(job)
        reports = await asyncio.to_thread(self._finish, [job])
        return self._act(reports[0])

    def check_many(self, items: Iterable[Mapping[str, Any]]) -> list[Report]:
        """Check many answers in one batched model pass.  Each item is a mapping with
        ``answer`` and optional ``context`` and ``question``.  Never raises BlockedResponse:
        a blocked answer's report has ``output == ""``."""
        jobs = []
        for n, item in enumerate(items):
            if not isinstance(item, Mapping) or not item.keys() <= _ITEM_KEYS or "answer" not in item:
                raise InputError(f"check_many item {n} must be a mapping with 'answer' and optional "
                                 f"'context' and 'question', got {_describe(item)}")
            job = self._start(item["answer"], item.get("context"), item.get("question"))
            self._gather_sync(job)
            jobs.append(job)
        out = []
        for report in self._finish(jobs):
            try:
                out.append(self._act(report))
            except BlockedResponse:
                out.append(replace(report, output=""))
        return out

    def verify(self, claim: str, *, context: Iterable[Any] | None = None) -> ClaimResult:
        """Verify one claim as a whole (no extraction) against the context and retrievers."""
        return self.verify_many([(claim, context)])[0]

    def verify_many(self, items: Iterable[tuple[str, Iterable[Any] | None]]) -> list[ClaimResult]:
        """Verify (claim, context) pairs in one batched model pass; claims are not split."""
        jobs = []
        for n, item in enumerate(items):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise InputError(f"verify_many item {n} must be a (claim, context) pair, got {_describe(item)}")
            claim, context = item
            if not isinstance(claim, (str, bytes, bytearray)):
                raise InputError(f"the claim must be text, got {type(claim).__name__}")
            text = _clean_answer(claim, self.settings.max_answer_chars)
            start = len(text) - len(text.lstrip())
            job = _Job(text, None, as_passages(context))
            job.claims = [Claim(text.strip(), start, start + len(text.strip()))] if text.strip() else []
            self._gather_sync(job)
            job.citations = []
            jobs.append(job)
        return [r.claims[0] if r.claims else ClaimResult(Claim("", 0, 0), "unsupported", 0.0, (),
                                                         ("empty claim",), verified=False)
                for r in self._finish(jobs)]

    # -- steps -----------------------------------------------------------------------------

    def _start(self, answer: Any, context: Iterable[Any] | None, question: str | bytes | None,
               extract: bool = True) -> _Job:
        job = _Job(_clean_answer(answer, self.settings.max_answer_chars), _clean_question(question),
                   as_passages(context))
        if extract and job.answer.strip():
            try:
                claims = self.extractor.extract(job.answer, question=job.question)
            except Exception as exc:  # e.g. an LLM extractor's API is down
                claims = exc
            self._take_claims(job, claims)
        return job

    def _take_claims(self, job: _Job, claims: Any) -> None:
        """The extractor's claims, or (it raised or answered junk) a failure handled per
        ``Settings.fail`` and the fallback extractor's claims."""
        if not isinstance(claims, Exception):
            try:
                job.claims = _checked_claims(claims, job.answer, self.extractor)
                return
            except VerificationError as exc:
                claims = exc
        self._component_failed(job, self.extractor, claims, VerificationError)
        fallback = getattr(self.extractor, "fallback", None)
        if isinstance(fallback, ClaimExtractor):  # the extractor's own, e.g. LLMClaimExtractor's rule-based one
            try:
                job.claims = _checked_claims(fallback.extract(job.answer, question=job.question), job.answer, fallback)
                return
            except Exception as exc:
                job.errors.append(f"{type(fallback).__name__} failed: {exc}")
        job.claims = RuleBasedExtractor().extract(job.answer, question=job.question)

    def _component_failed(self, job: _Job, component: object, exc: Exception,
                          wrap: type[GuardrailError]) -> None:
        """Fail closed (raise) or open (record and go on, the default rule-based extractor or
        the remaining evidence taking over), as ``Settings.fail`` says.  A custom part's own
        error (``TimeoutError``, ``KeyError``) is raised as ``wrap``, its cause kept, so that
        catching ``GuardrailError`` catches every failure, as the verifier's already is."""
        if self.settings.fail == "closed":
            if isinstance(exc, GuardrailError):
                raise exc
            raise wrap(f"{type(component).__name__} failed: {exc}") from exc
        job.errors.append(f"{type(component).__name__} failed: {exc}")

    def _gather_sync(self, job: _Job) -> None:
        extra: list[list[Passage]] = []
        for claim in job.claims[: self.settings.max_claims]:
            found: list[Passage] = []
            for r in self.retrievers:
                try:
                    found.extend(_checked_passages(r.retrieve(claim.text, self.settings.top_k), r))
                except Exception as exc:  # any retriever fault: fail open or closed, per settings
                    self._component_failed(job, r, exc, EvidenceError)
            extra.append(found)
        self._candidates(job, extra)

    async def _gather_async(self, job: _Job) -> None:
        async def one(r: Retriever, claim: Claim) -> list[Passage]:
            try:
                return _checked_passages(await r.aretrieve(claim.text, self.settings.top_k), r)
            except Exception as exc:
                self._component_failed(job, r, exc, EvidenceError)
                return []

        claims = job.claims[: self.settings.max_claims]
        results = await asyncio.gather(*(one(r, c) for c in claims for r in self.retrievers))
        n = len(self.retrievers)
        extra = [[p for chunk in results[i * n:(i + 1) * n] for p in chunk] for i in range(len(claims))]
        self._candidates(job, extra)

    def _candidates(self, job: _Job, extra: list[list[Passage]]) -> None:
        s = self.settings
        shared = [w for p in job.passages
                  for w in windows(p, sentences=s.window_sentences, stride=s.window_stride)]
        shared_units = [u for p in job.passages for u in sentence_units(p)]
        for i, claim in enumerate(job.claims[: s.max_claims]):
            retrieved = extra[i] if i < len(extra) else []
            own = [w for p in retrieved for w in windows(p, sentences=s.window_sentences, stride=s.window_stride)]
            units = shared_units + [u for p in retrieved for u in sentence_units(p)]
            job.candidates.append(candidates(claim.text, shared + own, units, top_k=s.top_k,
                                             sentences=s.window_sentences))
        if job.passages:
            sentences = RuleBasedExtractor().sentences(job.answer) if "[" in job.answer else []
            job.citations = find_citations(job.answer, sentences, job.passages) if sentences else []

    def _claim_chunks(self, text: str) -> list[str]:
        words = text.split()
        if len(words) <= _CLAIM_CHUNK_WORDS:
            return [text]
        step = _CLAIM_CHUNK_WORDS - 10
        return [" ".join(words[i:i + _CLAIM_CHUNK_WORDS]) for i in range(0, len(words) - 10, step)]

    def _finish(self, jobs: list[_Job]) -> list[Report]:
        pairs: list[tuple[str, str]] = []
        # (job, claim, window) -> indices of its chunk pairs in ``pairs``
        index: list[list[list[list[int]]]] = []
        cite_index: list[list[list[int]]] = []
        for job in jobs:
            per_claim = []
            for claim, cands in zip(job.claims, job.candidates):
                chunks = self._claim_chunks(claim.text)
                per_window = []
                for window, _ in cands:
                    per_window.append(list(range(len(pairs), len(pairs) + len(chunks))))
                    pairs.extend((window.premise, chunk) for chunk in chunks)
                per_claim.append(per_window)
            index.append(per_claim)
            per_cite = []
            for _, s, e, passage in job.citations:
                sentence = strip_markers(job.answer[s:e])
                if passage is None or not sentence:
                    per_cite.append([])
                    continue
                best = rank_windows(sentence, windows(passage), 2)
                per_cite.append(list(range(len(pairs), len(pairs) + len(best))))
                pairs.extend((w.premise, sentence) for w, _ in best)
            cite_index.append(per_cite)
        try:
            probs = np.asarray(self.nli.predict(pairs)) if pairs else np.zeros((0, 3), dtype=np.float32)
            if probs.shape != (len(pairs), 3):  # a custom model's wrong output is its failure, not an IndexError
                raise VerificationError(f"{type(self.nli).__name__}.predict returned shape {probs.shape} for "
                                        f"{len(pairs)} pairs; expected ({len(pairs)}, 3)")
        except Exception as exc:
            if self.settings.fail == "closed":
                raise exc if isinstance(exc, GuardrailError) else VerificationError(f"verifier failed: {exc}") from exc
            return [self._failed_open(job, f"verifier failed: {exc}") for job in jobs]
        return [self._report(job, probs, index[j], cite_index[j]) for j, job in enumerate(jobs)]

    def _report(self, job: _Job, probs: np.ndarray, per_claim: list[list[list[int]]],
                per_cite: list[list[int]]) -> Report:
        s = self.settings
        results: list[ClaimResult] = []
        for claim, cands, windows_idx in zip(job.claims, job.candidates, per_claim):
            scored = []
            for (window, relevance), idx in zip(cands, windows_idx):
                p = merge_chunks([probs[i] for i in idx])
                scored.append(Scored(window, relevance, float(p[0]), float(p[2])))
            results.append(decide(claim, scored, self.calibration, s.support_threshold,
                                  s.contradiction_threshold, _asserted(claim, job.answer, job.question),
                                  job.question, job.passages))
        over = f"not verified: the answer has over {s.max_claims} claim{'s' * (s.max_claims != 1)}"
        for claim in job.claims[s.max_claims:]:
            results.append(ClaimResult(claim, "unsupported", 0.0, (), (over,), verified=False))
        citations = tuple(
            CitationCheck(marker, start, end, passage.id if passage else None,
                          bool(idx) and float(max(probs[i][0] for i in idx)) >= s.support_threshold)
            for (marker, start, end, passage), idx in zip(job.citations, per_cite)
        )
        claims, sources = assign_citations(results)
        return Report(answer=job.answer, claims=tuple(claims), sources=tuple(sources),
                      annotated=render(job.answer, claims, sources), output="", policy=self._policy_name,
                      citations=citations, errors=tuple(job.errors),
                      elapsed_ms=round((time.perf_counter() - job.started) * 1000, 2))

    def _failed_open(self, job: _Job, error: str) -> Report:
        claims = tuple(ClaimResult(c, "unsupported", 0.0, (), ("not verified: " + error,), verified=False)
                       for c in job.claims)
        return Report(answer=job.answer, claims=claims, sources=(), annotated=job.answer,
                      output=job.answer, policy=self._policy_name, errors=(*job.errors, error),
                      elapsed_ms=round((time.perf_counter() - job.started) * 1000, 2))

    def _act(self, report: Report) -> Report:
        if report.output:  # already decided (failed open): the answer passes through unchanged
            return report
        output = self.policy.apply(report)
        if not isinstance(output, str):  # Report.output is the text to show: None would reach the user
            raise ConfigError(f"policy {self._policy_name!r} returned {type(output).__name__}, not the text to show")
        return replace(report, output=output)
