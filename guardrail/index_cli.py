"""``guardrail index``: build, extend, inspect and search an evidence index from the shell.

::

    guardrail index build examples/docs --out docs.index
    guardrail index add docs.index notes/new-faq.md
    guardrail index search docs.index "How long does the H2 battery last?" -k 3
    guardrail check --index docs.index --file answer.txt

Errors print one line to stderr and exit with status 2; progress bars go to stderr, so
``--json`` output on stdout stays parseable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from guardrail.exceptions import GuardrailError
from guardrail.index import MANIFEST, EvidenceIndex

__all__ = ["index_app"]

index_app = typer.Typer(name="index", no_args_is_help=True, pretty_exceptions_enable=False,
                        help="Build and search a local evidence index (FAISS over sentence embeddings).")
_err = Console(stderr=True)
_out = Console()


@contextmanager
def _errors() -> Iterator[None]:
    """Guardrail errors become one red line and exit status 2, not a traceback."""
    try:
        yield
    except GuardrailError as exc:
        _err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


_SKIP_HELP = "leave out files that cannot be read (binary, not UTF-8, too big), naming each on stderr"


@contextmanager
def _embedding_progress(quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback for ``EvidenceIndex.add_*`` drawing one bar per call on stderr."""
    if quiet:
        yield None
        return
    columns = [TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=_err, transient=True) as bar:
        task: list[Any] = []

        def update(done: int, total: int) -> None:
            if not task or bar.tasks[task[-1]].completed >= bar.tasks[task[-1]].total:
                task.append(bar.add_task("embedding", total=total))
            bar.update(task[-1], completed=done, total=total)

        yield update


def _add_paths(index: EvidenceIndex, paths: list[Path], *, replace: bool, extensions: list[str] | None,
               progress: Callable[[int, int], None] | None, skip_unreadable: bool) -> list[str]:
    files = [p for p in paths if not p.is_dir()]
    ids = []
    kwargs: dict[str, Any] = {"on_skip": _skipped} if skip_unreadable else {}
    for folder in (p for p in paths if p.is_dir()):
        ids += index.add_folder(folder, replace=replace, progress=progress,
                                **({"extensions": extensions} if extensions else {}), **kwargs)
    if files:
        ids += index.add_files(files, replace=replace, progress=progress, **kwargs)
    return ids


def _skipped(path: Path, error: Exception) -> None:
    _err.print(f"[yellow]skipped:[/] {escape(str(error))}", highlight=False, soft_wrap=True)


def _summary(verb: str, index: EvidenceIndex, ids: list[str], out: Path, started: float) -> None:
    _out.print(f"{verb} {len(ids)} document(s); {out} now holds {index.num_documents} documents in "
               f"{len(index)} chunks ({index.model_label}, {index.dim}-d) "
               f"[{time.perf_counter() - started:.1f} s]", markup=False, highlight=False, soft_wrap=True)


