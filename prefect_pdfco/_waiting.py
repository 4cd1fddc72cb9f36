"""Waiting for PDF.co jobs: where the checks go, one wait loop for one job or many. See docs/design/polling.md."""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar

from prefect_pdfco._exceptions import (
    InvalidParametersError,
    JobAborted,
    JobError,
    JobFailed,
    JobNotFound,
    JobTimeout,
    PdfcoConnectionError,
    RateLimitError,
    ServerError,
)
from prefect_pdfco._learning import BOOK, DurationBook, Estimate, PastDeadline, Submitted, observe_end
from prefect_pdfco._util import Clock, check_number
from prefect_pdfco.models import MIN_CHECK_GAP_SECONDS, JobResult, JobStatus, PollPolicy

if TYPE_CHECKING:
    from typing_extensions import Unpack

logger = logging.getLogger("prefect_pdfco")
T = TypeVar("T")

CONCURRENT_CHECKS = 16  # of one wait_many; the client's pacer paces them for the account
# What these are for: docs/design/polling.md
CALLBACK_GRACE_SECONDS = 30.0
SCOUT_AMONG = 3
LAST_CHECK_GRACE_SECONDS = 2.0
MAX_RETRY_DELAYS = 50  # Prefect takes at most 50 retry delays and repeats the last one
# A check that could not be made says nothing about the job (docs/design/polling.md, rule 6).
INCONCLUSIVE = (PdfcoConnectionError, ServerError, RateLimitError)


@dataclass(frozen=True)
class Plan:
    """One wait's schedule, measured from the job's submit: learnt (``estimate``) or cold (None)."""

    policy: PollPolicy
    estimate: Estimate | None = None

    def delay(
        self, since_submit: float, checks: int, rand: Callable[[], float] = random.random, *, scout: bool = False
    ) -> float:
        """Seconds to wait before the next check, ``since_submit`` after the submit, ``checks`` made (0: now)."""
        policy, estimate = self.policy, self.estimate
        if estimate is None:
            if checks == 0:
                return max(0.0, policy.delay(1, rand) - since_submit)
            if scout:
                return min(policy.max_seconds, max(MIN_CHECK_GAP_SECONDS, policy.learned_share * since_submit))
            bound = max(1.5 * policy.initial_seconds, policy.cold_share * since_submit)
            return min(policy.delay(checks + 1, rand), bound)
        at = self._expected_end()
        if checks == 0 or since_submit < estimate.low:  # no check yet where the jobs end
            # The jitter comes out of the window after the quickest jobs ended: a check before it is wasted.
            return max(0.0, at - (at - estimate.low) * policy.jitter * rand() - since_submit)
        gap = min(policy.max_seconds, max(policy.initial_seconds / 2, policy.learned_share * since_submit))
        return gap * (1.0 - policy.jitter * rand())

    def safety_net(self, since_submit: float, checks: int) -> float:
        """With callbacks: the longest sleep on the job's end event before a check anyway."""
        net = self.policy.safety_net_seconds
        if self.estimate is None or checks:
            return net
        expected = self._expected_end()
        return max(0.0, min(net, max(2 * expected, expected + CALLBACK_GRACE_SECONDS) - since_submit))

    def _expected_end(self) -> float:
        """A tolerance after the quickest recent jobs ended, no later than ``learned_share`` after the slowest."""
        assert self.estimate is not None
        low, share = self.estimate.low, self.policy.learned_share
        return min(self.estimate.high * (1 + share), low + max(self.policy.initial_seconds, share * low))


def outcome(result: JobResult, *, forced: bool = False, waited_seconds: float = 0.0) -> JobResult | None:
    """The verdict on one check: the result on success, None while working, else raises the JobError it ended with."""
    job_id, message, status = result.job_id, result.message or "", result.status
    if status is JobStatus.SUCCESS:
        return result
    if status is JobStatus.FAILED:
        raise JobFailed(job_id, message or "PDF.co reported the job failed", status=status.value)
    if status is JobStatus.ABORTED:
        raise JobAborted(job_id, message or "PDF.co reported the job aborted", status=status.value)
    if status is JobStatus.UNKNOWN:
        raise JobNotFound(job_id, "PDF.co does not know this job id (a typo, or an expired job)", status=status.value)
    if forced:
        text = f"still working after {waited_seconds:.0f} s; pass this job_id to wait_for_job later to resume"
        raise JobTimeout(job_id, text, status=status.value, waited_seconds=waited_seconds)
    return None


class CheckClient(Protocol):
    """What the waits use of ``PdfcoClient``."""

    @property
    def clock(self) -> Clock: ...

    async def check(self, job_id: str, *, force: bool = False, deadline: float | None = None) -> JobResult: ...


class WaitObserver(Protocol):
    """What the UI hears of a wait: each check (None: it could not be made) and each job's end."""

    def checked(self, job_id: str, result: JobResult | None) -> None: ...

    async def ended(self, job_id: str, outcome: JobResult | JobError, checks: int, waited: float) -> None: ...


