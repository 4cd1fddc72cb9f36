"""Reusable flows: one PDF.co operation from submit to the files on disk.

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
from prefect_pdfco.files import DownloadedFile, download_result, download_result_files
from prefect_pdfco.files.storage import Destination
from prefect_pdfco.jobs.tasks import CHECK_JOB_MAX_WAIT_SECONDS, check_job, submit_job
from prefect_pdfco.models import JobResult, JobSubmission
from prefect_pdfco.operations.catalogue import Operation, OutputKind, get_operation

__all__ = ["OperationResult", "check_job_for", "run_operation"]


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
        destination: A directory (``str`` or ``Path``), or a storage block (``LocalFileSystem``,
            ``RemoteFileSystem``, S3...); split and other multi-file outputs land as one file per part.
        max_wait_seconds: How long to wait for the job before ``JobTimeout`` (which keeps the job id).
        initial_poll_seconds: First delay between checks; by default the operation's own (2 s for page
            operations, 10 s for OCR...), growing by half up to 30 s.

    Returns:
        The submission, the result and the downloaded files.

    Raises:
        UnknownOperationError: ``operation`` is not in the catalogue.
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
    submission = await submit_job.aio(credentials, spec.endpoint, params)
    result = await check_job_for(spec, max_wait_seconds, initial_poll_seconds).aio(credentials, submission.job_id)
    files: list[DownloadedFile] = []
    if destination is not None and spec.output is not OutputKind.NONE:
        if spec.output is OutputKind.FILES or result.urls:
            files = await download_result_files.aio(result, destination)
        else:
            files = [await download_result.aio(result, destination)]
    return OperationResult(operation=spec.name, submission=submission, result=result, files=files)
