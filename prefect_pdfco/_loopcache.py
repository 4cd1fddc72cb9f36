"""One object per key and event loop, made on first use and closed when its loop shuts down or at exit.

The shared HTTP clients (the API client per credentials, the keyless link client per link policy) cost an SSL
context and a connection pool each: one per process is the goal. But an ``httpx.AsyncClient`` belongs to the
event loop that opened its connections, and Prefect runs async tasks on several: its run-sync loop thread
(tasks called from sync flows), a fresh thread's loop (calls nested in those), the flow's own loop (async
flows). So a ``LoopCache`` keeps one object per key *and* event loop, made when a loop first asks.

A loop's objects are closed when the loop shuts down: ``asyncio.run`` (and so Prefect's loop threads,
pytest-asyncio and anyio) closes a loop's async generators on the way out, and one generator per loop and cache
holds the closing. Loops still running at interpreter exit (Prefect's daemon loop threads) get their objects
closed by an ``atexit`` handler; a loop closed without that step has its objects dropped (their connections went
with it). A forked child starts with an empty cache: the parent's loops do not run there.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["LoopCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# At exit, how long to wait for a running loop to close its objects (it may be busy, or stuck).
EXIT_WAIT_SECONDS = 2.0


@dataclass(eq=False)
class _LoopEntry(Generic[K, V]):
    """The objects of one event loop, and the async generator that closes them when the loop shuts down."""

    loop: asyncio.AbstractEventLoop
    objects: dict[K, V] = field(default_factory=dict)
    closer: AsyncGenerator[None, None] | None = None


class LoopCache(Generic[K, V]):
    """One ``make(key)`` per key and running event loop, closed with ``close`` when the loop shuts down.

    Args:
        make: Builds the object for a key (called under a lock: keep it quick and synchronous).
        close: Closes one object (awaited on its own loop).
        is_closed: Whether an object was closed by someone else, so that it is made again.
    """

    def __init__(
        self,
        make: Callable[[K], V],
        close: Callable[[V], Awaitable[None]],
        is_closed: Callable[[V], bool],
    ) -> None:
        self._make = make
        self._close = close
        self._is_closed = is_closed
        self._lock = threading.Lock()
        self._by_loop: dict[asyncio.AbstractEventLoop, _LoopEntry[K, V]] = {}
        self._exit_hook_registered = False
        _caches.add(self)

    async def get(self, key: K) -> V:
        """The object for ``key`` on the running loop, made (and its loop's closer armed) on first use."""
        loop = asyncio.get_running_loop()
        if loop not in self._by_loop:
            self._drop_closed_loops()
        with self._lock:
            entry = self._by_loop.get(loop)
            new_loop = entry is None
            if entry is None:
                entry = self._by_loop[loop] = _LoopEntry(loop)
                if not self._exit_hook_registered:
                    atexit.register(self.close_at_exit)
                    self._exit_hook_registered = True
            value = entry.objects.get(key)
            if value is None or self._is_closed(value):
                value = entry.objects[key] = self._make(key)
        if new_loop:
            entry.closer = self._close_with_loop(entry)
            await entry.closer.__anext__()  # the loop now knows it: closed by the loop's shutdown_asyncgens()
        return value

    def count(self) -> int:
        """How many objects are cached now, over every event loop (for tests and benchmarks)."""
        with self._lock:
            return sum(len(entry.objects) for entry in self._by_loop.values())

    def has_loop(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether ``loop`` has objects in this cache (for tests)."""
        with self._lock:
            return loop in self._by_loop

    def _forget(self, entry: _LoopEntry[K, V]) -> list[V]:
        """Takes a loop's objects out of the cache and returns them, to close or drop."""
        with self._lock:
            if self._by_loop.get(entry.loop) is entry:
                del self._by_loop[entry.loop]
            values, entry.objects = list(entry.objects.values()), {}
        return values

    async def _close_with_loop(self, entry: _LoopEntry[K, V]) -> AsyncGenerator[None, None]:
        """Waits at its ``yield`` until the loop closes its async generators (or the exit hook closes it)."""
        try:
            yield
        finally:
            for value in self._forget(entry):
                if not entry.loop.is_closed():
                    with contextlib.suppress(Exception):  # a connection the loop already tore down
                        await self._close(value)

    def _drop_closed_loops(self) -> None:
        """Forgets the objects of loops that were closed without closing their async generators. Each closer is
        run to its end here, so that it is not finalised on a closed loop later."""
        with self._lock:
            closed = [entry for entry in self._by_loop.values() if entry.loop.is_closed()]
        for entry in closed:
            if entry.closer is None:
                self._forget(entry)
                continue
            with contextlib.suppress(StopIteration, RuntimeError):
                entry.closer.aclose().send(None)  # its finally sees the closed loop: nothing to await

    def close_at_exit(self) -> None:
        """Closes the objects of loops that still run (at interpreter exit, from another thread)."""
        with self._lock:
            entries = list(self._by_loop.values())
        for entry in entries:
            loop, closer = entry.loop, entry.closer
            if closer is None or loop.is_closed() or not loop.is_running() or loop is asyncio._get_running_loop():
                continue

            async def close(closer: AsyncGenerator[None, None] = closer) -> None:
                await closer.aclose()

            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=EXIT_WAIT_SECONDS)

    def _after_fork_in_child(self) -> None:
        # The parent's loops do not run here, and its lock may have been held by a thread that did not come along.
        self._lock = threading.Lock()
        self._by_loop.clear()


_caches: weakref.WeakSet[LoopCache[Any, Any]] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for cache in list(_caches):
        cache._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
