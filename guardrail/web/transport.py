"""The connection layer: httpx clients whose every TCP connection is vetted by the host policy.

httpcore asks its network backend to open each connection with the host name and port; the
guarded backend resolves the name through the policy (which refuses forbidden addresses) and
dials only an address it returned.  Checking here rather than before the request means the
checked address is the one used (no DNS rebinding window) and pooled keep-alive connections,
redirects and retries are all covered without further effort.
"""

from __future__ import annotations

import functools
import http.cookiejar
import ssl
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

import anyio
import httpcore
import httpx

from guardrail.exceptions import BlockedHostError
from guardrail.web.safety import HostPolicy

if TYPE_CHECKING:
    from guardrail.web.http import HttpConfig


class _NoCookies(http.cookiejar.CookieJar):
    """A jar that never stores anything, so no page can track or influence later requests."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


# getaddrinfo cannot be interrupted, so it runs here with the connect timeout around it.
_RESOLVER_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="guardrail-dns")


def _vet_sync(policy: HostPolicy, host: str, port: int, timeout: float | None) -> list[str]:
    future = _RESOLVER_POOL.submit(policy.vet, host, port)
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None


class _GuardedBackend(httpcore.NetworkBackend):
    """Connects only to addresses the policy vetted for the host being connected to."""

    def __init__(self, policy: HostPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in _vet_sync(self._policy, host, port, timeout):
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address to connect to for {host}")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        raise BlockedHostError("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: HostPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await anyio.to_thread.run_sync(self._policy.vet, host, port,
                                                           abandon_on_cancel=True)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError(f"no address to connect to for {host}")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise BlockedHostError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds; one context serves every client.
    return httpx.create_ssl_context(trust_env=False)


def _pool_options(config: HttpConfig) -> dict[str, Any]:
    return {"ssl_context": _ssl_context(),
            "max_connections": config.max_connections,
            "max_keepalive_connections": max(1, config.max_connections // 2),
            "keepalive_expiry": 5.0}


class _GuardedTransport(httpx.HTTPTransport):
    # httpx offers no public hook for the network backend, so the pool it built is replaced by
    # one with the guarded backend (same options); tests/web check that the guard is in force.
    def __init__(self, policy: HostPolicy, config: HttpConfig) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False)
        self._pool = httpcore.ConnectionPool(network_backend=_GuardedBackend(policy), **_pool_options(config))


class _AsyncGuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: HostPolicy, config: HttpConfig) -> None:
        super().__init__(verify=_ssl_context(), trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(network_backend=_AsyncGuardedBackend(policy),
                                                  **_pool_options(config))


def _client_options(config: HttpConfig) -> dict[str, Any]:
    return {"follow_redirects": False, "trust_env": False, "timeout": config.timeout,
            "cookies": _NoCookies(),
            "headers": {"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"}}


def make_client(config: HttpConfig, policy: HostPolicy) -> httpx.Client:
    """A pooled sync client with the safety policy wired into its connections."""
    return httpx.Client(transport=_GuardedTransport(policy, config), **_client_options(config))


def make_async_client(config: HttpConfig, policy: HostPolicy) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=_AsyncGuardedTransport(policy, config), **_client_options(config))
