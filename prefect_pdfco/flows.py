"""Reusable flows: one PDF.co operation from submit to the files on disk, for one document or many.

Examples import ``flow`` from prefect, ``PdfcoCredentials`` from prefect_pdfco and the flows from this module.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect.client.schemas.objects import State
from prefect.runtime import flow_run
from prefect.states import Completed
from pydantic import BaseModel, ConfigDict

from prefect_pdfco import _ui
from prefect_pdfco._batch import DEFAULT_MAX_CONCURRENCY, BatchItem, batch_items
from prefect_pdfco._client import DEFAULT_MAX_WAIT_SECONDS
from prefect_pdfco._exceptions import InvalidParametersError, PdfcoError
from prefect_pdfco._operations import OutputKind, build_payload, get_operation
from prefect_pdfco._prefect_task import pdfco_flow
from prefect_pdfco._util import check_wait_seconds
from prefect_pdfco.credentials import PdfcoCredentials, require_credentials
from prefect_pdfco.files import Destination, download_result, download_result_files
from prefect_pdfco.jobs import check_job_for, submit_job
from prefect_pdfco.models import DownloadedFile, JobResult, JobSubmission

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
        """The items that succeeded (skipped ones included: their files are there)."""
        return [item for item in self.items if item.ok]

    @property
    def failed(self) -> list[BatchItem]:
        """The items that ended with an error."""
        return [item for item in self.items if not item.ok]

    @property
    def failures_by_type(self) -> dict[str, int]:
        """How many items failed with each kind of error (``{"JobFailed": 2}``)."""
        return dict(Counter(type(item.error).__name__ for item in self.failed))

    def summary(self) -> str:
        """One line: how many succeeded, how many were there already, how many failed and why."""
        line = f"{self.operation}: {len(self.succeeded)} of {len(self.items)} succeeded"
        skipped = sum(item.skipped for item in self.items)
        line += f" ({skipped} landed earlier, not sent again)" if skipped else ""
        if self.failed:
            reasons = ", ".join(f"{count} {name}" for name, count in sorted(self.failures_by_type.items()))
            line += f"; {len(self.failed)} failed ({reasons})"
        return line


def _name(prefix: str) -> str:
    try:
        return f"{prefix}-{get_operation(str(flow_run.parameters.get('operation'))).name.replace('_', '-')}"
    except LookupError:
        return prefix


@pdfco_flow(name="pdfco-run-operation", flow_run_name=lambda: _name("pdfco"))
async def run_operation(
    credentials: PdfcoCredentials,
    operation: str,
    params: dict[str, Any] | None = None,
    destination: Destination | None = None,
    *,
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
    initial_poll_seconds: float | None = None,
) -> OperationResult:
    """Runs one PDF.co operation: submit, wait (each check a visible retry), and land the output.

    Args:
        credentials: The PDF.co credentials block.
        operation: A catalogue name (``"merge"``, ``"pdf_to_text"``) or a documented path (``"/v1/pdf/merge"``).
        params: PDF.co's parameters by its names (``url``, ``pages``, ``name``...), checked before any request.
        destination: A directory or a storage block; multi-file outputs land as one file per part.
        max_wait_seconds: How long to wait before ``JobTimeout`` (which keeps the job id); at most a week.
        initial_poll_seconds: First delay between checks; by default the operation's own.

    Returns:
        The submission, the result and the landed files.

    Raises:
        UnknownOperationError: ``operation`` is not in the catalogue.
        InvalidParametersError: A bad parameter or argument: nothing is sent.
        PdfcoAPIError: PDF.co refused the submit.
        JobFailed, JobAborted, JobNotFound, JobTimeout: The job did not succeed.

    Example:
        ```python
        @flow
        def html_to_text() -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            pdf = run_operation(credentials, "html_to_pdf", {"html": "<h1>Hello</h1>"})
            text = run_operation(credentials, "pdf_to_text", {"url": pdf.url}, destination="./output")
            return [file.path for file in text.files]
        ```
    """
    # Every argument is checked before the billed submit (a bad deadline must not cost a job).
    credentials = require_credentials(credentials, "run_operation")
    spec = get_operation(operation)
    payload = build_payload(spec, params, caller="run_operation")
    check = check_job_for(spec.name, max_wait_seconds, initial_poll_seconds)
    submission = await submit_job.aio(credentials, spec.endpoint, payload)
    result = await check.aio(credentials, submission)
    files: list[DownloadedFile] = []
    if destination is not None and spec.output is not OutputKind.NONE:
        if spec.output is OutputKind.FILES or result.urls:
            files = await download_result_files.aio(result, destination, credentials=credentials)
        else:
            files = [await download_result.aio(result, destination, credentials=credentials)]
    return OperationResult(operation=spec.name, submission=submission, result=result, files=files)


@pdfco_flow(name="pdfco-run-batch", flow_run_name=lambda: _name("pdfco-batch"))
async def run_batch(
    credentials: PdfcoCredentials,
    operation: str,
    items: list[dict[str, Any]],
    destination: Destination | None = None,
    *,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
    fail_fast: bool = False,
    raise_on_failure: bool = False,
    skip_done: bool = False,
) -> BatchResult:
    """Runs one operation over many documents in one task run: each submitted once, followed, and landed.

    One bad document does not fail the batch: its item carries the typed error, and the run completes under a state
    named "n of m failed". How submits, waits, landings and re-runs go: the guide Batches.

    Args:
        credentials: The PDF.co credentials block.
        operation: A catalogue name (``"html_to_pdf"``) or a documented path.
        items: PDF.co's parameters for each document (``{"html": ..., "name": ...}``, ``{"url": ...}``).
        destination: A directory or a storage block; None to only collect the results' links.
        max_concurrency: Submits and downloads in flight at once.
        max_wait_seconds: One deadline for all the jobs (at most a week).
        fail_fast: Stop at the first failure (documents not yet sent are not sent) and raise its error.
        raise_on_failure: Run the whole batch, then raise the first failure's error if any item failed.
        skip_done: Skip documents whose files an earlier run landed in ``destination`` (see ``.pdfco-manifest.jsonl``).

    Returns:
        One ``BatchItem`` per item, in order (index, document, job id, result, files or error), and the summary.

    Raises:
        InvalidParametersError: A bad item or argument, found before any request (every item is checked).
        PdfcoError: With ``fail_fast`` or ``raise_on_failure``, the (first) failed item's typed error.

    Example:
        ```python
        @flow
        def nightly(pages: list[str]) -> int:
            credentials = PdfcoCredentials.load("pdfco")
            items = [{"html": html, "name": f"page-{n}.pdf"} for n, html in enumerate(pages)]
            return len(run_batch(credentials, "html_to_pdf", items, destination="out/", skip_done=True).failed)
        ```
    """
    credentials = require_credentials(credentials, "run_batch")
    spec = get_operation(operation)
    checked = _check_items(spec, items, max_concurrency)
    max_wait_seconds = check_wait_seconds(max_wait_seconds, "max_wait_seconds", caller="run_batch")
    if skip_done and not isinstance(destination, (str, bytes)) and not hasattr(destination, "__fspath__"):
        raise InvalidParametersError("run_batch", ["skip_done: needs a directory destination (its manifest)"])
    outcomes = await batch_items.aio(
        credentials,
        spec,
        checked,
        destination,
        max_wait_seconds=max_wait_seconds,
        max_concurrency=max_concurrency,
        fail_fast=fail_fast,
        skip_done=skip_done,
        submit_key="batch",
    )
    batch = BatchResult(operation=spec.name, items=outcomes)
    logger = _ui.run_logger()
    (logger.warning if batch.failed else logger.info)("%s", batch.summary())
    for item in batch.failed[:20]:
        logger.warning("%s: %s", item.document, _ui.failure_line(item.error) if item.error else "failed")
    await _ui.publish_table()
    if raise_on_failure and batch.failed and batch.failed[0].error is not None:
        raise batch.failed[0].error
    return _finished(batch)  # type: ignore[return-value]


def _finished(batch: BatchResult) -> BatchResult | State[BatchResult]:
    """A clean batch completes plainly; a partly failed one completes under a name that says so."""
    if not batch.failed:
        return batch
    failed = f"{len(batch.failed)} of {len(batch.items)} failed"
    return Completed(data=batch, name=failed.capitalize(), message=f"{batch.summary()}: see the pdfco-jobs table")


def _check_items(spec: Any, items: object, max_concurrency: object) -> list[dict[str, Any]]:
    """Every item checked against the operation's parameters before the first submit."""
    problems: list[str] = []
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or not 1 <= max_concurrency <= 1000:
        problems.append(f"max_concurrency: expected a whole number from 1 to 1000, got {max_concurrency!r}")
    if not isinstance(items, list):
        raise InvalidParametersError("run_batch", [*problems, "items: expected a list of dicts of PDF.co parameters"])
    checked = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"items[{index}]: expected a dict of PDF.co parameters, got {type(item).__name__}")
            continue
        try:
            checked.append(build_payload(spec, item, caller="run_batch"))
        except PdfcoError as error:
            problems.extend(f"items[{index}]: {line}" for line in getattr(error, "errors", [str(error)]))
    if problems:
        raise InvalidParametersError("run_batch", problems)
    return checked
