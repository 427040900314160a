"""Page fetching: charsets, main-text extraction, chunk offsets, concurrency limits, deadlines."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from webworld import EIFFEL, LocalServer, Reply, Seen, html_page, html_reply

from guardrail.exceptions import BlockedHostError, WebError
from guardrail.web.cache import WebCache
from guardrail.web.fetch import Page, PageFetcher, chunk_text, decode_body, extract_html
from guardrail.web.http import Deadline, HttpConfig, HttpSession
from guardrail.web.safety import HostPolicy

RUSSIAN = "Эйфелева башня построена в 1889 году в Париже, её высота составляет 330 метров."
FRENCH = "La tour Eiffel a été achevée en 1889 ; elle mesure 330 mètres — un « record » à l'époque."


@pytest.fixture
def fetcher() -> Iterator[PageFetcher]:
    f = PageFetcher(HttpSession(HttpConfig(timeout=1, retries=1, backoff=0.05), HostPolicy(("127.0.0.1",))))
    yield f
    f.close()


# -- charsets -----------------------------------------------------------------------------------
def test_decode_uses_the_http_charset() -> None:
    assert decode_body(FRENCH.encode("cp1252"), "text/html; charset=windows-1252") == FRENCH


def test_decode_uses_meta_charset_when_the_header_has_none() -> None:
    html = f'<html><head><meta charset="windows-1251"></head><body>{RUSSIAN}</body></html>'
    assert RUSSIAN in decode_body(html.encode("cp1251"), "text/html")


def test_decode_survives_an_unknown_charset_label() -> None:
    assert decode_body(FRENCH.encode("utf-8"), "text/html; charset=x-no-such-charset") == FRENCH


def test_decode_does_not_trust_a_declaration_the_bytes_contradict() -> None:
    # Declared UTF-8, actually windows-1252: detection must win over the wrong label.
    text = decode_body((FRENCH + " " + FRENCH).encode("cp1252"), "text/html; charset=utf-8")
    assert "achevée" in text and "\ufffd" not in text


def test_decode_detects_undeclared_charsets() -> None:
    assert RUSSIAN in decode_body((RUSSIAN * 3).encode("cp1251"), "text/html")


def test_decode_honours_a_bom() -> None:
    assert decode_body(FRENCH.encode("utf-16"), "text/plain; charset=iso-8859-1") == FRENCH


def test_decode_of_garbage_never_raises() -> None:
    assert isinstance(decode_body(bytes(range(256)) * 10, "text/html; charset=utf-8"), str)


# -- extraction and chunking --------------------------------------------------------------------
def test_extraction_keeps_the_article_and_drops_boilerplate() -> None:
    title, text = extract_html(html_page("Eiffel Tower", EIFFEL))
    assert title == "Eiffel Tower"
    for sentence in EIFFEL:
        assert sentence in text
    assert "All rights reserved" not in text and "Log in" not in text


def test_extraction_of_a_tiny_page_falls_back_to_its_text() -> None:
    _, text = extract_html("<html><body><div>Just one line about 1889.</div></body></html>")
    assert "1889" in text


def test_chunks_carry_exact_offsets_and_respect_the_size() -> None:
    text = "\n".join(f"Paragraph {i}. " + "word " * 60 for i in range(20))
    chunks = chunk_text(text, size=500, overlap=100)
    assert len(chunks) > 5
    for c in chunks:
        assert text[c.start:c.end] == c.text
        assert len(c.text) <= 500
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_chunks_split_an_oversized_paragraph_on_sentences_and_words() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(200)) + " " + "x" * 3000
    chunks = chunk_text(text, size=400)
    assert all(len(c.text) <= 400 and text[c.start:c.end] == c.text for c in chunks)
    assert chunks[0].text.endswith(".")


def test_chunks_overlap_on_short_boundary_units() -> None:
    paras = [f"Short para {i}." for i in range(30)]
    chunks = chunk_text("\n".join(paras), size=100, overlap=40)
    assert any(a.end > b.start for a, b in itertools.pairwise(chunks))


def test_empty_text_has_no_chunks() -> None:
    assert chunk_text("") == []


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
