"""Small pieces the whole package leans on: secrets kept out of text, argument checks, a clock, a per-loop cache."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.metadata
import ipaddress
import math
import os
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import httpx
from pydantic import SecretStr

from prefect_pdfco._exceptions import InvalidParametersError, escape_control

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _version() -> str:
    try:
        return importlib.metadata.version("prefect-pdfco")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


__version__ = _version()
#: How our requests introduce themselves, to PDF.co's API and to file hosts alike.
USER_AGENT = f"prefect-pdfco/{__version__}"

#: Parameter names (lower case, no separators) whose values are secrets, keyed only as an HMAC; ``callback``'s path
#: holds the job's callback token.
SENSITIVE_PARAMS = frozenset(
    {
        "password",
        "userpassword",
        "ownerpassword",
        "httppassword",
        "httpusername",
        "smtppassword",
        "dataencryptionkey",
        "datadecryptionkey",
        "profiles",
        "callback",
    }
)


def is_sensitive(name: str) -> bool:
    """Whether a parameter (``http_password`` or PDF.co's ``httpPassword``) holds a secret."""
    return name.lower().replace("_", "").replace("-", "") in SENSITIVE_PARAMS


def jsonable(value: Any) -> Any:
    """A copy of ``value`` fit for ``json=``: ``SecretStr`` revealed (for the wire only), containers copied."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value


def safe_url(url: str) -> str:
    """``scheme://host/path`` of a URL, without its query string (presigned signatures) or user info."""
    try:
        parsed = httpx.URL(str(url).strip())
    except (httpx.InvalidURL, TypeError, ValueError):
        return "<invalid url>"
    if not parsed.host:
        return parsed.path
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (and its IPv4-mapped form) or the name localhost."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


#: The longest wait anything accepts: PDF.co runs a job for 45 minutes at most, so a week is a typo.
MAX_WAIT_SECONDS = 7 * 24 * 3600.0


def _invalid(caller: str, problem: str) -> InvalidParametersError:
    return InvalidParametersError(caller, [problem])


def check_number(
    value: object, name: str, *, caller: str, allow_zero: bool = False, minimum: float = 0, maximum: float | None = None
) -> float:
    """``value`` as a float when it is a finite number above zero (or zero, with ``allow_zero``), from ``minimum`` up
    to ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(caller, f"{name}: expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # 10**400
        raise _invalid(caller, f"{name}: {str(value)[:20]}... is too large") from None
    if not math.isfinite(number):
        raise _invalid(caller, f"{name}: must be a finite number, got {number}")
    if number < 0 or (number == 0 and not allow_zero):
        raise _invalid(caller, f"{name}: must be {'zero or more' if allow_zero else 'more than zero'}, got {number:g}")
    if number < minimum:
        raise _invalid(caller, f"{name}: must be at least {minimum:g}, got {number:g}")
    if maximum is not None and number > maximum:
        raise _invalid(caller, f"{name}: must be at most {maximum:g}, got {number:g}")
    return number


def check_wait_seconds(value: object, name: str, *, caller: str) -> float:
    """A deadline or interval in seconds: finite, above zero, at most a week (``MAX_WAIT_SECONDS``)."""
    return check_number(value, name, caller=caller, maximum=MAX_WAIT_SECONDS)


def check_job_id(value: object, *, caller: str, name: str = "job_id") -> str:
    """``value`` stripped, when it is a non-empty string without control characters."""
    if not isinstance(value, str):
        raise _invalid(caller, f"{name}: expected a PDF.co job id (str), got {type(value).__name__}")
    job_id = value.strip()
    if not job_id:
        raise _invalid(caller, f"{name}: is empty")
    if escape_control(job_id) != job_id:
        raise _invalid(caller, f"{name}: holds control characters: {escape_control(job_id)}")
    return job_id


def check_job_ids(values: object, *, caller: str) -> list[str]:
    """A list of checked job ids from any iterable of them (a lone string is refused, not split into letters)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise _invalid(caller, f"job_ids: expected a list of job ids, got {type(values).__name__}")
    return [check_job_id(value, caller=caller, name=f"job_ids[{index}]") for index, value in enumerate(values)]


class Clock(Protocol):
    """Where waits, pacing and retries read the time and sleep; tests inject a virtual one."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


@dataclass(eq=False)
class _LoopEntry(Generic[K, V]):
    loop: asyncio.AbstractEventLoop
    objects: dict[K, V] = field(default_factory=dict)
    closer: AsyncGenerator[None, None] | None = None


# Why: docs/design/client.md
class LoopCache(Generic[K, V]):
    """One ``make(key)`` per key and running event loop, closed with ``close`` when the loop shuts down."""

    def __init__(
        self, make: Callable[[K], V], close: Callable[[V], Awaitable[None]], is_closed: Callable[[V], bool]
    ) -> None:
        self._make, self._close, self._is_closed = make, close, is_closed
        self._lock = threading.Lock()
        self._by_loop: dict[asyncio.AbstractEventLoop, _LoopEntry[K, V]] = {}
        atexit.register(self.close_at_exit)
        _caches.add(self)

    async def get(self, key: K) -> V:
        """The object for ``key`` on the running loop, made (and its loop's closer armed) on first use."""
        loop = asyncio.get_running_loop()
        if loop not in self._by_loop:
            self._drop_closed_loops()
        with self._lock:
            new_loop = loop not in self._by_loop
            entry = self._by_loop.get(loop) or self._by_loop.setdefault(loop, _LoopEntry(loop))
            value = entry.objects.get(key)
            if value is None or self._is_closed(value):
                value = entry.objects[key] = self._make(key)
        if new_loop:
            entry.closer = self._close_with_loop(entry)
            await entry.closer.__anext__()  # now the loop's shutdown_asyncgens() closes it
        return value

    def _forget(self, entry: _LoopEntry[K, V]) -> list[V]:
        with self._lock:
            if self._by_loop.get(entry.loop) is entry:
                del self._by_loop[entry.loop]
            values, entry.objects = list(entry.objects.values()), {}
        return values

    async def _close_with_loop(self, entry: _LoopEntry[K, V]) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            for value in self._forget(entry):
                if not entry.loop.is_closed():
                    with contextlib.suppress(Exception):  # a connection the loop already tore down
                        await self._close(value)

    def _drop_closed_loops(self) -> None:
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
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_aclose(closer), loop).result(timeout=2.0)


async def _aclose(generator: AsyncGenerator[None, None]) -> None:
    await generator.aclose()


_caches: weakref.WeakSet[LoopCache[Any, Any]] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for cache in list(_caches):
        cache._lock = threading.Lock()  # the parent's lock may have been held by a thread that did not come along
        cache._by_loop.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
