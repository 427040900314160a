"""One HTTP layer for search APIs and page fetches: pooled httpx clients, bounded retries and caps.

What every request gets, sync or async:

* the :class:`~guardrail.web.safety.HostPolicy`, enforced in the connection layer
  (:mod:`guardrail.web.transport`: each connection goes to an address the policy vetted)
  and per redirect hop;
* retries on 429, 500, 502, 503, 504 and transport errors, with exponential backoff and
  jitter, honouring ``Retry-After`` (a wait longer than allowed or past the deadline gives up
  at once instead of sleeping into it);
* a byte cap on the decoded body, a per-step timeout and an overall :class:`Deadline`;
* no cookies kept, no proxy or ``.netrc`` taken from the environment (a proxy would make
  the address check meaningless), redirects followed by hand so each hop is checked.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import threading
import time
import weakref
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx

from guardrail.exceptions import BlockedHostError, WebError
from guardrail.web.safety import HostPolicy
from guardrail.web.transport import make_async_client, make_client

DEFAULT_USER_AGENT = "guardrail/0.1 (hallucination checker; +https://github.com/guardrail-ai/guardrail)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class HttpConfig:
    """Limits for one kind of request.  Times are seconds."""

    timeout: float = 10.0  # each connect / read / write step
    retries: int = 2  # attempts after the first, for retryable failures only
    backoff: float = 0.5  # first backoff step; doubles per attempt, with jitter
    max_backoff: float = 8.0
    max_retry_after: float = 30.0  # a server asking for a longer wait is given up on
    max_bytes: int = 5_000_000  # of decoded body
    max_redirects: int = 5
    max_connections: int = 20
    user_agent: str = DEFAULT_USER_AGENT


@dataclass(frozen=True)
class Deadline:
    """A point in ``time.monotonic()`` time after which work is abandoned."""

    at: float

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        return cls(math.inf if seconds is None else time.monotonic() + max(0.0, seconds))

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def cap(self, seconds: float) -> float:
        """``seconds``, shortened to what is left; raises once nothing is."""
        left = self.remaining()
        if left <= 0:
            raise WebError("deadline exceeded")
        return min(seconds, left)


@dataclass(frozen=True)
class HttpResult:
    url: str  # after redirects
    status: int
    headers: Mapping[str, str] = field(repr=False)
    content: bytes = field(repr=False)
    truncated: bool = False  # the body went past the byte cap and was cut there

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class _CappedDecoder:
    """Content-Encoding decoding that never inflates past the byte cap.

    httpx would inflate each network chunk in full, so a 64 KB gzip bomb chunk could become
    tens of megabytes in memory before any cap applied; here ``max_length`` bounds it.
    """

    def __init__(self, encoding: str) -> None:
        name = encoding.strip().lower()
        if name in ("", "identity"):
            self._z = None
        elif name in ("gzip", "x-gzip", "deflate"):
            self._z = zlib.decompressobj(32 + zlib.MAX_WBITS)  # 32: accept gzip or zlib headers
        else:  # we only advertise gzip and deflate
            raise WebError(f"unsupported Content-Encoding {encoding!r}")

    def feed(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of ``data``; at most ``room + 1`` of them (one more signals 'over')."""
        if self._z is None:
            return data
        out = bytearray()
        try:
            while True:
                out += self._z.decompress(data, max(1, room + 1 - len(out)))
                data = self._z.unconsumed_tail
                if not data or len(out) > room:
                    return bytes(out)
        except zlib.error as exc:
            raise WebError(f"corrupt compressed body: {exc}") from exc


def _append(body: bytearray, piece: bytes, cap: int) -> bool:
    """Add ``piece``; True when the body reached past ``cap`` and was cut there."""
    body += piece
    if len(body) > cap:
        del body[cap:]
        return True
    return False


