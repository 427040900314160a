"""Text for evidence: files read as documents, HTML reduced to its main text, text cut into chunks.

>>> doc = read_document("examples/docs/halcyra-faq.html")   # txt, md, html, pdf
>>> doc.title, doc.url
('Halcyra H2: frequently asked questions', 'https://halcyra.example/support/h2-faq')
>>> [c.text for c in chunk_text(doc.text, size=800, overlap=150)]

The evidence index reads files with these functions and web search reads fetched pages with
them, so a page indexed from disk and the same page found by search give the same text and
are cut the same way.  Chunks carry their offsets: ``text[chunk.start:chunk.end] == chunk.text``.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrail.exceptions import ConfigError, InputError

__all__ = ["MAX_FILE_BYTES", "SUPPORTED_EXTENSIONS", "Chunk", "Document", "check_chunking", "chunk_text",
           "extract_html", "read_document", "require_extractor", "tidy_text"]

#: File types ``read_document`` reads (pdf needs ``pip install 'guardrail[pdf]'``).
SUPPORTED_EXTENSIONS = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
MAX_FILE_BYTES = 50_000_000  # one file; a bigger one is more likely a mistake than evidence

# Where a chunk may end: after a sentence's final punctuation (and closing quotes/brackets) when
# whitespace follows, after CJK final punctuation (no space follows it), or at a paragraph break.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)|[。！？][」』”’)\]]*|(?=\n[ \t]*\n)")
_SPACE = re.compile(r"\s")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_DOCUMENT = re.compile(r"<(html|body|head)[\s>]", re.IGNORECASE)


@dataclass(frozen=True)
class Document:
    """A file's text as indexed; chunk offsets point into ``text``."""

    text: str
    title: str | None = None
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    page_starts: list[int] | None = None  # PDFs: offset of each page in ``text``


@dataclass(frozen=True)
class Chunk:
    """``text[start:end] == chunk.text`` for the text it was cut from."""

    text: str
    start: int
    end: int


