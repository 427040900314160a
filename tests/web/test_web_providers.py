"""Each provider sends the request its API documents and maps the documented answer to hits."""

from __future__ import annotations

import json

import pytest
from webworld import LocalServer, Reply, Seen, json_reply

from guardrail.exceptions import ConfigError, WebError
from guardrail.web.http import HttpConfig
from guardrail.web.providers import (
    Brave,
    MediaWiki,
    SearchProvider,
    SearxNG,
    Serper,
    Tavily,
    make_provider,
    strip_markup,
)
from guardrail.web.safety import HostPolicy

QUICK = HttpConfig(timeout=1, retries=1, backoff=0.05)


def test_searxng_request_and_parse(server: LocalServer) -> None:
    server.route("/search", json_reply({"query": "q", "results": [
        {"url": server.url("/a"), "title": "A", "content": "about <b>a</b>", "engine": "x", "score": 2},
        {"url": "javascript:alert(1)", "title": "bad", "content": ""},
        {"url": server.url("/a"), "title": "dup", "content": ""},
        {"url": server.url("/b"), "title": "B", "content": "about b"},
    ]}))
    provider = SearxNG(server.url(""), http=QUICK)  # "/search" is appended
    hits = provider.search("eiffel tower", count=5)
    assert isinstance(provider, SearchProvider)
    assert [(h.url, h.title, h.snippet, h.rank) for h in hits] == [
        (server.url("/a"), "A", "about a", 1), (server.url("/b"), "B", "about b", 2)]
    seen = server.seen[0]
    assert seen.method == "GET" and seen.path == "/search"
    assert seen.query["q"] == ["eiffel tower"] and seen.query["format"] == ["json"]


def test_searxng_endpoint_is_trusted_without_allow_host(server: LocalServer) -> None:
    # The configured endpoint is loopback, which the default policy forbids for pages.
    server.route("/search", json_reply({"results": []}))
    assert SearxNG(server.url("/search"), policy=HostPolicy()).search("x") == []


def test_searxng_403_explains_the_json_format_setting(server: LocalServer) -> None:
    server.route("/search", Reply(403, b"Forbidden"))
    with pytest.raises(WebError, match=r"search\.formats"):
        SearxNG(server.url(""), http=QUICK).search("x")


async def test_searxng_async(server: LocalServer) -> None:
    results = [{"url": server.url("/a"), "title": "A", "content": "c"}]
    server.route("/search", json_reply({"results": results}))
    provider = SearxNG(server.url(""), http=QUICK)
    assert [h.url for h in await provider.asearch("q", 3)] == [server.url("/a")]
    await provider.aclose()


def test_mediawiki_request_and_parse(server: LocalServer) -> None:
    server.route("/w/api.php", json_reply({"batchcomplete": True, "query": {"searchinfo": {"totalhits": 2},
        "search": [
            {"ns": 0, "title": "Eiffel Tower", "pageid": 9232,
             "snippet": 'The <span class="searchmatch">Eiffel</span> Tower is a wrought-iron lattice'},
            {"ns": 0, "title": "Gustave Eiffel", "pageid": 1, "snippet": "French civil engineer"},
        ]}}))
    provider = MediaWiki(server.url("/w/api.php"), http=QUICK)
    hits = provider.search("eiffel", count=2)
    assert hits[0].url == server.url("/wiki/Eiffel_Tower")
    assert hits[0].snippet == "The Eiffel Tower is a wrought-iron lattice"
    assert hits[1].title == "Gustave Eiffel"
    q = server.seen[0].query
    assert q["action"] == ["query"] and q["list"] == ["search"] and q["srsearch"] == ["eiffel"]
    assert q["format"] == ["json"] and q["srlimit"] == ["2"]
    assert "guardrail" in server.seen[0].headers["user-agent"]  # Wikimedia's User-Agent policy


def test_mediawiki_api_error_is_a_web_error(server: LocalServer) -> None:
    server.route("/w/api.php", json_reply({"error": {"code": "maxlag", "info": "Waiting for a database"}}))
    with pytest.raises(WebError, match="maxlag"):
        MediaWiki(server.url("/w/api.php"), http=QUICK).search("x")


