"""The host policy: what may be reached, decided after resolution and enforced at connect time.

Address classification is tested as a pure function (no request is made); every request in
these tests goes to 127.0.0.1 (allowed) or 127.0.0.2 (the stand-in for a forbidden target).
"""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from webworld import FORBIDDEN_IP, LocalServer, Reply, StubResolver

from guardrail.exceptions import BlockedHostError, ConfigError, WebError
from guardrail.web.http import Deadline, HttpConfig, HttpSession
from guardrail.web.safety import HostPolicy, forbidden_reason
from guardrail.web.transport import make_async_client, make_client


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"),
    ("127.0.0.2", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fd12::1", "private"),
    ("169.254.169.254", "metadata"),
    ("fd00:ec2::254", "metadata"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "non-global"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"),
    ("64:ff9b::a00:1", "private"),
])
def test_non_public_addresses_are_classified_forbidden(address: str, reason: str) -> None:
    why = forbidden_reason(ipaddress.ip_address(address))
    assert why is not None and reason in why


# Pure classification: no request is made to these addresses, here or anywhere in the tests.
@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111"])
def test_public_addresses_are_classified_allowed(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


def test_vet_resolves_then_checks(resolver: StubResolver) -> None:
    policy = HostPolicy(resolver=resolver)
    with pytest.raises(BlockedHostError, match="loopback"):
        policy.vet("evil.test", 80)
    assert resolver.calls == ["evil.test"]


def test_allow_list_by_name_address_and_network(resolver: StubResolver) -> None:
    assert HostPolicy(("evil.test",), resolver=resolver).vet("evil.test", 80) == [FORBIDDEN_IP]
    assert HostPolicy((FORBIDDEN_IP,), resolver=resolver).vet("evil.test", 80) == [FORBIDDEN_IP]
    assert HostPolicy(("127.0.0.0/30",), resolver=resolver).vet("evil.test", 80) == [FORBIDDEN_IP]
    with pytest.raises(BlockedHostError):
        HostPolicy(("127.0.0.1",), resolver=resolver).vet("evil.test", 80)


def test_mixed_answers_keep_only_allowed_addresses(resolver: StubResolver) -> None:
    assert HostPolicy(("127.0.0.1",), resolver=resolver).vet("mixed.test", 80) == ["127.0.0.1"]


@pytest.mark.parametrize("entry", ["127.0.0.1:8080", "", "a/b"])
def test_bad_allow_host_entries_are_config_errors(entry: str) -> None:
    with pytest.raises(ConfigError):
        HostPolicy((entry,))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/",
                                 "javascript:alert(1)", "http://metadata.google.internal/computeMetadata/v1/",
                                 "http:///nohost"])
def test_check_url_refuses_schemes_and_metadata_names(url: str) -> None:
    with pytest.raises(BlockedHostError):
        HostPolicy().check_url(url)


def test_unresolvable_host_is_a_web_error(resolver: StubResolver) -> None:
    with pytest.raises(WebError):
        HostPolicy(resolver=resolver).vet("nowhere.test", 80)


def test_default_policy_refuses_loopback_without_connecting(server: LocalServer) -> None:
    url = server.route("/", Reply(200, b"secret"))
    with pytest.raises(BlockedHostError, match="--allow-host"):
        HttpSession(HttpConfig(retries=0), HostPolicy()).request("GET", url)
    assert server.hits["/"] == 0


def test_decimal_ip_literal_is_resolved_before_the_check(server: LocalServer) -> None:
    server.route("/", Reply(200, b"secret"))
    decimal = int(ipaddress.ip_address(FORBIDDEN_IP))  # http://2130706434/ is 127.0.0.2
    with pytest.raises(BlockedHostError):
        HttpSession(HttpConfig(retries=0), HostPolicy(("127.0.0.1",))).request(
            "GET", f"http://{decimal}:{server.port}/")


def test_guard_is_enforced_in_the_connection_layer(server: LocalServer, resolver: StubResolver) -> None:
    # Bypassing HttpSession's own checks: the client alone must still refuse the address.
    server.route("/", Reply(200, b"ok"))
    policy = HostPolicy(("127.0.0.1",), resolver=resolver)
    with make_client(HttpConfig(), policy) as client:
        with pytest.raises(BlockedHostError):
            client.get(server.url("/", host="evil.test"))
        assert client.get(server.url("/", host="good.test")).content == b"ok"
        # Only the vetted address of a mixed answer is dialled.
        assert client.get(server.url("/", host="mixed.test")).content == b"ok"
    assert server.hits["/"] == 2


async def test_async_guard_is_enforced_in_the_connection_layer(server: LocalServer,
                                                               resolver: StubResolver) -> None:
    server.route("/", Reply(200, b"ok"))
    policy = HostPolicy(("127.0.0.1",), resolver=resolver)
    async with make_async_client(HttpConfig(), policy) as client:
        with pytest.raises(BlockedHostError):
            await client.get(server.url("/", host=FORBIDDEN_IP))
        assert (await client.get(server.url("/", host="good.test"))).content == b"ok"


def test_slow_resolver_is_bounded_by_the_connect_timeout(server: LocalServer) -> None:
    def hanging(host: str, port: int) -> list[str]:
        import time

        time.sleep(1.0)
        return ["127.0.0.1"]

    server.route("/", Reply(200, b"ok"))
    session = HttpSession(HttpConfig(timeout=0.2, retries=0), HostPolicy(("127.0.0.1",), resolver=hanging))
    with pytest.raises(WebError, match="ConnectTimeout"):
        session.request("GET", server.url("/", host="slow.test"), deadline=Deadline.after(2))


async def test_async_slow_resolver_is_bounded(server: LocalServer) -> None:
    def hanging(host: str, port: int) -> list[str]:
        import time

        time.sleep(1.0)
        return ["127.0.0.1"]

    session = HttpSession(HttpConfig(timeout=0.2, retries=0), HostPolicy(("127.0.0.1",), resolver=hanging))
    with pytest.raises(WebError, match="ConnectTimeout"):
        await asyncio.wait_for(session.arequest("GET", server.url("/", host="slow.test"),
                                                deadline=Deadline.after(2)), 3)
    await session.aclose()
