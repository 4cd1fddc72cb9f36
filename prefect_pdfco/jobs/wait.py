"""Waiting for PDF.co jobs: one check and its verdict, and the polling loops behind the waiting tasks.

``check_once`` is the one place a job check is made and judged: ``check_job`` calls it once per attempt,
``wait_for_job`` in a loop, ``wait_for_jobs`` in one loop per job, many at once. It counts the check (2 credits)
in the flow run's ledger, tells the UI (events, artifacts) and the log how the job ended, and turns what PDF.co
said into the success result, None (still working) or the ``JobError`` the job ended with.

PDF.co reports ``working`` for running jobs *and* for ids it does not know, so every wait has a deadline and
ends with one ``force=true`` check, which answers ``unknown`` for an id that does not exist.

When to check is ``schedule.Plan``'s business (learnt from finished jobs by ``learn``), or the job's end event
when the credentials have a ``callback_url`` (``events``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prefect_pdfco.client import PdfcoClient
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import (
    JobAborted,
    JobError,
    JobFailed,
    JobNotFound,
    JobTimeout,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    ServerError,
)
from prefect_pdfco.jobs import events as _events
from prefect_pdfco.jobs import learn as _learn
from prefect_pdfco.jobs.schedule import DEFAULT_POLL_POLICY, Plan, PollPolicy
from prefect_pdfco.models import JobResult, JobStatus
from prefect_pdfco.ui import artifacts as _artifacts
from prefect_pdfco.ui.logs import per_item_quiet, run_logger

__all__ = [
    "CONCURRENT_CHECKS",
    "INCONCLUSIVE_CHECK",
    "JobWatch",
    "check_once",
    "outcome",
    "poll_many",
    "poll_until_done",
]

T = TypeVar("T")

# A check that could not be made (PDF.co unreachable or overloaded even after the client's own retries) says
# nothing about the job: it is retried like "working", never reported as a failure of the job.
INCONCLUSIVE_CHECK = (PdfcoConnectionError, ServerError, RateLimitError)
#: After this long, a single wait gets a progress artifact (time budget used); short waits stay quiet.
LONG_WAIT_SECONDS = 30.0
#: Checks of one batch in flight at once. The client's rate limiter paces them to what the account admits (2
#: requests/s on free plans, 10 on paid ones); this only bounds the requests queued behind it.
CONCURRENT_CHECKS = 16
#: A batch's progress artifact is updated at most this often: each update is a call to the Prefect API.
PROGRESS_INTERVAL_SECONDS = 1.0


def outcome(result: JobResult, *, forced: bool = False, waited_seconds: float = 0.0) -> JobResult | None:
    """The verdict on one job check: the result on success, None while working, else the matching error.

    Raises:
        JobFailed, JobAborted, JobNotFound: The job ended without a result.
        JobTimeout: ``forced`` and still working: the last check before giving up.
    """
    job_id, message = result.job_id, result.message or ""
    if result.status is JobStatus.SUCCESS:
        return result
    if result.status is JobStatus.FAILED:
        raise JobFailed(job_id, message or "PDF.co reported the job failed", status=result.status.value)
    if result.status is JobStatus.ABORTED:
        raise JobAborted(job_id, message or "PDF.co reported the job aborted", status=result.status.value)
    if result.status is JobStatus.UNKNOWN:
        raise JobNotFound(
            job_id, "PDF.co does not know this job id (a typo, or an expired job)", status=result.status.value
        )
    if forced:
        raise JobTimeout(
            job_id,
            f"still working after {waited_seconds:.0f} s; pass this job_id to wait_for_job later to resume",
            status=result.status.value,
            waited_seconds=waited_seconds,
        )
    return None


@dataclass
class JobWatch:
    """One job being waited for: the checks it cost so far and what the last one said.

    Attributes:
        job_id: PDF.co's job id.
        checks: Checks made so far (2 credits each), counted by ``check_once``.
        status: The status the last check that could be made reported.
        inconclusive: Why the last check could not be made; None when it was made.
        logs_changes: Log each change of status (INFO) and each check that could not be made (WARNING); a
            batch leaves this off and logs only how each job ended.
    """

    job_id: str
    checks: int = 0
    status: JobStatus | None = None
    inconclusive: PdfcoError | None = None
    logs_changes: bool = False


async def check_once(
    client: PdfcoClient, watch: JobWatch, *, last: bool, waited: float, force: bool = False
) -> JobResult | None:
    """Checks ``watch``'s job once and gives the verdict: the one job check of every task.

    The check is counted (2 credits) in ``watch`` and in the flow run's jobs table whether or not it could be
    made; when the job ends, the log says how, after how many checks, and the UI gets its event and artifact.

    Args:
        client: The API client.
        watch: The job; its ``checks``, ``status`` and ``inconclusive`` are updated.
        last: The last check before giving up: sent with ``force=true``, and a job still working, or a check
            that could not be made, ends in ``JobTimeout`` (resumable: the job may still finish).
        waited: Seconds waited for the job so far.
        force: Send ``force=true`` although this is not the last check (PDF.co then reports unknown ids).

    Returns:
        The success result; None while the job works or when the check could not be made (then
        ``watch.inconclusive`` says why).

    Raises:
        JobFailed, JobAborted, JobNotFound: The job ended without a result.
        JobTimeout: ``last``, and the job still working or the check not made.
    """
    job_id, logger = watch.job_id, run_logger()
    watch.checks += 1
    try:
        result = await client.check_job(job_id, force=force or last)
    except INCONCLUSIVE_CHECK as error:
        _artifacts.record_check(job_id, None)
        watch.inconclusive = error
        if last:
            timeout = JobTimeout(job_id, f"the last check could not be made: {error}", waited_seconds=waited)
            await _artifacts.record_failure(job_id, timeout, waited_seconds=waited)
            raise timeout from error
        if watch.logs_changes:
            logger.warning("Job %s: check %d inconclusive (%s); checking again", job_id, watch.checks, error)
        return None
    watch.inconclusive = None
    _artifacts.record_check(job_id, result)
    _artifacts.note_balance(client)
    if watch.logs_changes and result.status is not watch.status:
        logger.info("Job %s is %s", job_id, result.status.value)
    watch.status = result.status
    try:
        final = outcome(result, forced=last, waited_seconds=waited)
    except JobError as error:
        logger.info("Job %s: %s after %d check(s), %.1f s", job_id, type(error).__name__, watch.checks, waited)
        await _artifacts.record_failure(job_id, error, waited_seconds=waited)
        raise
    if final is not None:
        credits = watch.checks * _artifacts.CHECK_CREDITS
        logger.info("Job %s succeeded: %d check(s) (%d credits), %.1f s", job_id, watch.checks, credits, waited)
        await _artifacts.record_success(final, waited_seconds=waited)
    return final


@dataclass
class _Wait:
    """What the checks of one wait share: the client, the schedule, one deadline and a bound on checks in flight.

    Attributes:
        credentials: The block the jobs were submitted with; when its ``callback_url`` is set the wait sleeps on
            each job's end event (``events.wait_for_end_event``) with a check every ``safety_net_seconds``.
        book: The learnt durations: read before each sleep (a batch learns from its first finished jobs) and
            fed with each job that succeeded.
    """

    client: PdfcoClient
    policy: PollPolicy
    max_wait_seconds: float
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    started: float = field(default_factory=lambda: time.monotonic())  # read at call time: a patched clock works
    credentials: PdfcoCredentials | None = None
    book: _learn.DurationBook = field(default_factory=lambda: _learn.BOOK)
    _cold_sleepers: set[asyncio.Future[None]] = field(default_factory=set, repr=False)

    async def follow(self, watch: JobWatch, on_working: Callable[[float], Awaitable[None]] | None = None) -> JobResult:
        """Checks one job until it ends; the check at the deadline is the last (forced) one.

        No check is made right after the submit: the first is at the job's expected end (learnt), or after the
        policy's first delay (cold), or when the job's end event comes (callbacks). ``on_working(waited)`` runs
        after each check that did not end the job.
        """
        deadline = self.started + self.max_wait_seconds
        entry = _learn.submitted(watch.job_id)
        # Measured from the submit when this process made it (also after the wait began: a batch follows each
        # job as its submit returns); a job id from elsewhere counts from the wait's start.
        origin = entry.at if entry is not None else self.started
        learning = entry if self.policy.learn else None
        callbacks = self.credentials is not None and bool(getattr(self.credentials, "callback_url", None))
        not_after = float("inf")  # when a cold sleep cut short by learning had planned to check
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            plan = Plan(self.policy, self.book.estimate(learning.key) if learning is not None else None)
            if callbacks:
                net = plan.safety_net(time.monotonic() - origin, watch.checks)
                callbacks = await self._sleep_on_event(watch.job_id, min(net, remaining))
            if not callbacks:
                delay = min(plan.delay(time.monotonic() - origin, watch.checks), remaining)
                delay = max(0.0, min(delay, not_after - time.monotonic()))
                planned = time.monotonic() + delay
                if await self._sleep(delay, cold=learning is not None and plan.estimate is None):
                    not_after = planned
                    continue  # the batch learnt what its jobs take: plan again, never later than planned
                not_after = float("inf")
            async with self.slots:  # the deadline is read once the slot is ours: a queued check may pass it
                now = time.monotonic()
                waited = now - self.started
                final = await check_once(self.client, watch, last=now >= deadline, waited=waited)
            if final is not None:
                if learning is not None:
                    share, duration = self.policy.learned_share, final.job_duration
                    _learn.observe_end(learning, ended_by=now, job_duration_ms=duration, share=share, book=self.book)
                    if plan.estimate is None and self.book.estimate(learning.key) is not None:
                        self._wake_cold_sleepers()
                return final
            if entry is not None and watch.status is JobStatus.WORKING and watch.inconclusive is None:
                entry.last_working = now
            if on_working is not None:
                await on_working(waited)

    async def _sleep(self, seconds: float, *, cold: bool) -> bool:
        """Sleeps ``seconds``; True when a cold sleep (nothing learnt yet) was cut short by ``_wake_cold_sleepers``:
        a batch's first jobs to end tell the others, asleep on cold gaps, to check at their learnt end instead."""
        if not cold:
            await asyncio.sleep(seconds)
            return False
        nap = asyncio.ensure_future(asyncio.sleep(seconds))
        self._cold_sleepers.add(nap)
        try:
            await asyncio.wait({nap})
        finally:
            self._cold_sleepers.discard(nap)
            nap.cancel()
        return nap.cancelled()

    def _wake_cold_sleepers(self) -> None:
        for nap in list(self._cold_sleepers):
            nap.cancel()

    async def _sleep_on_event(self, job_id: str, timeout: float) -> bool:
        """Sleeps until the job's end event or ``timeout``; False when events cannot be had (poll instead)."""
        assert self.credentials is not None
        try:
            await _events.wait_for_end_event(self.credentials, job_id, timeout)
        except Exception as error:  # a lost event stream costs checks, never the result
            run_logger().warning("Job %s: cannot wait for its end event (%s); polling instead", job_id, error)
            return False
        return True


