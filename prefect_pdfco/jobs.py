"""Tasks that submit PDF.co background jobs and wait for them, written as thin wrappers of ``PdfcoClient``.

Examples import ``flow`` from prefect, ``check_job_for`` from this module and every other name from prefect_pdfco.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from prefect.runtime import task_run as runtime_task_run
from prefect.variables import Variable

from prefect_pdfco import _events, _learning, _ui, _waiting
from prefect_pdfco._client import DEFAULT_MAX_WAIT_SECONDS, PdfcoClient, normalize_endpoint
from prefect_pdfco._exceptions import InvalidParametersError, JobError, JobStillWorking
from prefect_pdfco._operations import get_operation
from prefect_pdfco._prefect_task import PdfcoTask, pdfco_task
from prefect_pdfco._submit_guard import submit_once
from prefect_pdfco._util import SYSTEM_CLOCK, check_job_id, check_job_ids, check_number, check_wait_seconds
from prefect_pdfco.credentials import PdfcoCredentials, require_credentials, shared_client
from prefect_pdfco.models import JobResult, JobSubmission, PollPolicy

if TYPE_CHECKING:
    from prefect import Task
    from prefect.client.schemas.objects import State, TaskRun

__all__ = ["check_job", "check_job_for", "submit_job", "submitted_jobs", "wait_for_job", "wait_for_jobs"]

CHECK_JOB_POLICY = PollPolicy()  # 2 s growing by half to 30 s: about 30 minutes in 65 checks (130 credits at most)
LEARN_VARIABLE_ENV = "PDFCO_LEARN_VARIABLE"  # the Variable of learnt durations when a wait names none itself
_VARIABLE_NAME = re.compile(r"[a-z0-9_-]{1,255}")


def _job_ref(value: object) -> object:
    # A JobSubmission stands for its id, and tells a wait in another process which operation's durations to expect.
    if isinstance(value, JobSubmission):
        if _learning.submitted(value.job_id) is None and value.endpoint:
            _learning.note_submitted(value.job_id, value.endpoint, at=SYSTEM_CLOCK.monotonic())
        return value.job_id
    return value


def submitted_jobs() -> list[tuple[str, str]]:
    """(job id, document) of every job this process submitted in the flow runs it remembers, oldest first: what was
    paid for. After an interruption, hand these ids to ``wait_for_job`` instead of submitting again."""
    return [(row.job_id, row.document or row.operation) for row in _ui.submitted_jobs()]


def run_name(prefix: str) -> Any:
    """A task run name from the job's document, not its 40-character id (which the UI cuts off)."""

    def name() -> str:
        job = runtime_task_run.parameters.get("job_id", "")
        job_id = getattr(job, "job_id", job)
        return f"{prefix}-{_ui.document_of(job_id) if isinstance(job_id, str) and job_id else 'job'}"

    return name


