"""The ``guardrail`` command: ``check``, ``eval``, ``index`` and plugin commands (``audit``).

Exit codes of ``check``: 0 every claim supported, 1 something flagged, 2 bad input or failure
(3 when the ``block`` policy blocked the answer).
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from guardrail.config import Settings
from guardrail.engine import Guardrail
from guardrail.exceptions import BlockedResponse, GuardrailError
from guardrail.protocols import Retriever
from guardrail.report import Report

app = typer.Typer(name="guardrail", help="Catch hallucinations in LLM answers.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
err = Console(stderr=True)
out = Console()

_COLOURS = {"supported": "green", "contradicted": "red", "unsupported": "yellow"}


def _read_answer(answer: str | None, file: Path | None) -> str:
    if file is not None:
        data = file.read_bytes()
    elif answer is not None and answer != "-":
        return answer
    elif not sys.stdin.isatty() or answer == "-":
        data = sys.stdin.buffer.read()
    else:
        raise typer.BadParameter("give the answer as an argument, with --file, or on stdin")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        err.print(f"[red]error:[/] {'file ' + str(file) if file else 'stdin'} is not UTF-8 text")
        raise typer.Exit(2) from None


def _context(files: list[Path]) -> list[dict[str, str]]:
    passages = []
    for f in files:
        try:
            passages.append({"text": f.read_text(encoding="utf-8"), "id": f.name, "title": f.name})
        except (OSError, UnicodeDecodeError) as exc:
            err.print(f"[red]error:[/] cannot read context file {f}: {exc}")
            raise typer.Exit(2) from None
    return passages


def _print_report(report: Report) -> None:
    table = Table(title="Claims", show_lines=False)
    for col in ("#", "verdict", "score", "claim", "evidence"):
        table.add_column(col, overflow="fold")
    for i, c in enumerate(report.claims, start=1):
        ev = c.evidence[0] if c.evidence else None
        quote = f"{ev.passage.label}: “{ev.quote[:160]}”" if ev else "—"
        issues = ("\n" + "; ".join(c.issues)) if c.issues else ""
        table.add_row(str(i), f"[{_COLOURS[c.verdict]}]{c.verdict}[/]", f"{c.score:.2f}", c.claim.text,
                      quote + issues)
    out.print(table)
    for e in report.errors:
        err.print(f"[yellow]warning:[/] {e}")
    fp = report.factual_precision
    out.print(f"\n{len(report.flagged)} of {len(report.claims)} claims flagged; factual precision "
              f"{'n/a' if fp is None else f'{fp:.2f}'}\n")
    out.print(report.output, markup=False, highlight=False)


@app.command()
def check(
    answer: Annotated[str | None, typer.Argument(help="the answer text, or - for stdin")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="read the answer from a file")] = None,
    context: Annotated[list[Path] | None, typer.Option("--context", "-c", help="evidence file (repeatable)")] = None,
    index: Annotated[Path | None, typer.Option(help="an evidence index directory (guardrail index build)")] = None,
    question: Annotated[str | None, typer.Option("--question", "-q", help="the user's question")] = None,
    policy: Annotated[str, typer.Option(help="annotate | flag | redact | block")] = "annotate",
    fail: Annotated[str | None, typer.Option(help="open | closed: what a failing component does")] = None,
    settings: Annotated[Path | None, typer.Option(help="settings JSON (e.g. from audit --calibrate)")] = None,
    web: Annotated[str | None, typer.Option(help="search provider: searxng|mediawiki|brave|tavily|serper")] = None,
    web_url: Annotated[str | None, typer.Option(help="search endpoint URL (searxng, mediawiki)")] = None,
    allow_host: Annotated[
        list[str] | None, typer.Option(help="allow this host even if private/loopback (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Check an answer against evidence and print flagged claims with citations."""
    text = _read_answer(answer, file)
    try:
        conf = Settings.load(settings) if settings else Settings()
        if fail:
            conf = Settings.model_validate({**conf.model_dump(), "fail": fail})
        retrievers: list[Retriever] = []
        if index is not None:
            from guardrail.index import EvidenceIndex

            retrievers.append(EvidenceIndex.load(index))
        if web is not None:
            from guardrail.web import WebRetriever

            retrievers.append(WebRetriever.from_options(web, web_url, list(allow_host or [])))
        guard = Guardrail(policy=policy, settings=conf, retrievers=retrievers)
        report = guard.check(text, context=_context(context or []), question=question)
        code = 0 if report.ok else 1
    except BlockedResponse as blocked:
        report, code = blocked.report, 3
    except (GuardrailError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        out.print_json(report.to_json())
    else:
        _print_report(report)
        if code == 3:
            err.print("[red]blocked:[/] the answer has contradicted or unsupported claims")
    raise typer.Exit(code)


@app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="pairs or responses JSONL in the evaluation schema", exists=True)],
    baseline: Annotated[str | None, typer.Option(help="score with a baseline instead: overlap | cosine")] = None,
    settings: Annotated[Path | None, typer.Option(help="settings JSON")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Measure detection quality on labelled data (balanced accuracy, ROC-AUC, F1, span F1)."""
    from guardrail.evaluate import evaluate, read_records

    if baseline not in (None, "overlap", "cosine"):
        raise typer.BadParameter("baseline must be overlap or cosine")
    try:
        total = len(read_records(file)[1])
        guard = Guardrail(policy="flag", settings=Settings.load(settings) if settings else None)
        columns = [TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("eval", total=total)
            result = evaluate(file, guard=guard, baseline=baseline,  # type: ignore[arg-type]
                              progress=lambda n: bar.advance(task, n))
    except GuardrailError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title=f"{result['file']} ({result['kind']}, scorer: {result['scorer']})")
    keys = [k for k in result["overall"] if k != "n"]
    for col in ("source", "n", *keys):
        table.add_column(col)
    for name, m in [*result["per_source"].items(), ("overall", result["overall"])]:
        table.add_row(name, str(m["n"]), *("—" if m.get(k) is None else f"{m[k]:.3f}" for k in keys))
    out.print(table)
    out.print(f"{result['n']} records in {result['seconds']} s")


def _mount_plugins() -> None:
    """Commands from other packages (``guardrail.commands`` entry points), e.g. ``audit``."""
    try:
        from guardrail.index_cli import index_app

        app.add_typer(index_app, name="index")
    except ImportError:  # pragma: no cover - the index needs faiss, a hard dependency
        pass
    for ep in entry_points(group="guardrail.commands"):
        try:
            ep.load()(app)
        except Exception as exc:  # a broken plugin must not take the core commands down
            err.print(f"[yellow]warning:[/] plugin command {ep.name!r} failed to load: {exc}")


_mount_plugins()
