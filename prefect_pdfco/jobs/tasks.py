"""Tasks that submit PDF.co background jobs and wait for them.

- ``submit_job`` sends one ``async: true`` request. Its result is persisted under a key made of the flow run,
  the endpoint, the parameters and the call's ``submit_key`` (its rank among identical calls, counted where the
  call is made, or a name the caller gives; never the API key), so a flow run retried after a crash gets the
  job it already paid for back from Prefect instead of submitting again. A submit whose outcome is unknown is
  never sent again by a retry: it raises ``SubmitOutcomeUnknown`` unless the call says ``resend_if_unknown``.
- ``check_job`` makes one ``/v1/job/check`` per attempt and raises ``JobStillWorking`` while the job works;
  Prefect retries it on a capped backoff. Every retry is a task state you see in the UI (AwaitingRetry).
- ``wait_for_job`` does the same in one loop inside one task run: quiet logs, one state.
- ``wait_for_jobs`` waits for a batch with one poller, one deadline and one progress artifact.

None of them checks right after the submit: the first check is where the operation's jobs ended lately
(``learn``), or after a first delay, or when the job's end event comes (``callback_url``; ``events``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.runtime import task_run as runtime_task_run

from prefect_pdfco._apipool import shared_client
from prefect_pdfco._tasks import sync_compatible_task
from prefect_pdfco._validate import check_job_id, check_job_ids, check_number, require_credentials
from prefect_pdfco.client import normalize_endpoint
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import JobError, JobStillWorking
from prefect_pdfco.jobs import learn as _learn
from prefect_pdfco.jobs.keys import submit_task
from prefect_pdfco.jobs.schedule import DEFAULT_POLL_POLICY, attempt_of_task, before_attempt, retry_delay_after
from prefect_pdfco.jobs.submit import SUBMIT_TASK_OPTIONS, SubmitCachePolicy, submit_and_record
from prefect_pdfco.jobs.wait import JobWatch, check_once, poll_many, poll_until_done
from prefect_pdfco.models import JobResult, JobSubmission
from prefect_pdfco.ui.logs import run_logger

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
    "wait_for_jobs",
]

Ids = TypeVar("Ids")
Outcome = TypeVar("Outcome")

#: check_job's default total wait: PDF.co runs async jobs for up to 45 minutes; most take seconds.
CHECK_JOB_MAX_WAIT_SECONDS = 1800.0
#: Delays between check_job attempts: 2 s growing by half to 30 s (Prefect repeats the last one).
CHECK_JOB_RETRY_DELAYS = DEFAULT_POLL_POLICY.retry_delays(CHECK_JOB_MAX_WAIT_SECONDS)
#: Retries so that the default delays add up to about 30 minutes (65 checks, 130 credits at most).
CHECK_JOB_RETRIES = len(DEFAULT_POLL_POLICY.schedule(CHECK_JOB_MAX_WAIT_SECONDS))


def _submit_run_name() -> str:
    endpoint = str(runtime_task_run.parameters.get("endpoint", "job"))
    return "submit-" + normalize_endpoint(endpoint).strip("/").replace("/", "-")


def _job_run_name(prefix: str) -> Any:
    def name() -> str:
        job = runtime_task_run.parameters.get("job_id", "unknown")
        return f"{prefix}-{getattr(job, 'job_id', job)}"

    return name


def _job_ref(value: object) -> object:
    """A ``JobSubmission`` stands for its job id, and tells a wait in a process that did not submit it (another
    worker, a later run) which operation it waits for: the wait then uses what that operation's jobs took. Its
    submit time is unknown there, so the wait counts from its own start."""
    if isinstance(value, JobSubmission):
        if _learn.submitted(value.job_id) is None and value.endpoint:
            _learn.note_submitted(value.job_id, value.endpoint)
        return value.job_id
    return value


@submit_task(task_run_name=_submit_run_name, **SUBMIT_TASK_OPTIONS)
async def submit_job(
    credentials: PdfcoCredentials,
    endpoint: str,
    params: dict[str, Any] | None = None,
    *,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Submits a PDF.co operation as a background job (``async: true``) and returns its job id.

    Sent once per document: the client re-sends only when the request surely never reached PDF.co (or PDF.co
    answered 429), a flow run retried after a crash gets this submission back from Prefect's result store, and
    a retry of a submit whose outcome is unknown (read timeout, connection lost, 5xx) raises
    ``SubmitOutcomeUnknown`` instead of paying again.

    Args:
        credentials: The PDF.co credentials block.
        endpoint: The documented path, e.g. ``"/v1/pdf/merge"`` (``"pdf/merge"`` works too).
        params: The operation's parameters as PDF.co documents them (``url``, ``pages``, ``name``...).
            ``SecretStr`` values (passwords) are revealed only on the wire.
        submit_key: A name for this submit, unique in the flow run (e.g. ``"invoice-17"``); by default the
            call's rank among identical calls of the run. Calls with the same name and inputs are one submit.
        resend_if_unknown: Send again even if an earlier attempt sent this submit and its outcome is unknown
            (check PDF.co's job history first: that attempt may have been billed).

    Returns:
        The job id, the result placeholder URL and the credits billed.

    Raises:
        PdfcoAPIError: PDF.co refused the job (bad input, key, credits...).
        PdfcoConnectionError: No answer; when ``may_have_reached_server`` is True the job may exist, so it
            was not re-sent.
        SubmitOutcomeUnknown: An earlier attempt sent this submit and never learnt its outcome.

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
    del submit_key, resend_if_unknown  # read from the task run: by the cache policy and by the submit record
    return await submit_and_record(credentials, endpoint, params)


def _retry_while_working(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    # state.data holds the raised exception itself; state.result() would be an un-awaited coroutine for an
    # async task, and a timeout (TimeoutError) must not be retried as if the job were still working.
    return isinstance(state.data, JobStillWorking)


@sync_compatible_task(
    task_run_name=_job_run_name("check-job"),
    retries=CHECK_JOB_RETRIES,
    retry_delay_seconds=CHECK_JOB_RETRY_DELAYS,
    retry_jitter_factor=0.2,
    retry_condition_fn=_retry_while_working,
    cache_policy=NO_CACHE,
    persist_result=False,
)
async def check_job(credentials: PdfcoCredentials, job_id: str | JobSubmission, force: bool = False) -> JobResult:
    """Checks a PDF.co job once per attempt; Prefect retries the task while the job is ``working``.

    The defaults retry 65 times, 2 s apart at first and growing by half up to 30 s: about 30 minutes and at
    most 130 credits of checks. Change them with
    ``check_job.with_options(retries=..., retry_delay_seconds=[...])``. The last attempt checks with
    ``force=true`` so that an unknown job id (which PDF.co reports as ``working``) is told apart from a slow job.

    The first attempt does not check right after the submit (that check always reads ``working``): it sleeps
    until the job's expected end, learnt from the operation's finished jobs (``wait_for_job``), or else the
    first retry delay. Prefect's retry delays are fixed when the task is made, so the later attempts keep
    them. With a ``callback_url`` on the credentials, each attempt sleeps on the job's end event (at most 5
    minutes, within what the retry delays add up to) before its check, so the job's end usually costs one
    check; the attempt that reaches that budget makes the forced last check.

    Args:
        credentials: The PDF.co credentials block.
        job_id: The id from ``submit_job`` (or one you kept from an earlier run), or the ``JobSubmission``
            itself (in another process, its endpoint tells when to expect the end).
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
    credentials = require_credentials(credentials, caller="check_job")
    job_id = check_job_id(_job_ref(job_id), caller="check_job")
    attempt, attempts_allowed, waited = attempt_of_task()
    variable = _learn.learn_variable_name(None, caller="check_job")
    entry = _learn.submitted(job_id)
    last = attempt >= attempts_allowed
    if TaskRunContext.get() is not None:
        last = await before_attempt(credentials, job_id, entry, attempt, waited, variable) or last
    watch = JobWatch(job_id, checks=attempt - 1)  # each attempt is one check
    async with shared_client(credentials) as client:
        final = await check_once(client, watch, last=last, waited=attempt_of_task()[2], force=force)
    now = time.monotonic()
    if final is not None:
        if entry is not None:
            _learn.observe_end(entry, ended_by=now, job_duration_ms=final.job_duration)
            await _learn.save_book(variable)
        return final
    progress: dict[str, Any] = {
        "check": attempt,
        "checks": attempts_allowed,
        "next_seconds": retry_delay_after(attempt),
    }
    if watch.inconclusive is not None:
        message = f"check inconclusive, will check again: {watch.inconclusive}"
        raise JobStillWorking(job_id, message, **progress) from watch.inconclusive
    if entry is not None:
        entry.last_working = now
    run_logger().debug("Job %s is still working (check %d of %d)", job_id, attempt, attempts_allowed)
    raise JobStillWorking(job_id, status=watch.status.value if watch.status else None, **progress)


