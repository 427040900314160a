"""Page fetching: concurrency limits, deadlines, shared fetches, the cache, refused bodies."""

from __future__ import annotations

import asyncio
import codecs
import gzip
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from webworld import EIFFEL, LocalServer, Reply, Seen, html_page, html_reply

from guardrail.exceptions import BlockedHostError, ConfigError, WebError
from guardrail.web.cache import WebCache
from guardrail.web.fetch import PageFetcher
from guardrail.web.http import Deadline, HttpConfig, HttpSession
from guardrail.web.page import Page
from guardrail.web.safety import HostPolicy

RUSSIAN = "Эйфелева башня построена в 1889 году в Париже, её высота составляет 330 метров."
FRENCH = "La tour Eiffel a été achevée en 1889 ; elle mesure 330 mètres — un « record » à l'époque."


@pytest.fixture
def fetcher() -> Iterator[PageFetcher]:
    f = PageFetcher(HttpSession(HttpConfig(timeout=1, retries=1, backoff=0.05), HostPolicy(("127.0.0.1",))))
    yield f
    f.close()




# -- fetching -----------------------------------------------------------------------------------
def test_fetch_extracts_a_page(server: LocalServer, fetcher: PageFetcher) -> None:
    url = server.route("/p", html_reply(html_page("Eiffel Tower", EIFFEL)))
    page = fetcher.fetch(url)
    assert page.url == url and page.title == "Eiffel Tower" and EIFFEL[2] in page.text


@pytest.mark.parametrize("route, body, ctype, expected", [
    ("/latin", f"<p>{FRENCH}</p>".encode("cp1252"), "text/html", "achevée"),
    ("/bogus", f"<p>{FRENCH}</p>".encode(), "text/html; charset=bogus-charset", "achevée"),
    ("/lie", f"<p>{FRENCH} {FRENCH}</p>".encode("cp1252"), "text/html; charset=utf-8", "achevée"),
    ("/meta", f'<meta charset="koi8-r"><p>{RUSSIAN}</p>'.encode("koi8-r"), "text/html", "Эйфелева"),
    ("/plain", FRENCH.encode("utf-8"), "text/plain; charset=utf-8", "achevée"),
])
def test_fetch_decodes_broken_and_odd_charsets(server: LocalServer, fetcher: PageFetcher, route: str,
                                               body: bytes, ctype: str, expected: str) -> None:
    url = server.route(route, Reply(200, body, {"Content-Type": ctype}))
    assert expected in fetcher.fetch(url).text


def test_non_text_content_is_refused(server: LocalServer, fetcher: PageFetcher) -> None:
    url = server.route("/img", Reply(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, {"Content-Type": "image/png"}))
    with pytest.raises(WebError, match="unsupported content type"):
        fetcher.fetch(url)


def test_huge_page_is_truncated_and_still_extracted(server: LocalServer) -> None:
    para = b"<p>The tower was completed in 1889 and repainted many times since then.</p>\n"
    total = 50 * 1024 * 1024

    def body() -> Iterator[bytes]:
        yield b"<html><head><title>Huge</title></head><body><article>"
        sent = 0
        while sent < total:
            yield para * 500
            sent += len(para) * 500

    server.route("/huge", Reply(200, body(), {"Content-Type": "text/html"}, length=total + 60))
    session = HttpSession(HttpConfig(timeout=2, retries=0), HostPolicy(("127.0.0.1",)))
    fetcher = PageFetcher(session, max_bytes=150_000)
    start = time.monotonic()
    page = fetcher.fetch(server.url("/huge"))
    assert page.truncated and "1889" in page.text
    assert time.monotonic() - start < 5
    fetcher.close()


def test_fetch_many_reports_every_url_within_the_deadline(server: LocalServer, fetcher: PageFetcher) -> None:
    ok = server.route("/ok", html_reply(html_page("Fine", EIFFEL)))
    slow = server.route("/slow", Reply(200, b"<p>late</p>", {"Content-Type": "text/html"}, delay=2.5))
    broken = server.route("/500", Reply(500, b""))
    start = time.monotonic()
    results = fetcher.fetch_many([ok, slow, broken, ok], deadline=Deadline.after(1.0))
    assert time.monotonic() - start < 1.0 + 0.5
    assert isinstance(results[ok], Page)
    assert isinstance(results[slow], WebError) and isinstance(results[broken], WebError)
    assert len(results) == 3


