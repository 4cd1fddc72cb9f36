"""A slot of the Prefect global concurrency limit named on the block, taken without idling the account's rate.

``prefect.concurrency.asyncio.rate_limit`` retries a denied slot after the server's ``Retry-After``, which grows
with every slot denied before it (Prefect's server multiplies ``1 / slot_decay`` by the denied slots, then
jitters it): with a few processes sharing a 2 requests/s account, the waiters sleep seconds while slots decay
unused, and four flow runs of 25 documents took 1.5-1.7 times the minimum the rate allows
(``benchmarks/scaling_workers.py``). Here a denied slot is asked for again after at most ``MAX_RETRY_SECONDS``
(jittered), and only one coroutine per event loop asks at a time, so a process polls the Prefect API a few times
a second while it waits, whatever the number of its requests queued behind.

What still stands between this and the account's full rate is on the server's side (Prefect 3.9): a limit's
slots decay by ``floor(slot_decay_per_second x seconds since the row was last updated)``, and every ask, denied
or granted, updates the row. An ask less than ``1 / slot_decay_per_second`` after the previous one therefore
throws away the decay accrued since it: the processes sharing a limit must ask, together, at most at its rate,
which uncoordinated processes cannot quite do (the same run measures 1.4x the minimum, against 1.2x when each
process paces itself from PDF.co's 429s alone).
"""

from __future__ import annotations

import asyncio
import random
import weakref

import httpx

from prefect_pdfco._compat import ConcurrencySlotAcquisitionError, acquire_concurrency_slots

__all__ = ["MAX_RETRY_SECONDS", "take_rate_slot"]

#: Longest sleep after a denied slot, whatever the server's Retry-After says.
MAX_RETRY_SECONDS = 0.4

_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _gate() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Lock()
    return gate


def _denied_for(error: ConcurrencySlotAcquisitionError) -> float | None:
    """Seconds the server asked to wait when it denied the slot (423); None for any other failure."""
    cause = error.__cause__
    if not (isinstance(cause, httpx.HTTPStatusError) and cause.response.status_code == 423):
        return None
    try:
        return max(0.0, float(cause.response.headers.get("Retry-After", MAX_RETRY_SECONDS)))
    except ValueError:
        return MAX_RETRY_SECONDS


async def take_rate_slot(name: str) -> None:
    """Takes one slot of the rate-limit-mode global concurrency limit ``name`` (a missing limit: no wait).

    Raises:
        ConcurrencySlotAcquisitionError: The Prefect API failed for another reason than a denied slot.
    """
    async with _gate():
        while True:
            try:
                await acquire_concurrency_slots([name], slots=1, mode="rate_limit", max_retries=0, strict=False)
                return
            except ConcurrencySlotAcquisitionError as error:
                asked = _denied_for(error)
                if asked is None:
                    raise
            await asyncio.sleep(min(asked, MAX_RETRY_SECONDS) * random.uniform(0.5, 1.0))  # noqa: S311 (jitter)