@pdfco_task(submits=True, task_run_name=lambda: "submit-" + _endpoint_slug())
async def submit_job(
    credentials: PdfcoCredentials,
    endpoint: str,
    params: dict[str, Any] | None = None,
    *,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Submits any PDF.co endpoint as a background job (``async: true``) and returns its job id.

    Sent once: a retry or re-run re-attaches to the job already paid for (guide: What costs money).

    Args:
        credentials: The PDF.co credentials block.
        endpoint: The documented path, e.g. ``"/v1/pdf/merge"`` (``"pdf/merge"`` works too).
        params: The operation's parameters as PDF.co names them (``url``, ``pages``, ``name``...); sent as given.
        submit_key: A name for this submit, unique in the flow run; by default the call's rank among identical calls.
        resend_if_unknown: Send again although an earlier attempt may have been billed (check the job history).

    Returns:
        The job id, the result placeholder URL and the credits billed.

    Example:
        ```python
        @flow
        def merge(urls: list[str]) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = submit_job(credentials, "/v1/pdf/merge", {"url": ",".join(urls), "name": "merged.pdf"})
            return wait_for_job(credentials, job).url
        ```
    """
    credentials = require_credentials(credentials, "submit_job")
    endpoint = normalize_endpoint(endpoint)
    if params is not None and not isinstance(params, dict):
        raise InvalidParametersError("submit_job", [f"params: expected a dict, got {type(params).__name__}"])
    params = params or {}
    return await submit_once(
        credentials, endpoint, params, endpoint.split("/", 2)[-1], submit_key, resend_if_unknown, params.get("name")
    )


def _endpoint_slug() -> str:
    endpoint = str(runtime_task_run.parameters.get("endpoint", "job"))
    return re.sub(r"[^a-z0-9]+", "-", endpoint.lower().removeprefix("/v1/")).strip("-") or "job"


def _retry_while_working(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    # state.data is the raised exception (state.result() would be a coroutine); a timeout is not retried.
    return isinstance(state.data, JobStillWorking)


@pdfco_task(
    task_run_name=run_name("check"),
    retries=_waiting.check_count(CHECK_JOB_POLICY, DEFAULT_MAX_WAIT_SECONDS),
    retry_delay_seconds=_waiting.retry_delays(CHECK_JOB_POLICY, DEFAULT_MAX_WAIT_SECONDS),
    retry_jitter_factor=0.2,
    retry_condition_fn=_retry_while_working,
    cache_policy=NO_CACHE,
    persist_result=False,
)
async def check_job(credentials: PdfcoCredentials, job_id: str | JobSubmission, force: bool = False) -> JobResult:
    """Checks a job once per attempt; Prefect retries the task (``AwaitingRetry`` in the UI) while it works.

    The defaults retry 65 times over about 30 minutes, 130 credits at most (guide: Waiting for jobs).

    Args:
        credentials: The PDF.co credentials block.
        job_id: The id from a submit (or kept from an earlier run), or the ``JobSubmission`` itself.
        force: Ask PDF.co to force a status check on every attempt (it then reports unknown ids).

    Returns:
        The ``success`` result: its ``url`` holds the output.

    Raises:
        JobStillWorking: Still working; Prefect retries the task (only this error is retried).
        JobFailed, JobAborted, JobNotFound: PDF.co ended the job without a result.
        JobTimeout: Still working on the last attempt; carries the job id to resume with ``wait_for_job``.

    Example:
        ```python
        @flow
        def render() -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return check_job(credentials, html_to_pdf(credentials, "<h1>Hello</h1>")).url
        ```
    """
    credentials = require_credentials(credentials, "check_job")
    job = check_job_id(_job_ref(job_id), caller="check_job")
    ctx = TaskRunContext.get()
    attempt, allowed = (ctx.task_run.run_count, ctx.task.retries + 1) if ctx is not None else (1, 1)
    started = ctx.task_run.start_time if ctx is not None else None
    client = await shared_client(credentials)
    if ctx is not None and attempt == 1:
        await _sleep_before_first_check(client, credentials, job)
    waited = (datetime.now(timezone.utc) - started).total_seconds() if started else 0.0
    observer, entry = _ui.Observer(publish=True), _learning.submitted(job)
    try:
        final = await _waiting.check_once(
            client, job, last=attempt >= allowed, waited=waited, force=force, observer=observer, entry=entry
        )
    except JobError as error:
        await observer.ended(job, error, attempt, waited)
        raise
    if final is None:
        delays = ctx.task.retry_delay_seconds if ctx is not None else None
        next_in = delays[min(attempt - 1, len(delays) - 1)] if isinstance(delays, list) and delays else None
        raise JobStillWorking(job, check=attempt, checks=allowed, next_seconds=next_in)
    if entry is not None:
        _learning.observe_end(entry, ended_by=client.clock.monotonic(), job_duration_ms=final.job_duration)
    await observer.ended(job, final, attempt, waited)
    return final


async def _sleep_before_first_check(client: PdfcoClient, credentials: PdfcoCredentials, job_id: str) -> None:
    """A check right after the submit always reads ``working``: sleep to the expected end (or the end event)."""
    entry = _learning.submitted(job_id)
    since = client.clock.monotonic() - entry.at if entry is not None else 0.0
    estimate = _learning.BOOK.estimate(entry.key) if entry is not None else None
    delay = _waiting.Plan(CHECK_JOB_POLICY, estimate).delay(since, 0)
    if credentials.callback_url:
        await _events.wait_for_end(job_id, min(CHECK_JOB_POLICY.safety_net_seconds, max(delay, 60.0)))
    else:
        await client.clock.sleep(delay)


def check_job_for(
    operation: str, max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS, initial_poll_seconds: float | None = None
) -> PdfcoTask[..., JobResult]:
    """``check_job`` with retries sized to ``operation``'s poll policy and a wait budget.

    Args:
        operation: A catalogue name (``"make_searchable"``) or path.
        max_wait_seconds: The total wait the retries should cover (at most a week).
        initial_poll_seconds: The first delay, instead of the operation's own.

    Returns:
        ``check_job`` with ``retries`` and ``retry_delay_seconds`` set: call it as ``check_job``.

    Example:
        ```python
        @flow
        def ocr(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return check_job_for("make_searchable", 3600)(credentials, make_searchable(credentials, url)).url
        ```
    """
    total = check_wait_seconds(max_wait_seconds, "max_wait_seconds", caller="check_job_for")
    policy = get_operation(operation).poll_policy
    if initial_poll_seconds is not None:
        first = check_wait_seconds(initial_poll_seconds, "initial_poll_seconds", caller="check_job_for")
        policy = PollPolicy(initial_seconds=first, max_seconds=max(first, policy.max_seconds))
    return check_job.with_options(
        retries=_waiting.check_count(policy, total), retry_delay_seconds=_waiting.retry_delays(policy, total)
    )


class _Wait:
    """Both waits' arguments, checked before any request, and the Prefect Variable of learnt durations around them."""

    def __init__(
        self, caller: str, credentials: object, max_wait: object, initial: object, cap: object, variable: object
    ):
        self.credentials = require_credentials(credentials, caller)
        self.deadline = check_wait_seconds(max_wait, "max_wait_seconds", caller=caller)
        first = check_wait_seconds(initial, "initial_poll_seconds", caller=caller)
        most = check_number(cap, "max_poll_seconds", caller=caller, maximum=3600)
        self.policy = PollPolicy(initial_seconds=first, max_seconds=max(first, most))
        name = variable if variable is not None else (os.environ.get(LEARN_VARIABLE_ENV) or None)
        if name is not None and (not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name)):
            raise InvalidParametersError(caller, [f"learn_variable: expected a Prefect Variable name, got {name!r}"])
        self.variable: str | None = name
        self.end_signal = _events.wait_for_end if self.credentials.callback_url else None

    async def __aenter__(self) -> PdfcoClient:
        book, name = _learning.BOOK, self.variable
        if name is not None and name not in book.loaded:
            book.loaded.add(name)
            try:
                read: Any = Variable.aget  # typed as returning None by Prefect's sync/async dispatch
                book.merge(await read(name, default=None))
            except Exception as error:  # learning is an optimisation: a wait never fails for it
                _ui.run_logger().warning("Could not read learnt job durations from Variable %r: %s", name, error)
        return await shared_client(self.credentials)

    async def __aexit__(self, *exc_info: object) -> None:
        book, name = _learning.BOOK, self.variable
        if name is not None and book.changed:
            book.changed = False
            try:
                await Variable.aset(name, book.snapshot(), overwrite=True)
            except Exception as error:
                _ui.run_logger().warning("Could not keep learnt job durations in Variable %r: %s", name, error)


