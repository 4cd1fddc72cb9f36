"""Submitting billed jobs: the one submit path every submitting task uses, and the submit record.

PDF.co bills every submit and has no idempotency key. Prefect caches only task runs that completed: a submit
that failed with an unknown outcome (read timeout, connection lost after the request was written, a 5xx) or a
process that died mid-request leaves nothing in Prefect's cache, so a task retry, a flow retry or a re-run of
the flow run would pay again. So each submit keeps a *record* in the task's own result storage, beside its cache
entry (same key plus a suffix), that outlives a failed task run:

- ``in_flight``, written right before the request leaves (after the client's rate-limit waits);
- ``refused`` when PDF.co refused it (any 4xx, 429 included once the client stops re-sending) or it surely never
  left (connect error): a later attempt may send it;
- ``unknown`` when it may have reached PDF.co and no answer came back;
- ``accepted``, with the job, as soon as PDF.co answers (before Prefect persists the task's result).

A later attempt with the same key reads the record first: ``accepted`` hands back the job, ``in_flight`` and
``unknown`` raise ``SubmitOutcomeUnknown`` unless the call says ``resend_if_unknown=True``. The window no client
can close is a crash after the request left and before ``accepted`` is written: it is reported, never re-paid.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from prefect.context import FlowRunContext, TaskRunContext
from prefect.filesystems import LocalFileSystem
from prefect.results import ResultStore

from prefect_pdfco._apipool import shared_client
from prefect_pdfco._validate import require_credentials
from prefect_pdfco.callbacks.tokens import with_callback
from prefect_pdfco.client import normalize_endpoint
from prefect_pdfco.exceptions import (
    InvalidParametersError,
    SubmitOutcomeUnknown,
)
from prefect_pdfco.jobs._record import RECORD_SUFFIX, SubmitRecord, parse_time, refused
from prefect_pdfco.jobs.keys import SubmitCachePolicy
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.ui import artifacts as _artifacts
from prefect_pdfco.ui.logs import run_logger

if TYPE_CHECKING:
    from prefect_pdfco.client import PdfcoClient
    from prefect_pdfco.credentials import PdfcoCredentials

__all__ = ["RECORD_SUFFIX", "SUBMIT_TASK_OPTIONS", "SubmitCachePolicy", "refused", "submit_and_record"]

#: Options of every task that submits a billed job: never retried by Prefect, persisted under a crash-safe key.
#: Result links live 60 minutes by default: re-attaching to an older job would only hand back dead links.
SUBMIT_TASK_OPTIONS: dict[str, Any] = {
    "cache_policy": SubmitCachePolicy(),
    "persist_result": True,
    "cache_expiration": timedelta(hours=1),
    "retries": 0,
}


async def submit_and_record(
    credentials: PdfcoCredentials,
    endpoint: str,
    params: Mapping[str, Any] | None,
    *,
    operation: str | None = None,
    item_key: str | None = None,
    client: PdfcoClient | None = None,
) -> JobSubmission:
    """Submits one job at most once per submit key, logs one line (never the parameters), emits the event.

    Inside a task run with a submit key, the record of an earlier attempt is read first (see the module
    docstring). Outside one (``.fn()``), the job is simply submitted.

    Args:
        credentials: The PDF.co credentials block.
        endpoint: The API path.
        params: PDF.co parameters (``async: true`` is added by the client).
        operation: How the UI names the operation; defaults to the endpoint without its version.
        item_key: Names this submit among the several one task run makes (``run_batch``: ``"batch-17"``); its
            record is the task's key with this appended.
        client: The shared client of ``credentials`` when the caller holds it already (a batch); else borrowed.

    Raises:
        SubmitOutcomeUnknown: An earlier attempt sent this submit and its outcome is unknown.
        PdfcoAPIError, PdfcoConnectionError: This attempt failed (see ``PdfcoClient.submit``).
    """
    caller = operation or "submit_job"
    credentials = require_credentials(credentials, caller=caller)
    try:
        endpoint = normalize_endpoint(endpoint)
    except (TypeError, AttributeError, ValueError) as error:
        detail = error if isinstance(error, ValueError) else f"expected a path such as /v1/pdf/merge, got {endpoint!r}"
        raise InvalidParametersError(caller, [f"endpoint: {detail}"]) from error
    name = operation or _artifacts.operation_name(endpoint)
    record = SubmitRecord.for_current_task(endpoint, item_key)
    if record is None:
        return await _send(credentials, endpoint, params, name, None, client)
    await warn_if_storage_is_local(record.store)
    async with _claimed(record.key):
        earlier = await record.read()
        state = earlier.get("state") if earlier else None
        if earlier is not None and state == "accepted" and record.fresh(earlier):
            submission = JobSubmission.model_validate(earlier["submission"])
            run_logger().info("Re-attached to job %s, submitted by an earlier attempt", submission.job_id)
            return submission
        if earlier is not None and state in ("in_flight", "unknown"):
            unknown = SubmitOutcomeUnknown(
                endpoint,
                sent_at=parse_time(earlier.get("sent_at")),
                submit_key=record.key,
                reason=str(earlier.get("reason") or "the attempt stopped before PDF.co's answer was recorded"),
            )
            if not _resend_requested():
                raise unknown
            run_logger().warning("Sending again as asked (resend_if_unknown=True): %s", unknown)
        return await _send(credentials, endpoint, params, name, record, client)


async def _send(
    credentials: PdfcoCredentials,
    endpoint: str,
    params: Mapping[str, Any] | None,
    name: str,
    record: SubmitRecord | None,
    held: PdfcoClient | None = None,
) -> JobSubmission:
    # The callback's token is fresh per send and added only here: the submit key (computed from the task's
    # inputs) never sees it, so a re-run finds the same record.
    params = with_callback(credentials, params)
    async with _borrowed(credentials, held) as client:
        try:
            submission = await client.submit(
                endpoint, params, before_send=record.mark_in_flight if record is not None else None
            )
        except Exception as error:
            if record is not None and record.sent_at is not None:
                await record.settle_failure(error)
            raise
        # Anything else (cancellation, the process exiting) leaves the in-flight record: a later attempt
        # reports it instead of paying again.
    if record is not None:
        await record.settle_success(submission)
    run_logger().info(
        "Submitted %s as job %s (%s credits left)",
        name,
        submission.job_id,
        submission.remaining_credits if submission.remaining_credits is not None else "?",
    )
    _artifacts.record_submission(submission, name)
    _artifacts.note_balance(client)
    return submission


@asynccontextmanager
async def _borrowed(credentials: PdfcoCredentials, held: PdfcoClient | None) -> AsyncIterator[PdfcoClient]:
    if held is not None:
        yield held
        return
    async with shared_client(credentials) as client:
        yield client


def _resend_requested() -> bool:
    ctx = TaskRunContext.get()
    return bool(ctx is not None and ctx.parameters and ctx.parameters.get("resend_if_unknown") is True)


# Two calls that name the same submit (an explicit submit_key) in one process: the second waits for the first
# to settle, then reads its record (and gets its job), instead of both sending.
_claims: dict[str, tuple[threading.Lock, int]] = {}
_claims_lock = threading.Lock()


@asynccontextmanager
async def _claimed(key: str) -> AsyncIterator[None]:
    with _claims_lock:
        lock, users = _claims.get(key, (threading.Lock(), 0))
        _claims[key] = (lock, users + 1)
    try:
        # Tasks of one process may run on different threads and event loops, so no asyncio.Event; and a thread
        # blocked in lock.acquire() could not be cancelled: polling it is.
        while not lock.acquire(blocking=False):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        try:
            yield
        finally:
            lock.release()
    finally:
        with _claims_lock:
            lock, users = _claims[key]
            if users <= 1:
                del _claims[key]
            else:
                _claims[key] = (lock, users - 1)


# Warned at most once per process; each flow run is looked at once.
_storage_warned = False
_storage_checked: set[str] = set()


async def warn_if_storage_is_local(store: ResultStore) -> None:
    """Warns once when submit records live on a local disk while the flow run's tasks may run elsewhere.

    A record on one machine's disk protects nothing when a crashed flow run is re-run in a fresh container or
    its tasks run on other machines: crash-safe submits then need shared result storage.
    """
    global _storage_warned
    flow_ctx = FlowRunContext.get()
    if _storage_warned or flow_ctx is None or flow_ctx.flow_run is None:
        return
    run_id = str(flow_ctx.flow_run.id)
    if run_id in _storage_checked or len(_storage_checked) > 10_000:
        return
    _storage_checked.add(run_id)
    local = [s for s in (store.result_storage, store.metadata_storage) if isinstance(s, LocalFileSystem)]
    if not local:
        return
    reason = await _elsewhere_reason(flow_ctx)
    if reason is None:
        return
    _storage_warned = True
    run_logger().warning(
        "Submit records (what keeps a re-run from paying twice for a submit) are in local result storage (%s), "
        "but %s. A crashed flow run re-run elsewhere would not find them (unless every machine mounts that path). "
        "Use shared result storage for crash-safe submits, e.g. an S3 or GCS block: "
        "PREFECT_DEFAULT_RESULT_STORAGE_BLOCK=s3-bucket/results.",
        local[0].basepath or "the default path",
        reason,
    )


async def _elsewhere_reason(flow_ctx: FlowRunContext) -> str | None:
    """Why tasks of this flow run may run on another machine than its next attempt; None if they do not."""
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    runner = flow_ctx.task_runner
    if runner is not None and not isinstance(runner, (ThreadPoolTaskRunner, ProcessPoolTaskRunner)):
        return f"the flow runs its tasks with {type(runner).__name__}, which may use other machines"
    flow_run = flow_ctx.flow_run
    pool = getattr(flow_run, "work_pool_name", None)
    if flow_run is None or flow_run.deployment_id is None or not pool:
        return None
    pool_type = await _work_pool_type(pool)
    if pool_type is None or pool_type == "process":
        return None
    return f"the deployment runs on work pool {pool!r} of type {pool_type!r} (a fresh container or machine per run)"


_pool_types: dict[str, str | None] = {}


async def _work_pool_type(name: str) -> str | None:
    if name not in _pool_types:
        from prefect.client.orchestration import get_client

        try:
            async with get_client() as client:
                _pool_types[name] = (await client.read_work_pool(name)).type
        except Exception:
            run_logger().debug("Could not read work pool %r", name, exc_info=True)
            _pool_types[name] = None
    return _pool_types[name]
