"""``WebRetriever``: search the web for a claim and return page chunks as evidence passages.

One ``retrieve`` call: plan a query (the claim, or SAFE-style LLM queries), search, fetch the
top result pages concurrently, extract and chunk their text, rank the chunks against the
claim (BM25) and return the best ``k``, at most :data:`MAX_PASSAGES_PER_URL` from one page
while other pages have passages to offer.  Everything runs under one deadline.  Outcomes:

* the search fails after its retries            -> :class:`WebError` (the engine records it
  in ``Report.errors`` with ``fail="open"``, raises with ``fail="closed"``);
* some pages fail, are blocked or time out      -> those results fall back to the engine's
  snippet, the others are used;
* every page and snippet is unusable            -> :class:`WebError`;
* the search finds nothing                      -> ``[]`` (the claim ends up unsupported).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from guardrail.documents import check_chunking, chunk_text, require_extractor
from guardrail.exceptions import ConfigError, WebError
from guardrail.report import Passage
from guardrail.web.cache import DEFAULT_TTL, WebCache, cache_key
from guardrail.web.fetch import PageFetcher
from guardrail.web.http import Deadline, HttpConfig, HttpSession
from guardrail.web.page import PAGE_MAX_BYTES, Page
from guardrail.web.providers import SearchHit, SearchProvider, make_provider
from guardrail.web.query import STOPWORDS, ClaimQueries, QueryPlanner, SafeQueryPlanner, SearchStep
from guardrail.web.safety import SCHEMES, HostPolicy, Resolver

log = logging.getLogger("guardrail.web")


def default_cache_dir() -> Path:
    """``$GUARDRAIL_CACHE_DIR/web``, else ``$XDG_CACHE_HOME/guardrail/web`` (``~/.cache``)."""
    if os.environ.get("GUARDRAIL_CACHE_DIR"):
        return Path(os.environ["GUARDRAIL_CACHE_DIR"]).expanduser() / "web"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "guardrail" / "web"


@dataclass(frozen=True)
class WebConfig:
    """How much a retrieve call may do.  ``deadline`` bounds the whole call, in seconds."""

    max_results: int = 5  # search hits whose pages are fetched, per query
    deadline: float = 20.0
    chunk_chars: int = 1500
    chunk_overlap: int = 200
    per_host: int = 2  # concurrent fetches per host
    concurrency: int = 8  # concurrent fetches overall
    # How long one page may hold a connection slot; None: half the deadline, at most the HTTP
    # step timeout, so pages queued behind a hanging one still get the other half.
    page_timeout: float | None = None
    page_max_bytes: int = PAGE_MAX_BYTES
    snippets: bool = True  # use the engine's snippet when a page cannot be used

    def __post_init__(self) -> None:
        check_chunking(self.chunk_chars, self.chunk_overlap, "chunk_chars", "chunk_overlap")


_WORD = re.compile(r"\w+")
# A long page that repeats the query's words (a tag cloud, a forum thread, a mirror of the
# question) has hundreds of chunks that all outscore a shorter page that answers it, and would
# fill every evidence slot.  Three chunks let a page support a claim from its best passages;
# other pages fill the slots after that, and only when there are not enough does one page get more.
MAX_PASSAGES_PER_URL = 3


def _terms(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def rank_passages(query: str, passages: Sequence[Passage], k: int,
                  per_url: int = MAX_PASSAGES_PER_URL) -> list[Passage]:
    """The ``k`` passages that best match ``query`` by BM25; ties keep the engine's order.

    At most ``per_url`` of them come from one page (``Passage.url``, else its ``id``) while
    other pages have passages to offer; the remaining slots then go to the best of the rest.
    """
    if k <= 0 or not passages:
        return []
    docs = [Counter(_terms(p.text)) for p in passages]
    lengths = [sum(d.values()) for d in docs]
    avg = (sum(lengths) / len(lengths)) or 1.0
    n = len(docs)
    score = [0.0] * n
    for term in set(_terms(query)):
        df = sum(1 for d in docs if term in d)
        if not df:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for i, d in enumerate(docs):
            tf = d.get(term, 0)
            if tf:
                score[i] += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * lengths[i] / avg))
    order = sorted(range(n), key=lambda i: -score[i])  # stable: equal scores stay in search order
    taken: Counter[str] = Counter()
    picked: list[int] = []
    overflow: list[int] = []
    for i in order:
        source = passages[i].url or passages[i].id
        if per_url > 0 and taken[source] >= per_url:
            overflow.append(i)
            continue
        taken[source] += 1
        picked.append(i)
    return [passages[i] for i in (picked + overflow)[:k]]


def _check_web_url(url: str) -> None:
    """Raise :class:`ConfigError` unless ``url`` is an absolute http(s) URL with a host.

    Checked before a provider sees it, so the message names the ``--web-url`` option and
    quotes the URL as typed, before any provider adds to it (SearxNG appends ``/search``).
    """
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError) as exc:
        raise ConfigError(f"--web-url {url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in SCHEMES or not parsed.host:
        raise ConfigError(f"--web-url must be an http:// or https:// URL with a host "
                          f"(e.g. http://127.0.0.1:8888), got {url!r}")


def _open_cache(directory: str | Path, ttl: float) -> WebCache | None:
    try:
        return WebCache(directory, ttl=ttl)
    except (OSError, sqlite3.Error) as exc:  # a read-only home or a damaged file: run uncached
        log.warning("web cache at %s unavailable (%s); continuing without it", directory, exc)
        return None


class WebRetriever:
    """A :class:`~guardrail.protocols.Retriever` over web search (see the module docstring)."""

    def __init__(self, provider: SearchProvider, *, policy: HostPolicy | None = None,
                 http: HttpConfig | None = None, cache: WebCache | None = None,
                 planner: QueryPlanner | None = None, config: WebConfig | None = None) -> None:
        require_extractor()  # fail now, with the install hint, rather than on the first page
        self.provider = provider
        self.config = config or WebConfig()
        self.cache = cache
        self.planner: QueryPlanner = planner or ClaimQueries()
        self.session = HttpSession(http or HttpConfig(retries=1), policy or HostPolicy())
        page_timeout = self.config.page_timeout
        if page_timeout is None:
            # max(): a zero deadline is allowed (every retrieve returns nothing) and must not
            # turn into an invalid page timeout.
            page_timeout = max(0.001, min(self.session.config.timeout, self.config.deadline / 2))
        self.fetcher = PageFetcher(self.session, cache=cache, per_host=self.config.per_host,
                                   concurrency=self.config.concurrency, max_bytes=self.config.page_max_bytes,
                                   page_timeout=page_timeout)

    @classmethod
    def from_options(cls, provider: str, url: str | None = None, allow_hosts: Sequence[str] = (), *,
                     cache_dir: str | Path | None = None, cache: bool = True, timeout: float = 20.0,
                     api_key: str | None = None, llm: Any = None, max_steps: int = 3,
                     max_results: int = 5, cache_ttl: float = DEFAULT_TTL,
                     page_max_bytes: int = PAGE_MAX_BYTES, resolver: Resolver | None = None) -> WebRetriever:
        """Build a retriever from CLI-style options.

        ``provider``: searxng, mediawiki (alias wikipedia), brave, tavily or serper; ``url``
        its endpoint (required for searxng; overrides the public one for the others);
        ``allow_hosts``: the ``--allow-host`` values; ``timeout``: the deadline of one
        retrieve call in seconds; ``cache_dir``: where the cache lives (default
        :func:`default_cache_dir`), ``cache=False`` disables it; ``llm``: a chat model for
        SAFE-style queries (up to ``max_steps`` searches per claim); ``page_max_bytes``: pages
        are cut there; ``resolver``: DNS replacement, for tests.
        """
        if not timeout > 0:  # also refuses NaN, under which every retrieve silently found nothing
            raise ConfigError("--web timeout must be positive")
        # 0 or less would still fetch a page (providers ask for at least one result), and a zero
        # byte cap would fall back to the HTTP default: refuse both rather than ignore them.
        if max_results < 1:
            raise ConfigError(f"max_results must be at least 1, got {max_results}")
        if page_max_bytes < 1:
            raise ConfigError(f"page_max_bytes must be at least 1, got {page_max_bytes}")
        if url is not None:
            _check_web_url(url)
        policy = HostPolicy(tuple(allow_hosts), **({"resolver": resolver} if resolver else {}))
        step = min(10.0, timeout)
        search_http = HttpConfig(timeout=step, retries=2, max_retry_after=min(30.0, timeout / 2))
        search = make_provider(provider, url, api_key=api_key, http=search_http, policy=policy)
        store = _open_cache(cache_dir or default_cache_dir(), cache_ttl) if cache else None
        planner = SafeQueryPlanner(llm, max_steps=max_steps) if llm is not None else None
        return cls(search, policy=policy, http=HttpConfig(timeout=step, retries=1), cache=store,
                   planner=planner, config=WebConfig(max_results=max_results, deadline=timeout,
                                                     page_max_bytes=page_max_bytes))

    def __repr__(self) -> str:
        return f"WebRetriever({self.provider!r})"

    # -- search ---------------------------------------------------------------------------------
    def _search_key(self, query: str) -> str:
        return cache_key("search", self.provider.name, self.provider.endpoint, query, self.config.max_results)

    def _cached_hits(self, query: str) -> list[SearchHit] | None:
        data = self.cache.get(self._search_key(query)) if self.cache else None
        try:
            return [SearchHit(**h) for h in data] if isinstance(data, list) else None
        except TypeError:  # an entry of another shape (another guardrail version): a miss
            return None

    def _store_hits(self, query: str, hits: list[SearchHit]) -> None:
        if self.cache is not None:
            self.cache.put(self._search_key(query), [h.__dict__ for h in hits], kind="search")

    def search(self, query: str, deadline: Deadline | None = None) -> list[SearchHit]:
        hits = self._cached_hits(query)
        if hits is None:
            hits = self.provider.search(query, self.config.max_results, deadline=deadline)
            self._store_hits(query, hits)
        return hits

    async def asearch(self, query: str, deadline: Deadline | None = None) -> list[SearchHit]:
        hits = self._cached_hits(query)
        if hits is None:
            hits = await self.provider.asearch(query, self.config.max_results, deadline=deadline)
            self._store_hits(query, hits)
        return hits

    # -- one step: hits + fetched pages -> passages ---------------------------------------------
    def _passages(self, query: str, step: int, hits: Sequence[SearchHit],
                  pages: dict[str, Page | Exception]) -> list[Passage]:
        passages: list[Passage] = []
        failures: list[str] = []
        for hit in hits:
            page = pages.get(hit.url)
            if isinstance(page, ConfigError):
                raise page
            base = {"provider": self.provider.name, "query": query, "rank": hit.rank, "step": step}
            if isinstance(page, Page) and page.text:
                extra: dict[str, Any] = {"truncated": page.truncated}
                if page.url != hit.url:
                    extra["search_url"] = hit.url
                title = page.title or hit.title or None
                for c in chunk_text(page.text, self.config.chunk_chars, self.config.chunk_overlap):
                    meta = {**base, "start": c.start, "end": c.end, "source": "page", **extra}
                    pid = f"{page.url}#chars={c.start}-{c.end}"
                    passages.append(Passage(c.text, pid, page.url, title, meta))
                continue
            why = f"{type(page).__name__}: {page}" if isinstance(page, Exception) else "no text"
            failures.append(f"{hit.url} ({why})")
            log.info("web page unusable, %s", failures[-1])
            if self.config.snippets and hit.snippet:
                passages.append(Passage(hit.snippet, f"{hit.url}#snippet", hit.url, hit.title or None,
                                        {**base, "start": 0, "end": len(hit.snippet), "source": "snippet"}))
        if hits and not passages:
            raise WebError(f"none of the {len(hits)} results for {query!r} could be used: "
                           + "; ".join(failures[:3]))
        return passages

    # -- the Retriever protocol -----------------------------------------------------------------
    def retrieve(self, query: str, k: int) -> list[Passage]:
        deadline = Deadline.after(self.config.deadline)
        history: list[SearchStep] = []
        while len(history) < self.planner.max_steps and not deadline.expired:
            q = self.planner.next_query(query, history)
            if not q or any(q == s.query for s in history):
                break
            try:
                hits = self.search(q, deadline)
                pages = self.fetcher.fetch_many([h.url for h in hits], deadline=deadline)
                found = self._passages(q, len(history), hits, pages)
            except WebError as exc:
                if not history:
                    raise
                log.warning("web search step %d failed, keeping earlier results: %s", len(history) + 1, exc)
                break
            history.append(SearchStep(q, tuple(rank_passages(f"{query} {q}", found, len(found)))))
            if self.planner.done(query, history):
                break
        return self._final(query, history, k)

    async def aretrieve(self, query: str, k: int) -> list[Passage]:
        deadline = Deadline.after(self.config.deadline)
        history: list[SearchStep] = []
        while len(history) < self.planner.max_steps and not deadline.expired:
            try:
                q = await asyncio.wait_for(self.planner.anext_query(query, history), deadline.remaining())
            except asyncio.TimeoutError:
                break
            if not q or any(q == s.query for s in history):
                break
            try:
                hits = await self.asearch(q, deadline)
                pages = await self.fetcher.afetch_many([h.url for h in hits], deadline=deadline)
                found = self._passages(q, len(history), hits, pages)
            except WebError as exc:
                if not history:
                    raise
                log.warning("web search step %d failed, keeping earlier results: %s", len(history) + 1, exc)
                break
            history.append(SearchStep(q, tuple(rank_passages(f"{query} {q}", found, len(found)))))
            try:
                judging = self.planner.adone(query, history)
                done = await asyncio.wait_for(judging, max(0.001, deadline.remaining()))
            except asyncio.TimeoutError:
                break
            if done:
                break
        return self._final(query, history, k)

    def _final(self, query: str, history: Sequence[SearchStep], k: int) -> list[Passage]:
        pool: dict[str, Passage] = {}
        for step in history:
            for p in step.passages:
                pool.setdefault(p.id, p)
        return rank_passages(query, list(pool.values()), k)

    # -- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        self.fetcher.close()
        self.session.close()
        closer = getattr(self.provider, "close", None)
        if callable(closer):
            closer()
        if self.cache is not None:
            self.cache.close()

    async def aclose(self) -> None:
        await self.session.aclose()
        closer = getattr(self.provider, "aclose", None)
        if callable(closer):
            await closer()
        self.close()

    def __enter__(self) -> WebRetriever:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> WebRetriever:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

