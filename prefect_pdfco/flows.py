"""Reusable flows: one PDF.co operation from submit to the files on disk, for one document or many.

``run_operation`` submits (once, crash-safe), waits with ``check_job`` on a backoff sized to the operation
(so each check is a visible ``AwaitingRetry`` state in the UI), and downloads the output when given a
destination. Chained steps pass result URLs, never bytes: the next operation reads the previous result link.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict

from prefect_pdfco._tasks import SyncCompatibleTask, sync_compatible_flow
from prefect_pdfco._validate import check_number
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import InvalidParametersError
from prefect_pdfco.files import DownloadedFile, download_result, download_result_files
from prefect_pdfco.files.storage import Destination
from prefect_pdfco.jobs.batch import DEFAULT_MAX_CONCURRENCY, BatchItem, BatchResult, batch_items
from prefect_pdfco.jobs.tasks import CHECK_JOB_MAX_WAIT_SECONDS, check_job, submit_job
from prefect_pdfco.models import JobResult, JobSubmission
from prefect_pdfco.operations.catalogue import Operation, OutputKind, get_operation
from prefect_pdfco.operations.payload import check_payload
from prefect_pdfco.ui.logs import run_logger

__all__ = ["BatchItem", "BatchResult", "OperationResult", "check_job_for", "run_batch", "run_operation"]


class OperationResult(BaseModel):
    """What ``run_operation`` did: the submission, the final result, and the files that landed.

    Attributes:
        operation: The catalogue name of the operation.
        submission: The job as submitted (job id, credits billed).
        result: The ``success`` result; ``result.url`` is the link the next step takes as input.
        files: The downloaded files (empty without a destination).
    """

    model_config = ConfigDict(frozen=True)

    operation: str
    submission: JobSubmission
    result: JobResult
    files: list[DownloadedFile] = []

    @property
    def url(self) -> str | None:
        """The result link, for chaining into the next operation."""
        return self.result.url


def check_job_for(
    operation: Operation,
    max_wait_seconds: float = CHECK_JOB_MAX_WAIT_SECONDS,
    initial_poll_seconds: float | None = None,
) -> SyncCompatibleTask[..., JobResult]:
    """``check_job`` with retries and delays sized to ``operation``'s poll policy and the wait budget.

    Args:
        operation: The catalogue entry (``get_operation("pdf_to_text")``).
        max_wait_seconds: The total wait the retries should cover.
        initial_poll_seconds: The first delay, instead of the operation's own.

    Returns:
        ``check_job`` with ``retries`` and ``retry_delay_seconds`` set: call it as ``check_job`` (``.aio`` in
        an async flow).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, get_operation, make_searchable
        from prefect_pdfco.flows import check_job_for

        @flow
        def ocr(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = make_searchable(credentials, url)
            return check_job_for(get_operation("make_searchable"), 3600)(credentials, job.job_id).url

        ocr("https://example.com/scan.pdf")
        ```
    """
    max_wait_seconds = check_number(max_wait_seconds, "max_wait_seconds", caller="check_job_for")
    policy = operation.poll_policy
    if initial_poll_seconds is not None:
        policy = replace(policy, initial_seconds=initial_poll_seconds)
    return check_job.with_options(
        retries=len(policy.schedule(max_wait_seconds)),
        retry_delay_seconds=policy.retry_delays(max_wait_seconds),
    )


def _run_name() -> str:
    from prefect.runtime import flow_run

    wanted = str(flow_run.parameters.get("operation", "operation"))
    try:
        return f"pdfco-{get_operation(wanted).name.replace('_', '-')}"
    except LookupError:
        return "pdfco-operation"


@sync_compatible_flow(name="pdfco-run-operation", flow_run_name=_run_name)
async def run_operation(
    credentials: PdfcoCredentials,
    operation: str,
    params: dict[str, Any] | None = None,
    destination: Destination | None = None,
    *,
    max_wait_seconds: float = CHECK_JOB_MAX_WAIT_SECONDS,
    initial_poll_seconds: float | None = None,
) -> OperationResult:
    """Runs one PDF.co operation: submit, wait, and download the output when a destination is given.

    Args:
        credentials: The PDF.co credentials block.
        operation: A catalogue name (``"merge"``, ``"pdf_to_text"``) or a documented path (``"/v1/pdf/merge"``).
        params: PDF.co's parameters for the operation, as its docs name them (``url``, ``pages``, ``name``...).
            Checked before any request with the model of the operation's typed task and sent as it sends them
            (``pages=[0, "2-4"]`` as ``"0,2-4"``); names the model leaves out go to PDF.co as given.
        destination: A directory (``str`` or ``Path``), or a storage block (``LocalFileSystem``,
            ``RemoteFileSystem``, S3...); split and other multi-file outputs land as one file per part.
        max_wait_seconds: How long to wait for the job before ``JobTimeout`` (which keeps the job id).
        initial_poll_seconds: First delay between checks; by default the operation's own (2 s for page
            operations, 10 s for OCR...), growing by half up to 30 s.

    Returns:
        The submission, the result and the downloaded files.

    Raises:
        UnknownOperationError: ``operation`` is not in the catalogue.
        InvalidParametersError: A parameter the operation's typed task would refuse (a local path as ``url``,
            a bad page range), or a misspelt name (``paper_size`` for ``paperSize``): nothing is sent.
        PdfcoAPIError: PDF.co refused the submit.
        JobFailed, JobAborted, JobNotFound, JobTimeout: The job did not succeed.

    Example:
        Convert HTML to PDF, then to text, chaining by URL:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials
        from prefect_pdfco.flows import run_operation

        @flow
        def html_to_text() -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            pdf = run_operation(credentials, "html_to_pdf", {"html": "<h1>Hello</h1>"})
            text = run_operation(credentials, "pdf_to_text", {"url": pdf.url}, destination="./output")
            return [file.path for file in text.files]

        html_to_text()
        ```
    """
    spec = get_operation(operation)
    params = check_payload(spec, params)  # the typed task's model: bad or misspelt names cost nothing
    submission = await submit_job.aio(credentials, spec.endpoint, params)
    result = await check_job_for(spec, max_wait_seconds, initial_poll_seconds).aio(credentials, submission.job_id)
    files: list[DownloadedFile] = []
    if destination is not None and spec.output is not OutputKind.NONE:
        if spec.output is OutputKind.FILES or result.urls:
            files = await download_result_files.aio(result, destination)
        else:
            files = [await download_result.aio(result, destination)]
    return OperationResult(operation=spec.name, submission=submission, result=result, files=files)


def _batch_run_name() -> str:
    from prefect.runtime import flow_run

    wanted = str(flow_run.parameters.get("operation", "operation"))
    try:
        return f"pdfco-batch-{get_operation(wanted).name.replace('_', '-')}"
    except LookupError:
        return "pdfco-batch"


@sync_compatible_flow(name="pdfco-run-batch", flow_run_name=_batch_run_name)
async def run_batch(
    credentials: PdfcoCredentials,
    operation: str,
    items: list[dict[str, Any]],
    destination: Destination | None = None,
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    max_wait_seconds: float = CHECK_JOB_MAX_WAIT_SECONDS,
    fail_fast: bool = False,
    raise_on_failure: bool = False,
) -> BatchResult:
    """Runs one PDF.co operation over many documents in one task run, whatever their number.

    Every item is submitted (``max_concurrency`` submits in flight, paced by the account's rate limit), each
    at most once per flow run: a re-run of the flow run re-attaches to the jobs already submitted. Each job is
    followed as soon as its submit returns, its checks sharing one poller, and each result lands as soon as its
    job ends (multi-file outputs as one file per part). One bad document does not fail the batch: its outcome
    carries the typed error, and the summary (logged and returned) says how many failed and why. Usable as a
    subflow.

    Args:
        credentials: The PDF.co credentials block.
        operation: A catalogue name (``"html_to_pdf"``) or a documented path (``"/v1/pdf/convert/from/html"``).
        items: PDF.co's parameters for each document (``{"html": ..., "name": ...}``, ``{"url": ...}``).
        destination: A directory or a storage block; None to only collect the results' links.
        max_concurrency: Submits, and downloads, in flight at once.
        max_wait_seconds: One deadline for all the jobs (a job still working then ends in ``JobTimeout``).
        fail_fast: Stop at the first failure (submits not yet sent are not sent) and raise its error.
        raise_on_failure: Run the whole batch, then raise the first failure's error if any item failed.

    Returns:
        One ``BatchItem`` per item, in order (index, job id, result, files or error), and the summary.

    Raises:
        UnknownOperationError: ``operation`` is not in the catalogue.
        InvalidParametersError: ``items`` is not a list of dicts, or ``max_concurrency`` is not positive.
        PdfcoError: With ``fail_fast`` or ``raise_on_failure``, the (first) item's typed error.

    Example:
        Convert pages to PDF, keeping the successes when some fail:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials
        from prefect_pdfco.flows import run_batch

        @flow
        def nightly(urls: list[str]) -> int:
            credentials = PdfcoCredentials.load("pdfco")
            batch = run_batch(credentials, "url_to_pdf", [{"url": url} for url in urls], destination="out/")
            return len(batch.failed)

        nightly(["https://example.com/a.html", "https://example.com/b.html"])
        ```
    """
    spec = get_operation(operation)
    _check_batch_args(items, max_concurrency)
    max_wait_seconds = check_number(max_wait_seconds, "max_wait_seconds", caller="run_batch")
    outcomes = await batch_items.aio(
        credentials, spec.name, spec.endpoint, items, destination,
        max_wait_seconds=max_wait_seconds, max_concurrency=max_concurrency, fail_fast=fail_fast, submit_key="batch",
    )  # fmt: skip
    batch = BatchResult(operation=spec.name, items=outcomes)
    logger = run_logger()
    (logger.warning if batch.failed else logger.info)("%s", batch.summary())
    for item in batch.failed[:_FAILURES_LOGGED]:
        logger.warning("Item %d%s: %s", item.index, f" (job {item.job_id})" if item.job_id else "", item.error)
    if raise_on_failure and batch.failed and batch.failed[0].error is not None:
        raise batch.failed[0].error
    return batch


#: A summary names the first failures one by one; the rest are in the returned items.
_FAILURES_LOGGED = 20


def _check_batch_args(items: object, max_concurrency: object) -> None:
    problems = []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        problems.append("items: expected a list of dicts of PDF.co parameters, e.g. [{'url': ...}]")
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
        problems.append(f"max_concurrency: expected a positive int, got {max_concurrency!r}")
    if problems:
        raise InvalidParametersError("run_batch", problems)
