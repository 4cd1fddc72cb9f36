"""Job end events as the waits' wake-up: one Prefect event subscription per process, Prefect API and event loop.

See docs/design/callbacks.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from prefect.client.orchestration import get_client
from prefect.events.clients import get_events_subscriber
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter
from prefect.settings import PREFECT_API_URL

from prefect_pdfco._util import MAX_WAIT_SECONDS, LoopCache, check_number

if TYPE_CHECKING:
    from prefect.client.schemas.events import EventPage
    from prefect.events import Event
    from prefect.events.clients import PrefectEventSubscriber

logger = logging.getLogger("prefect_pdfco.events")

#: The events that mean "a check now finds the job ended" (``pdfco.job.timed-out``, a wait giving up, is not one).
END_EVENTS = ("pdfco.job.succeeded", "pdfco.job.failed", "pdfco.job.aborted", "pdfco.job.not-found")
RESOURCE_PREFIX = "pdfco.job."
LINGER_SECONDS = 120.0  # how long an idle subscription stays open for the next wait (a batch's waits come and go)
SWEEP_SECONDS = 5.0  # how often the REST API is read for the ends of the jobs waited for
SWEEP_CHUNK, PAGE_SIZE = 200, 50  # job ids per REST request; events per page (the server refuses over 50)
MEMORY = 10_000  # job ends remembered for waits to come, and event ids (to drop replays)
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)  # between attempts to subscribe again; the last one repeats
LOOKBACK = timedelta(days=1)  # a sweep reads from a day before the oldest wait: a kept job id may be old

Subscribe = Callable[[EventFilter], "PrefectEventSubscriber"]


def _filter(job_ids: Sequence[str] | None = None, since: datetime | None = None) -> EventFilter:
    # The stream takes the ends of every job, not only the waited ones: one stream serves every wait, ends are few.
    ids = {"id_prefix": [RESOURCE_PREFIX]} if job_ids is None else {"id": [RESOURCE_PREFIX + i for i in job_ids]}
    spec = EventFilter(event=EventNameFilter(name=list(END_EVENTS)), resource=EventResourceFilter.model_validate(ids))
    if since is not None:
        until = datetime.now(timezone.utc) + timedelta(minutes=1)
        spec.occurred = EventOccurredFilter.model_validate({"since": since, "until": until})
    return spec


def _remember(memory: OrderedDict[Hashable, None], key: Hashable) -> None:
    memory[key] = None
    memory.move_to_end(key)
    if len(memory) > MEMORY:
        memory.popitem(last=False)


def once() -> Callable[[], bool]:
    """A callable that is True on its first call only, whatever the thread (a lock taken and never released)."""
    return functools.partial(threading.Lock().acquire, False)


_FIRST_FAILURE = once()  # a warning logged once per process, not once per event loop


class EndEvents:
    """The job end events of one Prefect API on one event loop, and the waits registered for them (design note
    Callbacks: one subscription, and a sweep)."""

    def __init__(
        self,
        *,
        subscribe: Subscribe | None = None,
        sweep_seconds: float = SWEEP_SECONDS,
        linger_seconds: float = LINGER_SECONDS,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        first_failure: Callable[[], bool] = _FIRST_FAILURE,
    ) -> None:
        self._subscribe = subscribe or (lambda spec: get_events_subscriber(filter=spec, reconnect_on_clean_close=True))
        self._first_failure = first_failure
        self.sweep_seconds, self.linger_seconds, self.retry_delays = sweep_seconds, linger_seconds, retry_delays
        self.connections = self.sweeps = 0
        self.closed = False
        self.connected = asyncio.Event()  # set while the websocket is open
        self._waiters: dict[str, set[asyncio.Future[bool]]] = {}
        self._since: dict[str, datetime] = {}  # when the oldest wait of each job began
        self._ended: OrderedDict[Hashable, None] = OrderedDict()
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._linger: asyncio.TimerHandle | None = None

    async def wait(self, job_id: str, timeout: float) -> bool:
        """True once an end event of ``job_id`` is seen (or was, unclaimed), False after ``timeout`` seconds."""
        if job_id in self._ended:
            del self._ended[job_id]
            return True
        if timeout <= 0:
            return False
        loop = asyncio.get_running_loop()
        if self._linger is not None:
            self._linger.cancel()
        # Closed: the wait sleeps its timeout out; a quick False would have it check the job again and again.
        if not self.closed and (self._task is None or self._task.done()):
            self._task = loop.create_task(self._run(), name="pdfco-job-events")
        future: asyncio.Future[bool] = loop.create_future()
        self._waiters.setdefault(job_id, set()).add(future)
        self._since.setdefault(job_id, datetime.now(timezone.utc))
        try:
            await asyncio.wait({future}, timeout=timeout)
            return future.done() and not future.cancelled()
        finally:
            future.cancel()
            waiting = self._waiters.get(job_id, set())
            waiting.discard(future)
            if not waiting:
                self._waiters.pop(job_id, None)
                self._since.pop(job_id, None)
            if not self._waiters and not self.closed:
                self._linger = loop.call_later(self.linger_seconds, self._stop_if_idle)

    def record(self, event: Event) -> None:
        """Wakes the waits of the event's job, or remembers its end for a wait to come."""
        if event.id in self._seen or event.event not in END_EVENTS:
            return
        _remember(self._seen, event.id)
        job_id = event.resource.id.removeprefix(RESOURCE_PREFIX)
        waiting = [future for future in self._waiters.get(job_id, ()) if not future.done()]
        for future in waiting:
            future.set_result(True)
        if not waiting:
            _remember(self._ended, job_id)

    async def aclose(self) -> None:
        """Closes the subscription (its loop is shutting down); waits still registered time out."""
        self.closed = True
        if self._linger is not None:
            self._linger.cancel()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _stop_if_idle(self) -> None:
        if not self._waiters and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        sweeper = asyncio.ensure_future(self._sweep())
        failures = 0
        try:
            while True:
                try:
                    await self._stream()
                    failures = 0  # a clean end after the subscriber's own reconnects: open a new one
                except Exception as error:
                    self._failed(error)
                    failures += 1
                await asyncio.sleep(self.retry_delays[min(failures, len(self.retry_delays) - 1)])
        finally:
            sweeper.cancel()

    async def _stream(self) -> None:
        # Building a subscriber starts Prefect's temporary server when no API URL is set: not on this loop.
        subscriber = await asyncio.to_thread(self._subscribe, _filter())
        async with subscriber:
            self.connections += 1
            self.connected.set()
            try:
                async for event in subscriber:
                    self.record(event)
            finally:
                self.connected.clear()

    async def _sweep(self) -> None:
        try:
            client = await asyncio.to_thread(get_client)  # like the subscriber: may start the server
        except Exception as error:
            self._failed(error)
            return
        async with client:
            while True:
                await asyncio.sleep(self.sweep_seconds)
                if not self._since:
                    continue
                self.sweeps += 1
                job_ids, since = list(self._since), min(self._since.values()) - LOOKBACK
                try:
                    for start in range(0, len(job_ids), SWEEP_CHUNK):
                        spec = _filter(job_ids[start : start + SWEEP_CHUNK], since)
                        page: EventPage | None = await client.read_events(filter=spec, limit=PAGE_SIZE)
                        while page is not None:
                            for event in page.events:
                                self.record(event)
                            page = await client.read_events_page(str(page.next_page)) if page.next_page else None
                except Exception:
                    logger.debug("Reading the end events of the jobs waited for failed", exc_info=True)

    def _failed(self, error: BaseException) -> None:
        if not self._first_failure():
            logger.debug("Subscribing to Prefect events failed again: %s", type(error).__name__)
            return
        logger.warning(
            "Could not subscribe to Prefect events (%s: %s); waits learn of job ends from their safety-net checks "
            "instead (slower, never wrong). Retrying in the background.",
            type(error).__name__,
            str(error)[:200],
        )


_subscriptions: LoopCache[str, EndEvents] = LoopCache(lambda _api: EndEvents(), EndEvents.aclose, lambda e: e.closed)


async def subscription() -> EndEvents:
    """The running event loop's subscription for the Prefect API of the current settings."""
    return await _subscriptions.get(str(PREFECT_API_URL.value() or ""))


async def wait_for_end(job_id: str, timeout: float) -> bool:
    """The waits' ``EndSignal``: True once an end event of ``job_id`` is seen (or was, unclaimed), else False after
    ``timeout`` seconds (0: only what was seen already), also when no subscription can be made."""
    seconds = check_number(timeout, "timeout", caller="wait_for_end", allow_zero=True, maximum=MAX_WAIT_SECONDS)
    return await (await subscription()).wait(job_id, seconds)