@index_app.command()
def build(
    paths: Annotated[list[Path], typer.Argument(metavar="PATHS", help="folders and/or files (txt, md, html, pdf)",
                                                exists=True)],
    out: Annotated[Path, typer.Option("--out", "-o", help="index directory to write")],
    model: Annotated[str | None, typer.Option(help="sentence-transformers name or path; default: "
                                                   "the bundled all-MiniLM-L6-v2")] = None,
    chunk_chars: Annotated[int, typer.Option(help="maximum characters per chunk")] = 800,
    overlap: Annotated[int, typer.Option(help="characters shared by neighbouring chunks")] = 150,
    ext: Annotated[list[str] | None, typer.Option(metavar="<ext>", help="file types to take from folders, e.g. "
                                                       "--ext md --ext txt (default: all supported)")] = None,
    device: Annotated[str, typer.Option(help="torch device for embedding")] = "cpu",
    force: Annotated[bool, typer.Option("--force", help="overwrite an index already in --out")] = False,
    skip_unreadable: Annotated[bool, typer.Option("--skip-unreadable", help=_SKIP_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Build a new index from documents and save it to --out."""
    if (out / MANIFEST).exists() and not force:
        _err.print(f"[red]error:[/] {escape(str(out))} already holds an index; pass --force to overwrite "
                   "it, or use `guardrail index add` to extend it", highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    started = time.perf_counter()
    with _errors():
        index = EvidenceIndex(model, chunk_chars=chunk_chars, overlap_chars=overlap, device=device)
        with _embedding_progress(quiet) as progress:
            ids = _add_paths(index, paths, replace=False, extensions=ext, progress=progress,
                             skip_unreadable=skip_unreadable)
        index.save(out)
        _summary("Indexed", index, ids, out, started)


@index_app.command()
def add(
    index_dir: Annotated[Path, typer.Argument(metavar="INDEX_DIR",
                                              help="an index directory (from `guardrail index build`)")],
    paths: Annotated[list[Path], typer.Argument(metavar="PATHS", help="folders and/or files to add", exists=True)],
    replace: Annotated[bool, typer.Option("--replace",
                                          help="re-index documents already in the index")] = False,
    skip_unreadable: Annotated[bool, typer.Option("--skip-unreadable", help=_SKIP_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Add documents to an existing index (saved in place)."""
    started = time.perf_counter()
    with _errors():
        index = EvidenceIndex.load(index_dir)
        with _embedding_progress(quiet) as progress:
            ids = _add_paths(index, paths, replace=replace, extensions=None, progress=progress,
                             skip_unreadable=skip_unreadable)
        index.save(index_dir)
        _summary("Added", index, ids, index_dir, started)


@index_app.command()
def search(
    index_dir: Annotated[Path, typer.Argument(metavar="INDEX_DIR", help="an index directory")],
    query: Annotated[str, typer.Argument(metavar="QUERY", help="what to look for (a claim or a question)")],
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, max=1000, help="number of passages")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print the results as JSON")] = False,
) -> None:
    """Print the passages most similar to QUERY, best first."""
    with _errors():
        index = EvidenceIndex.load(index_dir)
        hits = index.search(query, k)
    if as_json:
        results = [{"rank": r, "score": round(s, 6), "id": p.id, "title": p.title, "url": p.url,
                    "text": p.text, "metadata": dict(p.metadata)} for r, (p, s) in enumerate(hits, start=1)]
        typer.echo(json.dumps({"query": query, "k": k, "results": results}, ensure_ascii=False, indent=1))
        return
    if not hits:
        _out.print("no results" + (" (the index is empty)" if len(index) == 0 else ""))
        return
    table = Table(title=f"top {len(hits)} for “{escape(query)}”", show_lines=True, title_justify="left")
    for col in ("#", "score", "passage", "text"):
        table.add_column(col, overflow="fold")
    for r, (p, s) in enumerate(hits, start=1):
        text = p.text if len(p.text) <= 400 else p.text[:400] + "…"
        label = escape(p.id) if p.title is None else f"{escape(p.id)}\n[dim]{escape(p.title)}[/]"
        table.add_row(str(r), f"{s:.3f}", label, escape(text))
    _out.print(table)


@index_app.command()
def info(
    index_dir: Annotated[Path, typer.Argument(metavar="INDEX_DIR", help="an index directory")],
    as_json: Annotated[bool, typer.Option("--json", help="print the manifest as JSON")] = False,
) -> None:
    """Show what an index holds and which embedding model it needs (no model is loaded)."""
    with _errors():
        index = EvidenceIndex.load(index_dir)
    manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    if as_json:
        typer.echo(json.dumps(manifest, ensure_ascii=False, indent=1))
        return
    rows = {"documents": index.num_documents, "chunks": len(index),
            "embedding model": manifest.get("embedding_model_label") or manifest["embedding_model"],
            "dimension": manifest["dim"],
            "chunking": f"{index.chunk_chars} chars, {index.overlap_chars} overlap"}
    for key, value in rows.items():
        _out.print(f"[bold]{key}:[/] {escape(str(value))}", highlight=False, soft_wrap=True)