async def poll_until_done(
    client: PdfcoClient,
    job_id: str,
    *,
    max_wait_seconds: float,
    policy: PollPolicy = DEFAULT_POLL_POLICY,
    credentials: PdfcoCredentials | None = None,
    learn_variable: str | None = None,
) -> JobResult:
    """Waits for one job (see ``_Wait.follow``) until it ends or ``max_wait_seconds`` pass; logs state changes.

    ``credentials`` with a ``callback_url`` makes the wait sleep on the job's end event; ``learn_variable``
    names a Prefect Variable the learnt durations are read from first and written to at the end.
    """
    budget = _TimeBudget(job_id, max_wait_seconds)
    wait = _Wait(client, policy, max_wait_seconds, credentials=credentials)
    async with _learn.kept_in(learn_variable):
        final = await wait.follow(JobWatch(job_id, logs_changes=True), on_working=budget.show)
    await budget.close()
    return final


class _TimeBudget:
    """A single job reports no progress of its own: a long wait shows how much of its time budget is used."""

    def __init__(self, job_id: str, max_wait_seconds: float) -> None:
        self.job_id = job_id
        self.max_wait_seconds = max_wait_seconds
        self.progress: _artifacts.Progress | None = None

    async def show(self, waited: float) -> None:
        if self.progress is None:
            if waited < LONG_WAIT_SECONDS:
                return
            share = f"share of the {self.max_wait_seconds:.0f} s wait used"
            self.progress = _artifacts.Progress(1, f"PDF.co job {self.job_id}: {share}")
            await self.progress.start()
        await self.progress.set(waited / self.max_wait_seconds)

    async def close(self) -> None:
        if self.progress is not None:
            await self.progress.set(1.0)


