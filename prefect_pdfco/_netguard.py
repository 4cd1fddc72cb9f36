"""Where result links may lead: no link-local or cloud-metadata address, whatever the link or its redirects say.

A result link is a URL handed to us (by PDF.co, or by whoever can pass a URL to a flow), and a download
follows redirects. Without a guard, ``download_result("http://169.254.169.254/latest/meta-data/...")`` would
read the machine's cloud credentials into a file. So the keyless download client built by
``linkclient`` connects through ``GuardedBackend``, an httpcore network backend that, for every new
connection (the first request and every redirect):

1. checks the host name against the policy (``allowed_result_hosts``, and names such as
   ``metadata.google.internal`` that are always refused unless allowed by name);
2. resolves the name itself (``anyio.getaddrinfo``, that is ``loop.getaddrinfo`` under asyncio) and checks
   every address, IPv4-mapped, NAT64 and IPv4-compatible IPv6 forms included;
3. connects to one of the addresses it checked, never to a fresh resolution of the name. So a DNS answer that
   changes between the check and the connection (DNS rebinding) cannot slip through. The price: the OS's
   happy-eyeballs choice between addresses is replaced by trying the checked ones in order.

Loopback stays allowed (the emulator serves its links on 127.0.0.1), and so do private networks: many
companies keep their object storage there. ``allowed_result_hosts`` on the credentials block narrows the
links to named hosts (``*.amazonaws.com``) or networks, and an entry naming a refused address or name
explicitly allows it.

Limits, said plainly: behind an HTTP(S) proxy from the environment the proxy resolves names, so only the names
and literal addresses of each request (redirects included) are checked; with an ``http`` client of your own,
only the link you hand over is checked (its redirects follow your client's settings).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import anyio
import httpcore
import httpx

from prefect_pdfco._redact import escape_control, safe_url
from prefect_pdfco.exceptions import FileTransferError

__all__ = [
    "BLOCKED_NAMES",
    "BLOCKED_NETWORKS",
    "DEFAULT_LINK_POLICY",
    "MAX_REDIRECTS",
    "GuardedBackend",
    "LinkPolicy",
    "env_proxy_configured",
    "guarded_transport",
    "resolve_host",
]

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``(host, port) -> addresses`` as strings; tests replace it so that no real lookup happens.
Resolver: TypeAlias = Callable[[str, int], Awaitable[list[str]]]

#: Link-local (cloud metadata at 169.254.169.254, ECS task credentials at 169.254.170.2), IPv6 link-local,
#: AWS's IPv6 metadata address and Alibaba Cloud's metadata address.
BLOCKED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(net) for net in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32")
)
#: Names of metadata services, refused before any lookup (they resolve to link-local addresses anyway).
BLOCKED_NAMES = frozenset({"metadata.google.internal", "metadata.goog"})
#: S3 redirects at most once (to another region); a chain longer than this is a loop or a trick.
MAX_REDIRECTS = 5
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, IPv4-compatible), else ``address``."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):  # not :: and ::1
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for, in any form ``inet_aton`` accepts too
    (``2852039166``, ``0xa9fea9fe``, ``169.254.43518`` are all 169.254.169.254); None for a name."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return _embedded_ipv4(ipaddress.ip_address(text))
    except ValueError:
        pass
    if text and all(part and (part.isdigit() or part.lower().startswith("0x")) for part in text.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _normal_name(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class LinkPolicy:
    """Which hosts result links may lead to.

    Built from ``allowed_result_hosts`` (``LinkPolicy.from_entries``). Without entries, any host is allowed
    except ``BLOCKED_NAMES`` and addresses in ``BLOCKED_NETWORKS``. With entries, a host is allowed when its
    name matches a name entry (``files.example.com``, ``*.amazonaws.com``, ``*`` for any name) or when every
    address it resolves to lies in an address entry (``10.1.2.3``, ``10.0.0.0/8``); an entry that names a
    blocked name or covers a blocked address explicitly lifts the block for it.
    """

    entries: tuple[str, ...] = ()
    names: frozenset[str] = field(default=frozenset(), repr=False)
    suffixes: tuple[str, ...] = field(default=(), repr=False)
    networks: tuple[IPNetwork, ...] = field(default=(), repr=False)
    any_name: bool = field(default=False, repr=False)

    @classmethod
    def from_entries(cls, entries: Iterable[str] | None) -> LinkPolicy:
        """The policy for ``allowed_result_hosts``.

        Raises:
            ValueError: An entry that is neither a host name, a ``*.suffix`` pattern, ``*``, nor an IP
                address or network.
        """
        cleaned: list[str] = []
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        any_name = False
        for raw in entries or ():
            entry = _normal_name(str(raw))
            if not entry:
                continue
            cleaned.append(entry)
            if entry == "*":
                any_name = True
            elif entry.startswith("*."):
                suffixes.append(entry[1:])
            elif literal_address(entry.split("/", 1)[0]) is not None:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError as error:
                    raise ValueError(f"allowed_result_hosts: {entry!r} is not an IP network ({error})") from error
            elif "*" in entry or any(char.isspace() or char in ":/@?#" for char in entry):
                raise ValueError(
                    f"allowed_result_hosts: {entry!r} is not a host name, '*.suffix' pattern or IP network"
                )
            else:
                names.add(entry)
        return cls(tuple(cleaned), frozenset(names), tuple(suffixes), tuple(networks), any_name)

    def _name_listed(self, name: str) -> bool:
        return name in self.names or any(name.endswith(suffix) for suffix in self.suffixes)

    def _in_networks(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks if network.version == address.version)

    def check_name(self, host: str, *, url: str = "") -> None:
        """Refuses a metadata service's name (before any lookup) unless an entry names it."""
        name = _normal_name(host)
        if name in BLOCKED_NAMES and name not in self.names:
            raise _refused(url, host, "is a cloud metadata service")

    def check(self, host: str, addresses: Sequence[str] | None, *, url: str = "", final: bool = True) -> None:
        """Raises ``FileTransferError`` when ``host``, resolved to ``addresses``, is refused.

        Args:
            host: The URL's host: a name or an IP literal.
            addresses: What the name resolved to; None when it was not looked up (a literal is its own
                address).
            url: The link, for the message (shown in safe form).
            final: Without ``addresses``, whether to refuse a name that only its addresses could allow (an
                address entry); False when a lookup will be checked later.
        """
        self.check_name(host, url=url)
        name = _normal_name(host)
        literal = literal_address(name)
        if literal is not None:
            addresses = [str(literal)]
        checked = [_embedded_ipv4(ipaddress.ip_address(a.split("%", 1)[0])) for a in addresses or ()]
        for address in checked:
            if not self._in_networks(address) and any(
                address in network for network in BLOCKED_NETWORKS if network.version == address.version
            ):
                verb = "is" if literal is not None else "resolves to"
                raise _refused(url, host, f"{verb} {address}, a link-local or cloud metadata address")
        if not self.entries or self.any_name or (literal is None and self._name_listed(name)):
            return
        if checked and all(self._in_networks(address) for address in checked):
            return
        if addresses is None and not final and self.networks:
            return  # its addresses, once looked up, may lie in an allowed network
        raise _refused(url, host, "is not in allowed_result_hosts")

    def check_url(self, url: str, *, final: bool = True) -> None:
        """Checks the host of ``url`` without a lookup (see ``check``)."""
        try:
            host = httpx.URL(url).host
        except (httpx.InvalidURL, TypeError):
            return  # not a URL httpx can fetch: the request itself fails with a clear error
        self.check(host, None, url=url, final=final)


