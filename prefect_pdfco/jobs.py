"""Tasks that submit PDF.co background jobs and wait for them.

- ``submit_job`` sends one ``async: true`` request. Its result is persisted under a key made of the flow run,
  the call, the endpoint and the parameters (never the API key), so a flow run retried after a crash gets the
  job it already paid for back from Prefect instead of submitting again.
- ``check_job`` makes one ``/v1/job/check`` per attempt and raises ``JobStillWorking`` while the job works;
  Prefect retries it on a capped backoff. Every retry is a task state you see in the UI (AwaitingRetry).
- ``wait_for_job`` does the same in one loop inside one task run: quiet logs, one state.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from prefect.cache_policies import NO_CACHE, CachePolicy
from prefect.context import TaskRunContext
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger
from prefect.runtime import task_run as runtime_task_run

from prefect_pdfco._polling import DEFAULT_POLL_POLICY, PollPolicy
from prefect_pdfco._redact import jsonable
from prefect_pdfco._tasks import sync_compatible_task
from prefect_pdfco.client import PdfcoClient, normalize_endpoint
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import (
    JobAborted,
    JobFailed,
    JobNotFound,
    JobStillWorking,
    JobTimeout,
    PdfcoConnectionError,
    RateLimitError,
    ServerError,
)
from prefect_pdfco.models import JobResult, JobStatus, JobSubmission

if TYPE_CHECKING:
    from prefect import Task
    from prefect.client.schemas.objects import State, TaskRun

__all__ = [
    "CHECK_JOB_RETRIES",
    "CHECK_JOB_RETRY_DELAYS",
    "SUBMIT_TASK_OPTIONS",
    "SubmitCachePolicy",
    "check_job",
    "submit_job",
    "wait_for_job",
]

#: check_job's default total wait: PDF.co runs async jobs for up to 45 minutes; most take seconds.
CHECK_JOB_MAX_WAIT_SECONDS = 1800.0
#: Delays between check_job attempts: 2 s growing by half to 30 s (Prefect repeats the last one).
CHECK_JOB_RETRY_DELAYS = DEFAULT_POLL_POLICY.retry_delays(CHECK_JOB_MAX_WAIT_SECONDS)
#: Retries so that the default delays add up to about 30 minutes (65 checks, 130 credits at most).
CHECK_JOB_RETRIES = len(DEFAULT_POLL_POLICY.schedule(CHECK_JOB_MAX_WAIT_SECONDS))

# A check that could not be made (PDF.co unreachable or overloaded even after the client's own retries) says
# nothing about the job: it is retried like "working", never reported as a failure of the job.
_INCONCLUSIVE_CHECK = (PdfcoConnectionError, ServerError, RateLimitError)


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The run logger inside a flow or task run (so lines reach the UI); a module logger under ``.fn()``."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("prefect_pdfco")


def _submit_run_name() -> str:
    endpoint = str(runtime_task_run.parameters.get("endpoint", "job"))
    return "submit-" + normalize_endpoint(endpoint).strip("/").replace("/", "-")


def _job_run_name(prefix: str) -> Any:
    def name() -> str:
        return f"{prefix}-{runtime_task_run.parameters.get('job_id', 'unknown')}"

    return name


@dataclass
class SubmitCachePolicy(CachePolicy):
    """One key per (flow run, task, account host, inputs, n-th identical call); None outside a flow run.

    For ``submit_job`` and every typed operation task. The flow run id makes a scheduled run submit anew each
    time. Two identical submits in one run stay two jobs: the n-th identical call of an attempt gets the n-th
    key, and the count restarts with each attempt of the flow run, so a retried run finds the same keys in the
    same order. (Prefect's own dynamic key is a random UUID for async tasks, so it cannot serve.) Of the
    credentials only ``base_url`` counts: the API key must never reach the result store, even hashed.
    """

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        if task_ctx is None or task_ctx.task_run.flow_run_id is None:
            return None
        material = {
            "flow_run": str(task_ctx.task_run.flow_run_id),
            "task": task_ctx.task.name,
            "host": getattr(inputs.get("credentials"), "base_url", ""),
            "inputs": {key: jsonable(value) for key, value in inputs.items() if key != "credentials"},
        }
        digest = hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()
        slot = (str(task_ctx.task_run.flow_run_id), task_ctx.task_run.flow_run_run_count, digest)
        with _identical_calls_lock:
            call = _identical_calls.get(slot, 0)
            _identical_calls[slot] = call + 1
        return f"pdfco-submit-{digest[:32]}-{call}"


_identical_calls: dict[tuple[str, int, str], int] = {}
_identical_calls_lock = threading.Lock()


#: Options of every task that submits a billed job: never retried by Prefect, persisted under a crash-safe key.
#: Result links live 60 minutes by default: re-attaching to an older job would only hand back dead links.
SUBMIT_TASK_OPTIONS: dict[str, Any] = {
    "cache_policy": SubmitCachePolicy(),
    "persist_result": True,
    "cache_expiration": timedelta(hours=1),
    "retries": 0,
}


@sync_compatible_task(task_run_name=_submit_run_name, **SUBMIT_TASK_OPTIONS)
async def submit_job(
    credentials: PdfcoCredentials, endpoint: str, params: dict[str, Any] | None = None
) -> JobSubmission:
    """Submits a PDF.co operation as a background job (``async: true``) and returns its job id.

    Sent once: the client re-sends only when the request surely never reached PDF.co, and a flow run retried
    after a crash gets this submission back from Prefect's result store instead of paying for a new job.

    Args:
        credentials: The PDF.co credentials block.
        endpoint: The documented path, e.g. ``"/v1/pdf/merge"`` (``"pdf/merge"`` works too).
        params: The operation's parameters as PDF.co documents them (``url``, ``pages``, ``name``...).
            ``SecretStr`` values (passwords) are revealed only on the wire.

    Returns:
        The job id, the result placeholder URL and the credits billed.

    Raises:
        PdfcoAPIError: PDF.co refused the job (bad input, key, credits...).
        PdfcoConnectionError: No answer; when ``may_have_reached_server`` is True the job may exist, so it
            was not re-sent.

    Example:
        Merge two PDFs and wait for the result:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, submit_job, wait_for_job

        @flow
        def merge(urls: list[str]) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = submit_job(credentials, "/v1/pdf/merge", {"url": ",".join(urls), "name": "merged.pdf"})
            return wait_for_job(credentials, job.job_id).url

        merge(["https://example.com/a.pdf", "https://example.com/b.pdf"])
        ```
    """
    logger = _logger()
    async with credentials.get_client() as client:
        submission = await client.submit(endpoint, params)
    logger.info(
        "Submitted %s as job %s (%s credits left)",
        submission.endpoint,
        submission.job_id,
        submission.remaining_credits if submission.remaining_credits is not None else "?",
    )
    return submission


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


def _retry_while_working(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    # state.data holds the raised exception itself; state.result() would be an un-awaited coroutine for an
    # async task, and a timeout (TimeoutError) must not be retried as if the job were still working.
    return isinstance(state.data, JobStillWorking)


def _attempt() -> tuple[int, int, float]:
    """(this attempt's number, the attempts allowed, seconds since the first attempt started)."""
    ctx = TaskRunContext.get()
    if ctx is None:  # called through .fn(): one attempt, and it is the last
        return 1, 1, 0.0
    start = ctx.task_run.start_time
    waited = (datetime.now(timezone.utc) - start).total_seconds() if start else 0.0
    return ctx.task_run.run_count, ctx.task.retries + 1, waited


@sync_compatible_task(
    task_run_name=_job_run_name("check-job"),
    retries=CHECK_JOB_RETRIES,
    retry_delay_seconds=CHECK_JOB_RETRY_DELAYS,
    retry_jitter_factor=0.2,
    retry_condition_fn=_retry_while_working,
    cache_policy=NO_CACHE,
    persist_result=False,
)
async def check_job(credentials: PdfcoCredentials, job_id: str, force: bool = False) -> JobResult:
    """Checks a PDF.co job once per attempt; Prefect retries the task while the job is ``working``.

    The defaults retry 65 times, 2 s apart at first and growing by half up to 30 s: about 30 minutes and at
    most 130 credits of checks. Change them with
    ``check_job.with_options(retries=..., retry_delay_seconds=[...])``. The last attempt checks with
    ``force=true`` so that an unknown job id (which PDF.co reports as ``working``) is told apart from a slow job.

    Args:
        credentials: The PDF.co credentials block.
        job_id: The id from ``submit_job`` (or one you kept from an earlier run).
        force: Ask PDF.co to force a status check on every attempt (it then reports ``unknown`` ids).

    Returns:
        The ``success`` result: its ``url`` holds the output.

    Raises:
        JobStillWorking: Still working; Prefect retries the task (only this error is retried).
        JobFailed, JobAborted: PDF.co ended the job; not retried.
        JobNotFound: PDF.co does not know the job id.
        JobTimeout: Still working on the last attempt; carries the job id to resume with ``wait_for_job``.

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, check_job, submit_job

        @flow
        def html_to_pdf() -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = submit_job(credentials, "/v1/pdf/convert/from/html", {"html": "<h1>Hello</h1>"})
            return check_job(credentials, job.job_id).url

        html_to_pdf()
        ```
    """
    attempt, attempts_allowed, waited = _attempt()
    last_attempt = attempt >= attempts_allowed
    forced = force or last_attempt
    logger = _logger()
    async with credentials.get_client() as client:
        try:
            result = await client.check_job(job_id, force=forced)
        except _INCONCLUSIVE_CHECK as error:
            if last_attempt:
                raise JobTimeout(job_id, f"the last check could not be made: {error}", waited_seconds=waited) from error
            raise JobStillWorking(job_id, f"check inconclusive, will check again: {error}") from error
    final = outcome(result, forced=last_attempt, waited_seconds=waited)
    if final is None:
        logger.debug("Job %s is still working (check %d of %d)", job_id, attempt, attempts_allowed)
        raise JobStillWorking(job_id, "still working", status=result.status.value)
    logger.info("Job %s succeeded after %d check(s)", job_id, attempt)
    return final


@sync_compatible_task(task_run_name=_job_run_name("wait-for-job"), cache_policy=NO_CACHE, persist_result=False)
async def wait_for_job(
    credentials: PdfcoCredentials,
    job_id: str,
    *,
    max_wait_seconds: float = CHECK_JOB_MAX_WAIT_SECONDS,
    initial_poll_seconds: float = DEFAULT_POLL_POLICY.initial_seconds,
    max_poll_seconds: float = DEFAULT_POLL_POLICY.max_seconds,
) -> JobResult:
    """Waits for a PDF.co job in one task run: checks on a capped, jittered backoff until a deadline.

    Logs once per change of state and a summary at the end. Before giving up it makes one ``force=true``
    check: ``unknown`` raises ``JobNotFound``, still ``working`` raises ``JobTimeout`` with the job id.

    Args:
        credentials: The PDF.co credentials block.
        job_id: The id from ``submit_job``, or one kept from an earlier run (to resume it).
        max_wait_seconds: The deadline, on a monotonic clock.
        initial_poll_seconds: Delay before the first check; delays then grow by half.
        max_poll_seconds: Cap on the delay between checks (each check costs 2 credits).

    Returns:
        The ``success`` result.

    Raises:
        JobFailed, JobAborted, JobNotFound, JobTimeout: The job did not end in success.

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, submit_job, wait_for_job

        @flow
        def pdf_to_text(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = submit_job(credentials, "/v1/pdf/convert/to/text", {"url": url})
            return wait_for_job(credentials, job.job_id, max_wait_seconds=600).url

        pdf_to_text("https://example.com/report.pdf")
        ```
    """
    policy = PollPolicy(
        initial_seconds=initial_poll_seconds,
        max_seconds=max(max_poll_seconds, initial_poll_seconds),
        multiplier=DEFAULT_POLL_POLICY.multiplier,
        jitter=DEFAULT_POLL_POLICY.jitter,
    )
    async with credentials.get_client() as client:
        return await poll_until_done(client, job_id, max_wait_seconds=max_wait_seconds, policy=policy)


async def poll_until_done(
    client: PdfcoClient, job_id: str, *, max_wait_seconds: float, policy: PollPolicy = DEFAULT_POLL_POLICY
) -> JobResult:
    """The loop behind ``wait_for_job``, usable with any open client."""
    logger = _logger()
    started = time.monotonic()
    deadline = started + max_wait_seconds
    checks = 0
    last_status: JobStatus | None = None
    await asyncio.sleep(min(policy.delay(1), max_wait_seconds))
    while True:
        forced = time.monotonic() >= deadline
        checks += 1
        waited = time.monotonic() - started
        try:
            result = await client.check_job(job_id, force=forced)
        except _INCONCLUSIVE_CHECK as error:
            if forced:
                raise JobTimeout(job_id, f"the last check could not be made: {error}", waited_seconds=waited) from error
            logger.warning("Job %s: check %d inconclusive (%s); checking again", job_id, checks, error)
        else:
            if result.status is not last_status:
                logger.info("Job %s is %s", job_id, result.status.value)
                last_status = result.status
            try:
                final = outcome(result, forced=forced, waited_seconds=waited)
            finally:
                if result.status.is_terminal or forced:
                    logger.info("Job %s: %d check(s) (%d credits), %.1f s", job_id, checks, 2 * checks, waited)
            if final is not None:
                return final
        await asyncio.sleep(max(0.0, min(policy.delay(checks + 1), deadline - time.monotonic())))