#: ``(job_id, timeout) -> True`` when the job's end event came within ``timeout`` seconds (callbacks).
EndSignal = Callable[[str, float], Awaitable[bool]]


class WaitOptions(TypedDict, total=False):
    """The options of ``Waiter``, ``wait_one`` and ``wait_many`` besides the policy and the deadline."""

    observer: WaitObserver | None
    end_signal: EndSignal | None
    book: DurationBook


async def check_once(
    client: CheckClient,
    job_id: str,
    *,
    last: bool,
    waited: float,
    force: bool = False,
    deadline: float | None = None,
    observer: WaitObserver | None = None,
    entry: Submitted | None = None,
    counter: list[int] | None = None,
) -> JobResult | None:
    """One check (forced when ``last``): the success result, None while working or inconclusive, else a JobError."""
    sent_at = client.clock.monotonic()
    try:
        result = await client.check(job_id, force=force or last, deadline=deadline)
    except PastDeadline as error:  # nothing was sent: the pacer had no turn for it before the deadline
        text = "no check could be made before the deadline: the account's rate limit queued it past it"
        raise JobTimeout(job_id, text, waited_seconds=waited) from error
    except INCONCLUSIVE as error:
        _counted(job_id, None, observer, counter)
        if last:
            raise JobTimeout(job_id, f"the last check could not be made: {error}", waited_seconds=waited) from error
        return None
    _counted(job_id, result, observer, counter)
    if entry is not None and result.status is JobStatus.WORKING:
        entry.last_working = sent_at
    return outcome(result, forced=last, waited_seconds=waited)


def _counted(job_id: str, result: JobResult | None, observer: WaitObserver | None, counter: list[int] | None) -> None:
    if counter is not None:
        counter[0] += 1
    if observer is not None:
        observer.checked(job_id, result)


class Waiter:
    """Checks jobs until they end under one deadline (``max_wait_seconds`` from now), ``slots`` checks at a time."""

    def __init__(
        self,
        client: CheckClient,
        policy: PollPolicy | None,
        max_wait_seconds: float,
        *,
        slots: asyncio.Semaphore | None = None,
        **options: Unpack[WaitOptions],
    ) -> None:
        self.client, self.clock, self.policy = client, client.clock, policy or PollPolicy()
        self.observer, self.end_signal = options.get("observer"), options.get("end_signal")
        self.book = options.get("book", BOOK)
        self.started = self.clock.monotonic()
        self.deadline = self.started + check_number(max_wait_seconds, "max_wait_seconds", caller="Waiter")
        self._slots = slots or asyncio.Semaphore(1)
        self._cold_sleepers: set[asyncio.Future[None]] = set()
        self._scouts: dict[str, str] = {}  # operation key -> the job that learns its duration for the others

    async def follow(self, job_id: str) -> JobResult:
        """Checks one job until it ends: its result, else raises the JobError it ended with."""
        ended = await self.outcome(job_id)
        if isinstance(ended, JobError):
            raise ended
        return ended

    async def outcome(self, job_id: str) -> JobResult | JobError:
        """Checks one job until it ends: its result, or the JobError it ended with (the observer hears both)."""
        counter = [0]
        try:
            ended: JobResult | JobError = await self._follow(job_id, counter)
        except JobError as error:
            ended = error
        finally:
            self._scouts = {key: scout for key, scout in self._scouts.items() if scout != job_id}
        if self.observer is not None:
            await self.observer.ended(job_id, ended, counter[0], self.clock.monotonic() - self.started)
        return ended

    async def _follow(self, job_id: str, counter: list[int]) -> JobResult:
        clock, policy = self.clock, self.policy
        entry = self.book.submitted(job_id)
        # Why from the submit: docs/design/polling.md, rule 2
        origin = entry.at if entry is not None else self.started
        learning = entry if policy.learn else None
        callbacks, event_came = self.end_signal is not None, False
        not_after, last_check = math.inf, -math.inf  # not_after: when a cold sleep cut short had planned to check
        while True:
            remaining = max(0.0, self.deadline - clock.monotonic())
            plan = Plan(policy, self.book.estimate(learning.key) if learning is not None else None)
            if callbacks:
                net = plan.safety_net(clock.monotonic() - origin, counter[0])
                came = await self._sleep_on_event(job_id, min(net, remaining))
                callbacks, event_came = came is not None, bool(came)
            if not callbacks:
                now = clock.monotonic()
                # Why a scout: docs/design/polling.md, "A batch learns as it goes"
                many = learning is not None and counter[0] > 0 and len(self._cold_sleepers) >= SCOUT_AMONG
                key = learning.key if many and learning is not None else None
                scout = key is not None and self._scouts.setdefault(key, job_id) == job_id
                delay = max(0.0, min(plan.delay(now - origin, counter[0], scout=scout), remaining, not_after - now))
                if await self._sleep(delay, cold=learning is not None and plan.estimate is None):
                    not_after = now + delay
                    continue  # the batch learnt what its jobs take: plan again, never later than planned
                not_after = math.inf
            floor = last_check + MIN_CHECK_GAP_SECONDS - clock.monotonic()
            if floor > 0:  # never two checks of one job closer than PDF.co's own tick, whatever the policy
                await clock.sleep(floor)
            async with self._slots:  # the deadline is read once the slot is ours: a queued check may pass it
                last_check = clock.monotonic()
                last = last_check >= self.deadline
                final = await check_once(
                    self.client,
                    job_id,
                    last=last,
                    waited=last_check - self.started,
                    deadline=self.deadline + (LAST_CHECK_GRACE_SECONDS if last else 0.0),
                    observer=self.observer,
                    entry=entry,
                    counter=counter,
                )
            if final is not None:
                if learning is not None:
                    share, duration = policy.learned_share, final.job_duration
                    observe_end(learning, ended_by=last_check, job_duration_ms=duration, share=share, book=self.book)
                    if plan.estimate is None and self.book.estimate(learning.key) is not None:
                        for nap in list(self._cold_sleepers):  # the others check at the learnt end instead
                            nap.cancel()
                return final
            callbacks = callbacks and not event_came  # an end event is used once: then the plan decides

    async def _sleep(self, seconds: float, *, cold: bool) -> bool:
        """Sleeps; True when a cold sleep was cut short because a job of the batch taught the estimate."""
        if seconds <= 0:
            return False
        if not cold:
            await self.clock.sleep(seconds)
            return False
        nap = asyncio.ensure_future(self.clock.sleep(seconds))
        self._cold_sleepers.add(nap)
        try:
            await asyncio.wait({nap})
        finally:
            self._cold_sleepers.discard(nap)
            nap.cancel()
        return nap.cancelled()

    async def _sleep_on_event(self, job_id: str, timeout: float) -> bool | None:
        """Sleeps until the job's end event or ``timeout``: whether it came; None when events cannot be had."""
        assert self.end_signal is not None
        try:
            return await self.end_signal(job_id, timeout)
        except Exception as error:  # a lost event stream costs checks, never the result
            logger.warning("Job %s: cannot wait for its end event (%s); polling instead", job_id, error)
            return None