DEFAULT_LINK_POLICY = LinkPolicy()


def _refused(url: str, host: str, why: str) -> FileTransferError:
    shown = escape_control(host)
    return FileTransferError(
        f"refused to fetch a result from {shown}: it {why}; no connection was made. Result links point at "
        "PDF.co's file storage; if this host is yours, list it in allowed_result_hosts on the credentials block",
        url=safe_url(url) if url else "",
    )


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (``loop.getaddrinfo`` under asyncio), in the resolver's order."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that checks each new connection's host and addresses, then connects to a
    checked address (see the module docstring).

    Args:
        policy: What is allowed.
        resolve: The resolver; ``resolve_host`` unless a test fakes it.
        inner: The backend that opens the socket to the checked address; httpcore's own by default.
    """

    def __init__(
        self, policy: LinkPolicy, *, resolve: Resolver | None = None, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self._resolve = resolve
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Checks ``host``, resolves and checks its addresses, then connects to the first that answers."""
        self.policy.check_name(host)  # a metadata service's name is refused before any lookup
        literal = literal_address(host)
        if literal is not None:
            addresses = [str(literal)]  # 2130706433 and ::ffff:127.0.0.1 connect as 127.0.0.1
        else:
            resolve = self._resolve or resolve_host
            try:
                with anyio.fail_after(timeout):
                    addresses = await resolve(host, port)
            except TimeoutError as error:
                raise httpcore.ConnectTimeout(f"looking up {host} timed out") from error
            except OSError as error:
                raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
            if not addresses:
                raise httpcore.ConnectError(f"{host} resolved to no address")
        self.policy.check(host, addresses)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never used: result links are TCP."""
        raise httpcore.ConnectError("result links are fetched over TCP only")

    async def sleep(self, seconds: float) -> None:
        """Delegates to the inner backend."""
        await self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # One per process, like httpx's default verification (certifi, SSL_CERT_FILE...): building one costs tens
    # of milliseconds of CPU, which a batch of downloads should not pay per call.
    return httpx.create_ssl_context()


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose connections all go through a ``GuardedBackend``.

    httpx has no public hook for a network backend; its transport keeps the pool in ``_pool`` (stable across
    httpx 0.2x) and uses nothing else, so this sets that pool instead of building the default one. The guard
    tests fail loudly if that ever changes.
    """

    def __init__(self, backend: GuardedBackend) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def guarded_transport(backend: GuardedBackend) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connections all go through ``backend``."""
    return _GuardedTransport(backend)


def env_proxy_configured() -> bool:
    """Whether the environment sets an HTTP(S) proxy (which httpx would use when we do not set a transport)."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))