@pdfco_task(task_run_name=run_name("wait"), cache_policy=NO_CACHE, persist_result=False)
async def wait_for_job(
    credentials: PdfcoCredentials,
    job_id: str | JobSubmission,
    *,
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
    initial_poll_seconds: float = CHECK_JOB_POLICY.initial_seconds,
    max_poll_seconds: float = CHECK_JOB_POLICY.max_seconds,
    learn_variable: str | None = None,
) -> JobResult:
    """Waits for a job in one task run: a first check where the job should end, then sparse checks.

    Where the checks go, and how a ``callback_url`` replaces them: the guide Waiting for jobs.

    Args:
        credentials: The PDF.co credentials block.
        job_id: The id from a submit, one kept from an earlier run (to resume it), or the ``JobSubmission``.
        max_wait_seconds: The deadline (at most a week).
        initial_poll_seconds: With nothing learnt, the delay before the first check; delays then grow by half.
        max_poll_seconds: Cap on the delay between checks (each check costs 2 credits); 1 s at least.
        learn_variable: A Prefect Variable that keeps learnt durations across runs ($PDFCO_LEARN_VARIABLE).

    Returns:
        The ``success`` result.

    Raises:
        JobFailed, JobAborted, JobNotFound, JobTimeout: The job did not end in success.

    Example:
        ```python
        @flow
        def to_text(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, pdf_to_text(credentials, url), max_wait_seconds=600).url
        ```
    """
    wait = _Wait("wait_for_job", credentials, max_wait_seconds, initial_poll_seconds, max_poll_seconds, learn_variable)
    job = check_job_id(_job_ref(job_id), caller="wait_for_job")
    async with wait as client:
        observer = _ui.Observer(publish=True)
        return await client.wait(
            job, max_wait_seconds=wait.deadline, policy=wait.policy, observer=observer, end_signal=wait.end_signal
        )


