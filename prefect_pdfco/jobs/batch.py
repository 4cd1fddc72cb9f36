"""The one task run of ``run_batch``: many documents, one operation, each followed from its submit to its files.

``batch_items`` works every item as a stream, ``max_concurrency`` submits in flight: as soon as an item's
submit returns, its job is followed (``_Wait.follow``, one deadline for the batch, the due checks made at once)
and its result lands when the job ends, while later items are still being submitted. So the batch takes about
what its slowest submit plus one job take, not all the submits plus all the waits.

Crash safety is the submit path's (``submit_and_record``): each item's submit keeps its own record
(``batch-<index>``) under the batch's key, written before the request leaves, so a re-run of the flow run
re-attaches to the jobs already paid for and sends only what never left. A batch whose every item succeeded is
cached under that key (a re-run hands it back without a check); one with failures is not, so a re-run tries its
failed items again, re-attaching to their jobs rather than paying for them twice.

One client per process carries it all (``_apipool``, ``linkclient``): no SSL context per document. The UI
hears of the batch, not of each document: a summary line, the jobs table, ``pdfco.batch.submitted`` for the
submits (``ui.artifacts.BatchSubmits``); only each job's end keeps an event of its own, for automations.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from prefect.context import TaskRunContext
from prefect.transactions import get_transaction
from pydantic import BaseModel, ConfigDict

from prefect_pdfco._apipool import shared_client
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import JobError, PdfcoError
from prefect_pdfco.files.download import adownload_result, adownload_result_files
from prefect_pdfco.files.links import DownloadedFile
from prefect_pdfco.files.storage import Destination
from prefect_pdfco.jobs.keys import SubmitCachePolicy, submit_task
from prefect_pdfco.jobs.submit import SUBMIT_TASK_OPTIONS, submit_and_record
from prefect_pdfco.jobs.wait import JobWatch, _BatchProgress, _gather_or_cancel, _Wait
from prefect_pdfco.models import JobResult
from prefect_pdfco.operations.catalogue import OutputKind, get_operation
from prefect_pdfco.ui.artifacts import BatchSubmits
from prefect_pdfco.ui.logs import per_item_quiet

__all__ = ["BatchItem", "BatchResult", "batch_items"]


#: Submits in flight at once by default; the client's rate limiter paces them to what the account admits.
DEFAULT_MAX_CONCURRENCY = 16


class BatchItem(BaseModel):
    """What became of one item of a batch.

    Attributes:
        index: The item's place in the list given to ``run_batch``.
        job_id: PDF.co's job id, once submitted.
        result: The ``success`` result.
        files: The files that landed (empty without a destination).
        error: The typed error the item ended with (refused submit, failed job, failed download); None on success.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    index: int
    job_id: str | None = None
    result: JobResult | None = None
    files: list[DownloadedFile] = []
    error: PdfcoError | None = None

    @property
    def ok(self) -> bool:
        """True when the item succeeded (and landed, given a destination)."""
        return self.error is None


class BatchResult(BaseModel):
    """What ``run_batch`` did: one ``BatchItem`` per item, in order, and a summary.

    Attributes:
        operation: The catalogue name of the operation.
        items: One outcome per item, in the order given.
    """

    model_config = ConfigDict(frozen=True)

    operation: str
    items: list[BatchItem]

    @property
    def succeeded(self) -> list[BatchItem]:
        """The items that succeeded."""
        return [item for item in self.items if item.ok]

    @property
    def failed(self) -> list[BatchItem]:
        """The items that ended with an error."""
        return [item for item in self.items if not item.ok]

    @property
    def failures_by_type(self) -> dict[str, int]:
        """How many items failed with each kind of error (``{"JobFailed": 2, "BadRequestError": 1}``)."""
        return dict(Counter(type(item.error).__name__ for item in self.failed))

    def summary(self) -> str:
        """One line: how many succeeded, how many failed and why."""
        line = f"{self.operation}: {len(self.succeeded)} of {len(self.items)} succeeded"
        if not self.failed:
            return line
        reasons = ", ".join(f"{count} {name}" for name, count in sorted(self.failures_by_type.items()))
        return f"{line}; {len(self.failed)} failed ({reasons})"


def _run_name() -> str:
    from prefect.runtime import task_run

    return f"batch-{str(task_run.parameters.get('operation', 'operation')).replace('_', '-')}"


