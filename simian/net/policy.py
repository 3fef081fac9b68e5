"""Where one source may send requests: its configured endpoint, the file hosts it documents, the extra
hosts the operator allows, and never an internal address unless the endpoint itself lives there."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

from simian.net.errors import FetchRefused
from simian.net.redact import redact_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")


def is_internal(address: IPAddress) -> bool:
    """Loopback, link-local (cloud metadata), private, multicast, reserved or unspecified."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
    )


def resolve(host: str, port: int | None = None) -> list[IPAddress]:
    """The addresses `host` resolves to, in resolver order, without duplicates (OSError when it does not)."""
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class NetworkPolicy:
    """The rules for one source. `setting` names what configured the endpoint, for messages."""

    def __init__(
        self,
        source: str,
        endpoint: str,
        setting: str,
        *,
        file_hosts: Iterable[str] = (),
        extra_hosts: Iterable[str] = (),
        internal_endpoint: bool = True,
    ) -> None:
        self.source = source
        self.internal_endpoint = internal_endpoint  # False: not even the endpoint may be an internal address
        self.endpoint = endpoint
        self.setting = setting
        self.file_hosts = tuple(file_hosts)
        self.extra_hosts = tuple(extra_hosts)
        self._endpoint_addresses: frozenset[IPAddress] | None = None
        self._lock = threading.Lock()
        try:
            scheme, host, _ = _origin(endpoint)
        except ValueError:
            scheme, host = "", ""
        if scheme not in SCHEMES or not host:
            raise FetchRefused(
                f"{setting}: {redact_url(endpoint)!r} is not an http(s) URL with a host; set it to e.g. "
                "https://host[:port]"
            )

    def __repr__(self) -> str:
        return f"NetworkPolicy({self.source!r}, {redact_url(self.endpoint)!r})"

    @property
    def endpoint_host(self) -> str:
        return _origin(self.endpoint)[1]

    def allowed_hosts(self) -> tuple[str, ...]:
        return (self.endpoint_host, *self.file_hosts, *self.extra_hosts)

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for pattern in self.allowed_hosts():
            pattern = pattern.lower().rstrip(".")
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]):
                    return True
            elif host == pattern.strip("[]"):
                return True
        return False

    def check_url(self, url: str, *, reached_from: str | None = None) -> None:
        """Refuse a URL whose scheme is not http(s) or whose host is not configured for this source."""
        shown = redact_url(url)
        via = f" (redirected from {redact_url(reached_from)})" if reached_from else ""
        try:
            scheme, host, _ = _origin(url)
        except ValueError:
            raise FetchRefused(f"{self.source}: {shown!r}{via} is not a valid URL") from None
        if scheme not in SCHEMES:
            raise FetchRefused(f"{self.source}: refused to fetch {shown}{via}: only http and https URLs are followed")
        if not self.host_allowed(host):
            raise FetchRefused(
                f"{self.source}: refused to fetch {shown}{via}: host {host} is not one of the configured hosts "
                f"({', '.join(self.allowed_hosts())}); allow it in SIMIAN_ALLOWED_HOSTS if it is trusted"
            )

    def endpoint_addresses(self) -> frozenset[IPAddress]:
        """The internal addresses the endpoint itself resolves to (resolved once): the only ones allowed."""
        if not self.internal_endpoint:
            return frozenset()
        with self._lock:
            if self._endpoint_addresses is None:
                try:
                    addresses = resolve(self.endpoint_host)
                except OSError:
                    return frozenset()  # not cached: the next connection asks the resolver again
                self._endpoint_addresses = frozenset(a for a in addresses if is_internal(a))
            return self._endpoint_addresses

    def address_allowed(self, address: IPAddress) -> bool:
        return not is_internal(address) or address in self.endpoint_addresses()

    def check_addresses(self, host: str, addresses: Iterable[IPAddress]) -> list[IPAddress]:
        """The addresses of `host` that may be connected to; FetchRefused when there are none."""
        addresses = list(addresses)
        allowed = [a for a in addresses if self.address_allowed(a)]
        if not allowed:
            listed = ", ".join(str(a) for a in addresses) or "nothing"
            why = (
                "that a flow parameter may not point at (an operator allows it with SIMIAN_FLOW_INTERNAL_URLS=1)"
                if not self.internal_endpoint
                else f"that {self.setting} does not point at"
            )
            raise FetchRefused(
                f"{self.source}: refused to connect to {host}: it resolves to {listed}, an internal address "
                f"(loopback, link-local, private or multicast) {why}"
            )
        return allowed

    def credentials_allowed(self, url: str) -> bool:
        """Credentials (Authorization, cookies) go to the configured endpoint's origin only."""
        return _origin(url) == _origin(self.endpoint)