@pdfco_task(task_run_name="wait-for-jobs", cache_policy=NO_CACHE, persist_result=False)
async def wait_for_jobs(
    credentials: PdfcoCredentials,
    job_ids: list[str] | list[JobSubmission],
    *,
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
    initial_poll_seconds: float = CHECK_JOB_POLICY.initial_seconds,
    max_poll_seconds: float = CHECK_JOB_POLICY.max_seconds,
    learn_variable: str | None = None,
) -> list[JobResult | JobError]:
    """Waits for many jobs in one task run: one poller, one deadline, one log line and one artifact of links.

    Args:
        credentials: The PDF.co credentials block.
        job_ids: The jobs, as ids or ``JobSubmission``s.
        max_wait_seconds: One deadline for all of them (at most a week).
        initial_poll_seconds: With nothing learnt, the delay before each job's first check.
        max_poll_seconds: Cap on the delay between two checks of one job; 1 s at least.
        learn_variable: As in ``wait_for_job``; the batch learns from its first jobs to end.

    Returns:
        In the order of ``job_ids``: each success result, or the ``JobError`` the job ended with (returned, not raised).

    Example:
        ```python
        @flow
        def pages() -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            jobs = [html_to_pdf(credentials, f"<h1>Page {n}</h1>") for n in (1, 2, 3)]
            return [r.url for r in wait_for_jobs(credentials, jobs) if isinstance(r, JobResult) and r.url]
        ```
    """
    wait = _Wait("wait_for_jobs", credentials, max_wait_seconds, initial_poll_seconds, max_poll_seconds, learn_variable)
    refs = [_job_ref(job) for job in job_ids] if isinstance(job_ids, (list, tuple)) else job_ids
    jobs = check_job_ids(refs, caller="wait_for_jobs")
    async with wait as client:
        start, token = client.clock.monotonic(), _ui.quiet_items.set(True)
        try:
            observer = _ui.Observer()
            results = await client.wait_many(
                jobs, max_wait_seconds=wait.deadline, policy=wait.policy, observer=observer, end_signal=wait.end_signal
            )
        finally:
            _ui.quiet_items.reset(token)
    checks = sum(_ui.row_of(job).checks for job in jobs)
    await _ui.results_artifact(results, checks, client.clock.monotonic() - start)
    await _ui.publish_table()
    return results
