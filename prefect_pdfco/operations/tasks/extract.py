"""Typed tasks that turn PDFs into data: text, JSON, CSV and HTML.

Pages here count from 0 (``"0"`` is the first page, ``"!0"`` the last), unlike split and delete-pages.
"""

from __future__ import annotations

from typing_extensions import Unpack

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.options import Area, ExtractionOptions, Link, PageRanges, PdfOptions
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["pdf_to_csv", "pdf_to_html", "pdf_to_json", "pdf_to_text"]


@operation_task
async def pdf_to_text(credentials: PdfcoCredentials, url: Link, **options: Unpack[ExtractionOptions]) -> JobSubmission:
    """Extracts text with its layout (``/v1/pdf/convert/to/text``); scanned pages are OCR'd.

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link (upload local files with ``upload_file`` first).

    Returns:
        The job; its result URL is a text file. OCR jobs take a while: poll slowly
        (``get_operation("pdf_to_text").poll_policy``).

    Raises:
        InvalidParametersError: Bad pages syntax or another bad option (nothing is sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, fetch_result_text, pdf_to_text, wait_for_job

        @flow
        def first_pages_text(url: str) -> str:
            credentials = PdfcoCredentials.load("pdfco")
            job = pdf_to_text(credentials, url, pages="0-1", lang="eng+deu")
            return fetch_result_text(wait_for_job(credentials, job.job_id, initial_poll_seconds=10))

        first_pages_text("https://example.com/report.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_to_text", locals())


@operation_task
async def pdf_to_json(credentials: PdfcoCredentials, url: Link, **options: Unpack[ExtractionOptions]) -> JobSubmission:
    """Converts a PDF to JSON: pages, rows and text runs with fonts and positions (``/v1/pdf/convert/to/json2``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.

    Returns:
        The job; its result URL is a JSON file.

    Raises:
        InvalidParametersError: Bad pages syntax or another bad option (nothing is sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, fetch_result_json, pdf_to_json, wait_for_job

        @flow
        def last_page_layout(url: str) -> object:
            credentials = PdfcoCredentials.load("pdfco")
            submitted = pdf_to_json.submit(credentials, url, pages="!0")  # runs beside other work
            return fetch_result_json(wait_for_job(credentials, submitted.result().job_id))

        last_page_layout("https://example.com/report.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_to_json", locals())


@operation_task
async def pdf_to_csv(credentials: PdfcoCredentials, url: Link, **options: Unpack[ExtractionOptions]) -> JobSubmission:
    """Extracts tables and text as CSV (``/v1/pdf/convert/to/csv``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        rect: Extract only this area (a table's box): ``"x, y, width, height"`` in points, or four numbers.

    Returns:
        The job; its result URL is a CSV file.

    Raises:
        InvalidParametersError: Bad pages syntax or another bad option (nothing is sent).

    Example:
        ```python
        import csv
        import io

        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, fetch_result_text, pdf_to_csv, wait_for_job

        @flow
        def statement_rows(url: str) -> list[list[str]]:
            credentials = PdfcoCredentials.load("pdfco")
            rows = wait_for_job(credentials, pdf_to_csv(credentials, url, line_grouping=1).job_id)
            return list(csv.reader(io.StringIO(fetch_result_text(rows))))

        statement_rows("https://example.com/statement.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_to_csv", locals())


@operation_task
async def pdf_to_html(
    credentials: PdfcoCredentials,
    url: Link,
    *,
    pages: PageRanges | None = None,
    rect: Area | None = None,
    simple: bool | None = None,
    columns: bool | None = None,
    inline: bool | None = None,
    **options: Unpack[PdfOptions],
) -> JobSubmission:
    """Converts a PDF to HTML (``/v1/pdf/convert/to/html``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        pages: 0-based pages, e.g. ``"0-2"``. Default: every page.
        rect: Convert only this area: ``"x, y, width, height"`` in points.
        simple: Plain HTML without the exact layout.
        columns: Keep text columns apart.
        inline: Also return the HTML in the job-check answer's ``body``.

    Returns:
        The job; its result URL is an HTML file.

    Raises:
        InvalidParametersError: Bad pages syntax or another bad option (nothing is sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, download_result, pdf_to_html, wait_for_job

        @flow
        def publish(brochure: str) -> str:
            credentials = PdfcoCredentials.load("pdfco")
            page = wait_for_job(credentials, pdf_to_html(credentials, brochure, simple=True).job_id)
            return download_result(page, "./site", filename="brochure.html").path

        publish("https://example.com/brochure.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_to_html", locals())