async def poll_many(
    client: PdfcoClient,
    job_ids: list[str],
    *,
    max_wait_seconds: float,
    policy: PollPolicy = DEFAULT_POLL_POLICY,
    concurrency: int = CONCURRENT_CHECKS,
    on_end: Callable[[int, JobResult | JobError], Awaitable[None]] | None = None,
    credentials: PdfcoCredentials | None = None,
    learn_variable: str | None = None,
) -> list[JobResult | JobError]:
    """One poller for many jobs: each on its own backoff, one deadline, one progress artifact, one summary.

    The jobs that are due are checked at once, ``concurrency`` checks in flight at most (the client's rate
    limiter paces them for the account). A job's end counts towards the progress artifact, which is updated at
    most once per ``PROGRESS_INTERVAL_SECONDS`` and once at the end. ``on_end(index, outcome)`` is awaited as
    each job ends (``run_batch`` downloads there), outside the checks' slots. ``credentials`` and
    ``learn_variable`` are as in ``poll_until_done``: the jobs learn from each other as they end.

    Returns:
        In the order of ``job_ids``, each job's success result or the ``JobError`` it ended with: one failed
        document never hides the others' results.

    Raises:
        PdfcoError: A check failed for a reason that is not the job's (e.g. a wrong API key); the other checks
            are stopped.
    """
    wait = _Wait(client, policy, max_wait_seconds, slots=asyncio.Semaphore(concurrency), credentials=credentials)
    progress = _BatchProgress(len(job_ids), f"PDF.co jobs finished, of {len(job_ids)}")
    await progress.start()

    watches = [JobWatch(job_id) for job_id in job_ids]

    async def one(index: int, watch: JobWatch) -> JobResult | JobError:
        ended: JobResult | JobError
        try:
            ended = await wait.follow(watch)
        except JobError as error:
            ended = error
        if on_end is not None:
            await on_end(index, ended)
        await progress.advance()
        return ended

    # One log line and one artifact of result links for the lot, rather than a line and a link artifact per job
    # (each a Prefect API call, made while the check's slot is held); the jobs table lists every job.
    quiet = per_item_quiet.set(True)
    try:
        async with _learn.kept_in(learn_variable):
            results = await _gather_or_cancel([one(index, watch) for index, watch in enumerate(watches)])
    finally:
        per_item_quiet.reset(quiet)
    await progress.flush()
    await _artifacts.record_results(results, sum(watch.checks for watch in watches), time.monotonic() - wait.started)
    return results


class _BatchProgress:
    """A batch's progress artifact, updated at most once per ``PROGRESS_INTERVAL_SECONDS``, and by ``flush``."""

    def __init__(self, total: int, description: str) -> None:
        self.artifact = _artifacts.Progress(total, description)
        self.unpublished = 0
        self.published_at = time.monotonic()

    async def start(self) -> None:
        await self.artifact.start()

    async def advance(self) -> None:
        self.unpublished += 1
        if time.monotonic() - self.published_at >= PROGRESS_INTERVAL_SECONDS:
            await self.flush()

    async def flush(self) -> None:
        """Publishes the jobs that ended since the last update, if any."""
        if self.unpublished:
            count, self.unpublished, self.published_at = self.unpublished, 0, time.monotonic()
            await self.artifact.advance(count)


async def _gather_or_cancel(coroutines: list[Coroutine[Any, Any, T]]) -> list[T]:
    """``asyncio.gather`` that cancels the others when one raises: nothing is sent or paid for after that."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