def test_brave_request_and_parse(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAVE_API_KEY", "brave-test-key")

    def handler(seen: Seen) -> Reply:
        if seen.headers.get("x-subscription-token") != "brave-test-key":
            return json_reply({"error": "unauthorized"}, 401)
        return json_reply({"type": "search", "web": {"type": "search", "results": [
            {"title": "Eiffel Tower - Wikipedia", "url": server.url("/e"),
             "description": "The <strong>tower</strong>"},
        ]}})

    server.route("/res/v1/web/search", handler)
    hits = Brave(server.url("/res/v1/web/search"), http=QUICK).search("eiffel", count=50)
    assert [(h.title, h.snippet) for h in hits] == [("Eiffel Tower - Wikipedia", "The tower")]
    assert server.seen[0].query["count"] == ["20"]  # the API's maximum
    assert server.seen[0].headers["accept"] == "application/json"


def test_tavily_request_and_parse(server: LocalServer) -> None:
    def handler(seen: Seen) -> Reply:
        body = json.loads(seen.body)
        assert seen.method == "POST" and seen.headers["authorization"] == "Bearer tvly-test"
        assert body["query"] == "eiffel" and body["max_results"] == 3
        return json_reply({"query": "eiffel", "results": [
            {"title": "T", "url": server.url("/t"), "content": "tower facts", "score": 0.9}]})

    server.route("/search", handler)
    hits = Tavily(server.url("/search"), api_key="tvly-test", http=QUICK).search("eiffel", count=3)
    assert [(h.url, h.snippet) for h in hits] == [(server.url("/t"), "tower facts")]


def test_serper_request_and_parse(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERPER_API_KEY", "serper-test")

    def handler(seen: Seen) -> Reply:
        assert seen.headers["x-api-key"] == "serper-test"
        assert json.loads(seen.body) == {"q": "eiffel", "num": 4}
        organic = [{"title": "S", "link": server.url("/s"), "snippet": "s", "position": 1}]
        return json_reply({"organic": organic})

    server.route("/search", handler)
    hits = Serper(server.url("/search"), http=QUICK).search("eiffel", 4)
    assert [h.url for h in hits] == [server.url("/s")]


@pytest.mark.parametrize("name, env", [("brave", "BRAVE_API_KEY"), ("tavily", "TAVILY_API_KEY"),
                                       ("serper", "SERPER_API_KEY")])
def test_missing_api_key_is_a_config_error(name: str, env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(env, raising=False)
    with pytest.raises(ConfigError, match=env):
        make_provider(name)


def test_api_key_never_appears_in_errors(server: LocalServer) -> None:
    server.route("/res/v1/web/search", Reply(500, b""))
    with pytest.raises(WebError) as info:
        Brave(server.url("/res/v1/web/search"), api_key="sk-secret", http=QUICK).search("x")
    assert "sk-secret" not in str(info.value)


def test_make_provider_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="unknown"):
        make_provider("altavista")
    with pytest.raises(ConfigError, match="endpoint"):
        make_provider("searxng")  # no public default for a self-hosted engine
    with pytest.raises(ConfigError, match="http"):
        make_provider("searxng", "file:///tmp/x")
    assert make_provider("wikipedia").endpoint == "https://en.wikipedia.org/w/api.php"  # built, not called


def test_non_json_and_oversized_answers_are_web_errors(server: LocalServer) -> None:
    server.route("/search", Reply(200, b"<html>not json</html>", {"Content-Type": "text/html"}))
    with pytest.raises(WebError, match="not JSON"):
        SearxNG(server.url(""), http=QUICK).search("x")
    server.route("/search", json_reply({"results": "not a list of results"}))
    with pytest.raises(WebError, match="unexpected searxng response"):
        SearxNG(server.url(""), http=QUICK).search("x")


async def test_json_nested_past_the_stack_is_a_web_error(server: LocalServer) -> None:
    # json.loads raises RecursionError, not ValueError, on 100,000 nested arrays (200 KB).
    server.route("/search", Reply(200, b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}))
    with pytest.raises(WebError, match="not JSON"):
        SearxNG(server.url(""), http=QUICK).search("x")
    with pytest.raises(WebError, match="not JSON"):
        await SearxNG(server.url(""), http=QUICK).asearch("x")


def test_titles_and_snippets_that_are_not_strings_are_dropped(server: LocalServer) -> None:
    server.route("/search", json_reply({"results": [
        {"url": server.url("/a"), "title": ["A"], "content": {"b": 1}},
        {"url": server.url("/b"), "title": None, "content": 7},
    ]}))
    hits = SearxNG(server.url(""), http=QUICK).search("x")
    assert [(h.title, h.snippet) for h in hits] == [("", ""), ("", "")]


def test_strip_markup() -> None:
    assert strip_markup('a <span class="searchmatch">b</span> &amp; c') == "a b & c"


# -- endpoints with a query string ------------------------------------------------------------------
@pytest.mark.parametrize(("path", "expected"), [
    ("/searx?s=5", "/searx/search"),  # "/search" goes on the path, never after "?s=5"
    ("/searx/?s=5", "/searx/search"),
    ("/search?s=5", "/search"),  # already there: not doubled
])
def test_searxng_keeps_the_endpoint_query_string(server: LocalServer, path: str, expected: str) -> None:
    server.route(expected, json_reply({"results": [{"url": server.url("/a"), "title": "A", "content": ""}]}))
    provider = SearxNG(server.url(path), http=QUICK)
    assert provider.endpoint == server.url(f"{expected}?s=5")
    assert [h.url for h in provider.search("eiffel tower")] == [server.url("/a")]
    seen = server.seen[0]
    assert seen.path == expected
    assert seen.query["s"] == ["5"] and seen.query["q"] == ["eiffel tower"] and seen.query["format"] == ["json"]


async def test_searxng_async_keeps_the_endpoint_query_string(server: LocalServer) -> None:
    server.route("/searx/search", json_reply({"results": []}))
    provider = SearxNG(server.url("/searx?token=abc&s=5"), http=QUICK)
    assert await provider.asearch("x") == []
    assert server.seen[0].query["token"] == ["abc"] and server.seen[0].query["s"] == ["5"]
    await provider.aclose()


def test_the_providers_own_parameters_win_a_clash(server: LocalServer) -> None:
    server.route("/search", json_reply({"results": []}))
    SearxNG(server.url("/search?format=html&q=stale&theme=simple"), http=QUICK).search("fresh")
    query = server.seen[0].query
    assert query["format"] == ["json"] and query["q"] == ["fresh"] and query["theme"] == ["simple"]


def test_errors_quote_the_endpoint_as_requested(server: LocalServer) -> None:
    server.route("/searx/search", Reply(503, b""))
    with pytest.raises(WebError) as info:
        SearxNG(server.url("/searx?s=5"), http=HttpConfig(timeout=1, retries=0)).search("x")
    assert server.url("/searx/search?s=5") in str(info.value) and "?s=5/search" not in str(info.value)


def test_mediawiki_keeps_the_endpoint_query_string(server: LocalServer) -> None:
    server.route("/w/api.php", json_reply({"query": {"search": [{"title": "Eiffel Tower", "snippet": "s"}]}}))
    provider = MediaWiki(server.url("/w/api.php?uselang=fr&variant=fr"), http=QUICK)
    hits = provider.search("eiffel", count=1)
    query = server.seen[0].query
    assert query["uselang"] == ["fr"] and query["variant"] == ["fr"]
    assert query["action"] == ["query"] and query["srsearch"] == ["eiffel"]
    assert hits[0].url == server.url("/wiki/Eiffel_Tower")  # article URLs do not inherit the API's query


async def test_mediawiki_async_keeps_the_endpoint_query_string(server: LocalServer) -> None:
    server.route("/w/api.php", json_reply({"query": {"search": []}}))
    provider = MediaWiki(server.url("/w/api.php?uselang=fr"), http=QUICK)
    assert await provider.asearch("eiffel") == []
    assert server.seen[0].query["uselang"] == ["fr"] and server.seen[0].query["list"] == ["search"]
    await provider.aclose()


def test_brave_keeps_the_endpoint_query_string(server: LocalServer) -> None:
    server.route("/res/v1/web/search", json_reply({"web": {"results": []}}))
    Brave(server.url("/res/v1/web/search?country=fr"), api_key="k", http=QUICK).search("eiffel", count=3)
    query = server.seen[0].query
    assert query["country"] == ["fr"] and query["q"] == ["eiffel"] and query["count"] == ["3"]
