"""Job end events as the waits' wake-up: one Prefect event subscription per process, Prefect API and event loop.

When ``PdfcoCredentials.callback_url`` is set, PDF.co calls the receiver (or a Prefect Cloud webhook) when a job
ends, and that becomes an event ``pdfco.job.succeeded|failed|aborted|not-found`` on resource
``pdfco.job.<job id>``. The waits sleep on ``wait_for_end_event`` instead of a timer, so a job's end costs no
check until it has happened.

How it is shared: every wait of a process (a batch of 1,000 jobs included) registers its job id with the one
subscription of its event loop and Prefect API, which streams *every* job end event over one websocket
(``prefect.events.clients.get_events_subscriber``) and wakes the waiters of each. The subscription opens on the
first wait, reconnects when dropped, and closes after ``LINGER_SECONDS`` without waiters.

Events the stream does not bring:

- ends seen while the subscription is open and nobody waited for that job are remembered (the last
  ``MEMORY`` jobs), and a later wait for the job returns at once; each remembered end is handed out once, so a
  wait whose check found the job still working (a forged event) sleeps on the next call instead of spinning;
- when the subscription connects, Prefect's server replays the matching events of the last minute from its
  database (after subscribing to its live stream, so nothing falls between the two), but an event it has
  received and not yet written (the OSS event persister flushes every 5 s) is in neither;
- the server drops events for a subscriber that has 256 unsent (``prefect.server.events.stream``): a batch
  whose jobs end together loses some.

So while waits are registered, every ``SWEEP_SECONDS`` the subscription also reads the end events of the jobs
waited for through the REST API (``SWEEP_CHUNK`` ids a request, by the server's index on event name, resource and
time): an end the stream missed is found within seconds of being stored, and a process whose websockets are
blocked (a proxy) still learns of every end. The sweep looks back ``LOOKBACK`` from the oldest wait, so a wait
for a job id kept from an earlier run, whose end event is hours old, learns of it at the first sweep.

Failing soft: when no subscription can be made (no Prefect API, a server that refuses websockets) the waits
just sleep out their timeout, and their safety-net check finds the job's end. It is logged once per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import math
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from prefect.client.orchestration import get_client
from prefect.events.clients import get_events_subscriber
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter
from prefect.settings import PREFECT_API_URL

from prefect_pdfco._loopcache import LoopCache

if TYPE_CHECKING:
    from prefect.events import Event

    from prefect_pdfco.credentials import PdfcoCredentials

__all__ = ["END_EVENTS", "LINGER_SECONDS", "LOOKBACK", "MEMORY", "SWEEP_SECONDS", "Subscription", "wait_for_end_event"]

logger = logging.getLogger("prefect_pdfco.events")

#: The events that mean "a check now finds the job ended" (``pdfco.job.timed-out`` is a wait giving up: not one).
END_EVENTS = ("pdfco.job.succeeded", "pdfco.job.failed", "pdfco.job.aborted", "pdfco.job.not-found")
RESOURCE_PREFIX = "pdfco.job."
#: How long an idle subscription stays open for the next wait (a batch's waits come and go).
LINGER_SECONDS = 120.0
#: How often the end events of the jobs waited for are read through the REST API, and how many ids a request.
SWEEP_SECONDS = 5.0
SWEEP_CHUNK = 200
#: The most events the server's /events/filter returns a page (the client's default, 100, is refused).
PAGE_SIZE = 50
#: Job ends remembered for waits that start after the event (and event ids, to drop the replays of reconnects).
MEMORY = 10_000
#: Pauses between attempts to subscribe again after a failure; the last one repeats.
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
#: How far before the oldest wait a sweep reads: a resumed job may have ended long before (events are kept 7 days
#: by default; a day covers a re-run the next morning).
LOOKBACK = datetime.timedelta(days=1)

_warned = False


def _filter(occurred: EventOccurredFilter | None = None, job_ids: list[str] | None = None) -> EventFilter:
    # The stream takes every job's ends, not the waited ones': one stream serves every wait, and ends are few.
    resource = (
        EventResourceFilter(id=[RESOURCE_PREFIX + job_id for job_id in job_ids])
        if job_ids is not None
        else EventResourceFilter(id_prefix=[RESOURCE_PREFIX])
    )
    spec: dict[str, Any] = {"event": EventNameFilter(name=list(END_EVENTS)), "resource": resource}
    if occurred is not None:
        spec["occurred"] = occurred
    return EventFilter(**spec)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _bounded_add(memory: OrderedDict[Any, None], key: Any) -> None:
    memory[key] = None
    memory.move_to_end(key)
    if len(memory) > MEMORY:
        memory.popitem(last=False)


class Subscription:
    """The job end events of one Prefect API on one event loop, and the waits registered for them."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.connections = 0
        self.sweeps = 0
        self.closed = False
        self.subscriber: Any = None  # the open PrefectEventSubscriber (tests drop its websocket)
        self._waiters: dict[str, list[asyncio.Future[bool]]] = {}
        self._since: dict[str, datetime.datetime] = {}  # when the oldest wait of each job began
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._seen: OrderedDict[Any, None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._stop_timer: asyncio.TimerHandle | None = None

    async def wait(self, job_id: str, timeout: float) -> bool:
        """True once an end event of ``job_id`` is seen (or was, unclaimed), False after ``timeout`` seconds."""
        if job_id in self._ended:
            del self._ended[job_id]
            return True
        if timeout <= 0:
            return False
        loop = asyncio.get_running_loop()
        if self._stop_timer is not None:
            self._stop_timer.cancel()
            self._stop_timer = None
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="pdfco-job-events")
        future: asyncio.Future[bool] = loop.create_future()
        self._waiters.setdefault(job_id, []).append(future)
        self._since.setdefault(job_id, _now())
        try:
            await asyncio.wait({future}, timeout=timeout)
            return future.done() and not future.cancelled()
        finally:
            waiting = self._waiters.get(job_id, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiters.pop(job_id, None)
                self._since.pop(job_id, None)
            if not self._waiters and not self.closed:
                self._stop_timer = loop.call_later(LINGER_SECONDS, self._stop_if_idle)

    def record(self, event: Event) -> None:
        """Wakes the waits of the event's job, or remembers its end for a wait to come."""
        if event.id in self._seen or event.event not in END_EVENTS:
            return
        _bounded_add(self._seen, event.id)
        job_id = event.resource.id.removeprefix(RESOURCE_PREFIX)
        waiting = [future for future in self._waiters.get(job_id, []) if not future.done()]
        for future in waiting:
            future.set_result(True)
        if not waiting:
            _bounded_add(self._ended, job_id)

    def _stop_if_idle(self) -> None:
        self._stop_timer = None
        if not self._waiters and self._task is not None:
            self._task.cancel()
            self._task = None

    async def aclose(self) -> None:
        """Closes the subscription (its loop is shutting down); waits still registered time out."""
        self.closed = True
        if self._stop_timer is not None:
            self._stop_timer.cancel()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self) -> None:
        sweeper = asyncio.ensure_future(self._sweep())
        failures = 0
        try:
            while True:
                try:
                    await self._stream()
                    failures = 0  # a clean end after the subscriber's own reconnects: open a new one
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    _warn_once(error)
                    failures += 1
                await asyncio.sleep(RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)])
        finally:
            sweeper.cancel()

    async def _stream(self) -> None:
        # The subscriber's constructor starts Prefect's ephemeral server when no API URL is set: not on this loop.
        subscriber = await asyncio.to_thread(get_events_subscriber, filter=_filter(), reconnect_on_clean_close=True)
        async with subscriber:
            self.connections += 1
            self.subscriber = subscriber
            try:
                async for event in subscriber:
                    self.record(event)
            finally:
                self.subscriber = None

    async def _sweep(self) -> None:
        try:
            client = await asyncio.to_thread(get_client)  # like the subscriber: may start the ephemeral server
        except Exception as error:
            _warn_once(error)
            return
        async with client:
            while True:
                await asyncio.sleep(SWEEP_SECONDS)
                if not self._since:
                    continue
                job_ids = list(self._since)
                occurred = EventOccurredFilter(
                    since=min(self._since.values()) - LOOKBACK, until=_now() + datetime.timedelta(minutes=1)
                )
                self.sweeps += 1
                try:
                    for start in range(0, len(job_ids), SWEEP_CHUNK):
                        chunk = job_ids[start : start + SWEEP_CHUNK]
                        page = await client.read_events(filter=_filter(occurred, chunk), limit=PAGE_SIZE)
                        while True:
                            for event in page.events:
                                self.record(event)
                            if not page.next_page:
                                break
                            page = await client.read_events_page(str(page.next_page))
                except Exception:
                    logger.debug("Reading the end events of the jobs waited for failed", exc_info=True)


