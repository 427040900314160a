"""Which hosts a web request may reach.

Search results and redirects are chosen by strangers, so a fetched URL must never reach the
machine guardrail runs on, its network or the cloud metadata service (SSRF).  The rule: only
http and https, and every address a host name resolves to must be globally routable unless
the host or address is on the allow-list.  :class:`HostPolicy.vet` is called by the HTTP
layer at *connect* time and the connection is made to the address it vetted, so a DNS answer
that changes between check and use (rebinding) cannot slip through; every redirect hop opens
its own connection and is vetted again.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import httpx

from guardrail.exceptions import BlockedHostError, ConfigError, WebError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: ``resolver(host, port)`` returns the IP addresses (as strings) a connection may use.
Resolver = Callable[[str, int], Sequence[str]]

# Names that reach a cloud instance's metadata service without going through DNS, or through
# a resolver that only the instance sees; blocked by name as well as by address.
METADATA_HOSTS = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "instance-data",
    "instance-data.ec2.internal", "metadata.azure.internal",
})
_METADATA_IPS = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254",
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

SCHEMES = frozenset({"http", "https"})


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the operating system (``getaddrinfo``); IP literals come back unchanged."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebError(f"cannot resolve {host!r}: {exc}") from exc
    # Scope ids ("fe80::1%eth0") are not part of the address we classify.
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), which is what it reaches."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why a request to ``ip`` is refused by default, or None for a public address."""
    inner = _embedded_ipv4(ip)
    if inner is not None:
        reason = forbidden_reason(inner)
        return f"{reason} (embedded in {ip})" if reason else None
    if ip in _METADATA_IPS:
        return "cloud metadata address"
    checks = (("loopback", ip.is_loopback), ("unspecified", ip.is_unspecified),
              ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
              ("private", ip.is_private), ("reserved", ip.is_reserved))
    for name, hit in checks:
        if hit:
            return f"{name} address"
    # Shared (100.64/10), documentation and benchmarking ranges are neither private nor global.
    return None if ip.is_global else "non-global address"


def _normalise_host(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return host.encode("idna").decode("ascii") if host and not host.isascii() else host
    except UnicodeError:
        return host


@dataclass(frozen=True)
class HostPolicy:
    """The safety rules for outgoing requests.

    ``allow_hosts`` lists exceptions to the default deny of non-public addresses: host names
    (exact match, after lower-casing), IP addresses or CIDR networks, e.g. ``"127.0.0.1"``,
    ``"searx.internal"``, ``"10.20.0.0/16"``.  An allowed name admits whatever it resolves to;
    an allowed address or network admits that address under any name.
    """

    allow_hosts: tuple[str, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False, repr=False)
    schemes: frozenset[str] = SCHEMES
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in self.allow_hosts:
            host = _normalise_host(str(entry))
            if not host:
                raise ConfigError("empty --allow-host entry")
            try:
                networks.append(ipaddress.ip_network(host, strict=False))
            except ValueError:
                if "/" in host or ":" in host:
                    raise ConfigError(f"--allow-host {entry!r} is neither a host name, an IP address "
                                      "nor a network (a port is not part of it)") from None
                names.add(host)
        object.__setattr__(self, "allow_hosts", tuple(self.allow_hosts))
        object.__setattr__(self, "_names", frozenset(names))
        object.__setattr__(self, "_networks", tuple(networks))

    def allowing(self, hosts: Iterable[str]) -> HostPolicy:
        """A copy that also trusts ``hosts`` (used for the configured search endpoint)."""
        extra = tuple(h for h in hosts if h and h not in self.allow_hosts)
        return replace(self, allow_hosts=self.allow_hosts + extra) if extra else self

    def host_allowed(self, host: str) -> bool:
        return _normalise_host(host) in self._names

    def address_allowed(self, ip: IPAddress) -> bool:
        return any(ip.version == net.version and ip in net for net in self._networks)

    def check_url(self, url: str | httpx.URL) -> httpx.URL:
        """Refuse what can be refused without resolving: the scheme and metadata host names."""
        try:
            parsed = httpx.URL(str(url))
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise BlockedHostError(f"invalid URL {str(url)[:200]!r}: {exc}") from exc
        if parsed.scheme not in self.schemes:
            raise BlockedHostError(f"scheme {parsed.scheme or '(none)'!r} is not allowed: {str(url)[:200]}")
        host = _normalise_host(parsed.host)
        if not host:
            raise BlockedHostError(f"URL has no host: {str(url)[:200]}")
        if host in METADATA_HOSTS and not self.host_allowed(host):
            raise BlockedHostError(f"{host} is a cloud metadata host; pass --allow-host {host} to allow it")
        return parsed

    def vet(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` and return the addresses a connection may use, or raise.

        Forbidden addresses are dropped rather than failing the whole host, which is safe
        because the caller connects only to what this returns.
        """
        name = _normalise_host(host)
        if name in METADATA_HOSTS and not self.host_allowed(name):
            raise BlockedHostError(f"{name} is a cloud metadata host")
        name_allowed = self.host_allowed(name)
        addresses = list(self.resolver(name, port))
        if not addresses:
            raise WebError(f"{name!r} resolved to no address")
        allowed: list[str] = []
        refused: list[str] = []
        for text in addresses:
            try:
                ip = ipaddress.ip_address(str(text).split("%", 1)[0])
            except ValueError:
                refused.append(f"{text} (not an IP address)")
                continue
            reason = forbidden_reason(ip)
            if reason is None or name_allowed or self.address_allowed(ip):
                allowed.append(str(ip))
            else:
                refused.append(f"{ip} ({reason})")
        if not allowed:
            raise BlockedHostError(f"{name} resolves only to forbidden addresses: {', '.join(refused)}; "
                                   f"pass --allow-host {name} to allow it")
        return allowed
