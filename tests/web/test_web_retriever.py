"""WebRetriever end to end against the local server: search, fetch, extract, chunk, rank, cite.

The "world" serves a SearxNG search whose results point at good pages and at every fault
case: a redirect chain, a redirect to a forbidden address, a 500, a slow page, a 50 MB body
and a page with a lying charset.  Each retrieve must finish within its deadline with the good
pages as evidence and the failed ones reduced to their search snippets.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from webworld import (
    EIFFEL,
    FORBIDDEN_IP,
    LocalServer,
    Reply,
    Seen,
    StubResolver,
    html_page,
    html_reply,
    json_reply,
)

from guardrail.exceptions import ConfigError, WebError
from guardrail.protocols import Retriever
from guardrail.report import Passage
from guardrail.web import WebConfig, WebRetriever, rank_passages
from guardrail.web.http import HttpConfig
from guardrail.web.providers import SearxNG
from guardrail.web.query import SafeQueryPlanner
from guardrail.web.retriever import MAX_PASSAGES_PER_URL
from guardrail.web.safety import HostPolicy

CLAIM = "The Eiffel Tower was completed in 1889."
FRENCH = "La tour Eiffel a été achevée en 1889 ; elle mesure 330 mètres — un « record » à l'époque."


def huge(total: int) -> Iterator[bytes]:
    yield b"<html><body><article>"
    para = b"<p>Filler text about nothing in particular, repeated to make the page enormous.</p>\n" * 400
    sent = 0
    while sent < total:
        yield para
        sent += len(para)


def build_world(server: LocalServer, faults: bool = True) -> list[str]:
    server.route("/page/eiffel", html_reply(html_page("Eiffel Tower", EIFFEL)))
    server.route("/page/gustave", html_reply(html_page("Gustave Eiffel", [
        "Gustave Eiffel was a French civil engineer.",
        "His company built the Eiffel Tower for the 1889 Universal Exposition in Paris."])))
    server.route("/go/1", Reply(302, b"", {"Location": "/go/2"}))
    server.route("/go/2", Reply(301, b"", {"Location": "/page/gustave"}))
    server.route("/escape", Reply(302, b"", {"Location": server.url("/page/eiffel", host=FORBIDDEN_IP)}))
    server.route("/broken", Reply(500, b"oops"))
    server.route("/slow", Reply(200, b"<p>too late</p>", {"Content-Type": "text/html"}, delay=4.5))
    total = 50 * 1024 * 1024
    server.route("/huge", Reply(200, huge(total), {"Content-Type": "text/html"}, length=total))
    server.route("/latin", Reply(200, f"<html><body><p>{FRENCH} {FRENCH}</p></body></html>".encode("cp1252"),
                                 {"Content-Type": "text/html; charset=utf-8"}))
    paths = ["/page/eiffel", "/go/1", "/escape", "/broken", "/slow", "/huge", "/latin"]
    if not faults:  # for tests about something else: nothing that waits for the deadline
        paths = ["/page/eiffel", "/go/1", "/latin"]
    server.route("/search", lambda seen: json_reply({"query": seen.query["q"][0], "results": [
        {"url": server.url(p), "title": f"Title of {p}", "content": f"Snippet for {p} about the tower"}
        for p in paths]}))
    return paths


def make_retriever(server: LocalServer, tmp_path: Path | None = None, **kw: object) -> WebRetriever:
    options = {"cache": tmp_path is not None, "cache_dir": tmp_path, "timeout": 3.0, "max_results": 8,
               "page_max_bytes": 200_000, "resolver": StubResolver(), **kw}
    return WebRetriever.from_options("searxng", server.url(""), ["127.0.0.1"], **options)  # type: ignore[arg-type]


def test_web_retriever_is_a_retriever(server: LocalServer) -> None:
    assert isinstance(make_retriever(server), Retriever)


def test_retrieve_returns_cited_page_chunks_and_survives_every_fault(server: LocalServer) -> None:
    build_world(server)
    retriever = make_retriever(server)
    start = time.monotonic()
    passages = retriever.retrieve(CLAIM, 20)
    elapsed = time.monotonic() - start
    assert elapsed < 3.0 + 0.5

    by_url = {p.url: p for p in passages}
    eiffel = by_url[server.url("/page/eiffel")]
    assert eiffel.title == "Eiffel Tower" and EIFFEL[2] in eiffel.text
    meta = eiffel.metadata
    assert meta["provider"] == "searxng" and meta["query"] == "The Eiffel Tower was completed in 1889"
    assert meta["rank"] == 1 and meta["source"] == "page" and meta["end"] > meta["start"] >= 0
    assert eiffel.id == f"{eiffel.url}#chars={meta['start']}-{meta['end']}"
    # The pages that say it rank first.
    assert server.url("/page/eiffel") in {p.url for p in passages[:2]}

    gustave = by_url[server.url("/page/gustave")]  # reached through a redirect chain
    assert gustave.metadata["search_url"] == server.url("/go/1")

    latin = by_url[server.url("/latin")]
    assert "achevée" in latin.text

    for path in ("/escape", "/broken", "/slow"):  # blocked, failed, timed out: snippet only
        p = by_url[server.url(path)]
        assert p.metadata["source"] == "snippet" and p.text == f"Snippet for {path} about the tower"
    huge_passage = by_url[server.url("/huge")]
    assert huge_passage.metadata["source"] == "page" and huge_passage.metadata["truncated"]
    assert server.hits["/page/eiffel"] == 1  # the forbidden redirect target was never reached twice
    retriever.close()


async def test_aretrieve_matches_retrieve(server: LocalServer) -> None:
    build_world(server)
    retriever = make_retriever(server)
    start = time.monotonic()
    passages = await retriever.aretrieve(CLAIM, 20)
    assert time.monotonic() - start < 3.0 + 0.5
    sources = {p.url: p.metadata["source"] for p in passages}
    assert sources[server.url("/page/eiffel")] == "page"
    assert sources[server.url("/escape")] == "snippet"
    assert server.url("/page/eiffel") in {p.url for p in passages[:2]}
    await retriever.aclose()


def test_k_limits_the_passages(server: LocalServer) -> None:
    build_world(server, faults=False)
    assert len(make_retriever(server).retrieve(CLAIM, 2)) == 2


def test_search_failure_raises_web_error_within_the_deadline(server: LocalServer) -> None:
    server.route("/search", Reply(503, b"", {"Retry-After": "1"}))
    retriever = make_retriever(server, timeout=2.5)
    start = time.monotonic()
    with pytest.raises(WebError, match="HTTP 503"):
        retriever.retrieve(CLAIM, 4)
    assert time.monotonic() - start < 2.5 + 0.5


def test_search_429_with_retry_after_then_success(server: LocalServer) -> None:
    build_world(server, faults=False)
    calls = {"n": 0}
    search = server.routes["/search"]

    def limited(seen: Seen) -> Reply:
        calls["n"] += 1
        return Reply(429, b"", {"Retry-After": "1"}) if calls["n"] == 1 else search(seen)  # type: ignore[operator]

    server.route("/search", limited)
    passages = make_retriever(server, timeout=5).retrieve(CLAIM, 3)
    assert passages and calls["n"] == 2


def test_no_results_means_no_evidence(server: LocalServer) -> None:
    server.route("/search", json_reply({"results": []}))
    assert make_retriever(server).retrieve(CLAIM, 4) == []


def test_every_page_unusable_and_no_snippets_is_a_web_error(server: LocalServer) -> None:
    server.route("/broken", Reply(500, b""))
    results = [{"url": server.url("/broken"), "title": "", "content": ""}]
    server.route("/search", json_reply({"results": results}))
    with pytest.raises(WebError, match="could be used"):
        make_retriever(server).retrieve(CLAIM, 4)


def test_result_pages_on_private_addresses_need_allow_host(server: LocalServer) -> None:
    # The endpoint is trusted without --allow-host; its loopback result pages are not.
    build_world(server)
    retriever = WebRetriever.from_options("searxng", server.url(""), [], cache=False, timeout=2,
                                          resolver=StubResolver())
    passages = retriever.retrieve(CLAIM, 20)
    assert passages and all(p.metadata["source"] == "snippet" for p in passages)
    assert server.hits["/page/eiffel"] == 0


def test_cache_prevents_refetching(server: LocalServer, tmp_path: Path) -> None:
    build_world(server)
    paths = ["/page/eiffel", "/go/1", "/broken"]  # no page that races the deadline
    server.route("/search", json_reply({"results": [
        {"url": server.url(p), "title": p, "content": f"snippet {p}"} for p in paths]}))
    first = make_retriever(server, tmp_path)
    a = first.retrieve(CLAIM, 5)
    first.close()
    hits = dict(server.hits)
    second = make_retriever(server, tmp_path)
    b = second.retrieve(CLAIM, 5)
    assert [p.id for p in a] == [p.id for p in b]
    assert server.hits["/search"] == hits["/search"] and server.hits["/page/eiffel"] == hits["/page/eiffel"]
    second.close()


def test_a_cached_search_of_another_shape_is_a_miss(server: LocalServer, tmp_path: Path) -> None:
    build_world(server, faults=False)
    retriever = make_retriever(server, tmp_path)
    assert retriever.cache is not None
    query = retriever.planner.next_query(CLAIM, [])
    retriever.cache.put(retriever._search_key(query), [{"link": "http://old.example/", "rank": 1}], kind="search")
    assert retriever.retrieve(CLAIM, 3)  # searched again instead of raising TypeError
    assert server.hits["/search"] == 1
    retriever.close()


def test_a_redirect_without_location_is_not_evidence(server: LocalServer) -> None:
    server.route("/moved", Reply(302, b"<p>The Eiffel Tower was completed in 1925.</p>", {"Content-Type": "text/html"}))
    server.route("/search", json_reply({"results": [
        {"url": server.url("/moved"), "title": "Moved", "content": "The Eiffel Tower snippet"}]}))
    retriever = make_retriever(server)
    [passage] = retriever.retrieve(CLAIM, 3)
    assert passage.metadata["source"] == "snippet" and "1925" not in passage.text
    retriever.close()


def test_safe_multi_step_stops_when_evidence_is_found(server: LocalServer) -> None:
    server.route("/page/unrelated", html_reply(html_page("Bridges", ["Bridges span rivers and valleys."])))
    server.route("/page/eiffel", html_reply(html_page("Eiffel Tower", EIFFEL)))

    def search(seen: Seen) -> Reply:
        q = seen.query["q"][0]
        path = "/page/eiffel" if "construction" in q else "/page/unrelated"
        return json_reply({"results": [{"url": server.url(path), "title": path, "content": ""}]})

    server.route("/search", search)
    llm = FakeListChatModel(responses=["```\nfamous iron structures\n```", "NOT_ENOUGH",
                                       "```\nEiffel Tower construction 1887 1889\n```", "SUPPORTED",
                                       "```\nnever asked\n```"])
    retriever = make_retriever(server, llm=llm, max_steps=4)
    passages = retriever.retrieve(CLAIM, 5)
    queries = [s.query["q"][0] for s in server.seen if s.path == "/search"]
    assert queries == ["famous iron structures", "Eiffel Tower construction 1887 1889"]
    assert passages[0].url == server.url("/page/eiffel") and passages[0].metadata["step"] == 1


async def test_safe_multi_step_async(server: LocalServer) -> None:
    build_world(server, faults=False)
    llm = FakeListChatModel(responses=["```\nEiffel Tower 1889\n```", "SUPPORTED"])
    retriever = make_retriever(server, llm=llm, max_steps=3)
    passages = await retriever.aretrieve(CLAIM, 3)
    assert passages and passages[0].metadata["query"] == "Eiffel Tower 1889"
    await retriever.aclose()


def test_rank_passages_prefers_matching_text() -> None:
    ps = [Passage("Bridges and rivers.", "a"), Passage("The tower was completed in 1889.", "b"),
          Passage("Completed tower.", "c")]
    assert [p.id for p in rank_passages(CLAIM, ps, 2)] == ["b", "c"]
    assert rank_passages(CLAIM, ps, 0) == []


def test_retriever_can_be_built_from_parts(server: LocalServer) -> None:
    build_world(server, faults=False)
    policy = HostPolicy(("127.0.0.1",), resolver=StubResolver())
    provider = SearxNG(server.url(""), http=HttpConfig(timeout=1), policy=policy)
    planner = SafeQueryPlanner(FakeListChatModel(responses=["```\nq\n```", "SUPPORTED"]))
    retriever = WebRetriever(provider, policy=policy, config=WebConfig(max_results=1, deadline=3),
                             planner=planner)
    assert [p.url for p in retriever.retrieve(CLAIM, 3)] == [server.url("/page/eiffel")]


@pytest.mark.parametrize(("option", "message"), [
    ({"timeout": float("nan")}, "timeout must be positive"),  # found nothing, silently
    ({"max_results": 0}, "max_results must be at least 1"),  # fetched one page anyway
    ({"page_max_bytes": 0}, "page_max_bytes must be at least 1"),  # fell back to a 5 MB cap
])
def test_from_options_refuses_limits_it_would_ignore(tmp_path: Path, option: dict[str, float],
                                                     message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WebRetriever.from_options("searxng", "http://127.0.0.1:8888", cache_dir=tmp_path, **option)  # type: ignore[arg-type]


def test_chunk_settings_are_checked_when_the_config_is_made() -> None:
    # Unchecked, an overlap of half a chunk or more let chunks advance a character at a time.
    with pytest.raises(ConfigError, match=r"chunk_overlap must be in \[0, chunk_chars/2\), got 800"):
        WebConfig(chunk_overlap=800)
    with pytest.raises(ConfigError, match="chunk_chars must be at least 50, got 0"):
        WebConfig(chunk_chars=0)


@pytest.mark.parametrize(("url", "message"), [
    ("notaurl", "--web-url must be an http:// or https:// URL with a host (e.g. http://127.0.0.1:8888), "
                "got 'notaurl'"),
    ("127.0.0.1:8888", "--web-url must be an http:// or https:// URL with a host (e.g. http://127.0.0.1:8888), "
                       "got '127.0.0.1:8888'"),
    ("ftp://example.org", "--web-url must be an http:// or https:// URL with a host (e.g. "
                          "http://127.0.0.1:8888), got 'ftp://example.org'"),
    ("http://", "--web-url must be an http:// or https:// URL with a host (e.g. http://127.0.0.1:8888), "
                "got 'http://'"),
    ("http://[::1", "--web-url 'http://[::1' is not a valid URL: "),
])
@pytest.mark.parametrize("provider", ["searxng", "mediawiki"])
def test_from_options_quotes_a_bad_url_as_given(tmp_path: Path, provider: str, url: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        WebRetriever.from_options(provider, url, cache_dir=tmp_path)
    assert str(info.value).startswith(message) and "/search" not in str(info.value)


# -- the engine -----------------------------------------------------------------------------------
class KeywordNLI:
    """Entails when the evidence mentions the claim's year and 'completed'/'constructed'; fast and offline."""

    def predict(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        rows = [[0.97, 0.02, 0.01] if "1889" in ev and ("constructed" in ev or "completed" in ev)
                else [0.02, 0.96, 0.02] for ev, _ in pairs]
        return np.array(rows, dtype=np.float32)


def test_engine_cites_web_pages(server: LocalServer) -> None:
    from guardrail import Guardrail

    build_world(server, faults=False)
    guard = Guardrail(retrievers=[make_retriever(server)], nli=KeywordNLI())
    report = guard.check(CLAIM)
    assert report.claims[0].verdict == "supported", report.to_json()
    cited = report.sources[report.claims[0].citation - 1]
    assert cited.url == server.url("/page/eiffel")
    data = json.loads(report.to_json())
    assert server.url("/page/eiffel") in {s["url"] for s in data["sources"]}


def test_engine_records_web_failure_when_failing_open(server: LocalServer) -> None:
    from guardrail import Guardrail

    server.route("/search", Reply(500, b""))
    report = Guardrail(retrievers=[make_retriever(server)], nli=KeywordNLI()).check(CLAIM)
    assert report.errors and "HTTP 500" in report.errors[0] and not report.ok


async def test_engine_async_with_web(server: LocalServer) -> None:
    from guardrail import Guardrail

    build_world(server, faults=False)
    guard = Guardrail(retrievers=[make_retriever(server)], nli=KeywordNLI())
    report = await asyncio.wait_for(guard.acheck(CLAIM), 10)
    assert report.claims[0].verdict == "supported"


# -- one page must not fill every evidence slot --------------------------------------------------
def _passage(text: str, url: str, n: int) -> Passage:
    return Passage(text, f"{url}#{n}", url)


def test_rank_passages_caps_each_page_while_other_pages_have_passages() -> None:
    flood = [_passage(f"Eiffel Tower completed 1889. Eiffel Tower completed 1889. ({i})", "http://flood/", i)
             for i in range(10)]
    answer = _passage("The tower was completed in 1889 for the World's Fair.", "http://answer/", 0)
    other = _passage("Gustave Eiffel's company built the tower.", "http://other/", 0)
    ranked = rank_passages(CLAIM, [*flood, answer, other], 5)
    urls = [p.url for p in ranked]
    assert urls.count("http://flood/") == MAX_PASSAGES_PER_URL
    assert {"http://answer/", "http://other/"} <= set(urls)
    # The capped page's best passages are the ones kept, in score order.
    assert [p.id for p in ranked if p.url == "http://flood/"] == [p.id for p in flood[:MAX_PASSAGES_PER_URL]]


def test_rank_passages_fills_with_one_page_when_there_is_no_other() -> None:
    only = [_passage(f"The tower was completed in 1889, part {i}.", "http://only/", i) for i in range(6)]
    assert len(rank_passages(CLAIM, only, 5)) == 5
    # Another page goes before the capped page's overflow, whatever its score.
    weak = _passage("Bridges span rivers.", "http://weak/", 0)
    ranked = rank_passages(CLAIM, [*only, weak], 5)
    assert ranked[MAX_PASSAGES_PER_URL] == weak and len(ranked) == 5
    assert len(rank_passages(CLAIM, only, 5, per_url=0)) == 5  # 0 turns the cap off


def test_a_long_page_repeating_the_query_does_not_crowd_out_the_answer(server: LocalServer) -> None:
    # ~40 chunks that all repeat the claim's words, each a better BM25 match than the real answer.
    spam = [f"{CLAIM} {CLAIM} Eiffel Tower completed 1889 forum post {i}. " * 12 for i in range(40)]
    server.route("/page/spam", html_reply(html_page("Eiffel Tower completed 1889", spam)))
    server.route("/page/eiffel", html_reply(html_page("Eiffel Tower", EIFFEL)))
    server.route("/search", json_reply({"results": [
        {"url": server.url(p), "title": p, "content": ""} for p in ("/page/spam", "/page/eiffel")]}))
    passages = make_retriever(server).retrieve(CLAIM, 5)
    assert len(passages) == 5
    # Capped page first, then the other page, then the capped page's overflow fills the rest.
    top = [p.url for p in passages[:MAX_PASSAGES_PER_URL + 1]]
    assert top.count(server.url("/page/spam")) == MAX_PASSAGES_PER_URL
    assert server.url("/page/eiffel") in top


# -- binary pages labelled text/html ---------------------------------------------------------------
def test_a_pdf_served_as_html_falls_back_to_its_snippet(server: LocalServer) -> None:
    server.route("/paper", Reply(200, b"%PDF-1.5\n%\xd0\xd4\xc5\xd8\n" + b"stream\x00\x01\x02endstream\n" * 50,
                                 {"Content-Type": "text/html"}))
    server.route("/page/eiffel", html_reply(html_page("Eiffel Tower", EIFFEL)))
    server.route("/search", json_reply({"results": [
        {"url": server.url("/paper"), "title": "Paper", "content": "The tower was completed in 1889."},
        {"url": server.url("/page/eiffel"), "title": "Eiffel", "content": "About the tower."}]}))
    by_url = {p.url: p for p in make_retriever(server).retrieve(CLAIM, 10)}
    paper = by_url[server.url("/paper")]
    assert paper.metadata["source"] == "snippet" and paper.text == "The tower was completed in 1889."
    assert by_url[server.url("/page/eiffel")].metadata["source"] == "page"


# -- check and acheck agree: concurrent claims share fetches ------------------------------------
ANSWER = ("The Eiffel Tower was completed in 1889. Gustave Eiffel designed the tower in Paris. "
          "The tower was constructed for the World Fair.")


def _one_host_world(server: LocalServer) -> None:
    # Every claim gets the same results, all on one host (2 connections), one of them hanging.
    server.route("/page/eiffel", html_reply(html_page("Eiffel Tower", EIFFEL)))
    server.route("/page/gustave", html_reply(html_page("Gustave Eiffel", [
        "Gustave Eiffel was a French civil engineer.",
        "His company completed the Eiffel Tower in 1889 in Paris."])))
    server.route("/slow", Reply(200, b"<p>too late</p>", {"Content-Type": "text/html"}, delay=3))
    server.route("/page/fair", html_reply(html_page("World Fair", [
        "The tower was constructed as the entrance arch of the 1889 World's Fair."])))
    paths = ["/slow", "/page/eiffel", "/page/gustave", "/page/fair"]
    server.route("/search", json_reply({"results": [
        {"url": server.url(p), "title": p, "content": f"Snippet for {p}"} for p in paths]}))


async def test_acheck_gives_the_same_verdicts_as_check_and_fetches_each_page_once(server: LocalServer) -> None:
    from guardrail import Guardrail

    _one_host_world(server)
    sync_guard = Guardrail(retrievers=[make_retriever(server, timeout=2.0)], nli=KeywordNLI())
    expected = await asyncio.to_thread(sync_guard.check, ANSWER)
    assert [c.verdict for c in expected.claims] == ["supported"] * 3, expected.to_json()

    server.hits.clear()
    async_guard = Guardrail(retrievers=[make_retriever(server, timeout=2.0)], nli=KeywordNLI())
    report = await asyncio.wait_for(async_guard.acheck(ANSWER), 10)
    assert [c.verdict for c in report.claims] == [c.verdict for c in expected.claims], report.to_json()
    assert not report.errors
    # Three claims, one fetch per page: the concurrent retrieve calls shared them.
    assert server.hits["/search"] == 3
    assert [server.hits[p] for p in ("/slow", "/page/eiffel", "/page/gustave", "/page/fair")] == [1, 1, 1, 1]