@sync_compatible_task(task_run_name=_job_run_name("wait-for-job"), cache_policy=NO_CACHE, persist_result=False)
async def wait_for_job(
    credentials: PdfcoCredentials,
    job_id: str | JobSubmission,
    *,
    max_wait_seconds: float = CHECK_JOB_MAX_WAIT_SECONDS,
    initial_poll_seconds: float = DEFAULT_POLL_POLICY.initial_seconds,
    max_poll_seconds: float = DEFAULT_POLL_POLICY.max_seconds,
    learn_variable: str | None = None,
) -> JobResult:
    """Waits for a PDF.co job in one task run: checks where the job should have ended, until a deadline.

    No check right after the submit. The first check is at the job's expected end, learnt from the jobs of the
    same operation that finished in this process (or kept in ``learn_variable``), then checks at most 15% of
    the time waited apart; with nothing learnt yet, a capped backoff from ``initial_poll_seconds``. When the
    credentials have a ``callback_url``, the wait sleeps on the job's end event instead, with a safety-net
    check every 5 minutes. Logs once per change of state and a summary at the end. Before giving up it makes
    one ``force=true`` check: ``unknown`` raises ``JobNotFound``, still ``working`` raises ``JobTimeout`` with
    the job id.

    Args:
        credentials: The PDF.co credentials block.
        job_id: The id from ``submit_job``, or one kept from an earlier run (to resume it), or the
            ``JobSubmission`` itself (in another process, its endpoint tells when to expect the end).
        max_wait_seconds: The deadline, on a monotonic clock.
        initial_poll_seconds: With nothing learnt, the delay before the first check; delays then grow by half.
        max_poll_seconds: Cap on the delay between checks (each check costs 2 credits).
        learn_variable: A Prefect Variable to keep learnt job durations in across runs (read at the start,
            written at the end); by default ``$PDFCO_LEARN_VARIABLE``, or none.

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
    return await _WAIT_FOR_ONE.run(
        credentials, _job_ref(job_id), max_wait_seconds, initial_poll_seconds, max_poll_seconds, learn_variable
    )


@sync_compatible_task(task_run_name="wait-for-jobs", cache_policy=NO_CACHE, persist_result=False)
async def wait_for_jobs(
    credentials: PdfcoCredentials,
    job_ids: list[str] | list[JobSubmission],
    *,
    max_wait_seconds: float = CHECK_JOB_MAX_WAIT_SECONDS,
    initial_poll_seconds: float = DEFAULT_POLL_POLICY.initial_seconds,
    max_poll_seconds: float = DEFAULT_POLL_POLICY.max_seconds,
    learn_variable: str | None = None,
) -> list[JobResult | JobError]:
    """Waits for many PDF.co jobs in one task run: one poller, one deadline, one progress artifact.

    The UI gets one log line for the lot and one artifact listing the result links (not one per job); each job's
    end keeps its event (``pdfco.job.succeeded``...), and the flow run's jobs table lists every job.

    Cheaper than one ``wait_for_job`` per job for large batches (one task run, one connection pool, the
    account's rate limit respected in one place). Each job is checked as in ``wait_for_job`` (learnt first
    check, or callbacks), and each ends with a forced check at the deadline. The jobs that are due are checked
    at once (16 checks in flight at most, paced to the account's rate limit); the progress artifact is updated
    at most once a second.

    Args:
        credentials: The PDF.co credentials block.
        job_ids: The ids to wait for (or the ``JobSubmission`` objects, as in ``wait_for_job``).
        max_wait_seconds: One deadline for the whole batch.
        initial_poll_seconds: With nothing learnt, the delay before each job's first check.
        max_poll_seconds: Cap on the delay between two checks of one job.
        learn_variable: As in ``wait_for_job``. The jobs of the batch learn from the first ones that end.

    Returns:
        In the order of ``job_ids``: the success result, or the ``JobError`` (``JobFailed``, ``JobAborted``,
        ``JobNotFound``, ``JobTimeout``) the job ended with. Failures are returned, not raised, so one bad
        document never loses the others' results.

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import JobResult, PdfcoCredentials, submit_job, wait_for_jobs

        @flow
        def to_text(urls: list[str]) -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            jobs = [submit_job(credentials, "/v1/pdf/convert/to/text", {"url": url}) for url in urls]
            results = wait_for_jobs(credentials, [job.job_id for job in jobs])
            return [result.url for result in results if isinstance(result, JobResult) and result.url]

        to_text(["https://example.com/a.pdf", "https://example.com/b.pdf"])
        ```
    """
    refs = [_job_ref(job) for job in job_ids] if isinstance(job_ids, (list, tuple)) else job_ids
    return await _WAIT_FOR_MANY.run(
        credentials, refs, max_wait_seconds, initial_poll_seconds, max_poll_seconds, learn_variable
    )


@dataclass(frozen=True)
class _Waiter(Generic[Ids, Outcome]):
    """What ``wait_for_job`` and ``wait_for_jobs`` share: check the arguments, open a client, run the poller."""

    caller: str
    check_ids: Callable[..., Ids]
    poll: Callable[..., Awaitable[Outcome]]  # poll_until_done or poll_many

    async def run(
        self,
        credentials: object,
        ids: object,
        max_wait_seconds: float,
        initial_poll_seconds: float,
        max_poll_seconds: float,
        learn_variable: object,
    ) -> Outcome:
        """Checks every argument before any request (in the order of the task's signature), then waits."""
        caller = self.caller
        checked = require_credentials(credentials, caller=caller)
        checked_ids = self.check_ids(ids, caller=caller)
        max_wait_seconds = check_number(max_wait_seconds, "max_wait_seconds", caller=caller)
        initial = check_number(initial_poll_seconds, "initial_poll_seconds", caller=caller)
        cap = max(initial, check_number(max_poll_seconds, "max_poll_seconds", caller=caller))
        variable = _learn.learn_variable_name(learn_variable, caller=caller)
        policy = replace(DEFAULT_POLL_POLICY, initial_seconds=initial, max_seconds=cap)
        async with shared_client(checked) as client:
            return await self.poll(
                client,
                checked_ids,
                max_wait_seconds=max_wait_seconds,
                policy=policy,
                credentials=checked,
                learn_variable=variable,
            )


_WAIT_FOR_ONE = _Waiter("wait_for_job", check_job_id, poll_until_done)
_WAIT_FOR_MANY = _Waiter("wait_for_jobs", check_job_ids, poll_many)
