"""Search engines behind one Protocol: SearxNG, MediaWiki (Wikipedia), Brave, Tavily and Serper.

Each provider builds the request its public API documents and maps the JSON answer to
:class:`SearchHit` objects.  The endpoint a provider is configured with is trusted (it may be
a self-hosted SearxNG on a private address); the pages its results point at are not, and are
fetched through the normal :class:`~guardrail.web.safety.HostPolicy`.
"""

from __future__ import annotations

import json as jsonlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import quote

import httpx

from guardrail.exceptions import ConfigError, WebError
from guardrail.web.http import Deadline, HttpConfig, HttpResult, HttpSession
from guardrail.web.safety import SCHEMES, HostPolicy

# JSON answers are small; a huge one is a misconfigured or hostile endpoint.
SEARCH_MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class SearchHit:
    """One search result; ``rank`` is 1-based in the order the engine returned it."""

    url: str
    title: str
    snippet: str
    rank: int


@runtime_checkable
class SearchProvider(Protocol):
    """A web search engine.  ``name`` and ``endpoint`` identify it in cache keys and metadata."""

    name: str
    endpoint: str

    def search(self, query: str, count: int = 10, *, deadline: Deadline | None = None) -> list[SearchHit]: ...

    async def asearch(self, query: str, count: int = 10, *,
                      deadline: Deadline | None = None) -> list[SearchHit]: ...


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    json: Any = None


