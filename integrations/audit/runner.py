"""Run an audit: read the log, check what is not done yet, append results, write the reports.

The local engine holds one ``Guardrail`` (one model load) and feeds it batches through
``check_many``, so NLI runs batched across records.  ``--workers N`` keeps N batches in flight
on threads: the model releases the GIL while it computes, so claim extraction and evidence
ranking of one batch overlap the NLI of another.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

import guardrail
from guardrail import (
    ConfigError,
    EvidenceError,
    Guardrail,
    GuardrailError,
    InputError,
    Report,
    Settings,
    VerificationError,
)

from .checkpoint import AuditDir
from .formats import LINE_HEAD_CHARS, AuditRecord, FieldMap, RejectedLine, SkippedLine, parse_line
from .inputs import InputSource, open_input
from .results import error_result, skipped_result, verdict_result

__all__ = ["AuditOptions", "AuditOutcome", "build_guardrail", "check_records", "run_audit", "warm_up"]

Engine = Literal["local", "ray"]


@dataclass(frozen=True)
class AuditOptions:
    """Everything an audit run depends on.  Only ``identity()`` must match on ``--resume``."""

    input: str
    out: Path
    shape: str = "auto"
    fields: FieldMap = field(default_factory=FieldMap)
    limit: int | None = None
    sample: int | None = None
    seed: int = 0
    settings: Settings = field(default_factory=Settings)
    index: str | None = None
    web: str | None = None  # search provider, as ``guardrail check --web``: searxng, mediawiki, brave, ...
    web_url: str | None = None
    allow_hosts: tuple[str, ...] = ()
    engine: Engine = "local"
    workers: int = 1
    batch_size: int = 16
    ray_address: str | None = None
    resume: bool = False
    overwrite: bool = False
    html: bool = True
    html_max_records: int = 500
    progress: bool = True

    def identity(self, fingerprint: str) -> dict[str, Any]:
        # Engine, workers and batch size do not change a verdict, so a resume may switch them.
        return {
            "input": fingerprint,
            "shape": self.shape,
            "fields": self.fields.as_dict(),
            "limit": self.limit,
            "sample": self.sample,
            "seed": self.seed if self.sample else None,
            "settings": self.settings.model_dump(mode="json"),
            "index": self.index,
            "web": self._web_identity(),
        }

    def _web_identity(self) -> dict[str, Any] | bool:
        # False without web search, as checkpoints written before the provider options hold,
        # so that those audits stay resumable.
        if not self.web:
            return False
        return {"provider": self.web, "url": self.web_url, "allow_hosts": sorted(self.allow_hosts)}


@dataclass(frozen=True)
class AuditOutcome:
    out: Path
    selected: int  # input records in scope (after --sample/--limit)
    checked: int
    skipped: int
    errors: int
    rejected: int
    new: int  # records finished by this run (the rest were done before a resume)
    elapsed_s: float
    complete: bool
    summary: dict[str, Any] | None = None


Planned = tuple[str, Any]  # ("record", AuditRecord) | ("result", dict) | ("reject", dict)


def plan(source: InputSource, options: AuditOptions, done: set[int], selected: set[int] | None) -> Iterator[Planned]:
    """Parse the lines still to do: rejects and skips are final, records go to an engine."""
    for line_no, text in source.lines():
        if line_no in done or (selected is not None and line_no not in selected):
            continue
        try:
            yield "record", parse_line(line_no, text, options.shape, options.fields)
        except RejectedLine as exc:
            yield "reject", reject_row(line_no, exc.reason, text)
        except SkippedLine as exc:
            yield "result", skipped_result(line_no, exc.record_id, exc.shape, exc.reason)


def reject_row(line: int, reason: str, text: str) -> dict[str, Any]:
    """One line of rejects.jsonl; ``text`` is always the start of the input line."""
    return {"line": line, "reason": reason, "text": text[:LINE_HEAD_CHARS]}


def build_guardrail(
    settings: Settings | dict[str, Any],
    *,
    index: str | None = None,
    web: str | None = None,
    web_url: str | None = None,
    allow_hosts: Sequence[str] = (),
) -> Guardrail:
    """The checker an audit uses; also what each Ray actor builds once in its constructor.

    ``web``, ``web_url`` and ``allow_hosts`` mean what ``guardrail check``'s ``--web``,
    ``--web-url`` and ``--allow-host`` mean.  An index that cannot be opened is a
    ``ConfigError``: it is a bad option, not a failure of the audit.
    """
    if isinstance(settings, dict):
        settings = Settings.model_validate(settings)
    retrievers: list[Any] = []
    if index:
        retrievers.append(_load_index(index))
    if web:
        retrievers.append(_web_retriever(web, web_url, allow_hosts))
    return Guardrail(settings=settings, retrievers=retrievers)


def _load_index(path: str) -> Any:
    index_cls = getattr(guardrail, "EvidenceIndex", None)
    if index_cls is None:
        raise ConfigError("an index (--index) needs guardrail.EvidenceIndex, which this guardrail version lacks")
    try:
        return index_cls.load(path)
    except EvidenceError as exc:
        raise ConfigError(f"cannot use the evidence index (--index): {exc}") from exc


def _web_retriever(provider: str, url: str | None, allow_hosts: Sequence[str]) -> Any:
    if not isinstance(provider, str):  # web=True from before the provider was an option
        raise ConfigError("web search (--web) needs a provider name: searxng, mediawiki, brave, tavily or serper")
    web_cls = getattr(guardrail, "WebRetriever", None)
    if web_cls is None:
        raise ConfigError("web search (--web) needs guardrail.WebRetriever, which this guardrail version lacks")
    return web_cls.from_options(provider, url, list(allow_hosts))


def warm_up(guard: Guardrail) -> None:
    """Load the verifier now, on the calling thread, with one tiny prediction.

    A model that cannot load fails the run here, before any record, instead of failing every
    record.  (Threads loading it at once are safe: ``load_nli`` serialises them.)
    """
    try:
        guard.nli.predict([("Warm-up.", "Warm-up.")])
    except GuardrailError:
        raise
    except Exception as exc:  # the model's own errors: RuntimeError, OSError, ImportError ...
        raise VerificationError(f"verifier failed: {exc}") from exc


def check_records(guard: Guardrail, records: Sequence[AuditRecord]) -> tuple[list[dict], list[dict]]:
    """(results, rejects) for a batch.  One bad answer must not sink its batch: on an error the
    batch is retried one record at a time; bad input is rejected, a check failure is recorded.

    Any exception counts as a check failure, not only guardrail's: under ``fail="closed"`` the
    engine re-raises what a retriever or extractor raised, and one record's broken evidence
    source must not end an audit of millions.
    """
    if not records:
        return [], []
    try:
        reports = guard.check_many([r.check_item() for r in records])
        return [record_result(r, rep) for r, rep in zip(records, reports, strict=True)], []
    except Exception:
        pass  # one record's fault (bad input, or a failure under fail="closed"): isolate it below
    results, rejects = [], []
    for r in records:
        try:
            results.append(record_result(r, guard.check_many([r.check_item()])[0]))
        except InputError as exc:
            rejects.append(reject_row(r.line, f"cannot check: {exc}", r.line_head))
        except Exception as exc:  # kept as an error result, so resume does not loop on it
            results.append(error_result(r, f"{type(exc).__name__}: {exc}"))
    return results, rejects


def record_result(record: AuditRecord, report: Report) -> dict[str, Any]:
    """The audit fails closed whatever ``Settings.fail`` says: a report that carries errors
    (the check could not run in full) is an error, never a verdict.  Under ``fail="open"`` a
    failed verifier or retriever leaves claims unverified, which must not read as faithful."""
    if report.errors:
        return error_result(record, "; ".join(report.errors))
    return verdict_result(record, report)


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- rec/s" if speed is None else f"{speed:.1f} rec/s", style="progress.data.speed")


def make_progress(console: Console, enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TextColumn("{task.fields[flagged]} flagged"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


class Tally:
    """Counts for the progress line and the outcome."""

    def __init__(self) -> None:
        self.checked = self.skipped = self.errors = self.rejected = self.flagged = 0

    def add(self, results: Iterable[dict], rejects: Iterable[dict]) -> int:
        n = 0
        for r in results:
            n += 1
            status = r.get("status")
            self.checked += status == "checked"
            self.skipped += status == "skipped"
            self.errors += status == "error"
            self.flagged += bool(r.get("hallucinated"))
        for _ in rejects:
            n += 1
            self.rejected += 1
        return n


def run_audit(options: AuditOptions, *, guard: Guardrail | None = None, console: Console | None = None) -> AuditOutcome:
    """Audit ``options.input`` into ``options.out``; resumable, see ``checkpoint``.

    ``KeyboardInterrupt`` propagates after everything finished so far is written.
    """
    console = console or Console(stderr=True)
    started = time.perf_counter()
    # Evidence sources are opened before anything is written, so a bad --index or --web fails
    # like any bad option and leaves no audit behind that a rerun would have to --overwrite.
    # Ray actors build their own; the driver's copy only validates the options.
    guard = guard or build_guardrail(
        options.settings,
        index=options.index,
        web=options.web,
        web_url=options.web_url,
        allow_hosts=options.allow_hosts,
    )
    adir = AuditDir(options.out)
    if options.input == "-":  # stdin is spooled beside the results (same disk, cleaned up after)
        adir.make_root()
    source = open_input(options.input, spool_dir=options.out if options.input == "-" else None)
    tally = Tally()
    complete = False
    try:
        # An --out in use is refused before the input is read (a multi-GB log, a spooled
        # stdin); then the counting pass reads the whole input before anything is written: an
        # unreadable input (a truncated gzip) is a usage error, not an audit to --overwrite.
        adir.check_usable(resume=options.resume, overwrite=options.overwrite)
        selected = source.select(limit=options.limit, sample=options.sample, seed=options.seed)
        in_scope = selected if selected is not None else set(source.line_numbers())
        done = adir.open(options.identity(source.fingerprint), resume=options.resume, overwrite=options.overwrite)
        todo = len(in_scope - done)
        if done and options.progress:
            console.print(f"resuming: {len(done & in_scope)} of {len(in_scope)} records already done")
        with make_progress(console, options.progress) as progress:
            task = progress.add_task("auditing", total=todo, flagged=0)

            def write(results: list[dict], rejects: list[dict]) -> None:
                adir.append(results, rejects)
                progress.update(task, advance=tally.add(results, rejects), flagged=tally.flagged)

            work = plan(source, options, done, selected)
            if options.engine == "ray":
                from .ray_engine import run_ray

                run_ray(work, options, write, console=console, expected=todo)
            else:
                _run_local(work, options, write, guard)
        complete = True
    finally:
        adir.close(complete=complete)
        source.cleanup()
    summary = None
    if complete:
        from .html import render_html
        from .summary import summarize

        meta = {
            "input": options.input,
            "engine": options.engine,
            "workers": options.workers,
            "settings": options.settings.model_dump(mode="json"),
            "in_scope": len(in_scope),
        }
        summary = summarize(adir, meta)
        if options.html:
            render_html(adir, summary, max_records=options.html_max_records)
    return AuditOutcome(
        out=options.out,
        selected=len(in_scope),
        checked=tally.checked,
        skipped=tally.skipped,
        errors=tally.errors,
        rejected=tally.rejected,
        new=tally.checked + tally.skipped + tally.errors + tally.rejected,
        elapsed_s=round(time.perf_counter() - started, 3),
        complete=complete,
        summary=summary,
    )


def _run_local(
    work: Iterable[Planned],
    options: AuditOptions,
    write: Callable[[list[dict], list[dict]], None],
    guard: Guardrail,
) -> None:
    batch: list[AuditRecord] = []
    workers = max(1, options.workers)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="audit") if workers > 1 else None
    in_flight: set[Future] = set()
    warmed = False

    def drain(block_until: int) -> None:
        while len(in_flight) > block_until:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for fut in finished:
                in_flight.discard(fut)
                write(*fut.result())

    def submit(records: list[AuditRecord]) -> None:
        nonlocal warmed
        if not warmed:  # on the first batch only: a resume with nothing left loads no model
            warm_up(guard)
            warmed = True
        if pool is None:
            write(*check_records(guard, records))
            return
        in_flight.add(pool.submit(check_records, guard, records))
        drain(workers)  # one batch queued behind the running ones keeps the model busy

    try:
        for kind, item in work:
            if kind == "record":
                batch.append(item)
                if len(batch) >= options.batch_size:
                    submit(batch)
                    batch = []
            elif kind == "result":
                write([item], [])
            else:
                write([], [item])
        if batch:
            submit(batch)
        drain(0)
    finally:
        if pool is not None:
            # On Ctrl-C: no new batches, but the ones running finish and are written.
            pool.shutdown(wait=True, cancel_futures=True)
            for fut in list(in_flight):
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    write(*fut.result())
