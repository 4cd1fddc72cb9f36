"""The keyless HTTP client for file hosts (result links, presigned uploads): one per process, policy and loop.

Building an httpx client, looking a host up and opening a connection cost more than a small result's bytes,
and a batch moves many files. So every download, fetch and upload of a process shares one client per link
policy (and proxy settings), whose pool keeps connections to the file host alive between transfers. It never
carries the API key (the presigned URL is its own credential), and it connects only where the policy allows
(see ``_netguard``).

An ``httpx.AsyncClient`` belongs to the event loop that opened its connections, and Prefect runs async tasks
on several: its run-sync loop thread (tasks called from sync flows), a fresh thread's loop (calls nested in
those), the flow's own loop (async flows). So there is one client per event loop, made when a loop first
asks. A loop's clients are closed when the loop shuts down: ``asyncio.run`` (and so Prefect's loop threads,
pytest-asyncio and anyio) closes a loop's async generators on the way out, and one generator per loop holds
the closing. Loops still running at interpreter exit (Prefect's daemon loop threads) get their clients closed
by an ``atexit`` handler; a loop closed without that step has its clients dropped.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import urllib.request
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import httpx

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

__all__ = ["LINK_TIMEOUT", "link_client", "open_link_clients"]

#: Per-operation timeouts (each read may take this long), not a limit on the whole transfer. No pool timeout:
#: a transfer waits for a free connection (100 per client) as long as the others take.
LINK_TIMEOUT = httpx.Timeout(60.0, connect=10.0, pool=None)
# At exit, how long to wait for a running loop to close its clients (it may be busy, or stuck).
_EXIT_WAIT_SECONDS = 2.0
_Key: TypeAlias = "tuple[LinkPolicy, tuple[tuple[str, str], ...]]"


@dataclass(eq=False)
class _LoopClients:
    """The clients of one event loop, and the async generator that closes them when the loop shuts down."""

    loop: asyncio.AbstractEventLoop
    clients: dict[_Key, httpx.AsyncClient] = field(default_factory=dict)
    closer: AsyncGenerator[None, None] | None = None


_lock = threading.Lock()
_by_loop: dict[asyncio.AbstractEventLoop, _LoopClients] = {}
_exit_hook_registered = False


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
        options["transport"] = guarded_transport(GuardedBackend(policy))
    return httpx.AsyncClient(
        timeout=LINK_TIMEOUT,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT},
        **options,
    )


def _forget(entry: _LoopClients) -> list[httpx.AsyncClient]:
    """Takes a loop's clients out of the cache and returns them, to close or drop."""
    with _lock:
        if _by_loop.get(entry.loop) is entry:
            del _by_loop[entry.loop]
        clients, entry.clients = list(entry.clients.values()), {}
    return clients


async def _close_with_loop(entry: _LoopClients) -> AsyncGenerator[None, None]:
    """Waits at its ``yield`` until the loop closes its async generators (or the exit hook closes it)."""
    try:
        yield
    finally:
        for client in _forget(entry):
            if not entry.loop.is_closed():
                with contextlib.suppress(Exception):  # a connection the loop already tore down
                    await client.aclose()


def _drop_closed_loops() -> None:
    """Forgets the clients of loops that were closed without closing their async generators. Their connections
    went with the loop; each closer is run to its end here, so that it is not finalised on a closed loop later."""
    with _lock:
        closed = [entry for entry in _by_loop.values() if entry.loop.is_closed()]
    for entry in closed:
        if entry.closer is None:
            _forget(entry)
            continue
        with contextlib.suppress(StopIteration, RuntimeError):
            entry.closer.aclose().send(None)  # its finally sees the closed loop: nothing to await


def _close_at_exit() -> None:
    with _lock:
        entries = list(_by_loop.values())
    for entry in entries:
        loop, closer = entry.loop, entry.closer
        if closer is None or loop.is_closed() or not loop.is_running() or loop is asyncio._get_running_loop():
            continue

        async def close(closer: AsyncGenerator[None, None] = closer) -> None:
            await closer.aclose()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=_EXIT_WAIT_SECONDS)


def _after_fork_in_child() -> None:
    # The parent's loops do not run here, and its lock may have been held by a thread that did not come along.
    global _lock
    _lock = threading.Lock()
    _by_loop.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _proxy_settings() -> tuple[tuple[str, str], ...]:
    """The environment's proxy settings (what httpx would use), read at each call: they may change."""
    return tuple(sorted(urllib.request.getproxies().items()))


async def _shared_client(policy: LinkPolicy) -> httpx.AsyncClient:
    global _exit_hook_registered
    loop = asyncio.get_running_loop()
    proxies = _proxy_settings()
    if loop not in _by_loop:
        _drop_closed_loops()
    with _lock:
        entry = _by_loop.get(loop)
        new_loop = entry is None
        if entry is None:
            entry = _by_loop[loop] = _LoopClients(loop)
            if not _exit_hook_registered:
                atexit.register(_close_at_exit)
                _exit_hook_registered = True
        client = entry.clients.get((policy, proxies))
        if client is None or client.is_closed:
            client = entry.clients[(policy, proxies)] = _new_client(policy, proxied=env_proxy_configured())
    if new_loop:
        entry.closer = _close_with_loop(entry)
        await entry.closer.__anext__()  # the loop now knows it: closed by the loop's shutdown_asyncgens()
    return client


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
    with _lock:
        return sum(len(entry.clients) for entry in _by_loop.values())
