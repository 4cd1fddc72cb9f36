"""Where result links may lead, and the keyless client that fetches them. See docs/design/links.md."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import re
import socket
import ssl
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

import anyio
import httpcore
import httpx

from prefect_pdfco._exceptions import FileTransferError, InvalidParametersError, escape_control
from prefect_pdfco._util import USER_AGENT, safe_url

IPAddress: TypeAlias = "ipaddress.IPv4Address | ipaddress.IPv6Address"
IPNetwork: TypeAlias = "ipaddress.IPv4Network | ipaddress.IPv6Network"
Resolver: TypeAlias = Callable[[str, int], Awaitable[list[str]]]

# What is refused, and why: docs/design/links.md ("Why a link guard")
BLOCKED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(net) for net in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32")
)
BLOCKED_NAMES = frozenset({"metadata.google.internal", "metadata.goog"})
MAX_REDIRECTS = 5  # S3 redirects at most once
#: Per-operation timeouts, not a limit on a whole transfer; no pool timeout: a transfer waits for a free slot.
LINK_TIMEOUT = httpx.Timeout(60.0, connect=10.0, pool=None)
READ_SIZE = 256 * 1024
_CARRYING_IPV4 = [ipaddress.ip_network(net) for net in ("::ffff:0:0/96", "64:ff9b::/96", "::/96")]


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, IPv4-compatible), else ``address``."""
    if isinstance(address, ipaddress.IPv6Address) and int(address) > 1 and any(address in n for n in _CARRYING_IPV4):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)  # "> 1": :: and ::1 carry nothing
    return address


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for, in every form ``inet_aton`` accepts too; else None."""
    text = host.strip("[]").split("%", 1)[0]
    with contextlib.suppress(ValueError):
        return _embedded_ipv4(ipaddress.ip_address(text))
    if text and all(part and (part.isdigit() or part.lower().startswith("0x")) for part in text.split(".")):
        with contextlib.suppress(OSError):
            return ipaddress.IPv4Address(socket.inet_aton(text))
    return None


def _normal_name(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _within(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in networks if network.version == address.version)


@dataclass(frozen=True)
class LinkPolicy:
    """Which hosts result links may lead to (``allowed_result_hosts`` on the credentials block)."""

    entries: tuple[str, ...] = ()
    names: frozenset[str] = field(default=frozenset(), repr=False)
    suffixes: tuple[str, ...] = field(default=(), repr=False)
    networks: tuple[IPNetwork, ...] = field(default=(), repr=False)

    @classmethod
    def from_entries(cls, entries: Iterable[str] | None) -> LinkPolicy:
        """The policy for entries that are host names, ``*.suffix``, ``*``, IP addresses or networks."""
        cleaned, names, suffixes, networks = list[str](), set[str](), list[str](), list[IPNetwork]()
        for raw in entries or ():
            entry = _normal_name(str(raw))
            if not entry:
                continue
            cleaned.append(entry)
            if entry.startswith("*.") or entry == "*":
                suffixes.append(entry[1:])  # "*" allows every host: ``check`` looks for it in ``entries``
            elif literal_address(entry.split("/", 1)[0]) is not None:
                try:
                    networks.append(ipaddress.ip_network(entry, strict=False))
                except ValueError as error:
                    raise _bad_entry(f"{entry!r} is not an IP network ({error})") from None
            elif "*" in entry or any(char.isspace() or char in ":/@?#" for char in entry):
                raise _bad_entry(f"{entry!r} is not a host name, '*.suffix' pattern or IP network")
            else:
                names.add(entry)
        return cls(tuple(cleaned), frozenset(names), tuple(suffixes), tuple(networks))

    def check(self, host: str, addresses: Sequence[str] | None, *, url: str = "", final: bool = True) -> None:
        """Refuses ``host`` (resolved to ``addresses``, or None when not looked up) with ``FileTransferError``; with
        ``final=False``, a name that only its addresses could allow (an address entry) passes for now."""
        name = _normal_name(host)
        if name in BLOCKED_NAMES and name not in self.names:
            raise _refused(url, host, "is a cloud metadata service")
        literal = literal_address(name)
        if literal is not None:
            addresses = [str(literal)]
        checked = [_embedded_ipv4(ipaddress.ip_address(a.split("%", 1)[0])) for a in addresses or ()]
        for address in checked:
            if _within(address, BLOCKED_NETWORKS) and not _within(address, self.networks):
                verb = "is" if literal is not None else "resolves to"
                raise _refused(url, host, f"{verb} {address}, a link-local or cloud metadata address")
        named = literal is None and (name in self.names or any(name.endswith(suffix) for suffix in self.suffixes))
        if not self.entries or "*" in self.entries or named:
            return
        if checked and all(_within(address, self.networks) for address in checked):
            return
        if addresses is None and not final and self.networks:
            return
        raise _refused(url, host, "is not in allowed_result_hosts")


DEFAULT_LINK_POLICY = LinkPolicy()


def _bad_entry(problem: str) -> InvalidParametersError:
    return InvalidParametersError("LinkPolicy", [f"allowed_result_hosts: {problem}"])


def _refused(url: str, host: str, why: str) -> FileTransferError:
    text = f"refused to fetch a result from {escape_control(host)}: it {why}; no connection was made. Result links "
    text += "point at PDF.co's file storage; if this host is yours, list it in allowed_result_hosts (credentials block)"
    return FileTransferError(text, url=safe_url(url) if url else "")


async def resolve_host(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _WideStream(httpcore.AsyncNetworkStream):
    """Reads up to ``READ_SIZE`` whatever smaller size httpcore asks for (docs/design/links.md, "Wide reads")."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._stream.read(max(max_bytes, READ_SIZE), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        return _WideStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that connects only to addresses it resolved and checked itself (no DNS rebinding)."""

    def __init__(
        self, policy: LinkPolicy, *, resolver: Resolver | None = None, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self._resolve = resolver or resolve_host
        self._inner = inner or cast(httpcore.AsyncNetworkBackend, httpcore.AnyIOBackend())

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.policy.check(host, None, final=False)  # a metadata name is refused before any lookup
        literal = literal_address(host)
        if literal is not None:
            addresses = [str(literal)]  # 2130706433 and ::ffff:127.0.0.1 connect as 127.0.0.1
        else:
            try:
                with anyio.fail_after(timeout):
                    addresses = await self._resolve(host, port)
            except TimeoutError as error:
                raise httpcore.ConnectTimeout(f"looking up {host} timed out") from error
            except OSError as error:
                raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        self.policy.check(host, addresses)
        failure: Exception = httpcore.ConnectError(f"cannot connect to {host}")
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
            else:
                return _WideStream(stream)
        raise failure


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """The process's one TLS context for file hosts: building one costs tens of milliseconds of CPU."""
    return httpx.create_ssl_context()


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool whose connections all go through a ``GuardedBackend`` (sets httpx's ``_pool``)."""

    def __init__(self, backend: GuardedBackend) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context(), max_connections=100, max_keepalive_connections=20, network_backend=backend
        )


def new_link_client(
    policy: LinkPolicy = DEFAULT_LINK_POLICY,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver | None = None,
    backend: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncClient:
    """A new keyless client for file hosts that checks every hop against ``policy``; the caller closes it."""

    async def guard(request: httpx.Request) -> None:
        request.headers.pop("x-api-key", None)  # whatever a caller passed: the key never goes to a file host
        policy.check(request.url.host, None, url=str(request.url), final=False)

    proxied = any(urllib.request.getproxies().get(scheme) for scheme in ("http", "https", "all"))
    if transport is None and (resolver is not None or backend is not None or not proxied):
        transport = _GuardedTransport(GuardedBackend(policy, resolver=resolver, inner=backend))
    return httpx.AsyncClient(
        transport=transport,
        timeout=LINK_TIMEOUT,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT},
        event_hooks={"request": [guard]},
    )


_LINK = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)


def scrub_urls(text: str) -> str:
    """``text`` with every URL in it cut to scheme, host and path (a presigned query string is a bearer credential)."""
    return _LINK.sub(lambda match: safe_url(match.group(0)), text)


class _SafeUrls(logging.Filter):
    """Cuts the URLs in httpx's own log lines ("HTTP Request: GET <url> ...") to scheme, host and path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(scrub_urls(str(a)) if isinstance(a, (httpx.URL, str)) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = scrub_urls(record.msg)
        return True


if not any(type(existing).__name__ == "_SafeUrls" for existing in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_SafeUrls())  # once per process, whoever imports this first
