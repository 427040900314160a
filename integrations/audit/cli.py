"""``guardrail audit``: the command, registered into the core CLI through the entry-point group
``guardrail.commands`` (``audit = "guardrail.integrations.audit.cli:register"``).

Exit codes: 0 every line was audited; 3 some lines were rejected (see rejects.jsonl) or some
records could not be checked (``status: "error"`` in report.jsonl); 4 the hallucination rate is
above ``--fail-over``; 2 bad options (a missing or unreadable input, an unusable ``--index`` or
``--out``, an unknown ``--web`` provider) or an output directory that cannot be resumed; 1 the audit failed (the model
cannot load); 130 interrupted (everything finished so far is saved: rerun with ``--resume``).
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from guardrail import ConfigError, GuardrailError, Settings

from .checkpoint import AuditDir, ResumeError
from .formats import FieldMap

__all__ = ["EXIT_FAIL_OVER", "EXIT_INTERRUPTED", "EXIT_REJECTS", "audit", "register", "standalone_app"]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_REJECTS = 3  # also when records could not be checked (status "error")
EXIT_FAIL_OVER = 4
EXIT_INTERRUPTED = 130


class Shape(str, Enum):
    auto = "auto"
    openai = "openai"
    langsmith = "langsmith"
    generic = "generic"


class EngineName(str, Enum):
    local = "local"
    ray = "ray"


_INPUT = "Input"
_RUN = "Run"
_EVIDENCE = "Evidence and thresholds"
_CAL = "Calibration"
_OUT = "Output"


def audit(
    input: Annotated[
        str | None,
        typer.Argument(
            help="JSONL log file (plain or gzip), or - for stdin. Optional with --calibrate.",
            show_default=False,
        ),
    ] = None,
    shape: Annotated[
        Shape, typer.Option("--format", help="Log shape; auto detects it per line.", rich_help_panel=_INPUT)
    ] = Shape.auto,
    id_field: Annotated[str | None, typer.Option(help="Dotted path of the record id.", rich_help_panel=_INPUT)] = None,
    question_field: Annotated[
        str | None, typer.Option(help="Dotted path of the question.", rich_help_panel=_INPUT)
    ] = None,
    answer_field: Annotated[
        str | None,
        typer.Option(
            help="Dotted path of the answer, e.g. response.choices.0.message.content.", rich_help_panel=_INPUT
        ),
    ] = None,
    context_field: Annotated[
        str | None, typer.Option(help="Dotted path of the evidence passages.", rich_help_panel=_INPUT)
    ] = None,
    group_by: Annotated[
        list[str] | None,
        typer.Option(
            "--group-by",
            help="Field to break rates down by (repeatable); model and route are automatic.",
            rich_help_panel=_INPUT,
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue the audit in --out where it stopped.", rich_help_panel=_RUN)
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Discard an audit already in --out.", rich_help_panel=_RUN)] = False,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Audit only the first N records.", rich_help_panel=_RUN)
    ] = None,
    sample: Annotated[
        int | None, typer.Option(min=1, help="Audit a random sample of N records.", rich_help_panel=_RUN)
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample.", rich_help_panel=_RUN)] = 0,
    workers: Annotated[
        int, typer.Option(min=1, help="Batches in flight (local) or Ray actors (ray).", rich_help_panel=_RUN)
    ] = 1,
    batch_size: Annotated[int, typer.Option(min=1, help="Records per batched model call.", rich_help_panel=_RUN)] = 16,
    engine: Annotated[
        EngineName, typer.Option(help="local: this process; ray: Ray Data actor pool.", rich_help_panel=_RUN)
    ] = EngineName.local,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Existing Ray cluster (auto, host:port, ray://...); default starts a local Ray.",
            rich_help_panel=_RUN,
        ),
    ] = None,
    settings_path: Annotated[
        Path | None,
        typer.Option("--settings", help="Settings JSON (e.g. saved by --calibrate).", rich_help_panel=_EVIDENCE),
    ] = None,
    support_threshold: Annotated[
        float | None,
        typer.Option(min=0, max=1, help="Override the support threshold.", rich_help_panel=_EVIDENCE),
    ] = None,
    index: Annotated[
        Path | None,
        typer.Option(help="EvidenceIndex directory to retrieve evidence from.", rich_help_panel=_EVIDENCE),
    ] = None,
    web: Annotated[
        str | None,
        typer.Option(
            help="Also search the web for evidence with this provider: searxng|mediawiki (alias wikipedia)|"
            "brave|tavily|serper "
            "(brave, tavily and serper read BRAVE_API_KEY, TAVILY_API_KEY, SERPER_API_KEY).",
            rich_help_panel=_EVIDENCE,
        ),
    ] = None,
    web_url: Annotated[
        str | None,
        typer.Option(help="Search endpoint URL: required for searxng, replaces the public endpoint of the others.",
                     rich_help_panel=_EVIDENCE),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Allow this host even if private/loopback (repeatable), for --web.", rich_help_panel=_EVIDENCE
        ),
    ] = None,
    calibrate: Annotated[
        Path | None,
        typer.Option(help="Labeled JSONL: choose the support threshold on it and save settings.", rich_help_panel=_CAL),
    ] = None,
    target_precision: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=1,
            help="Calibrate for this precision on hallucinated answers (max recall) instead of balanced accuracy.",
            rich_help_panel=_CAL,
        ),
    ] = None,
    label_field: Annotated[
        str | None, typer.Option(help="Dotted path of the label (default: detect).", rich_help_panel=_CAL)
    ] = None,
    save_settings: Annotated[
        Path | None,
        typer.Option(help="Where --calibrate saves settings (default: OUT/settings.json).", rich_help_panel=_CAL),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.", rich_help_panel=_OUT)] = Path(
        "audit-out"
    ),
    html: Annotated[bool, typer.Option(help="Write report.html.", rich_help_panel=_OUT)] = True,
    html_max_records: Annotated[
        int, typer.Option(min=0, help="Records with a drill-down in report.html.", rich_help_panel=_OUT)
    ] = 500,
    fail_over: Annotated[
        float | None,
        typer.Option(
            min=0,
            max=1,
            help="Exit 4 when the hallucination rate is above this (for CI).",
            rich_help_panel=_OUT,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print summary.json to stdout.", rich_help_panel=_OUT)
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show the progress bar.", rich_help_panel=_OUT)] = True,
) -> None:
    """Audit logged LLM answers for hallucinations: report.jsonl, summary.json, report.html.

    Exit status:
    0 every line audited;
    2 bad options or input, or an output directory holding a different audit;
    3 some lines rejected or some records not checkable (see rejects.jsonl, report.jsonl);
    4 hallucination rate above --fail-over;
    1 the audit failed; 130 interrupted.
    """
    from .runner import AuditOptions, build_guardrail, run_audit

    err = Console(stderr=True)
    stdout = Console()
    if input is None and calibrate is None:
        raise typer.BadParameter("give a log file (or - for stdin), or --calibrate LABELED.jsonl", param_hint="INPUT")
    if engine is EngineName.local and ray_address:
        raise typer.BadParameter("--ray-address needs --engine ray", param_hint="--ray-address")
    if web is None and (web_url or allow_host):
        raise typer.BadParameter("needs --web PROVIDER", param_hint="--web-url" if web_url else "--allow-host")
    web_options: dict[str, Any] = {"web": web, "web_url": web_url, "allow_hosts": tuple(allow_host or ())}
    fields = FieldMap(
        id=id_field,
        question=question_field,
        answer=answer_field,
        context=context_field,
        group_by=tuple(group_by or ()),
    )
    _sigterm_as_interrupt()
    try:
        settings = Settings.load(settings_path) if settings_path else Settings()
        if support_threshold is not None:
            settings = Settings.model_validate({**settings.model_dump(), "support_threshold": support_threshold})
        guard = None
        if calibrate is not None:
            from .calibrate import calibrate as run_calibration

            if input is not None:  # refuse an --out in use now, not after a long calibration
                AuditDir(out).check_usable(resume=resume, overwrite=overwrite)

            guard = build_guardrail(settings, index=str(index) if index else None, **web_options)
            target = save_settings or out / "settings.json"
            cal = run_calibration(
                str(calibrate),
                guard,
                save_to=target,
                report_to=target.with_name("calibration.json"),
                shape=shape.value,
                fields=fields,
                label_field=label_field,
                target_precision=target_precision,
                batch_size=batch_size,
            )
            _print_calibration(stdout, cal.to_dict(), target)
            settings = Settings.load(target)
            if input is None:
                return
            guard = None  # rebuilt with the calibrated settings (the model itself is shared)
        options = AuditOptions(
            input=input,
            out=out,
            shape=shape.value,
            fields=fields,
            limit=limit,
            sample=sample,
            seed=seed,
            settings=settings,
            index=str(index) if index else None,
            **web_options,
            engine=engine.value,
            workers=workers,
            batch_size=batch_size,
            ray_address=ray_address,
            resume=resume,
            overwrite=overwrite,
            html=html,
            html_max_records=html_max_records,
            progress=progress and not as_json,
        )
        outcome = run_audit(options, guard=guard, console=err)
    except KeyboardInterrupt:
        err.print(
            f"[yellow]interrupted[/]: results so far are saved in {out}; run the same command with --resume to continue"
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (ResumeError, ConfigError, FileNotFoundError) as exc:
        _print_error(err, str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except GuardrailError as exc:
        _print_error(err, f"{type(exc).__name__}: {exc}")
        raise typer.Exit(EXIT_FAILED) from None
    summary = outcome.summary or {}
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    else:
        _print_summary(stdout, summary, outcome)
    rate = summary.get("hallucination_rate")
    if fail_over is not None and rate is not None and rate > fail_over:
        err.print(f"[red]hallucination rate {rate:.1%} is above --fail-over {fail_over:.1%}[/]")
        raise typer.Exit(EXIT_FAIL_OVER)
    counts = summary.get("counts", {})
    if counts.get("rejected") or counts.get("errors"):  # fail closed: an unchecked record is not a pass
        raise typer.Exit(EXIT_REJECTS)


def register(app: typer.Typer) -> None:
    """Entry point of the ``guardrail.commands`` group: adds ``audit`` to the core CLI."""
    app.command("audit", no_args_is_help=True)(audit)


def standalone_app() -> typer.Typer:
    """``python -m guardrail.integrations.audit``: the command alone, without the core CLI."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(no_args_is_help=True)(audit)
    return app


