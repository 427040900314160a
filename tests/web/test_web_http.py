"""Retries, Retry-After, redirects, byte caps, deadlines and cookies, sync and async.

Every fault case asserts both its outcome and that it arrived within its deadline.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator

import pytest
from webworld import FORBIDDEN_IP, LocalServer, Reply, Seen

from guardrail.exceptions import BlockedHostError, WebError
from guardrail.web.http import Deadline, HttpConfig, HttpSession, parse_retry_after
from guardrail.web.safety import HostPolicy

FAST = HttpConfig(timeout=0.5, retries=2, backoff=0.05, max_backoff=0.2, max_retry_after=2.0,
                  max_bytes=1_000_000)


@pytest.fixture
def session() -> Iterator[HttpSession]:
    s = HttpSession(FAST, HostPolicy(("127.0.0.1",)))
    yield s
    s.close()


def fail_then(status: int, times: int, **headers: str) -> Callable[[Seen], Reply]:
    calls = {"n": 0}

    def handler(seen: Seen) -> Reply:
        calls["n"] += 1
        if calls["n"] <= times:
            return Reply(status, b"busy", dict(headers))
        return Reply(200, b"ok", {"Content-Type": "text/plain"})

    return handler


def huge_body(total: int, chunk: bytes = b"x" * 65536) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield chunk
        sent += len(chunk)


# -- retries ------------------------------------------------------------------------------------
def test_transient_503_is_retried(server: LocalServer, session: HttpSession) -> None:
    url = server.route("/flaky", fail_then(503, 2))
    assert session.request("GET", url).content == b"ok"
    assert server.hits["/flaky"] == 3


def test_persistent_500_gives_up_after_bounded_retries(server: LocalServer, session: HttpSession) -> None:
    url = server.route("/500", Reply(500, b"boom"))
    start = time.monotonic()
    with pytest.raises(WebError, match=r"after 3 attempt\(s\): HTTP 500"):
        session.request("GET", url, deadline=Deadline.after(5))
    assert server.hits["/500"] == 3
    assert time.monotonic() - start < 2


def test_404_is_not_retried(server: LocalServer, session: HttpSession) -> None:
    with pytest.raises(WebError, match="HTTP 404"):
        session.request("GET", server.url("/missing"))
    assert server.hits["/missing"] == 1


@pytest.mark.parametrize("status", [300, 302, 304])
def test_3xx_left_unfollowed_is_an_error_not_a_result(server: LocalServer, session: HttpSession,
                                                       status: int) -> None:
    # A redirect without Location (or a 300/304) has a body that is the server's note, not the page.
    url = server.route("/moved", Reply(status, b"<p>The tower was completed in 1925.</p>",
                                       {"Content-Type": "text/html"}))
    with pytest.raises(WebError, match=f"HTTP {status}"):
        session.request("GET", url, allow_truncated=True)


def test_429_retry_after_seconds_is_honoured(server: LocalServer, session: HttpSession) -> None:
    url = server.route("/429", fail_then(429, 1, **{"Retry-After": "1"}))
    start = time.monotonic()
    assert session.request("GET", url, deadline=Deadline.after(5)).content == b"ok"
    assert 0.95 <= time.monotonic() - start < 3


def test_429_retry_after_http_date_is_honoured(server: LocalServer, session: HttpSession) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    url = server.route("/429", fail_then(429, 1, **{"Retry-After": when}))
    start = time.monotonic()
    assert session.request("GET", url, deadline=Deadline.after(5)).content == b"ok"
    assert 0.5 <= time.monotonic() - start < 4


def test_retry_after_longer_than_allowed_gives_up_at_once(server: LocalServer, session: HttpSession) -> None:
    url = server.route("/429", Reply(429, b"slow down", {"Retry-After": "3600"}))
    start = time.monotonic()
    with pytest.raises(WebError, match="Retry-After 3600s exceeds"):
        session.request("GET", url, deadline=Deadline.after(5))
    assert server.hits["/429"] == 1
    assert time.monotonic() - start < 1


def test_retry_after_past_the_deadline_gives_up_at_once(server: LocalServer) -> None:
    session = HttpSession(HttpConfig(retries=2, max_retry_after=60), HostPolicy(("127.0.0.1",)))
    url = server.route("/429", Reply(429, b"", {"Retry-After": "30"}))
    start = time.monotonic()
    with pytest.raises(WebError, match="past the deadline"):
        session.request("GET", url, deadline=Deadline.after(2))
    assert time.monotonic() - start < 1


def test_backoff_has_jitter_and_grows() -> None:
    s = HttpSession(HttpConfig(retries=5, backoff=1.0, max_backoff=4.0))
    far = Deadline.after(100)
    delays = [s._delay(attempt, None, far) for attempt in range(5)]
    assert all(d is not None for d in delays)
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 2.0 and 2.0 <= delays[4] <= 4.0
    assert len({round(d, 6) for d in delays if d}) == 5  # jittered, not a fixed schedule
    assert s._delay(5, None, far) is None


@pytest.mark.parametrize("value, expected", [("7", 7.0), ("0", 0.0), (None, None), ("soon", None)])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_slow_server_times_out_within_the_deadline(server: LocalServer, session: HttpSession) -> None:
    url = server.route("/slow", Reply(200, b"late", delay=1.5))
    start = time.monotonic()
    with pytest.raises(WebError, match="ReadTimeout"):
        session.request("GET", url, deadline=Deadline.after(1.2))
    assert time.monotonic() - start < 1.2 + 0.5


def test_dripping_body_is_cut_by_the_deadline(server: LocalServer, session: HttpSession) -> None:
    url = server.route("/drip", Reply(200, (b"." for _ in range(100)), {"Content-Type": "text/plain"},
                                      chunk_delay=0.05))
    start = time.monotonic()
    with pytest.raises(WebError):
        session.request("GET", url, deadline=Deadline.after(0.8))
    assert time.monotonic() - start < 0.8 + 0.5


def test_connection_refused_is_a_web_error(server: LocalServer, session: HttpSession) -> None:
    port = server.port
    server.close()
    start = time.monotonic()
    with pytest.raises(WebError, match="ConnectError"):
        session.request("GET", f"http://127.0.0.1:{port}/", deadline=Deadline.after(3))
    assert time.monotonic() - start < 3


# -- redirects ----------------------------------------------------------------------------------
def test_redirect_chain_is_followed(server: LocalServer, session: HttpSession) -> None:
    server.route("/r1", Reply(301, b"", {"Location": "/r2"}))
    server.route("/r2", Reply(307, b"", {"Location": server.url("/r3")}))
    server.route("/r3", Reply(303, b"", {"Location": "/end"}))
    server.route("/end", Reply(200, b"arrived"))
    result = session.request("GET", server.url("/r1"))
    assert result.content == b"arrived" and result.url == server.url("/end")


def test_redirect_loop_ends_in_a_defined_error(server: LocalServer, session: HttpSession) -> None:
    server.route("/loop", Reply(302, b"", {"Location": "/loop"}))
    with pytest.raises(WebError, match="more than 5 redirects"):
        session.request("GET", server.url("/loop"))
    assert server.hits["/loop"] == 6


def test_redirect_to_a_forbidden_address_is_blocked(server: LocalServer, session: HttpSession) -> None:
    server.route("/out", Reply(302, b"", {"Location": server.url("/secret", host=FORBIDDEN_IP)}))
    server.route("/secret", Reply(200, b"secret"))
    with pytest.raises(BlockedHostError, match=r"127\.0\.0\.2"):
        session.request("GET", server.url("/out"))
    assert server.hits["/secret"] == 0


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://127.0.0.1/"])
def test_redirect_to_another_scheme_is_blocked(server: LocalServer, session: HttpSession,
                                               location: str) -> None:
    server.route("/out", Reply(302, b"", {"Location": location}))
    with pytest.raises(BlockedHostError, match="scheme"):
        session.request("GET", server.url("/out"))


def test_credentials_are_not_forwarded_to_another_origin(server: LocalServer, session: HttpSession) -> None:
    server.route("/api", Reply(302, b"", {"Location": server.url("/landing", host="localhost")}))
    server.route("/landing", Reply(200, b"ok"))
    session.request("GET", server.url("/api"), headers={"X-Subscription-Token": "secret-key"})
    first, second = server.seen
    assert first.headers.get("x-subscription-token") == "secret-key"
    assert "x-subscription-token" not in second.headers


# -- caps and cookies ---------------------------------------------------------------------------
def test_50mb_body_is_refused_for_json(server: LocalServer, session: HttpSession) -> None:
    total = 50 * 1024 * 1024
    reply = Reply(200, huge_body(total), {"Content-Type": "application/json"}, length=total)
    url = server.route("/huge", reply)
    start = time.monotonic()
    with pytest.raises(WebError, match="larger than"):
        session.request("GET", url)
    assert time.monotonic() - start < 3


def test_over_cap_error_names_the_cap_of_the_request(server: LocalServer, session: HttpSession) -> None:
    url = server.route("/big", Reply(200, b"[" + b"0," * 150_000 + b"0]", {"Content-Type": "application/json"}))
    with pytest.raises(WebError, match="larger than the 200,000-byte cap"):
        session.request("GET", url, max_bytes=200_000)


def test_50mb_body_is_truncated_for_pages(server: LocalServer, session: HttpSession) -> None:
    total = 50 * 1024 * 1024
    url = server.route("/huge", Reply(200, huge_body(total), {"Content-Type": "text/html"}, length=total))
    result = session.request("GET", url, allow_truncated=True, max_bytes=200_000)
    assert result.truncated and len(result.content) == 200_000


def test_no_cookies_are_kept(server: LocalServer, session: HttpSession) -> None:
    server.route("/set", Reply(200, b"", {"Set-Cookie": "track=1; Path=/"}))
    server.route("/echo", lambda seen: Reply(200, seen.headers.get("cookie", "").encode()))
    session.request("GET", server.url("/set"))
    assert session.request("GET", server.url("/echo")).content == b""
    assert not session.client.cookies


def test_environment_proxies_are_ignored(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # A proxy would make the address check meaningless (the proxy dials the target).
    monkeypatch.setenv("HTTP_PROXY", f"http://{FORBIDDEN_IP}:9")
    monkeypatch.setenv("ALL_PROXY", f"http://{FORBIDDEN_IP}:9")
    url = server.route("/", Reply(200, b"direct"))
    assert HttpSession(FAST, HostPolicy(("127.0.0.1",))).request("GET", url).content == b"direct"


# -- async --------------------------------------------------------------------------------------
async def test_async_retries_and_redirects(server: LocalServer, session: HttpSession) -> None:
    server.route("/r", Reply(302, b"", {"Location": "/flaky"}))
    server.route("/flaky", fail_then(502, 1))
    result = await session.arequest("GET", server.url("/r"))
    assert result.content == b"ok" and server.hits["/flaky"] == 2
    await session.aclose()


async def test_async_fault_cases(server: LocalServer, session: HttpSession) -> None:
    server.route("/out", Reply(302, b"", {"Location": server.url("/", host=FORBIDDEN_IP)}))
    server.route("/500", Reply(500, b""))
    server.route("/slow", Reply(200, b"", delay=1.5))
    with pytest.raises(BlockedHostError):
        await session.arequest("GET", server.url("/out"))
    start = time.monotonic()
    with pytest.raises(WebError, match="HTTP 500"):
        await session.arequest("GET", server.url("/500"), deadline=Deadline.after(3))
    with pytest.raises(WebError, match="ReadTimeout"):
        await session.arequest("GET", server.url("/slow"), deadline=Deadline.after(1))
    assert time.monotonic() - start < 3
    await session.aclose()


async def test_async_50mb_body_is_capped(server: LocalServer, session: HttpSession) -> None:
    total = 50 * 1024 * 1024
    url = server.route("/huge", Reply(200, huge_body(total), {"Content-Type": "text/html"}, length=total))
    result = await session.arequest("GET", url, allow_truncated=True, max_bytes=100_000)
    assert result.truncated and len(result.content) == 100_000
    await session.aclose()


def _gzip_bomb(size: int) -> bytes:
    import gzip

    return gzip.compress(b"\0" * size, compresslevel=9)


def test_gzip_bomb_is_capped_while_inflating(server: LocalServer, session: HttpSession) -> None:
    bomb = _gzip_bomb(50 * 1024 * 1024)  # ~50 KB on the wire, 50 MB inflated
    url = server.route("/bomb", Reply(200, bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip"}))
    result = session.request("GET", url, allow_truncated=True, max_bytes=100_000)
    assert result.truncated and len(result.content) == 100_000
    with pytest.raises(WebError, match="larger than"):
        session.request("GET", url)


def test_gzip_and_deflate_bodies_are_decoded(server: LocalServer, session: HttpSession) -> None:
    import gzip
    import zlib

    server.route("/gz", Reply(200, gzip.compress(b"hello gzip"), {"Content-Encoding": "gzip"}))
    server.route("/zz", Reply(200, zlib.compress(b"hello deflate"), {"Content-Encoding": "deflate"}))
    server.route("/br", Reply(200, b"???", {"Content-Encoding": "br"}))
    server.route("/bad", Reply(200, b"not gzip at all", {"Content-Encoding": "gzip"}))
    assert session.request("GET", server.url("/gz")).content == b"hello gzip"
    assert session.request("GET", server.url("/zz")).content == b"hello deflate"
    with pytest.raises(WebError, match="Content-Encoding"):
        session.request("GET", server.url("/br"))
    with pytest.raises(WebError, match="corrupt"):
        session.request("GET", server.url("/bad"))


async def test_async_gzip_bomb_is_capped(server: LocalServer, session: HttpSession) -> None:
    url = server.route("/bomb", Reply(200, _gzip_bomb(20 * 1024 * 1024),
                                      {"Content-Type": "text/html", "Content-Encoding": "gzip"}))
    result = await session.arequest("GET", url, allow_truncated=True, max_bytes=50_000)
    assert result.truncated and len(result.content) == 50_000
    await session.aclose()
