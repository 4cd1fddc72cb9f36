"""The API client our tasks share: one ``PdfcoClient`` per process, credentials settings and event loop.

A ``PdfcoClient`` holds an ``httpx.AsyncClient``: an SSL context (tens of milliseconds of CPU) and a connection
pool. Built per task run, a batch of 200 documents spent most of its time building them and opening TLS
connections. So every task of a process borrows the client of its credentials (the API key by hash, and every
other setting of the block: two blocks that differ in a timeout get two clients) on the running event loop,
made on first use and closed when that loop shuts down or at exit (``_loopcache``).

``PdfcoCredentials.get_client()`` still returns a new client that its ``async with`` closes: that is the
public contract for users' own code. ``shared_client`` hands out the shared one and never closes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prefect_pdfco._loopcache import LoopCache
from prefect_pdfco.client import PdfcoClient

if TYPE_CHECKING:
    from prefect_pdfco.credentials import PdfcoCredentials

__all__ = ["open_api_clients", "settings_fingerprint", "shared_client"]


def settings_fingerprint(credentials: PdfcoCredentials) -> str:
    """A digest of the block's settings and its API key: equal for blocks that would build equal clients."""
    settings = json.dumps(credentials.model_dump(mode="json", exclude={"api_key"}), sort_keys=True, default=str)
    digest = hashlib.sha256(credentials.api_key.get_secret_value().encode())
    digest.update(b"\0" + settings.encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class _Account:
    """The cache key: the fingerprint; the block rides along to build the client from."""

    fingerprint: str
    credentials: PdfcoCredentials = field(compare=False, hash=False)


async def _aclose(client: PdfcoClient) -> None:
    await client.aclose()


_clients: LoopCache[_Account, PdfcoClient] = LoopCache(
    lambda account: account.credentials.get_client(), _aclose, lambda client: client.is_closed
)


@asynccontextmanager
async def shared_client(credentials: PdfcoCredentials) -> AsyncIterator[PdfcoClient]:
    """This process's client for ``credentials`` on the running event loop, borrowed for the ``async with``.

    Leaving the block does not close it: the other tasks of the process use it too.
    """
    yield await _clients.get(_Account(settings_fingerprint(credentials), credentials))


def open_api_clients() -> int:
    """How many shared API clients are cached now, over every event loop (for tests and benchmarks)."""
    return _clients.count()
