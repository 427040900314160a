"""Fetch result pages, decode them, extract the main text and cut it into evidence chunks.

Main-text extraction uses trafilatura (chosen by measurement, see docs/web.md): it drops
navigation, footers and cookie banners that would otherwise become "evidence".  Chunks keep
their character offsets into the extracted text, so a citation can say where on the page
the supporting sentence is.
"""

from __future__ import annotations

import asyncio
import codecs
import itertools
import logging
import re
import threading
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from guardrail.exceptions import ConfigError, WebError
from guardrail.web.cache import WebCache, cache_key
from guardrail.web.http import Deadline, HttpResult, HttpSession

log = logging.getLogger("guardrail.web")

# Extraction costs about a second per megabyte of HTML on a small CPU and cannot be interrupted,
# so the cap also bounds how long a hostile page can keep a worker busy.
PAGE_MAX_BYTES = 1_000_000
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("text/plain",)
# <meta charset=...> or <meta http-equiv=Content-Type content="...; charset=...">, per the
# HTML spec's prescan, which only looks at the first 1024 bytes.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_DOCUMENT = re.compile(r"<(html|body|head)[\s>]", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class Page:
    """A fetched page's main text.  ``url`` is where it ended up after redirects."""

    url: str
    title: str | None
    text: str
    content_type: str
    truncated: bool = False  # the body was cut at the byte cap


@dataclass(frozen=True)
class Chunk:
    """``page.text[start:end] == text``."""

    text: str
    start: int
    end: int


# -- decoding -----------------------------------------------------------------------------------
def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    # Browsers treat these labels as windows-1252, and pages rely on it (smart quotes, euro).
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def _header_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip()
    return None