#: What names a batch across re-runs: the operation and the items. How it is run (concurrency, deadline,
#: destination) may change between attempts without sending anything again.
_BATCH_KEY_INPUTS = ("operation", "endpoint", "items")


@submit_task(
    task_run_name=_run_name, **{**SUBMIT_TASK_OPTIONS, "cache_policy": SubmitCachePolicy(inputs=_BATCH_KEY_INPUTS)}
)
async def batch_items(
    credentials: PdfcoCredentials,
    operation: str,
    endpoint: str,
    items: list[dict[str, Any]],
    destination: Destination | None = None,
    *,
    max_wait_seconds: float,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    fail_fast: bool = False,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> list[BatchItem]:
    """Submits, waits for and lands every item, each followed from its own submit (see the module).

    Args:
        credentials: The PDF.co credentials block.
        operation: The catalogue name of the operation (its poll policy and output kind).
        endpoint: The API path the items are submitted to.
        items: PDF.co's parameters for each document.
        destination: Where results land; None to only collect their links.
        max_wait_seconds: One deadline for every job, from the start of the batch.
        max_concurrency: API requests (submits and checks) in flight at once, and downloads.
        fail_fast: Raise the first failure; the items not yet sent are not sent, the other waits are stopped.
        submit_key: The batch's name among the flow run's batches (``run_batch`` says ``"batch"``).
        resend_if_unknown: Send again the items whose earlier submit has an unknown outcome.

    Returns:
        One ``BatchItem`` per item, in order.

    Raises:
        PdfcoError: ``fail_fast`` and one item failed.
    """
    del submit_key, resend_if_unknown  # read from the task run: by the cache policy and by the submit records
    spec = get_operation(operation)
    # Submits and checks share the API slots, as plain asyncio code would: more requests in flight only grow
    # the connection pool, which httpcore scans on every request.
    requests, downloads = asyncio.Semaphore(max_concurrency), asyncio.Semaphore(max_concurrency)
    progress = _BatchProgress(len(items), f"PDF.co documents done, of {len(items)}")
    announce = BatchSubmits(_task_run_id(), operation)
    await progress.start()

    async def land(result: JobResult) -> list[DownloadedFile]:
        if destination is None or spec.output is OutputKind.NONE:
            return []
        async with downloads:
            if spec.output is OutputKind.FILES or result.urls:
                return await adownload_result_files(result, destination, credentials=credentials)
            return [await adownload_result(result, destination, credentials=credentials)]

    async def work(wait: _Wait, index: int, params: dict[str, Any]) -> BatchItem:
        async with requests:
            try:
                submission = await submit_and_record(
                    credentials, endpoint, params, operation=operation, item_key=f"batch-{index}", client=wait.client
                )
            except PdfcoError as error:
                return BatchItem(index=index, error=error)
        announce.add(submission.job_id)
        item = BatchItem(index=index, job_id=submission.job_id)
        try:
            result = await wait.follow(JobWatch(submission.job_id))
        except JobError as error:
            return item.model_copy(update={"error": error})
        try:
            return item.model_copy(update={"result": result, "files": await land(result)})
        except PdfcoError as error:
            return item.model_copy(update={"result": result, "error": error})

    async def one(wait: _Wait, index: int, params: dict[str, Any]) -> BatchItem:
        item = await work(wait, index, params)
        if fail_fast and item.error is not None:
            raise item.error
        await progress.advance()
        return item

    quiet = per_item_quiet.set(True)  # one summary rather than 3 lines and an artifact per document
    try:
        async with shared_client(credentials) as client:
            wait = _Wait(client, spec.poll_policy, max_wait_seconds, slots=requests, credentials=credentials)
            outcomes = await _gather_or_cancel([one(wait, index, params) for index, params in enumerate(items)])
    finally:
        per_item_quiet.reset(quiet)
        announce.flush()
    await progress.flush()
    if any(not item.ok for item in outcomes):
        _not_cached()
    return outcomes


def _task_run_id() -> str:
    ctx = TaskRunContext.get()
    return str(ctx.task_run.id) if ctx is not None else "local"


def _not_cached() -> None:
    """Keeps this run's result out of the cache: a re-run tries the failed items again (re-attaching to jobs)."""
    transaction = get_transaction()
    if transaction is not None:
        transaction.write_on_commit = False