async def test_afetch_many_reports_every_url_within_the_deadline(server: LocalServer,
                                                                 fetcher: PageFetcher) -> None:
    ok = server.route("/ok", html_reply(html_page("Fine", EIFFEL)))
    slow = server.route("/slow", Reply(200, b"<p>late</p>", {"Content-Type": "text/html"}, delay=2.5))
    start = time.monotonic()
    results = await fetcher.afetch_many([ok, slow], deadline=Deadline.after(1.0))
    assert time.monotonic() - start < 1.0 + 0.5
    assert isinstance(results[ok], Page) and isinstance(results[slow], WebError)
    await fetcher.session.aclose()


def _concurrency_probe(server: LocalServer, n: int) -> tuple[list[str], dict[str, int]]:
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def handler(seen: Seen) -> Reply:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return html_reply(html_page("P", EIFFEL[:1]))

    urls = [server.route(f"/c{i}", handler) for i in range(n)]
    return urls, state


def test_fetches_to_one_host_are_limited(server: LocalServer) -> None:
    urls, state = _concurrency_probe(server, 6)
    fetcher = PageFetcher(HttpSession(HttpConfig(timeout=2), HostPolicy(("127.0.0.1",))), per_host=2)
    results = fetcher.fetch_many(urls, deadline=Deadline.after(5))
    assert all(isinstance(r, Page) for r in results.values())
    assert state["peak"] == 2
    fetcher.close()


async def test_async_fetches_to_one_host_are_limited(server: LocalServer) -> None:
    urls, state = _concurrency_probe(server, 6)
    fetcher = PageFetcher(HttpSession(HttpConfig(timeout=2), HostPolicy(("127.0.0.1",))), per_host=2)
    # Two retrieve calls at once (the engine checks claims concurrently) share the host limit.
    deadline = Deadline.after(5)
    first, second = await asyncio.gather(fetcher.afetch_many(urls[:3], deadline=deadline),
                                         fetcher.afetch_many(urls[3:], deadline=deadline))
    assert all(isinstance(r, Page) for r in [*first.values(), *second.values()])
    assert state["peak"] == 2
    await fetcher.session.aclose()
    fetcher.close()


