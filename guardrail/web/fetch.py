"""Fetch result pages, decode them, extract the main text and cut it into evidence chunks.

Main-text extraction uses trafilatura (chosen by measurement: see "Why trafilatura" under
"Web search as evidence" in the README): it drops
navigation, footers and cookie banners that would otherwise become "evidence".  Chunks keep
their character offsets into the extracted text, so a citation can say where on the page
the supporting sentence is.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import itertools
import logging
import re
import threading
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

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
# Servers label downloads text/html often enough (misconfigured CDNs, "download.php" scripts)
# that the header alone cannot be trusted: extracting a PDF or a ZIP "as HTML" yields glyph soup
# that BM25 and the NLI model would then treat as a source.
# Only signatures that no text page starts with; formats with short ASCII signatures (Ogg,
# MP3, bzip2...) are compressed and fail the control-byte test below anyway.  PDF and PostScript
# can be all ASCII, hence listed.
_MAGIC = (
    (b"%PDF-", "PDF"), (b"%!PS-Adobe", "PostScript"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"), (b"\xff\xd8\xff", "JPEG"), (b"PK\x03\x04", "ZIP"), (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"), (b"7z\xbc\xaf\x27\x1c", "7-Zip"), (b"Rar!\x1a\x07", "RAR"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "MS Office"), (b"\x7fELF", "ELF"), (b"SQLite format 3\x00", "SQLite"),
)
# C0 control bytes that text never contains (tab, newline, form feed, carriage return and the
# ESC of ISO-2022 encodings are allowed).  Every ASCII-compatible charset keeps these bytes as
# controls, so the test holds for legacy pages too, unlike an "invalid UTF-8" ratio, which would
# refuse every windows-1251 or Shift_JIS page.
_ODD_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B}
# Random or compressed data has ~10% such bytes; real text has next to none.  2% leaves room for a
# stray NUL or two in an otherwise normal page.
_BINARY_RATIO = 0.02
_SNIFF_BYTES = 8192


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


def _wide(body: bytes, content_type: str) -> bool:
    """UTF-16/32 text, where NUL bytes are half of every ASCII character rather than a sign of binary."""
    if body[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return True
    codec = _codec(_header_charset(content_type)) or ""
    return codec.startswith(("utf-16", "utf-32"))


def binary_kind(body: bytes, content_type: str = "", text: str | None = None) -> str | None:
    """What ``body`` is if it is not text (``"PDF"``, ``"binary data"``...), else None.

    ``text``, the body as decoded, lets replacement characters count: a body no charset makes
    sense of is not evidence either.
    """
    head = body[:_SNIFF_BYTES]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head and not _wide(body, content_type):
        odd = sum(1 for b in head if b in _ODD_BYTES)
        if odd / len(head) > _BINARY_RATIO:
            return "binary data"
    if text:
        sample = text[:_SNIFF_BYTES]
        bad = sum(1 for ch in sample if ch == "\ufffd" or (ord(ch) < 0x20 and ch not in "\t\n\x0c\r\x1b"))
        if bad / len(sample) > _BINARY_RATIO:
            return "undecodable data"
    return None


def page_from_response(result: HttpResult) -> Page:
    """Turn an HTTP result into a :class:`Page`, or raise :class:`WebError` if it is not text."""
    ctype = result.content_type.split(";", 1)[0].strip().lower()
    if not ctype:  # no header: sniff, as a browser would
        ctype = "text/html" if result.content.lstrip()[:1] == b"<" else "text/plain"
    if ctype not in _HTML_TYPES + _TEXT_TYPES:
        raise WebError(f"{result.url}: unsupported content type {ctype!r}")
    text = decode_body(result.content, result.content_type)
    kind = binary_kind(result.content, result.content_type, text)
    if kind is not None:
        raise WebError(f"{result.url}: unsupported content: {kind} served as {ctype!r}")
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


_F = TypeVar("_F")  # a concurrent.futures.Future (threads) or an asyncio.Task (a loop)


@dataclass
class _Flight(Generic[_F]):
    """One fetch of a URL, awaited by every caller that wants that URL while it runs.

    ``waiters`` counts those callers: when the last one gives up (its deadline passed), nobody
    needs the page any more and the fetch is cancelled instead of holding a connection slot.
    """

    future: _F
    waiters: int = 0


@dataclass
class _LoopState:
    """Async limits and in-flight fetches of one event loop (asyncio objects belong to one loop)."""

    overall: asyncio.Semaphore
    hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    flights: dict[str, _Flight[asyncio.Task[Page]]] = field(default_factory=dict)


class PageFetcher:
    """Fetches pages concurrently, ``per_host`` at a time per host and ``concurrency`` overall.

    Concurrent calls for the same URL share one fetch: the engine retrieves for every claim
    at once, and claims about one topic get the same result pages, so without sharing N claims
    would fetch a page N times and a slow page would take N connection slots.  Once a fetch holds
    a slot it may keep it for ``page_timeout`` seconds at most (default: the HTTP step timeout),
    so one hanging page cannot starve the pages queued behind it for a whole retrieve deadline.
    """

    def __init__(self, session: HttpSession, *, cache: WebCache | None = None, per_host: int = 2,
                 concurrency: int = 8, max_bytes: int = PAGE_MAX_BYTES, page_timeout: float | None = None) -> None:
        if page_timeout is not None and not page_timeout > 0:
            raise ConfigError(f"page_timeout must be a positive number of seconds, got {page_timeout!r}")
        self.session = session
        self.cache = cache
        self.per_host = per_host
        self.concurrency = concurrency
        self.max_bytes = max_bytes
        self.page_timeout = page_timeout if page_timeout is not None else session.config.timeout
        self._host_locks: dict[str, threading.BoundedSemaphore] = {}
        self._flights: dict[str, _Flight[Future[Page]]] = {}
        self._locks_guard = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="guardrail-fetch")
        # The engine retrieves for all claims at once, so async limits and in-flight fetches are
        # shared by every call on a loop.
        self._loop_states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary())

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

    def _default_deadline(self) -> Deadline:
        return Deadline.after(self.session.config.timeout * 2)

    def _page_deadline(self, caller: Deadline | None = None) -> Deadline:
        """The deadline of a fetch that just got its slot: ``page_timeout``, or ``caller``'s if sooner."""
        own = Deadline.after(self.page_timeout)
        return caller if caller is not None and caller.at < own.at else own

    # -- sync -----------------------------------------------------------------------------------
    def _host_lock(self, url: str) -> threading.BoundedSemaphore:
        with self._locks_guard:
            return self._host_locks.setdefault(_host(url), threading.BoundedSemaphore(self.per_host))

    def _fetch_now(self, url: str, deadline: Deadline) -> Page:
        cached = self._cached(url)  # another flight may have stored it since the caller looked
        if cached is not None:
            return cached
        lock = self._host_lock(url)
        if not lock.acquire(timeout=max(0.0, deadline.remaining())):
            raise WebError(f"{url}: deadline exceeded waiting for a connection slot")
        try:
            result = self.session.request("GET", url, deadline=self._page_deadline(deadline),
                                          allow_truncated=True, max_bytes=self.max_bytes, headers=_PAGE_HEADERS)
        finally:
            lock.release()
        page = page_from_response(result)
        self._store(url, page)
        return page

    def _join(self, url: str, deadline: Deadline) -> _Flight[Future[Page]]:
        """The running fetch of ``url``, or a new one.  Balance with :meth:`_leave`.

        A thread cannot be cancelled once it runs, so a shared fetch keeps the deadline of the
        call that started it; later callers wait on it up to their own deadline.
        """
        with self._locks_guard:
            flight = self._flights.get(url)
            started = flight is None
            if flight is None:
                flight = self._flights[url] = _Flight(self._executor.submit(self._fetch_now, url, deadline))
            flight.waiters += 1
        if started:
            # Outside the guard: a fetch that already finished runs the callback right here.
            flight.future.add_done_callback(functools.partial(self._land, url, flight))
        return flight

    def _land(self, url: str, flight: _Flight[Future[Page]], _future: object) -> None:
        with self._locks_guard:
            if self._flights.get(url) is flight:
                del self._flights[url]

    def _leave(self, flight: _Flight[Future[Page]]) -> None:
        with self._locks_guard:
            flight.waiters -= 1
            idle = flight.waiters == 0
        if idle:
            flight.future.cancel()  # only succeeds for a fetch still queued for a worker

    def fetch(self, url: str, *, deadline: Deadline | None = None) -> Page:
        cached = self._cached(url)
        if cached is not None:
            return cached
        outcome = self.fetch_many([url], deadline=deadline or self._default_deadline())[url]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def fetch_many(self, urls: Sequence[str], *, deadline: Deadline) -> dict[str, Page | Exception]:
        """Every URL maps to its page or to the error that stopped it; none is left pending.

        Fetches still running at the deadline are reported as timed out (their threads stop
        by themselves: every request checks its deadline).
        """
        flights: dict[str, _Flight[Future[Page]]] = {}
        try:
            for url in dict.fromkeys(urls):
                flights[url] = self._join(url, deadline)
            wait_futures([f.future for f in flights.values()], timeout=max(0.0, deadline.remaining()))
        finally:
            for flight in flights.values():
                self._leave(flight)
        out: dict[str, Page | Exception] = {}
        for url, flight in flights.items():
            future = flight.future
            if not future.done() or future.cancelled():
                out[url] = WebError(f"{url}: deadline exceeded")
                continue
            error = future.exception()
            out[url] = error if isinstance(error, Exception) else future.result()
        return out

    # -- async ----------------------------------------------------------------------------------
    def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        with self._locks_guard:
            state = self._loop_states.get(loop)
            if state is None:
                state = self._loop_states[loop] = _LoopState(asyncio.Semaphore(self.concurrency))
            return state

    async def _afetch_now(self, url: str, state: _LoopState) -> Page:
        cached = self._cached(url)
        if cached is not None:
            return cached
        per_host = state.hosts.setdefault(_host(url), asyncio.Semaphore(self.per_host))
        # No caller deadline here: the flight serves several callers, and it is cancelled
        # when the last of them stops waiting (see afetch).
        async with state.overall, per_host:
            result = await self.session.arequest("GET", url, deadline=self._page_deadline(), allow_truncated=True,
                                                 max_bytes=self.max_bytes, headers=_PAGE_HEADERS)
        # Extraction is CPU work; a thread keeps the event loop responsive meanwhile.
        page = await asyncio.get_running_loop().run_in_executor(self._executor, page_from_response, result)
        self._store(url, page)
        return page

    @staticmethod
    def _aland(state: _LoopState, url: str, flight: _Flight[asyncio.Task[Page]], task: asyncio.Task[Page]) -> None:
        if state.flights.get(url) is flight:
            del state.flights[url]
        if not task.cancelled():
            task.exception()  # mark it retrieved: a failure every waiter gave up on is not worth a warning

    async def afetch(self, url: str, *, deadline: Deadline | None = None) -> Page:
        """The async twin of :meth:`fetch`; raises :class:`WebError` at ``deadline``."""
        cached = self._cached(url)
        if cached is not None:
            return cached
        deadline = deadline or self._default_deadline()
        state = self._loop_state()
        flight = state.flights.get(url)
        if flight is None:
            task = asyncio.get_running_loop().create_task(self._afetch_now(url, state))
            flight = state.flights[url] = _Flight(task)
            task.add_done_callback(functools.partial(self._aland, state, url, flight))
        flight.waiters += 1
        shared = flight.future
        try:
            # shield: one caller's deadline must not cancel the fetch the others are waiting for.
            return await asyncio.wait_for(asyncio.shield(shared), timeout=max(0.001, deadline.remaining()))
        except asyncio.TimeoutError:
            raise WebError(f"{url}: deadline exceeded") from None
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not shared.done():
                shared.cancel()
                # Forget it now, not when the cancellation lands: a caller arriving in between
                # would otherwise wait on a cancelled fetch and see its CancelledError.
                if state.flights.get(url) is flight:
                    del state.flights[url]

    async def afetch_many(self, urls: Iterable[str], *, deadline: Deadline) -> dict[str, Page | Exception]:
        """The async twin of :meth:`fetch_many`."""
        unique = list(dict.fromkeys(urls))

        async def one(url: str) -> Page | Exception:
            try:
                return await self.afetch(url, deadline=deadline)
            except Exception as exc:  # each URL's failure is its own outcome
                return exc

        results = await asyncio.gather(*(one(url) for url in unique))
        return dict(zip(unique, results, strict=True))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


_PAGE_HEADERS = {"Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1"}
