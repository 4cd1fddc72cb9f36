"""Waiting for PDF.co jobs: the verdict on one check, and the polling loops behind the waiting tasks.

PDF.co reports ``working`` for running jobs *and* for ids it does not know, so every wait has a deadline and
ends with one ``force=true`` check, which answers ``unknown`` for an id that does not exist.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from prefect_pdfco.client import PdfcoClient
from prefect_pdfco.exceptions import (
    JobAborted,
    JobError,
    JobFailed,
    JobNotFound,
    JobTimeout,
    PdfcoConnectionError,
    RateLimitError,
    ServerError,
)
from prefect_pdfco.jobs.schedule import DEFAULT_POLL_POLICY, PollPolicy
from prefect_pdfco.models import JobResult, JobStatus
from prefect_pdfco.ui import artifacts as _artifacts
from prefect_pdfco.ui.logs import run_logger

__all__ = ["INCONCLUSIVE_CHECK", "finish", "outcome", "poll_many", "poll_until_done"]

# A check that could not be made (PDF.co unreachable or overloaded even after the client's own retries) says
# nothing about the job: it is retried like "working", never reported as a failure of the job.
INCONCLUSIVE_CHECK = (PdfcoConnectionError, ServerError, RateLimitError)
#: After this long, a single wait gets a progress artifact (time budget used); short waits stay quiet.
LONG_WAIT_SECONDS = 30.0


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


def inconclusive_timeout(job_id: str, error: Exception, waited_seconds: float) -> JobTimeout:
    """The last check could not be made: the job may be fine, so it is a timeout (resumable), not a failure."""
    return JobTimeout(job_id, f"the last check could not be made: {error}", waited_seconds=waited_seconds)


async def finish(
    job_id: str, result: JobResult | None, *, forced: bool, waited_seconds: float, checks: int
) -> JobResult | None:
    """Applies ``outcome`` to a check, telling the UI (events, artifacts) and the log when the job ended."""
    try:
        final = outcome(result, forced=forced, waited_seconds=waited_seconds) if result else None
    except JobError as error:
        run_logger().info("Job %s: %s after %d check(s), %.1f s", job_id, type(error).__name__, checks, waited_seconds)
        await _artifacts.record_failure(job_id, error, waited_seconds=waited_seconds)
        raise
    if final is not None:
        run_logger().info(
            "Job %s succeeded: %d check(s) (%d credits), %.1f s",
            job_id,
            checks,
            checks * _artifacts.CHECK_CREDITS,
            waited_seconds,
        )
        await _artifacts.record_success(final, waited_seconds=waited_seconds)
    return final


async def poll_until_done(
    client: PdfcoClient, job_id: str, *, max_wait_seconds: float, policy: PollPolicy = DEFAULT_POLL_POLICY
) -> JobResult:
    """Checks one job on ``policy``'s backoff until it ends or ``max_wait_seconds`` pass; logs state changes."""
    logger = run_logger()
    started = time.monotonic()
    deadline = started + max_wait_seconds
    checks = 0
    last_status: JobStatus | None = None
    # A single job reports no progress of its own: a long wait shows how much of its time budget is used.
    progress: _artifacts.Progress | None = None
    await asyncio.sleep(min(policy.delay(1), max_wait_seconds))
    while True:
        forced = time.monotonic() >= deadline
        checks += 1
        waited = time.monotonic() - started
        result: JobResult | None = None
        try:
            result = await client.check_job(job_id, force=forced)
        except INCONCLUSIVE_CHECK as error:
            _artifacts.record_check(job_id, None)
            if forced:
                timeout = inconclusive_timeout(job_id, error, waited)
                await _artifacts.record_failure(job_id, timeout, waited_seconds=waited)
                raise timeout from error
            logger.warning("Job %s: check %d inconclusive (%s); checking again", job_id, checks, error)
        else:
            _artifacts.record_check(job_id, result)
            _artifacts.note_balance(client)
            if result.status is not last_status:
                logger.info("Job %s is %s", job_id, result.status.value)
                last_status = result.status
        final = await finish(job_id, result, forced=forced, waited_seconds=waited, checks=checks)
        if final is not None:
            if progress is not None:
                await progress.set(1.0)
            return final
        if progress is None and waited >= LONG_WAIT_SECONDS:
            progress = _artifacts.Progress(1, f"PDF.co job {job_id}: share of the {max_wait_seconds:.0f} s wait used")
            await progress.start()
        if progress is not None:
            await progress.set(waited / max_wait_seconds)
        await asyncio.sleep(max(0.0, min(policy.delay(checks + 1), deadline - time.monotonic())))


@dataclass
class _Pending:
    job_id: str
    index: int
    checks: int = 0
    due: float = field(default=0.0)


async def poll_many(
    client: PdfcoClient,
    job_ids: list[str],
    *,
    max_wait_seconds: float,
    policy: PollPolicy = DEFAULT_POLL_POLICY,
) -> list[JobResult | JobError]:
    """One poller for many jobs: each on its own backoff, one deadline, one progress artifact.

    Returns, in the order of ``job_ids``, each job's success result or the ``JobError`` it ended with: one
    failed document never hides the others' results.
    """
    started = time.monotonic()
    deadline = started + max_wait_seconds
    outcomes: list[JobResult | JobError | None] = [None] * len(job_ids)
    pending = [_Pending(job_id, index, due=started + policy.delay(1)) for index, job_id in enumerate(job_ids)]
    progress = _artifacts.Progress(len(job_ids), f"PDF.co jobs finished, of {len(job_ids)}")
    await progress.start()
    while pending:
        now = time.monotonic()
        forced = now >= deadline
        due = list(pending) if forced else [job for job in pending if job.due <= now]
        for job in due:
            job.checks += 1
            waited = time.monotonic() - started
            result: JobResult | None = None
            try:
                result = await client.check_job(job.job_id, force=forced)
                _artifacts.record_check(job.job_id, result)
                _artifacts.note_balance(client)
                final = await finish(job.job_id, result, forced=forced, waited_seconds=waited, checks=job.checks)
            except INCONCLUSIVE_CHECK as error:
                _artifacts.record_check(job.job_id, None)
                if not forced:
                    job.due = time.monotonic() + policy.delay(job.checks + 1)
                    continue
                timeout = inconclusive_timeout(job.job_id, error, waited)
                await _artifacts.record_failure(job.job_id, timeout, waited_seconds=waited)
                outcomes[job.index] = timeout
            except JobError as error:
                outcomes[job.index] = error
            else:
                if final is None:
                    job.due = time.monotonic() + policy.delay(job.checks + 1)
                    continue
                outcomes[job.index] = final
            pending.remove(job)
            await progress.advance()
        if pending:
            next_due = min(min(job.due for job in pending), deadline)
            await asyncio.sleep(max(0.0, next_due - time.monotonic()))
    return [item for item in outcomes if item is not None]
