"""Callbacks as PDF.co makes them: a POST of the job's final result (with ``jobId``) to the submit's
``callback`` URL once the job ends, retried up to 3 times on errors and timeouts; loopback URLs only.

Jobs end by the emulator's clock (``advance_clock``) as well as by their work finishing, so each callback
watches its job on a short tick and goes out the first time the job is seen ended (plus any scripted delay,
also on the emulator's clock). Scripted faults (``PdfcoEmulator.inject_callback``) lose or delay it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from ._http import Runtime
from ._inputs import loopback_url
from ._state import Job

__all__ = ["RETRIES", "call_back"]

#: PDF.co retries a callback "up to 3 times" when the receiver fails or does not answer in 20-30 s.
RETRIES = 3
_ATTEMPT_TIMEOUT = 20.0
_TICK = 0.02
_PAUSE = 0.05


async def call_back(rt: Runtime, job: Job, url: str, body_of: Callable[[Job, str], dict[str, Any]]) -> None:
    """Waits for ``job`` to end, then POSTs ``body_of(job, status)`` to ``url`` (1 attempt + ``RETRIES``)."""
    state = rt.state
    fault = state.faults.take_callback()
    delay = fault.delay if fault is not None else 0.0
    while True:
        now = state.now()
        status = job.status(now)
        if status != "working" and now >= max(job.due_at or 0.0, job.finished_at or 0.0) + delay:
            break
        await asyncio.sleep(_TICK)
    if fault is not None and fault.drop:
        state.bump("callbacks_dropped")
        return
    if not loopback_url(url):  # checked at submit too; never call out of the machine
        return
    body = body_of(job, status)
    for attempt in range(1 + RETRIES):
        state.bump("callback_attempts")
        try:
            answer = await rt.http.post(url, json=body, timeout=_ATTEMPT_TIMEOUT, follow_redirects=False)
            if answer.is_success:
                state.bump("callbacks_delivered")
                return
        except httpx.HTTPError:
            pass
        if attempt < RETRIES:
            await asyncio.sleep(_PAUSE * 2**attempt)
    state.bump("callbacks_failed")