# -- chunking -----------------------------------------------------------------------------------
def chunk_text(text: str, size: int = 800, overlap: int = 150) -> list[Chunk]:
    """Cut ``text`` into chunks of at most ``size`` characters.

    A chunk ends at the last sentence end or paragraph break in its second half when there is
    one, else at a line break, else at a space, and the next starts up to ``overlap`` characters
    earlier, at a sentence or word start, so a fact cut by one boundary is whole in a neighbour.
    Chunks carry no leading or trailing whitespace.
    """
    check_chunking(size, overlap)
    chunks: list[Chunk] = []
    n = len(text)
    start = _skip_space(text, 0)
    while start < n:
        end = min(start + size, n)
        if end < n:
            end = _cut(text, start + size // 2, end)
        e = end
        while e > start and text[e - 1].isspace():
            e -= 1
        if e > start:
            chunks.append(Chunk(text[start:e], start, e))
        if end >= n:
            break
        nxt = _overlap_start(text, end - overlap, end) if overlap else end
        start = _skip_space(text, max(nxt, start + 1))
    return chunks


def check_chunking(size: int, overlap: int, size_name: str = "size", overlap_name: str = "overlap") -> None:
    """``ConfigError`` unless chunks of ``size`` characters overlapping by ``overlap`` make sense.

    The names are those of the caller's settings, so the message names what the user set.
    """
    if size < 50:
        raise ConfigError(f"{size_name} must be at least 50, got {size}")
    # An overlap of half a chunk or more would let chunks advance by a character at a time.
    if not 0 <= overlap < size // 2:
        raise ConfigError(f"{overlap_name} must be in [0, {size_name}/2), got {overlap} with {size_name}={size}")


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _cut(text: str, lo: int, end: int) -> int:
    """The best end for a chunk in ``[lo, end]``: a sentence end, else a line break, else a space."""
    # endpos end+1 lets the lookahead see whether text[end] is whitespace.
    best = max((m.end() for m in _SENTENCE_END.finditer(text, lo, end + 1) if m.end() <= end), default=-1)
    if best > lo:
        return best
    # Web pages and PDFs put one paragraph or heading on a line, with no blank line between.
    line = text.rfind("\n", lo, end + 1)
    if line > lo:
        return line
    space = max((m.start() for m in _SPACE.finditer(text, lo, end + 1)), default=-1)
    return space if space > lo else end


def _overlap_start(text: str, lo: int, end: int) -> int:
    """Where the next chunk starts: the first sentence start in ``[lo, end)``, else a word start."""
    for m in _SENTENCE_END.finditer(text, lo, end):
        if m.end() > lo:
            return m.end()
    space = _SPACE.search(text, lo, end)
    return space.start() if space else lo


# -- HTML ---------------------------------------------------------------------------------------
def require_extractor() -> Any:
    """The trafilatura module, or ``ConfigError`` saying how to install it."""
    try:
        import trafilatura
    except ImportError as exc:
        raise ConfigError(f"reading HTML needs trafilatura: pip install 'guardrail[web]' ({exc})") from exc
    return trafilatura


def extract_html(html: str, url: str | None = None) -> tuple[str | None, str]:
    """``(title, main text)`` of an HTML document; paragraphs are separated by newlines."""
    title, text, _ = _extract(html, url)
    return title, text


def _extract(html: str, url: str | None) -> tuple[str | None, str, str | None]:
    """Title, main text and the canonical URL the page gives for itself."""
    trafilatura = require_extractor()
    if not _DOCUMENT.search(html[:4096]):
        # A bare fragment ("<p>...</p>") parses to an empty tree in trafilatura; give it a body.
        html = f"<html><body>{html}</body></html>"
    # fast=True skips trafilatura's fallback extractors: same scores on our measurement, less CPU.
    doc = trafilatura.bare_extraction(html, url=url, fast=True, with_metadata=True, include_comments=False,
                                      include_tables=True, include_images=False, include_links=False,
                                      favor_precision=False)
    if isinstance(doc, dict):  # trafilatura before 2.0
        title, text, page_url = doc.get("title"), doc.get("text"), doc.get("url")
    else:
        title, text, page_url = (getattr(doc, name, None) for name in ("title", "text", "url"))
    if not text:
        # Pages too small or too odd for the main-content heuristics: take all visible text.
        text = trafilatura.html2txt(html) or ""
    if not title or not page_url:
        meta = trafilatura.extract_metadata(html)
        title = title or (getattr(meta, "title", None) if meta is not None else None)
        page_url = page_url or (getattr(meta, "url", None) if meta is not None else None)
    if not (page_url or "").startswith(("http://", "https://")):
        page_url = None
    return (title.strip() or None) if title else None, tidy_text(text), page_url


def tidy_text(text: str) -> str:
    """One paragraph a line: runs of whitespace within a line collapsed, blank lines dropped."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# -- files --------------------------------------------------------------------------------------
def read_document(path: str | os.PathLike[str]) -> Document:
    """Read a txt, md, html or pdf file for indexing; ``InputError`` says why one cannot be."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise InputError(f"cannot index {path}: unsupported file type {ext or '(none)'!r}; "
                         f"supported: {', '.join(SUPPORTED_EXTENSIONS)}")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"cannot index {path}: {size:,} bytes is over the {MAX_FILE_BYTES:,}-byte limit")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    meta: dict[str, Any] = {"source": str(path.resolve()), "type": ext.lstrip(".")}
    if ext == ".pdf":
        return _read_pdf(path, data, meta)
    if b"\x00" in data[:8192]:
        raise InputError(f"cannot index {path}: it looks binary, not {ext.lstrip('.')} text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot index {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if ext in (".html", ".htm"):
        try:
            title, text, url = _extract(text, None)
        except ConfigError as exc:
            # One file of a folder: InputError lets add_folder's on_skip leave it out.
            raise InputError(f"cannot index {path}: {exc}") from None
        return Document(text, title or path.stem, url, meta)
    return Document(text, _first_title(text) or path.stem, None, meta)


def _first_title(text: str) -> str | None:
    """A markdown heading or a short first line that reads like a title."""
    for line in text.splitlines()[:5]:
        if not line.strip():
            continue
        m = _HEADING.match(line)
        if m:
            return m.group(1)
        line = line.strip()
        return line if len(line) <= 80 and line[-1] not in ".!?:;," else None
    return None


def _read_pdf(path: Path, data: bytes, meta: dict[str, Any]) -> Document:
    try:
        from pypdf import PdfReader
    except ImportError:
        raise InputError(f"cannot index {path}: PDF support needs pypdf: "
                         "pip install 'guardrail[pdf]'") from None
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"cannot index {path}: the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        title = (info.title if info is not None else None) or path.stem
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many types on damaged files
        raise InputError(f"cannot index {path}: unreadable PDF ({type(exc).__name__}: {exc})") from None
    starts, pos = [], 0
    for page in pages:
        starts.append(pos)
        pos += len(page) + 2
    return Document("\n\n".join(pages), str(title), None, meta, starts)