_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class HttpSession:
    """Sync and async requests with retries, redirects checked per hop, caps and a deadline.

    The sync client is shared by all threads; async clients are made per event loop because
    their pooled connections belong to the loop that opened them.
    """

    def __init__(self, config: HttpConfig | None = None, policy: HostPolicy | None = None,
                 *, rng: random.Random | None = None) -> None:
        self.config = config or HttpConfig()
        self.policy = policy or HostPolicy()
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary())

    # -- clients ------------------------------------------------------------------------------
    @property
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = make_client(self.config, self.policy)
            return self._client

    def async_client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None or client.is_closed:
                client = self._async_clients[loop] = make_async_client(self.config, self.policy)
            return client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()
        self.close()

    # -- retry decisions (shared by both paths) -----------------------------------------------
    def _delay(self, attempt: int, retry_after: float | None, deadline: Deadline) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        if attempt >= self.config.retries:
            return None
        if retry_after is not None:
            if retry_after > self.config.max_retry_after:
                return None
            delay = retry_after
        else:
            step = min(self.config.max_backoff, self.config.backoff * 2 ** attempt)
            delay = step / 2 + self._rng.uniform(0, step / 2)
        return delay if delay < deadline.remaining() else None

    def _prepare(self, client: httpx.Client | httpx.AsyncClient, method: str, url: httpx.URL,
                 deadline: Deadline, kwargs: Mapping[str, Any]) -> httpx.Request:
        self.policy.check_url(url)
        if deadline.expired:
            raise WebError(f"{method} {url}: deadline exceeded")
        return client.build_request(method, url, timeout=httpx.Timeout(deadline.cap(self.config.timeout)),
                                    **kwargs)

    def _next_hop(self, response: httpx.Response, method: str, hops: int, kwargs: dict[str, Any],
                  ) -> tuple[httpx.URL, str, dict[str, Any]]:
        if hops >= self.config.max_redirects:
            raise WebError(f"more than {self.config.max_redirects} redirects from {response.request.url}")
        location = response.headers["location"]
        try:
            target = response.request.url.join(location)
        except httpx.InvalidURL as exc:
            raise WebError(f"bad redirect Location {location[:200]!r}: {exc}") from exc
        self.policy.check_url(target)
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method = "GET"
        kwargs = {**kwargs, "params": None, "json": None if method == "GET" else kwargs["json"]}
        if target.scheme != response.request.url.scheme or target.netloc != response.request.url.netloc:
            # API keys travel in headers; another origin must not receive them.
            kwargs["headers"] = None
        return target, method, kwargs

    @staticmethod
    def _outcome(response: httpx.Response, body: bytes, truncated: bool, allow_truncated: bool, cap: int,
                 ) -> HttpResult:
        if truncated and not allow_truncated:
            # The cap of this request (search answers have their own), not the config default.
            raise WebError(f"response from {response.request.url} is larger than the {cap:,}-byte cap")
        return HttpResult(str(response.url), response.status_code, response.headers, body, truncated)

    # -- sync ---------------------------------------------------------------------------------
    def request(self, method: str, url: str, *, deadline: Deadline | None = None,
                allow_truncated: bool = False, max_bytes: int | None = None,
                params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
                json: Any = None) -> HttpResult:
        """Send with retries; return a 2xx result or raise :class:`WebError`.

        ``allow_truncated``: a body over the cap is cut there (pages) instead of failing (JSON).
        """
        deadline = deadline or Deadline.after(self.config.timeout * (self.config.retries + 1))
        cap = max_bytes or self.config.max_bytes
        kwargs = {"params": params, "headers": headers, "json": json}
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response, body, truncated = self._send_once(method, httpx.URL(url), deadline, kwargs, cap)
            except BlockedHostError:
                raise
            except _RETRYABLE_ERRORS as exc:
                failure = f"{type(exc).__name__}: {exc}"
            except httpx.HTTPError as exc:
                raise WebError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code not in RETRY_STATUSES:
                    return self._check_status(self._outcome(response, body, truncated, allow_truncated, cap))
                failure = f"HTTP {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            delay = self._delay(attempt, retry_after, deadline)
            if delay is None:
                raise WebError(self._give_up(method, url, failure, attempt, retry_after))
            time.sleep(delay)
            attempt += 1

    def _send_once(self, method: str, url: httpx.URL, deadline: Deadline, kwargs: dict[str, Any],
                   cap: int) -> tuple[httpx.Response, bytes, bool]:
        client = self.client
        for hops in range(self.config.max_redirects + 1):
            request = self._prepare(client, method, url, deadline, kwargs)
            response = client.send(request, stream=True)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    url, method, kwargs = self._next_hop(response, method, hops, kwargs)
                    continue
                body, truncated = bytearray(), False
                decoder = _CappedDecoder(response.headers.get("content-encoding", ""))
                for raw in response.iter_raw():
                    truncated = _append(body, decoder.feed(raw, cap - len(body)), cap)
                    if truncated:
                        break
                    if deadline.expired:
                        raise httpx.ReadTimeout("deadline exceeded while reading the body", request=request)
                return response, bytes(body), truncated
            finally:
                response.close()
        raise AssertionError("unreachable")  # pragma: no cover

    # -- async --------------------------------------------------------------------------------
    async def arequest(self, method: str, url: str, *, deadline: Deadline | None = None,
                       allow_truncated: bool = False, max_bytes: int | None = None,
                       params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
                       json: Any = None) -> HttpResult:
        """The async twin of :meth:`request`."""
        deadline = deadline or Deadline.after(self.config.timeout * (self.config.retries + 1))
        cap = max_bytes or self.config.max_bytes
        kwargs = {"params": params, "headers": headers, "json": json}
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                response, body, truncated = await self._asend_once(method, httpx.URL(url), deadline,
                                                                   kwargs, cap)
            except BlockedHostError:
                raise
            except _RETRYABLE_ERRORS as exc:
                failure = f"{type(exc).__name__}: {exc}"
            except httpx.HTTPError as exc:
                raise WebError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code not in RETRY_STATUSES:
                    return self._check_status(self._outcome(response, body, truncated, allow_truncated, cap))
                failure = f"HTTP {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            delay = self._delay(attempt, retry_after, deadline)
            if delay is None:
                raise WebError(self._give_up(method, url, failure, attempt, retry_after))
            await asyncio.sleep(delay)
            attempt += 1

    async def _asend_once(self, method: str, url: httpx.URL, deadline: Deadline, kwargs: dict[str, Any],
                          cap: int) -> tuple[httpx.Response, bytes, bool]:
        client = self.async_client()
        for hops in range(self.config.max_redirects + 1):
            request = self._prepare(client, method, url, deadline, kwargs)
            response = await client.send(request, stream=True)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    url, method, kwargs = self._next_hop(response, method, hops, kwargs)
                    continue
                body, truncated = bytearray(), False
                decoder = _CappedDecoder(response.headers.get("content-encoding", ""))
                async for raw in response.aiter_raw():
                    truncated = _append(body, decoder.feed(raw, cap - len(body)), cap)
                    if truncated:
                        break
                    if deadline.expired:
                        raise httpx.ReadTimeout("deadline exceeded while reading the body", request=request)
                return response, bytes(body), truncated
            finally:
                await response.aclose()
        raise AssertionError("unreachable")  # pragma: no cover

    # -- messages -----------------------------------------------------------------------------
    @staticmethod
    def _check_status(result: HttpResult) -> HttpResult:
        # Only 2xx carries the resource: a 3xx left here (no Location, 300, 304) has a body
        # that is a server's note, not the page, and must not become evidence.
        if not 200 <= result.status < 300:
            raise WebError(f"HTTP {result.status} from {result.url}")
        return result

    def _give_up(self, method: str, url: str, failure: str, attempt: int, retry_after: float | None) -> str:
        why = f"{method} {url} failed after {attempt + 1} attempt(s): {failure}"
        if retry_after is not None and retry_after > self.config.max_retry_after:
            why += f" (Retry-After {retry_after:.0f}s exceeds the {self.config.max_retry_after:.0f}s limit)"
        elif retry_after is not None and attempt < self.config.retries:
            why += f" (Retry-After {retry_after:.0f}s goes past the deadline)"
        return why
