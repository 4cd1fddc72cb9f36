"""The one door to Prefect's private and undocumented helpers, so an upgrade that moves them breaks one file.

Through here: ``prefect._internal`` (``async_dispatch``, ``is_in_async_context``), the slot acquisition under
``prefect.concurrency.asyncio.rate_limit`` (which retries on the server's growing Retry-After), and the helpers of
``prefect.utilities`` that Prefect's docs do not describe as API (how a task call's arguments are bound, mapped
and resolved: the submit keys must see a call exactly as Prefect's engine will). Documented modules
(``prefect.context``, ``prefect.runtime``, ``prefect.transactions``, ``prefect.results``, ``prefect.artifacts``,
``prefect.events``, ``prefect.client``, ``prefect.cache_policies``, ``prefect.filesystems``) are imported where
they are used.
"""

from __future__ import annotations

from prefect._internal.compatibility.async_dispatch import async_dispatch, is_in_async_context
from prefect.concurrency._asyncio import aacquire_concurrency_slots as acquire_concurrency_slots
from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
from prefect.utilities.annotations import BaseAnnotation, unmapped
from prefect.utilities.asyncutils import run_coro_as_sync
from prefect.utilities.callables import get_call_parameters
from prefect.utilities.collections import isiterable
from prefect.utilities.engine import resolve_inputs_sync

__all__ = [
    "BaseAnnotation",
    "ConcurrencySlotAcquisitionError",
    "acquire_concurrency_slots",
    "async_dispatch",
    "get_call_parameters",
    "is_in_async_context",
    "isiterable",
    "resolve_inputs_sync",
    "run_coro_as_sync",
    "unmapped",
]
