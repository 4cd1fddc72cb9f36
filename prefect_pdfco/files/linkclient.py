"""The keyless HTTP client for file hosts (result links, presigned uploads): one per process, policy and loop.

Building an httpx client, looking a host up and opening a connection cost more than a small result's bytes,
and a batch moves many files. So every download, fetch and upload of a process shares one client per link
policy (and proxy settings), whose pool keeps connections to the file host alive between transfers. It never
carries the API key (the presigned URL is its own credential), and it connects only where the policy allows
(see ``_netguard``).

Reads are wide: httpcore asks its network stream for 64 KB at a time, and every read then passes through h11,
httpcore and httpx, which made an asyncio download of a large file about half as fast as a sync copy. The
client's streams read up to ``READ_SIZE`` instead (as much as an asyncio transport hands over per receive),
so a result streams at the speed of a plain copy. The guard checks connections, not reads: it is unchanged.

An ``httpx.AsyncClient`` belongs to the event loop that opened its connections, so there is one client per event
loop too, closed with its loop or at exit (``_loopcache``, shared with the API clients of ``credentials``).
"""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Iterable
from typing import Any, TypeAlias

import httpcore
import httpx

from prefect_pdfco._loopcache import LoopCache
from prefect_pdfco._netguard import (
    DEFAULT_LINK_POLICY,
    MAX_REDIRECTS,
    GuardedBackend,
    LinkPolicy,
    env_proxy_configured,
    guarded_transport,
)
from prefect_pdfco.client import USER_AGENT
from prefect_pdfco.exceptions import InvalidParametersError

__all__ = ["LINK_TIMEOUT", "READ_SIZE", "link_client", "open_link_clients"]

#: Per-operation timeouts (each read may take this long), not a limit on the whole transfer. No pool timeout:
#: a transfer waits for a free connection (100 per client) as long as the others take.
LINK_TIMEOUT = httpx.Timeout(60.0, connect=10.0, pool=None)
_Key: TypeAlias = "tuple[LinkPolicy, tuple[tuple[str, str], ...]]"
#: The most bytes one read of a link client's connection takes: asyncio's transports receive up to 256 KB.
READ_SIZE = 256 * 1024


class _WideStream(httpcore.AsyncNetworkStream):
    """A network stream whose reads take up to ``READ_SIZE`` bytes, whatever smaller size httpcore asks for
    (h11 buffers what it is given, so a read may return more than asked)."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Reads up to ``READ_SIZE`` (or ``max_bytes``, when larger)."""
        return await self._stream.read(max(max_bytes, READ_SIZE), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Writes ``buffer``."""
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        """Closes the connection."""
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """The TLS stream over this one, wide too."""
        return _WideStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        """As the wrapped stream answers."""
        return self._stream.get_extra_info(info)


class _WideBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, whose TCP streams are ``_WideStream``s (the guard sits in front of it)."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connects, as httpcore does."""
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _WideStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """As httpcore does (the guard never asks for one)."""
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        """Sleeps."""
        await self._inner.sleep(seconds)


def _new_client(policy: LinkPolicy, *, proxied: bool) -> httpx.AsyncClient:
    """A keyless client that follows at most ``MAX_REDIRECTS`` redirects (S3 may redirect across regions; there
    is no secret in this client to leak) and checks every connection, redirects included, against ``policy``.

    Behind a proxy from the environment, httpx sends through it as before, and each request's host is checked
    by name and literal address only (the proxy resolves it).
    """
    options: dict[str, Any] = {}
    if proxied:

        async def check_host(request: httpx.Request) -> None:
            policy.check_url(str(request.url))

        options["event_hooks"] = {"request": [check_host]}
    else:
        options["transport"] = guarded_transport(GuardedBackend(policy, inner=_WideBackend()))
    return httpx.AsyncClient(
        timeout=LINK_TIMEOUT,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT},
        **options,
    )


def _proxy_settings() -> tuple[tuple[str, str], ...]:
    """The environment's proxy settings (what httpx would use), read at each call: they may change."""
    return tuple(sorted(urllib.request.getproxies().items()))


def _make(key: _Key) -> httpx.AsyncClient:
    policy, _ = key
    return _new_client(policy, proxied=env_proxy_configured())


async def _aclose(client: httpx.AsyncClient) -> None:
    await client.aclose()


_clients: LoopCache[_Key, httpx.AsyncClient] = LoopCache(_make, _aclose, lambda client: client.is_closed)


async def _shared_client(policy: LinkPolicy) -> httpx.AsyncClient:
    return await _clients.get((policy, _proxy_settings()))


async def link_client(
    http: httpx.AsyncClient | None = None, *, policy: LinkPolicy = DEFAULT_LINK_POLICY, caller: str = "result download"
) -> httpx.AsyncClient:
    """``http`` as given (checked, left as it is), else this process's shared keyless client for ``policy`` on
    the running event loop. The caller closes neither.

    A client of your own is used as it is: only the links handed to the download functions are checked, and its
    redirects follow its own settings.

    Raises:
        InvalidParametersError: ``http`` is not an ``httpx.AsyncClient``, or it carries an ``x-api-key`` header
            that would send the key to the file host (also a ``ValueError``); ``caller`` names the function.
    """
    if http is None:
        return await _shared_client(policy)
    if not isinstance(http, httpx.AsyncClient):
        raise InvalidParametersError(caller, [f"http: expected an httpx.AsyncClient, got {type(http).__name__}"])
    if "x-api-key" in http.headers:
        raise InvalidParametersError(
            caller, ["http: this client sends an x-api-key header; file hosts must never get the API key"]
        )
    return http


def open_link_clients() -> int:
    """How many shared clients are cached now, over every event loop (for tests and benchmarks)."""
    return _clients.count()