class _TextOnly(HTMLParser):
    """Drops the markup engines put in snippets (``<span class="searchmatch">``, ``<b>``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def strip_markup(text: str) -> str:
    parser = _TextOnly()
    parser.feed(text or "")
    parser.close()
    return " ".join("".join(parser.parts).split())


def _web_url(url: Any) -> str | None:
    """The URL if it is an absolute http(s) URL; results pointing elsewhere are dropped."""
    if not isinstance(url, str):
        return None
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError):
        return None
    return str(parsed) if parsed.scheme in SCHEMES and parsed.host else None


def _text(value: Any) -> str:
    """A title or snippet; any other JSON type ("{'b': 1}" once str()-ed) is no text at all."""
    return strip_markup(value) if isinstance(value, str) else ""


def _hits(rows: Sequence[tuple[Any, Any, Any]], count: int) -> list[SearchHit]:
    hits: list[SearchHit] = []
    seen: set[str] = set()
    for url, title, snippet in rows:
        clean = _web_url(url)
        if clean is None or clean in seen:
            continue
        seen.add(clean)
        hits.append(SearchHit(clean, _text(title), _text(snippet), len(hits) + 1))
        if len(hits) >= count:
            break
    return hits


class HttpSearchProvider:
    """Base for JSON search APIs: subclasses give ``_request`` and ``_parse``."""

    name: ClassVar[str] = ""
    default_endpoint: ClassVar[str | None] = None

    def __init__(self, endpoint: str | None = None, *, session: HttpSession | None = None,
                 http: HttpConfig | None = None, policy: HostPolicy | None = None) -> None:
        endpoint = endpoint or self.default_endpoint
        if not endpoint:
            raise ConfigError(f"the {self.name} search provider needs an endpoint URL (--web-url)")
        try:
            url = httpx.URL(endpoint)
        except (httpx.InvalidURL, ValueError) as exc:
            raise ConfigError(f"invalid {self.name} endpoint {endpoint!r}: {exc}") from exc
        if url.scheme not in SCHEMES or not url.host:
            raise ConfigError(f"the {self.name} endpoint must be an http(s) URL, got {endpoint!r}")
        self.endpoint = str(url)
        if session is None:
            session = HttpSession(http or HttpConfig(), (policy or HostPolicy()).allowing([url.host]))
        self.session = session

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.endpoint!r})"

    def _request(self, query: str, count: int) -> _Request:
        raise NotImplementedError

    def _parse(self, data: Any, count: int) -> list[SearchHit]:
        raise NotImplementedError

    def _decode(self, result: HttpResult) -> Any:
        try:
            return jsonlib.loads(result.content)
        except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..." nested past the stack
            raise WebError(f"{self.name} returned a body that is not JSON "
                           f"({result.content_type or 'no content type'}) from {result.url}") from exc

    def _hits(self, data: Any, count: int) -> list[SearchHit]:
        try:
            return self._parse(data, count)
        except (KeyError, TypeError, AttributeError) as exc:
            raise WebError(f"unexpected {self.name} response shape: {exc!r}") from exc

    @staticmethod
    def _params(req: _Request) -> httpx.QueryParams | None:
        """The endpoint's own query parameters (``?key=...`` in ``--web-url``) plus the request's.

        httpx replaces a URL's query string with ``params`` instead of adding to it, which
        would silently drop what the user configured.  On a clash the provider's value wins:
        it is what the response parsing relies on (``format=json``, the query itself).
        """
        if req.params is None:
            return None
        return httpx.URL(req.url).params.merge(req.params)

    def search(self, query: str, count: int = 10, *, deadline: Deadline | None = None) -> list[SearchHit]:
        req = self._request(query, count)
        result = self.session.request(req.method, req.url, params=self._params(req), headers=req.headers,
                                      json=req.json, deadline=deadline, max_bytes=SEARCH_MAX_BYTES)
        return self._hits(self._decode(result), count)

    async def asearch(self, query: str, count: int = 10, *,
                      deadline: Deadline | None = None) -> list[SearchHit]:
        req = self._request(query, count)
        result = await self.session.arequest(req.method, req.url, params=self._params(req), headers=req.headers,
                                             json=req.json, deadline=deadline, max_bytes=SEARCH_MAX_BYTES)
        return self._hits(self._decode(result), count)

    def close(self) -> None:
        self.session.close()

    async def aclose(self) -> None:
        await self.session.aclose()


class SearxNG(HttpSearchProvider):
    """A SearxNG instance's JSON API: ``GET /search?q=...&format=json``.

    The instance must list ``json`` under ``search.formats`` in its settings.yml, otherwise it
    answers 403.  ``endpoint`` is the instance's base URL (``/search`` is appended to its path
    if missing); query parameters in it are sent along with each search.
    """

    name = "searxng"

    def __init__(self, endpoint: str | None = None, *, language: str | None = None,
                 categories: str = "general", safesearch: int = 0, **kwargs: Any) -> None:
        if endpoint:
            endpoint = _with_search_path(endpoint)
        super().__init__(endpoint, **kwargs)
        self.language, self.categories, self.safesearch = language, categories, safesearch

    def _request(self, query: str, count: int) -> _Request:
        params: dict[str, Any] = {"q": query, "format": "json", "pageno": 1,
                                  "categories": self.categories, "safesearch": self.safesearch}
        if self.language:
            params["language"] = self.language
        return _Request("GET", self.endpoint, params=params)

    def _parse(self, data: Any, count: int) -> list[SearchHit]:
        # SearxNG has no result-count parameter: it returns a page and we keep the top ones.
        return _hits([(r.get("url"), r.get("title"), r.get("content")) for r in data.get("results", [])],
                     count)

    def search(self, query: str, count: int = 10, *, deadline: Deadline | None = None) -> list[SearchHit]:
        try:
            return super().search(query, count, deadline=deadline)
        except WebError as exc:
            raise _searx_hint(exc) from exc

    async def asearch(self, query: str, count: int = 10, *,
                      deadline: Deadline | None = None) -> list[SearchHit]:
        try:
            return await super().asearch(query, count, deadline=deadline)
        except WebError as exc:
            raise _searx_hint(exc) from exc


def _with_search_path(endpoint: str) -> str:
    """``endpoint`` with ``/search`` at the end of its path: never after the query string."""
    try:
        url = httpx.URL(endpoint.strip())
    except (httpx.InvalidURL, ValueError):
        return endpoint  # the base class reports the bad URL as the user typed it
    path = url.path.rstrip("/")
    if url.scheme not in SCHEMES or not url.host or path.endswith("/search"):
        return endpoint
    return str(url.copy_with(path=path + "/search"))


def _searx_hint(exc: WebError) -> WebError:
    if "HTTP 403" in str(exc):
        return type(exc)(f"{exc} (is 'json' enabled under search.formats in the SearxNG settings.yml?)")
    return exc


class MediaWiki(HttpSearchProvider):
    """The MediaWiki Action API's full-text search (``action=query&list=search``), e.g. Wikipedia.

    ``endpoint`` is the wiki's ``api.php``.  Result URLs are ``article_path`` with the title;
    by default the ``/wiki/`` path next to ``/w/api.php``, as on Wikimedia wikis.
    """

    name = "mediawiki"
    default_endpoint = "https://en.wikipedia.org/w/api.php"

    def __init__(self, endpoint: str | None = None, *, article_path: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(endpoint, **kwargs)
        if article_path is None:
            api = httpx.URL(self.endpoint)
            base = api.path.rsplit("/", 1)[0]  # "/w/api.php" -> "/w"
            wiki = (base.rsplit("/", 1)[0] if base.endswith("/w") else base) + "/wiki/"
            article_path = str(api.copy_with(path=wiki, query=None))
        self.article_path = article_path

    def _request(self, query: str, count: int) -> _Request:
        return _Request("GET", self.endpoint, params={
            "action": "query", "list": "search", "srsearch": query, "srlimit": max(1, min(count, 50)),
            "srprop": "snippet", "srnamespace": 0, "format": "json", "formatversion": 2,
            "utf8": 1, "maxlag": 5})

    def _parse(self, data: Any, count: int) -> list[SearchHit]:
        if "error" in data:
            error = data["error"]
            raise WebError(f"MediaWiki API error {error.get('code')}: {error.get('info')}")
        rows = []
        for r in data.get("query", {}).get("search", []):
            title = str(r.get("title", ""))
            url = self.article_path + quote(title.replace(" ", "_"), safe="/:(),'!*")
            rows.append((url, title, r.get("snippet")))
        return _hits(rows, count)


def _api_key(explicit: str | None, env: str, provider: str) -> str:
    key = explicit or os.environ.get(env, "").strip()
    if not key:
        raise ConfigError(f"the {provider} search provider needs an API key: "
                          f"set the {env} environment variable")
    return key


class Brave(HttpSearchProvider):
    """Brave Search web API: ``GET /res/v1/web/search`` with the ``X-Subscription-Token`` header.

    The key comes from ``BRAVE_API_KEY`` unless passed as ``api_key``.
    """

    name = "brave"
    default_endpoint = "https://api.search.brave.com/res/v1/web/search"
    env = "BRAVE_API_KEY"

    def __init__(self, endpoint: str | None = None, *, api_key: str | None = None, **kwargs: Any) -> None:
        self._key = _api_key(api_key, self.env, self.name)
        super().__init__(endpoint, **kwargs)

    def _request(self, query: str, count: int) -> _Request:
        return _Request("GET", self.endpoint, params={"q": query, "count": max(1, min(count, 20))},
                        headers={"Accept": "application/json", "X-Subscription-Token": self._key})

    def _parse(self, data: Any, count: int) -> list[SearchHit]:
        results = (data.get("web") or {}).get("results", [])
        return _hits([(r.get("url"), r.get("title"), r.get("description")) for r in results], count)


class Tavily(HttpSearchProvider):
    """Tavily search API: ``POST /search`` with a JSON body and a Bearer key (``TAVILY_API_KEY``)."""

    name = "tavily"
    default_endpoint = "https://api.tavily.com/search"
    env = "TAVILY_API_KEY"

    def __init__(self, endpoint: str | None = None, *, api_key: str | None = None,
                 search_depth: str = "basic", **kwargs: Any) -> None:
        self._key = _api_key(api_key, self.env, self.name)
        super().__init__(endpoint, **kwargs)
        self.search_depth = search_depth

    def _request(self, query: str, count: int) -> _Request:
        return _Request("POST", self.endpoint, headers={"Authorization": f"Bearer {self._key}"},
                        json={"query": query, "max_results": max(1, min(count, 20)),
                              "search_depth": self.search_depth, "include_answer": False})

    def _parse(self, data: Any, count: int) -> list[SearchHit]:
        return _hits([(r.get("url"), r.get("title"), r.get("content")) for r in data.get("results", [])],
                     count)


class Serper(HttpSearchProvider):
    """Serper (Google results): ``POST /search`` with ``X-API-KEY`` (``SERPER_API_KEY``)."""

    name = "serper"
    default_endpoint = "https://google.serper.dev/search"
    env = "SERPER_API_KEY"

    def __init__(self, endpoint: str | None = None, *, api_key: str | None = None, **kwargs: Any) -> None:
        self._key = _api_key(api_key, self.env, self.name)
        super().__init__(endpoint, **kwargs)

    def _request(self, query: str, count: int) -> _Request:
        return _Request("POST", self.endpoint, headers={"X-API-KEY": self._key},
                        json={"q": query, "num": max(1, min(count, 100))})

    def _parse(self, data: Any, count: int) -> list[SearchHit]:
        return _hits([(r.get("link"), r.get("title"), r.get("snippet")) for r in data.get("organic", [])],
                     count)


PROVIDERS: dict[str, type[HttpSearchProvider]] = {
    "searxng": SearxNG, "mediawiki": MediaWiki, "wikipedia": MediaWiki,
    "brave": Brave, "tavily": Tavily, "serper": Serper,
}


def make_provider(name: str, url: str | None = None, *, api_key: str | None = None,
                  http: HttpConfig | None = None, policy: HostPolicy | None = None) -> HttpSearchProvider:
    """The provider called ``name`` (see :data:`PROVIDERS`) at ``url`` or its public endpoint."""
    cls = PROVIDERS.get(name.strip().lower())
    if cls is None:
        raise ConfigError(f"unknown web search provider {name!r}; "
                          f"choose one of {', '.join(sorted(PROVIDERS))}")
    kwargs: dict[str, Any] = {"http": http, "policy": policy}
    if "env" in cls.__dict__:
        kwargs["api_key"] = api_key
    return cls(url, **kwargs)