async def wait_one(
    client: CheckClient,
    job_id: str,
    *,
    max_wait_seconds: float,
    policy: PollPolicy | None = None,
    **options: Unpack[WaitOptions],
) -> JobResult:
    return await Waiter(client, policy, max_wait_seconds, **options).follow(job_id)


async def wait_many(
    client: CheckClient,
    job_ids: Sequence[str],
    *,
    max_wait_seconds: float,
    policy: PollPolicy | None = None,
    concurrency: int = CONCURRENT_CHECKS,
    on_end: Callable[[int, JobResult | JobError], Awaitable[None]] | None = None,
    **options: Unpack[WaitOptions],
) -> list[JobResult | JobError]:
    """One poller for many jobs: in order, each one's result or JobError (returned); ``on_end`` awaited as each ends."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidParametersError("wait_many", [f"concurrency: must be a whole number >= 1, got {concurrency!r}"])
    waiter = Waiter(client, policy, max_wait_seconds, slots=asyncio.Semaphore(concurrency), **options)

    async def one(index: int, job_id: str) -> JobResult | JobError:
        ended = await waiter.outcome(job_id)
        if on_end is not None:
            await on_end(index, ended)
        return ended

    # One failed for the account (or the wait was cancelled): nothing more is checked.
    return await gather_or_cancel([one(index, job_id) for index, job_id in enumerate(job_ids)])


async def gather_or_cancel(coroutines: list[Coroutine[Any, Any, T]]) -> list[T]:
    """``asyncio.gather`` that cancels the others when one raises: nothing is sent or paid for after that."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _retry_curve(policy: PollPolicy) -> list[float]:
    """The policy's un-jittered delays from the 1 s floor up to its cap: at most ``MAX_RETRY_DELAYS`` of them."""
    delay, delays = max(policy.initial_seconds, MIN_CHECK_GAP_SECONDS), list[float]()
    while len(delays) < MAX_RETRY_DELAYS:
        delays.append(min(delay, policy.max_seconds))
        if delay >= policy.max_seconds or policy.multiplier == 1:
            break  # Prefect repeats the last delay
        delay *= policy.multiplier
    return delays


def check_count(policy: PollPolicy, total_seconds: float) -> int:
    """How many of ``retry_delays``' delays (the last repeated, as Prefect does) add up to ``total_seconds``."""
    total = check_number(total_seconds, "total_seconds", caller="check_count")
    delays, spent = _retry_curve(policy), 0.0
    for count, delay in enumerate(delays, start=1):
        spent += delay
        if spent >= total:
            return count
    return len(delays) + math.ceil((total - spent) / delays[-1])


def retry_delays(policy: PollPolicy, total_seconds: float) -> list[float]:
    """``check_job``'s ``retry_delay_seconds``: at most 50, each at least ``MIN_CHECK_GAP_SECONDS``."""
    return _retry_curve(policy)[: check_count(policy, total_seconds)]