def decode_body(body: bytes, content_type: str = "") -> str:
    """Decode like a browser would: BOM, then the HTTP charset, then ``<meta>``, then detection.

    A declared charset that is unknown or does not fit the bytes is not trusted; detection
    (charset-normalizer) decides, and as a last resort UTF-8 with replacement characters.
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace")
    declared = [_codec(_header_charset(content_type))]
    match = _META_CHARSET.search(body[:1024])
    if match:
        declared.append(_codec(match.group(1).decode("ascii", "replace")))
    for codec in filter(None, declared):
        try:
            return body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, errors="replace")
    return body.decode("utf-8", errors="replace")


# -- extraction ---------------------------------------------------------------------------------
def require_extractor() -> Any:
    try:
        import trafilatura
    except ImportError as exc:
        raise ConfigError("web page extraction needs trafilatura: pip install 'guardrail[web]' "
                          f"({exc})") from exc
    return trafilatura


def extract_html(html: str, url: str | None = None) -> tuple[str | None, str]:
    """``(title, main text)`` of an HTML document; paragraphs are separated by newlines."""
    trafilatura = require_extractor()
    if not _DOCUMENT.search(html[:4096]):
        # A bare fragment ("<p>...</p>") parses to an empty tree in trafilatura; give it a body.
        html = f"<html><body>{html}</body></html>"
    # fast=True skips trafilatura's fallback extractors: same scores on our measurement, less CPU.
    doc = trafilatura.bare_extraction(html, url=url, fast=True, with_metadata=True, include_comments=False,
                                      include_tables=True, include_images=False, include_links=False,
                                      favor_precision=False)
    if isinstance(doc, dict):  # trafilatura before 2.0
        title, text = doc.get("title"), doc.get("text")
    else:
        title, text = getattr(doc, "title", None), getattr(doc, "text", None)
    if not text:
        # Pages too small or too odd for the main-content heuristics: take all visible text.
        text = trafilatura.html2txt(html) or ""
    if not title:
        meta = trafilatura.extract_metadata(html)
        title = getattr(meta, "title", None) if meta is not None else None
    return (title.strip() or None) if title else None, _tidy(text)


def _tidy(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def page_from_response(result: HttpResult) -> Page:
    """Turn an HTTP result into a :class:`Page`, or raise :class:`WebError` if it is not text."""
    ctype = result.content_type.split(";", 1)[0].strip().lower()
    if not ctype:  # no header: sniff, as a browser would
        ctype = "text/html" if result.content.lstrip()[:1] == b"<" else "text/plain"
    if ctype not in _HTML_TYPES + _TEXT_TYPES:
        raise WebError(f"{result.url}: unsupported content type {ctype!r}")
    text = decode_body(result.content, result.content_type)
    if ctype in _TEXT_TYPES:
        return Page(result.url, None, _tidy(text), ctype, result.truncated)
    title, body = extract_html(text, result.url)
    return Page(result.url, title, body, ctype, result.truncated)


# -- chunking -----------------------------------------------------------------------------------
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")


def _units(text: str, limit: int) -> list[tuple[int, int]]:
    """Spans of paragraphs, split into sentences or words where a paragraph exceeds ``limit``."""
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        start, end = para.span()
        if end - start <= limit:
            spans.append((start, end))
            continue
        cuts = [start] + [m.end() for m in _SENTENCE_END.finditer(text, start, end)] + [end]
        for a, b in itertools.pairwise(cuts):
            while b - a > limit:  # one enormous "sentence": cut at the last space that fits
                space = text.rfind(" ", a, a + limit)
                cut = space if space > a else a + limit
                spans.append((a, cut))
                a = cut
            if b > a:
                spans.append((a, b))
    return spans


def chunk_text(text: str, size: int = 1500, overlap: int = 200) -> list[Chunk]:
    """Greedy chunks of whole paragraphs/sentences up to ``size`` characters.

    Consecutive chunks share their boundary unit when it is at most ``overlap`` characters,
    so a claim supported by a sentence at a chunk edge still finds it in one piece.
    """
    units = _units(text, size)
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        start, end = units[i]
        j = i + 1
        while j < len(units) and units[j][1] - start <= size:
            end = units[j][1]
            j += 1
        chunk = text[start:end].strip()
        offset = start + (len(text[start:end]) - len(text[start:end].lstrip()))
        chunks.append(Chunk(chunk, offset, offset + len(chunk)))
        if j >= len(units):
            break
        last = units[j - 1]
        i = j - 1 if j - 1 > i and last[1] - last[0] <= overlap else j
    return chunks


# -- fetching -----------------------------------------------------------------------------------
def _host(url: str) -> str:
    try:
        return httpx.URL(url).host
    except (httpx.InvalidURL, ValueError):  # gets its own bucket; the request fails later
        return url


class PageFetcher:
    """Fetches pages concurrently, ``per_host`` at a time per host and ``concurrency`` overall."""

    def __init__(self, session: HttpSession, *, cache: WebCache | None = None, per_host: int = 2,
                 concurrency: int = 8, max_bytes: int = PAGE_MAX_BYTES) -> None:
        self.session = session
        self.cache = cache
        self.per_host = per_host
        self.concurrency = concurrency
        self.max_bytes = max_bytes
        self._host_locks: dict[str, threading.BoundedSemaphore] = {}
        self._locks_guard = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="guardrail-fetch")
        # The engine retrieves for all claims at once, so async limits are shared by every call
        # on a loop (asyncio primitives belong to one loop, hence one set per loop).
        self._loop_limits: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, dict[str, asyncio.Semaphore]]
        ] = weakref.WeakKeyDictionary()

    def _key(self, url: str) -> str:
        # The allow-list is part of the key: a page fetched under a looser policy must not be
        # served from the cache to a run that would have refused it.
        return cache_key("page", url, sorted(self.session.policy.allow_hosts))

    def _cached(self, url: str) -> Page | None:
        if self.cache is None:
            return None
        data = self.cache.get(self._key(url))
        return Page(**data) if isinstance(data, dict) else None

    def _store(self, url: str, page: Page) -> None:
        if self.cache is not None:
            self.cache.put(self._key(url), asdict(page), kind="page")

    def _host_lock(self, url: str) -> threading.BoundedSemaphore:
        with self._locks_guard:
            return self._host_locks.setdefault(_host(url), threading.BoundedSemaphore(self.per_host))

    def fetch(self, url: str, *, deadline: Deadline | None = None) -> Page:
        cached = self._cached(url)
        if cached is not None:
            return cached
        deadline = deadline or Deadline.after(self.session.config.timeout * 2)
        lock = self._host_lock(url)
        if not lock.acquire(timeout=max(0.0, deadline.remaining())):
            raise WebError(f"{url}: deadline exceeded waiting for a connection slot")
        try:
            result = self.session.request("GET", url, deadline=deadline, allow_truncated=True,
                                          max_bytes=self.max_bytes, headers=_PAGE_HEADERS)
        finally:
            lock.release()
        page = page_from_response(result)
        self._store(url, page)
        return page

    def fetch_many(self, urls: Sequence[str], *, deadline: Deadline) -> dict[str, Page | Exception]:
        """Every URL maps to its page or to the error that stopped it; none is left pending.

        Fetches still running at the deadline are reported as timed out (their threads stop
        by themselves: every request checks the same deadline).
        """
        futures = {url: self._executor.submit(self.fetch, url, deadline=deadline)
                   for url in dict.fromkeys(urls)}
        wait_futures(list(futures.values()), timeout=max(0.0, deadline.remaining()))
        out: dict[str, Page | Exception] = {}
        for url, future in futures.items():
            if not future.done():
                future.cancel()
                out[url] = WebError(f"{url}: deadline exceeded")
            elif future.exception() is not None:
                out[url] = future.exception()  # type: ignore[assignment]
            else:
                out[url] = future.result()
        return out

    def _limits(self) -> tuple[asyncio.Semaphore, dict[str, asyncio.Semaphore]]:
        loop = asyncio.get_running_loop()
        with self._locks_guard:
            if loop not in self._loop_limits:
                self._loop_limits[loop] = (asyncio.Semaphore(self.concurrency), {})
            return self._loop_limits[loop]

    async def afetch(self, url: str, *, deadline: Deadline | None = None) -> Page:
        cached = self._cached(url)
        if cached is not None:
            return cached
        deadline = deadline or Deadline.after(self.session.config.timeout * 2)
        overall, hosts = self._limits()
        with self._locks_guard:
            per_host = hosts.setdefault(_host(url), asyncio.Semaphore(self.per_host))
        async with overall, per_host:
            result = await self.session.arequest("GET", url, deadline=deadline, allow_truncated=True,
                                                 max_bytes=self.max_bytes, headers=_PAGE_HEADERS)
        # Extraction is CPU work; a thread keeps the event loop responsive meanwhile.
        page = await asyncio.get_running_loop().run_in_executor(self._executor, page_from_response, result)
        self._store(url, page)
        return page

    async def afetch_many(self, urls: Iterable[str], *, deadline: Deadline) -> dict[str, Page | Exception]:
        unique = list(dict.fromkeys(urls))

        async def one(url: str) -> Page | Exception:
            try:
                fetch = self.afetch(url, deadline=deadline)
                return await asyncio.wait_for(fetch, timeout=max(0.001, deadline.remaining()))
            except asyncio.TimeoutError:
                return WebError(f"{url}: deadline exceeded")
            except Exception as exc:  # each URL's failure is its own outcome
                return exc

        results = await asyncio.gather(*(one(url) for url in unique))
        return dict(zip(unique, results, strict=True))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


_PAGE_HEADERS = {"Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1"}
