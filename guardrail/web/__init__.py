"""Web search as an evidence source: search, fetch, extract, chunk, under a safety policy.

>>> from guardrail.web import WebRetriever
>>> web = WebRetriever.from_options("searxng", "http://127.0.0.1:8888")  # doctest: +SKIP
>>> Guardrail(retrievers=[web]).check(answer)  # doctest: +SKIP

See the README section "Web search as evidence" for providers, API keys and the safety defaults.
"""

from guardrail.documents import Chunk, chunk_text, extract_html
from guardrail.web.cache import WebCache, cache_key
from guardrail.web.fetch import PageFetcher
from guardrail.web.http import Deadline, HttpConfig, HttpResult, HttpSession, parse_retry_after
from guardrail.web.page import Page, decode_body
from guardrail.web.providers import (
    PROVIDERS,
    Brave,
    HttpSearchProvider,
    MediaWiki,
    SearchHit,
    SearchProvider,
    SearxNG,
    Serper,
    Tavily,
    make_provider,
)
from guardrail.web.query import (
    ClaimQueries,
    QueryPlanner,
    SafeQueryPlanner,
    SearchStep,
    claim_query,
    nli_stop,
)
from guardrail.web.retriever import WebConfig, WebRetriever, default_cache_dir, rank_passages
from guardrail.web.safety import HostPolicy, Resolver, forbidden_reason, system_resolver

__all__ = [
    "PROVIDERS",
    "Brave",
    "Chunk",
    "ClaimQueries",
    "Deadline",
    "HostPolicy",
    "HttpConfig",
    "HttpResult",
    "HttpSearchProvider",
    "HttpSession",
    "MediaWiki",
    "Page",
    "PageFetcher",
    "QueryPlanner",
    "Resolver",
    "SafeQueryPlanner",
    "SearchHit",
    "SearchProvider",
    "SearchStep",
    "SearxNG",
    "Serper",
    "Tavily",
    "WebCache",
    "WebConfig",
    "WebRetriever",
    "cache_key",
    "chunk_text",
    "claim_query",
    "decode_body",
    "default_cache_dir",
    "extract_html",
    "forbidden_reason",
    "make_provider",
    "nli_stop",
    "parse_retry_after",
    "rank_passages",
    "system_resolver",
]
