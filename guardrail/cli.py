"""The ``guardrail`` command: ``check``, ``eval``, ``index`` and plugin commands (``audit``).

Exit codes of ``check``: 0 every claim supported, 1 something flagged or a component failed (with
the default ``--fail open``), 2 bad input or options, or a failure with ``--fail closed``, 3 the
``block`` policy blocked the answer.
Errors print one ``error: ...`` line to stderr, never a traceback.
"""

from __future__ import annotations

import json
import re
import sys
from importlib.metadata import PackageNotFoundError, entry_points, version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from typer.core import TyperCommand, TyperGroup, TyperOption

from guardrail.config import Settings
from guardrail.engine import Guardrail
from guardrail.exceptions import BlockedResponse, GuardrailError
from guardrail.protocols import Retriever
from guardrail.report import Report

if TYPE_CHECKING:
    from typer._click import Context, HelpFormatter

_REQUIRED_IN_USAGE = re.compile(r"^\{(.+)\}(\.\.\.)?$")


def _hide_flag_types(command: TyperCommand | TyperGroup, ctx: Context) -> None:
    # typer prints "<bool>" beside every flag, which reads as "--json true"; nothing but help
    # reads a flag's metavar, and an empty one leaves its type column blank
    for param in command.get_params(ctx):
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""


class _Command(TyperCommand):
    """A command whose help shows flags without a type and arguments without braces."""

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        _hide_flag_types(self, ctx)
        super().format_help(ctx, formatter)

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        # typer writes a required argument as "{file}", which reads like an unfilled template
        return [_REQUIRED_IN_USAGE.sub(r"\1\2", piece) for piece in super().collect_usage_pieces(ctx)]


class _Group(TyperGroup):
    """A command group whose help shows flags (``--help``, ``--version``) without a type."""

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        _hide_flag_types(self, ctx)
        super().format_help(ctx, formatter)


app = typer.Typer(name="guardrail", help="Catch hallucinations in LLM answers.", no_args_is_help=True,
                  pretty_exceptions_enable=False, cls=_Group)
err = Console(stderr=True)
out = Console()

_COLOURS = {"supported": "green", "contradicted": "red", "unsupported": "yellow"}
QUOTE_CHARS = 160  # the evidence column shows this much of the best quote


def _fail(message: str) -> NoReturn:
    """One red ``error:`` line on stderr and exit status 2 (bad input or options)."""
    err.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _version(value: bool) -> None:
    if value:
        try:
            installed = version("guardrail")
        except PackageNotFoundError:  # running from a source tree that was never installed
            installed = "unknown"
        typer.echo(f"guardrail {installed}")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Print the installed version and exit.")] = False,
) -> None:
    # the group's help comes from Typer(help=...); this callback exists for --version only
    pass


def _read_answer(answer: str | None, file: Path | None) -> str:
    if file is not None and answer is not None:
        _fail("give the answer either as an argument or with --file, not both")
    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            _fail(f"cannot read answer file {file}: {exc}")
    elif answer is not None and answer != "-":
        return answer
    elif not sys.stdin.isatty() or answer == "-":
        data = sys.stdin.buffer.read()
        # stdin read only because it is not a terminal (CI, cron, </dev/null) and empty: the
        # answer was forgotten, not empty; an explicit "-" may be empty like any answer
        if answer is None and not data.strip():
            _fail("no answer: give it as an argument, with --file, or on stdin (- reads stdin)")
    else:
        raise typer.BadParameter("give the answer as an argument, with --file, or on stdin")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        _fail(f"{'file ' + str(file) if file else 'stdin'} is not UTF-8 text")