def _sigterm_as_interrupt() -> None:
    """SIGTERM (a scheduler stopping the job) ends the run like Ctrl-C: flushed, resumable."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread (a test runner thread)
        signal.signal(signal.SIGTERM, handler)


def _print_error(console: Console, message: str) -> None:
    """One line, however long (no wrapping), and the message printed as is, not as markup."""
    console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)


def _summary_line(s: dict[str, Any], outcome: Any) -> str:
    """The headline, e.g. "audited 1 answer (1 this run, 2.0s): 0.0% hallucinated · ...".

    The totals cover every run of the audit (``--resume``); "this run" counts the answers this
    run checked, not the lines it read.
    """
    counts = s.get("counts", {})
    rate = s.get("hallucination_rate")
    return (
        f"[bold]audited {_count(counts.get('checked', 0), 'answer')}[/] "
        f"({outcome.checked} this run, {outcome.elapsed_s:.1f}s): "
        f"[bold {'red' if rate else 'green'}]{_pct(rate)} hallucinated[/] "
        f"· {counts.get('flagged_claims', 0)} of {_count(counts.get('claims', 0), 'claim')} flagged"
        + (f" ({counts['unverified_claims']} unverified)" if counts.get("unverified_claims") else "")
        + f" · {counts.get('skipped', 0)} skipped · {_count(counts.get('errors', 0), 'error')}"
        f" · {counts.get('rejected', 0)} rejected"
    )


def _print_summary(console: Console, s: dict[str, Any], outcome: Any) -> None:
    counts = s.get("counts", {})
    console.print(_summary_line(s, outcome))
    cites = s.get("citations", {})
    if cites.get("records_with_citations"):
        console.print(
            f"citations: recall {_pct(cites.get('recall'))}, "
            f"precision {_pct(cites.get('precision'))} "
            f"over {_count(cites['records_with_citations'], 'answer')}"
        )
    for name, table in (s.get("by_group") or {}).items():
        t = Table(title=f"by {name}", title_justify="left", show_edge=False)
        for col in (name, "answers", "hallucinated", "rate"):
            t.add_column(col, justify="left" if col == name else "right")
        for value, g in list(table.items())[:10]:
            t.add_row(value, str(g["records"]), str(g["hallucinated"]), _pct(g["hallucination_rate"]))
        console.print(t)
    console.print(
        f"wrote {outcome.out}/report.jsonl, summary.json"
        + (", report.html" if (outcome.out / "report.html").exists() else "")
        + (", rejects.jsonl" if counts.get("rejected") else "")
    )


def _print_calibration(console: Console, cal: dict[str, Any], path: Path) -> None:
    chosen, default = cal["at_chosen"], cal["at_default"]
    console.print(
        f"[bold]calibrated support_threshold = {cal['support_threshold']:.4f}[/] on {cal['n']} "
        f"labeled answers ({cal['hallucinated']} hallucinated), objective {cal['objective']}"
    )
    console.print(
        f"balanced accuracy {default['balanced_accuracy']:.3f} -> "
        f"{chosen['balanced_accuracy']:.3f}, precision {chosen['precision']:.3f}, "
        f"recall {chosen['recall']:.3f}; saved {path}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1%}"