def _warn_once(error: BaseException) -> None:
    global _warned
    if _warned:
        logger.debug("Subscribing to Prefect events failed again: %s", type(error).__name__)
        return
    _warned = True
    logger.warning(
        "Could not subscribe to Prefect events (%s: %s); waits learn of job ends from their safety-net checks "
        "instead (slower, never wrong). Retrying in the background.",
        type(error).__name__,
        str(error)[:200],
    )


async def _aclose(subscription: Subscription) -> None:
    await subscription.aclose()


_subscriptions: LoopCache[str, Subscription] = LoopCache(Subscription, _aclose, lambda sub: sub.closed)


async def subscription() -> Subscription:
    """The running event loop's subscription for the Prefect API of the current settings."""
    return await _subscriptions.get(str(PREFECT_API_URL.value() or ""))


async def wait_for_end_event(credentials: PdfcoCredentials, job_id: str, timeout: float) -> bool:
    """Waits until an end event of ``job_id`` is seen (including one seen shortly before the call).

    Args:
        credentials: The block the job runs under. Unused today: the events of every account arrive through the
            same Prefect API, keyed by job id.
        job_id: The PDF.co job.
        timeout: Seconds to wait at most (0: only what was seen already).

    Returns:
        True as soon as ``pdfco.job.succeeded``, ``.failed``, ``.aborted`` or ``.not-found`` for the job is seen;
        False after ``timeout`` seconds, also when no event subscription can be made (logged once).
    """
    if not isinstance(timeout, (int, float)) or math.isnan(timeout) or math.isinf(timeout) or timeout < 0:
        raise ValueError(f"timeout must be a finite number of seconds, 0 or more; got {timeout!r}")
    return await (await subscription()).wait(job_id, float(timeout))
