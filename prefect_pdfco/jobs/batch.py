"""The steps of ``run_batch``: many documents, one operation, in two task runs whatever the number.

- ``submit_batch``: one task run that submits every item with bounded concurrency through the one submit path
  (``submit_and_record``), each under its own record (``batch-<index>``), so a re-run of the flow run re-attaches
  to the jobs already paid for and sends only what never left. Its result (one submission or typed error per
  item) is persisted under the batch's submit key, like any submit task's.
- ``wait_and_download_batch``: one task run that waits for every job with one poller (``poll_many``) and lands
  each result as soon as its job ends, while the others are still being checked.

One client per process carries it all (``_apipool``, ``linkclient``): no SSL context per document.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from prefect_pdfco._apipool import shared_client
from prefect_pdfco._tasks import sync_compatible_task
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import JobError, PdfcoError
from prefect_pdfco.files.download import adownload_result, adownload_result_files
from prefect_pdfco.files.links import DownloadedFile
from prefect_pdfco.files.storage import Destination
from prefect_pdfco.jobs.keys import submit_task
from prefect_pdfco.jobs.submit import SUBMIT_TASK_OPTIONS, submit_and_record
from prefect_pdfco.jobs.wait import poll_many
from prefect_pdfco.models import JobResult, JobSubmission
from prefect_pdfco.operations.catalogue import Operation, OutputKind

__all__ = ["BatchItem", "BatchResult", "submit_batch", "wait_and_download_batch"]

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


def _submit_run_name() -> str:
    from prefect.runtime import task_run

    return f"submit-batch-{str(task_run.parameters.get('operation', 'operation')).replace('_', '-')}"


@submit_task(task_run_name=_submit_run_name, **SUBMIT_TASK_OPTIONS)
async def submit_batch(
    credentials: PdfcoCredentials,
    operation: str,
    endpoint: str,
    items: list[dict[str, Any]],
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    fail_fast: bool = False,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> list[JobSubmission | PdfcoError]:
    """Submits every item (``max_concurrency`` at once), each at most once per flow run (see the module).

    Returns:
        In order, each item's submission or the typed error its submit ended with.

    Raises:
        PdfcoError: ``fail_fast`` and one submit failed: the ones not yet sent are not sent.
    """
    del submit_key, resend_if_unknown  # read from the task run: by the cache policy and by the submit record
    slots = asyncio.Semaphore(max_concurrency)

    async def one(index: int, params: dict[str, Any]) -> JobSubmission | PdfcoError:
        async with slots:
            try:
                return await submit_and_record(
                    credentials, endpoint, params, operation=operation, item_key=f"batch-{index}"
                )
            except PdfcoError as error:
                if fail_fast:
                    raise
                return error

    tasks = [asyncio.ensure_future(one(index, params)) for index, params in enumerate(items)]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


@sync_compatible_task(task_run_name="wait-and-download-batch", persist_result=False, cache_policy=NO_CACHE)
async def wait_and_download_batch(
    credentials: PdfcoCredentials,
    spec: Operation,
    submitted: Sequence[JobSubmission | PdfcoError],
    destination: Destination | None = None,
    *,
    max_wait_seconds: float,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    fail_fast: bool = False,
) -> list[BatchItem]:
    """Waits for the submitted jobs with one poller and lands each result as soon as its job ends.

    Raises:
        PdfcoError: ``fail_fast`` and one job or download failed: the other waits are stopped.
    """
    items: list[BatchItem | None] = [
        BatchItem(index=index, error=sent) if isinstance(sent, PdfcoError) else None
        for index, sent in enumerate(submitted)
    ]
    jobs = [(index, sent) for index, sent in enumerate(submitted) if isinstance(sent, JobSubmission)]
    downloads = asyncio.Semaphore(max_concurrency)

    async def land(result: JobResult) -> list[DownloadedFile]:
        if destination is None or spec.output is OutputKind.NONE:
            return []
        async with downloads:
            if spec.output is OutputKind.FILES or result.urls:
                return await adownload_result_files(result, destination, credentials=credentials)
            return [await adownload_result(result, destination, credentials=credentials)]

    async def ended(position: int, outcome: JobResult | JobError) -> None:
        index, submission = jobs[position]
        item = BatchItem(index=index, job_id=submission.job_id)
        if isinstance(outcome, JobError):
            item = item.model_copy(update={"error": outcome})
        else:
            try:
                item = item.model_copy(update={"result": outcome, "files": await land(outcome)})
            except PdfcoError as error:
                item = item.model_copy(update={"result": outcome, "error": error})
        if fail_fast and item.error is not None:
            raise item.error
        items[index] = item

    if jobs:
        async with shared_client(credentials) as client:
            await poll_many(
                client,
                [submission.job_id for _, submission in jobs],
                max_wait_seconds=max_wait_seconds,
                policy=spec.poll_policy,
                on_end=ended,
            )
    return [item if item is not None else BatchItem(index=index) for index, item in enumerate(items)]
