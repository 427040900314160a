"""Fetch result pages concurrently: per-host and overall limits, a deadline per page, one
fetch per URL however many claims want it at once, and the page cache.  What a page holds
once fetched (decoding, main text, chunks) is ``guardrail.web.page``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import asdict, dataclass, field
from typing import Generic, TypeVar

import httpx

from guardrail.exceptions import ConfigError, WebError
from guardrail.web.cache import WebCache, cache_key
from guardrail.web.http import Deadline, HttpSession
from guardrail.web.page import PAGE_MAX_BYTES, Page, page_from_response

log = logging.getLogger("guardrail.web")


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
        # served from the cache to a run that would have refused it.  So is the byte cap: a page
        # cut at a smaller cap would hide its end from a run that allows more.
        return cache_key("page", url, sorted(self.session.policy.allow_hosts), self.max_bytes)

    def _cached(self, url: str) -> Page | None:
        if self.cache is None:
            return None
        data = self.cache.get(self._key(url))
        try:
            return Page(**data) if isinstance(data, dict) else None
        except TypeError:  # an entry of another shape (another guardrail version): a miss
            return None

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