def _context(files: list[Path]) -> list[dict[str, str]]:
    passages = []
    for f in files:
        try:
            passages.append({"text": f.read_text(encoding="utf-8"), "id": f.name, "title": f.name})
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"cannot read context file {f}: {exc}")
    return passages


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters, with "…" at the cut."""
    text = " ".join(text.split())  # a quote spanning paragraphs would leave blank lines in the table
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    # mid-word: back to the last space, unless that drops most of the quote (a very long URL)
    space = cut.rfind(" ")
    if text[limit - 1] != " " and space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


def _print_report(report: Report) -> None:
    table = Table(title="Claims", show_lines=False)
    for col in ("#", "verdict", "score", "claim", "evidence"):
        table.add_column(col, overflow="fold")
    for i, c in enumerate(report.claims, start=1):
        ev = c.evidence[0] if c.evidence else None
        # answer and evidence text is shown as is: "[1]" in a document is not rich markup
        quote = escape(f"{ev.passage.label}: “{shorten(ev.quote)}”") if ev else "—"
        issues = ("\n" + escape("; ".join(c.issues))) if c.issues else ""
        # an unchecked claim's "unsupported" and 0.00 are placeholders, not a finding
        verdict = f"[{_COLOURS[c.verdict]}]{c.verdict}[/]" if c.verified else "[dim]unverified[/]"
        table.add_row(str(i), verdict, f"{c.score:.2f}" if c.verified else "—", escape(c.claim.text), quote + issues)
    out.print(table)
    for e in report.errors:
        err.print(f"[yellow]warning:[/] {escape(e)}", highlight=False)
    fp = report.factual_precision
    out.print(f"\n{len(report.flagged)} of {len(report.claims)} claims flagged; factual precision "
              f"{'n/a' if fp is None else f'{fp:.2f}'}\n")
    out.print(report.output, markup=False, highlight=False)


@app.command(cls=_Command)
def check(
    answer: Annotated[str | None, typer.Argument(metavar="ANSWER", help="the answer text, or - for stdin "
                                                                          "(or give --file instead)")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="read the answer from a file "
                                                                    "(instead of ANSWER)")] = None,
    context: Annotated[list[Path] | None, typer.Option("--context", "-c", metavar="<path>",
                                                       help="evidence file (repeatable)")] = None,
    index: Annotated[Path | None, typer.Option(help="an evidence index directory (guardrail index build)")] = None,
    question: Annotated[str | None, typer.Option("--question", "-q", help="the user's question")] = None,
    policy: Annotated[str, typer.Option(help="annotate | flag | redact | block")] = "annotate",
    fail: Annotated[str | None, typer.Option(help="open | closed: what a failing component does")] = None,
    settings: Annotated[Path | None, typer.Option(help="settings JSON (e.g. from audit --calibrate)")] = None,
    web: Annotated[str | None, typer.Option(help="search provider: searxng|mediawiki (alias wikipedia)|brave|"
                                                 "tavily|serper")] = None,
    web_url: Annotated[str | None, typer.Option(help="search endpoint URL: required for searxng, replaces the "
                                                     "public endpoint of the others")] = None,
    allow_host: Annotated[
        list[str] | None, typer.Option(metavar="<host>", help="allow this host even if private/loopback "
                                                             "(repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Check an answer against evidence and print flagged claims with citations.

    Exit status:
    0 every claim supported;
    1 a claim flagged, or a component failed under the default --fail open;
    2 bad input or options, or a failure under --fail closed;
    3 the block policy blocked the answer.
    """
    if web is None and (web_url or allow_host):
        _fail("--web-url and --allow-host configure web search: add --web PROVIDER")
    if fail not in (None, "open", "closed"):  # pydantic's own message runs to four lines
        _fail(f"--fail must be open or closed, got {fail!r}")
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
        _fail(str(exc))
    if as_json:
        out.print_json(report.to_json())
    else:
        _print_report(report)
        if code == 3:
            err.print("[red]blocked:[/] the answer has contradicted or unsupported claims")
    raise typer.Exit(code)


@app.command("eval", cls=_Command)
def eval_command(
    file: Annotated[Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False,
                                         help="pairs or responses JSONL in the evaluation schema")],
    baseline: Annotated[str | None, typer.Option(help="score with a baseline instead: overlap | cosine")] = None,
    settings: Annotated[Path | None, typer.Option(help="settings JSON")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Measure detection quality on labelled data (balanced accuracy, ROC-AUC, F1, span F1)."""
    from guardrail.evaluate import evaluate, read_records

    if baseline not in (None, "overlap", "cosine"):
        _fail(f"--baseline must be overlap or cosine, got {baseline!r}")
    try:
        total = len(read_records(file)[1])
        guard = Guardrail(policy="flag", settings=Settings.load(settings) if settings else None)
        columns = [TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("eval", total=total)
            result = evaluate(file, guard=guard, baseline=baseline,  # type: ignore[arg-type]
                              progress=lambda n: bar.advance(task, n))
    except (GuardrailError, ValueError) as exc:  # ValueError: e.g. a settings file that is not UTF-8
        _fail(str(exc))
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

        app.add_typer(index_app, name="index", cls=_Group)
        _use_plain_help(index_app)
    except ImportError:  # pragma: no cover - the index needs faiss, a hard dependency
        pass
    for ep in entry_points(group="guardrail.commands"):
        try:
            ep.load()(app)
        except Exception as exc:  # a broken plugin must not take the core commands down
            err.print(f"[yellow]warning:[/] plugin command {ep.name!r} failed to load: {exc}")
    _use_plain_help(app)


def _use_plain_help(typer_app: typer.Typer) -> None:
    # index and plugin commands are declared elsewhere; the guardrail CLI gives them the same help
    for info in typer_app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = _Command


_mount_plugins()
