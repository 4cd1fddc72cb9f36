"""Reusable flows: one PDF.co operation from submit to the files on disk.

``run_operation`` submits (once, crash-safe), waits with ``check_job`` on a backoff sized to the operation
(so each check is a visible ``AwaitingRetry`` state in the UI), and downloads the output when given a
destination. Chained steps pass result URLs, never bytes: the next operation reads the previous result link.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict

from prefect_pdfco._tasks import sync_compatible_flow
from prefect_pdfco._validate import check_number
from prefect_pdfco.client import DEFAULT_BASE_URL
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.files.coroutines import DownloadedFile
from prefect_pdfco.files.tasks import download_result, download_result_files
from prefect_pdfco.jobs.tasks import CHECK_JOB_MAX_WAIT_SECONDS, check_job, submit_job
from prefect_pdfco.models import JobResult, JobSubmission
from prefect_pdfco.operations.catalogue import Operation, OutputKind, get_operation
from prefect_pdfco.ui.logs import run_logger

__all__ = ["OperationResult", "check_job_for", "credentials_or_emulator", "run_operation"]


@contextmanager
def credentials_or_emulator(block_name: str = "pdfco") -> Iterator[PdfcoCredentials]:
    """Credentials for an example flow: the saved block ``block_name``, else ``PDFCO_API_KEY``, else an emulator.

    The embedded emulator (``prefect_pdfco.testing``, the ``emulator`` extra) runs for as long as the ``with``
    block, so a newcomer runs the examples with no account and spends no credits; one line says so.

    Args:
        block_name: The saved ``PdfcoCredentials`` block to look for first.

    Yields:
        Credentials for PDF.co, or for the embedded emulator. ``PDFCO_BASE_URL`` changes the API root used
        with ``PDFCO_API_KEY``.

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import html_to_pdf, wait_for_job
        from prefect_pdfco.flows import credentials_or_emulator

        @flow
        def hello() -> str | None:
            with credentials_or_emulator() as credentials:
                job = html_to_pdf(credentials, "<h1>Hello</h1>")
                return wait_for_job(credentials, job.job_id).url

        hello()
        ```
    """
    try:
        saved: PdfcoCredentials | None = PdfcoCredentials.load(block_name, _sync=True)  # type: ignore[call-arg,assignment]
    except ValueError:  # Prefect's answer for "no block document with that name"
        saved = None
    if saved is not None:
        yield saved
        return
    api_key = os.environ.get("PDFCO_API_KEY")
    if api_key:
        yield PdfcoCredentials(api_key=api_key, base_url=os.environ.get("PDFCO_BASE_URL", DEFAULT_BASE_URL))
        return
    from prefect_pdfco.testing import PdfcoEmulator

    with PdfcoEmulator(api_key="emulator-key", job_duration=0.5) as emulator:
        run_logger().info(
            "No %r block and no PDFCO_API_KEY: using the embedded PDF.co emulator at %s (no account, no credits).",
            block_name,
            emulator.base_url,
        )
        yield emulator.credentials()


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
) -> Any:
    """``check_job`` with retries and delays sized to ``operation``'s poll policy and the wait budget.

    Args:
        operation: The catalogue entry (``get_operation("pdf_to_text")``).
        max_wait_seconds: The total wait the retries should cover.
        initial_poll_seconds: The first delay, instead of the operation's own.

    Returns:
        ``check_job`` with ``retries`` and ``retry_delay_seconds`` set.

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
    destination: Any = None,
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
    submission = await submit_job(credentials, spec.endpoint, params)
    result = await check_job_for(spec, max_wait_seconds, initial_poll_seconds)(credentials, submission.job_id)
    files: list[DownloadedFile] = []
    if destination is not None and spec.output is not OutputKind.NONE:
        if spec.output is OutputKind.FILES or result.urls:
            files = await download_result_files(result, destination)
        else:
            files = [await download_result(result, destination)]
    return OperationResult(operation=spec.name, submission=submission, result=result, files=files)