def test_pages_are_served_from_the_cache(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/p", html_reply(html_page("Cached", EIFFEL)))
    cache = WebCache(tmp_path)
    fetcher = PageFetcher(HttpSession(HttpConfig(), HostPolicy(("127.0.0.1",))), cache=cache)
    first = fetcher.fetch(url)
    assert fetcher.fetch(url) == first
    assert server.hits["/p"] == 1
    fetcher.close()
    cache.close()


def test_cache_does_not_serve_pages_a_stricter_policy_refuses(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/p", html_reply(html_page("Internal", EIFFEL)))
    cache = WebCache(tmp_path)
    loose = PageFetcher(HttpSession(HttpConfig(), HostPolicy(("127.0.0.1",))), cache=cache)
    loose.fetch(url)
    strict = PageFetcher(HttpSession(HttpConfig(retries=0), HostPolicy()), cache=cache)
    with pytest.raises(BlockedHostError):
        strict.fetch(url)
    loose.close()
    strict.close()
    cache.close()


def test_cache_does_not_serve_a_page_cut_at_a_smaller_cap(server: LocalServer, tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {i} is filler about bridges and towers." for i in range(3000)]
    url = server.route("/long", html_reply(html_page("Long", [*paragraphs, "The tower was finished in 1889."])))
    cache = WebCache(tmp_path)
    small = PageFetcher(HttpSession(HttpConfig(), HostPolicy(("127.0.0.1",))), cache=cache, max_bytes=20_000)
    assert small.fetch(url).truncated
    large = PageFetcher(HttpSession(HttpConfig(), HostPolicy(("127.0.0.1",))), cache=cache, max_bytes=1_000_000)
    page = large.fetch(url)
    assert not page.truncated and "finished in 1889" in page.text
    small.close()
    large.close()
    cache.close()


def test_a_cache_entry_of_another_shape_is_a_miss(server: LocalServer, tmp_path: Path) -> None:
    url = server.route("/p", html_reply(html_page("Eiffel", EIFFEL)))
    cache = WebCache(tmp_path)
    fetcher = PageFetcher(HttpSession(HttpConfig(), HostPolicy(("127.0.0.1",))), cache=cache)
    cache.put(fetcher._key(url), {"url": url, "text": "old", "charset": "utf-8"}, kind="page")
    assert "Eiffel" in fetcher.fetch(url).text
    assert server.hits["/p"] == 1
    fetcher.close()
    cache.close()


# -- shared in-flight fetches and per-page timeouts -----------------------------------------------
def _slow_pages(server: LocalServer, n: int, delay: float = 0.3) -> list[str]:
    """``n`` pages that take ``delay`` to answer, so concurrent callers overlap on every one."""
    return [server.route(f"/shared{i}", html_reply(html_page(f"Shared {i}", EIFFEL), delay=delay))
            for i in range(n)]


def test_concurrent_fetch_many_calls_share_each_fetch(server: LocalServer) -> None:
    urls = _slow_pages(server, 3)
    fetcher = PageFetcher(HttpSession(HttpConfig(timeout=2), HostPolicy(("127.0.0.1",))))
    results: list[dict[str, Page | Exception]] = []
    # Four claims checked at once (threads here, like check_many callers) want the same pages.
    threads = [threading.Thread(target=lambda: results.append(fetcher.fetch_many(urls, deadline=Deadline.after(5))))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert all(isinstance(page, Page) for r in results for page in r.values())
    assert [server.hits[f"/shared{i}"] for i in range(3)] == [1, 1, 1]
    fetcher.close()


async def test_concurrent_afetch_many_calls_share_each_fetch(server: LocalServer) -> None:
    urls = _slow_pages(server, 3)
    fetcher = PageFetcher(HttpSession(HttpConfig(timeout=2), HostPolicy(("127.0.0.1",))))
    deadline = Deadline.after(5)
    results = await asyncio.gather(*(fetcher.afetch_many(urls, deadline=deadline) for _ in range(4)))
    assert all(isinstance(page, Page) for r in results for page in r.values())
    assert [server.hits[f"/shared{i}"] for i in range(3)] == [1, 1, 1]
    # The same Page object reached every caller: one fetch, one extraction.
    assert all(r[urls[0]] is results[0][urls[0]] for r in results)
    await fetcher.session.aclose()
    fetcher.close()


def _hanging_and_quick(server: LocalServer) -> tuple[str, str]:
    hanging = server.route("/hanging", Reply(200, b"<p>late</p>", {"Content-Type": "text/html"}, delay=3))
    quick = server.route("/quick", html_reply(html_page("Quick", EIFFEL)))
    return hanging, quick


def test_a_hanging_page_holds_its_slot_only_for_its_own_timeout(server: LocalServer) -> None:
    hanging, quick = _hanging_and_quick(server)
    # One slot per host: before per-page timeouts the hanging page kept it for the whole deadline.
    fetcher = PageFetcher(HttpSession(HttpConfig(timeout=2, retries=0), HostPolicy(("127.0.0.1",))),
                          per_host=1, page_timeout=0.4)
    start = time.monotonic()
    results = fetcher.fetch_many([hanging, quick], deadline=Deadline.after(2.5))
    assert isinstance(results[quick], Page) and isinstance(results[hanging], WebError)
    assert time.monotonic() - start < 1.5
    fetcher.close()


async def test_async_hanging_page_holds_its_slot_only_for_its_own_timeout(server: LocalServer) -> None:
    hanging, quick = _hanging_and_quick(server)
    fetcher = PageFetcher(HttpSession(HttpConfig(timeout=2, retries=0), HostPolicy(("127.0.0.1",))),
                          per_host=1, page_timeout=0.4)
    start = time.monotonic()
    results = await fetcher.afetch_many([hanging, quick], deadline=Deadline.after(2.5))
    assert isinstance(results[quick], Page) and isinstance(results[hanging], WebError)
    assert time.monotonic() - start < 1.5
    await fetcher.session.aclose()
    fetcher.close()


async def test_one_caller_giving_up_does_not_cancel_the_fetch_for_the_others(server: LocalServer) -> None:
    url = server.route("/late", html_reply(html_page("Late", EIFFEL), delay=0.6))
    fetcher = PageFetcher(HttpSession(HttpConfig(timeout=2), HostPolicy(("127.0.0.1",))))
    impatient = fetcher.afetch(url, deadline=Deadline.after(0.2))
    patient = fetcher.afetch(url, deadline=Deadline.after(3))
    first, second = await asyncio.gather(impatient, patient, return_exceptions=True)
    assert isinstance(first, WebError) and "deadline exceeded" in str(first)
    assert isinstance(second, Page) and EIFFEL[0] in second.text
    assert server.hits["/late"] == 1
    await fetcher.session.aclose()
    fetcher.close()


async def test_a_fetch_nobody_waits_for_gives_its_slot_back(server: LocalServer) -> None:
    hanging, quick = _hanging_and_quick(server)
    fetcher = PageFetcher(HttpSession(HttpConfig(timeout=5, retries=0), HostPolicy(("127.0.0.1",))),
                          per_host=1, page_timeout=5)
    with pytest.raises(WebError, match="deadline exceeded"):
        await fetcher.afetch(hanging, deadline=Deadline.after(0.2))
    # The only caller left, so the fetch was cancelled and the single slot is free at once,
    # not after the hanging page's 5 s timeout.
    start = time.monotonic()
    page = await fetcher.afetch(quick, deadline=Deadline.after(3))
    assert page.title == "Quick" and time.monotonic() - start < 1.0
    await fetcher.session.aclose()
    fetcher.close()


def test_page_timeout_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="page_timeout"):
        PageFetcher(HttpSession(), page_timeout=0)


# -- binary bodies with a text content type -------------------------------------------------------
_NOISE = random.Random(7).randbytes(4096)


@pytest.mark.parametrize(("body", "kind"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" + b"BT (1889) Tj ET\n" * 20, "PDF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + _NOISE[:200], "PNG"),
    (b"PK\x03\x04\x14\x00\x06\x00" + _NOISE[:200], "ZIP"),
    (gzip.compress(html_page("Eiffel Tower", EIFFEL).encode()), "gzip"),  # compressed twice, labelled once
    (_NOISE, "binary data"),
    (b"<html><body><p>" + bytes(range(1, 9)) * 40 + b"</p></body></html>", "binary data"),
], ids=["pdf", "png", "zip", "gzip", "noise", "controls"])
def test_binary_served_as_html_is_refused(server: LocalServer, fetcher: PageFetcher, body: bytes,
                                          kind: str) -> None:
    url = server.route("/download", Reply(200, body, {"Content-Type": "text/html; charset=utf-8"}))
    with pytest.raises(WebError, match=rf"unsupported content: {kind} served as 'text/html'"):
        fetcher.fetch(url)


def test_binary_without_a_content_type_is_refused(server: LocalServer, fetcher: PageFetcher) -> None:
    url = server.route("/file", Reply(200, b"%PDF-1.4\n" + _NOISE[:300]))
    with pytest.raises(WebError, match="PDF served as 'text/plain'"):
        fetcher.fetch(url)


@pytest.mark.parametrize(("body", "ctype"), [
    (codecs.BOM_UTF16_LE + f"<p>{FRENCH}</p>".encode("utf-16-le"), "text/html"),
    (f"<p>{FRENCH}</p>".encode("utf-16-le"), "text/html; charset=utf-16le"),
    (f"<p>{RUSSIAN}</p>".encode("koi8-r"), "text/html; charset=koi8-r"),
    (f"<p>{FRENCH}</p>\x00".encode(), "text/html"),  # one stray NUL does not make a page binary
], ids=["utf16-bom", "utf16-declared", "koi8-r", "stray-nul"])
def test_text_that_merely_looks_odd_is_not_binary(server: LocalServer, fetcher: PageFetcher, body: bytes,
                                                  ctype: str) -> None:
    url = server.route("/odd", Reply(200, body, {"Content-Type": ctype}))
    text = fetcher.fetch(url).text
    assert "achevée" in text or "Эйфелева" in text
