"""Typed tasks that turn PDFs into data: text, JSON, CSV and HTML.

Pages here count from 0 (``"0"`` is the first page, ``"!0"`` the last), unlike split and delete-pages.
"""

from __future__ import annotations

from typing import Annotated, Literal

from typing_extensions import Unpack

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.options import Area, Link, OcrLanguages, PageRanges, PdfOptions, Sent
from prefect_pdfco.operations.params import LineGrouping
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["pdf_to_csv", "pdf_to_html", "pdf_to_json", "pdf_to_text"]


class ExtractionOptions(PdfOptions, total=False):
    """Options of text extraction (PDF to text, JSON and CSV), and those of every PDF input.

    Attributes:
        pages: 0-based pages: ``"0,2-4,7-"``, ``"!0"`` (the last page), or a list such as ``[0, "2-4"]``.
            Default: every page.
        lang: OCR language(s) for scanned pages: ``"eng"``, ``"eng+deu"``...
        rect: Extract only this area: ``"x, y, width, height"`` in points, or four numbers.
        inline: Also return the result in the job-check answer's ``body``.
        unwrap: Join the lines of a table cell into one (with ``line_grouping``).
        line_grouping: How lines group into table cells: 1 by rows, 2 by columns, 3 join orphaned rows.
    """

    pages: PageRanges
    lang: OcrLanguages
    rect: Area
    inline: bool
    unwrap: bool
    line_grouping: Annotated[Literal[1, 2, 3, "1", "2", "3"], Sent(LineGrouping)]


@operation_task
async def pdf_to_text(credentials: PdfcoCredentials, url: Link, **options: Unpack[ExtractionOptions]) -> JobSubmission:
    """Extracts text with its layout (``/v1/pdf/convert/to/text``); scanned pages are OCR'd.

    OCR takes a while: poll slowly, as ``get_operation("pdf_to_text").poll_policy`` does.

    Args:
        url: The PDF's link (upload local files with ``upload_file`` first).

    Returns:
        The job; its result URL is a text file (``fetch_result_text`` reads it).

    Example:
        The first two pages of a German and English scan:
        ```python
        from prefect import flow, task
        from prefect_pdfco import PdfcoCredentials, fetch_result_text, pdf_to_text, wait_for_job

        @task
        def word_count(text: str) -> int:
            return len(text.split())

        @flow
        def first_pages_words(url: str) -> int:
            credentials = PdfcoCredentials.load("pdfco")
            job = pdf_to_text(credentials, url, pages="0-1", lang="eng+deu")
            return word_count(fetch_result_text(wait_for_job(credentials, job.job_id, initial_poll_seconds=10)))

        first_pages_words("https://example.com/scan.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_to_text", locals())


@operation_task
async def pdf_to_json(credentials: PdfcoCredentials, url: Link, **options: Unpack[ExtractionOptions]) -> JobSubmission:
    """Converts a PDF to JSON: pages, rows and text runs with fonts and positions (``/v1/pdf/convert/to/json2``).

    This is PDF.co's newer JSON converter; the catalogue's ``pdf_to_json_legacy`` is the older one.

    Args:
        url: The PDF's link.

    Returns:
        The job, whose result URL is the JSON document.

    Example:
        ``.submit()`` starts the task beside other work and gives a future:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, fetch_result_json, pdf_to_json, wait_for_job

        @flow
        def last_page_layout(url: str) -> dict[str, object]:
            credentials = PdfcoCredentials.load("pdfco")
            submitted = pdf_to_json.submit(credentials, url, pages="!0")
            return fetch_result_json(wait_for_job(credentials, submitted.result().job_id))

        last_page_layout("https://example.com/report.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_to_json", locals())


@operation_task
async def pdf_to_csv(credentials: PdfcoCredentials, url: Link, **options: Unpack[ExtractionOptions]) -> JobSubmission:
    """Extracts tables and text as CSV (``/v1/pdf/convert/to/csv``).

    Best on tabular pages: pick one table with ``rect``, and tune how lines group into cells.

    Args:
        url: The PDF's link.
        rect: Extract only this area (a table's box): ``"x, y, width, height"`` in points, or four numbers.

    Returns:
        The job; a CSV file is behind its result URL.

    Example:
        Rows of a bank statement, one table cell per column:
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


class PdfToHtmlOptions(PdfOptions, total=False):
    """The options of ``pdf_to_html``, and those of ``PdfOptions``.

    Attributes:
        pages: 0-based pages, e.g. ``"0-2"``. Default: every page.
        rect: Convert only this area: ``"x, y, width, height"`` in points.
        simple: Plain HTML without the exact layout.
        columns: Keep text columns apart.
        inline: Also return the HTML in the job-check answer's ``body``.
    """

    pages: PageRanges
    rect: Area
    simple: bool
    columns: bool
    inline: bool


@operation_task
async def pdf_to_html(credentials: PdfcoCredentials, url: Link, **options: Unpack[PdfToHtmlOptions]) -> JobSubmission:
    """Converts a PDF to HTML (``/v1/pdf/convert/to/html``).

    Text stays text in the HTML: searchable, selectable, and readable by screen readers.

    Args:
        url: The PDF's link.

    Returns:
        The job; its result is an HTML file.

    Example:
        A brochure as a web page, saved under a chosen name:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, download_result, pdf_to_html, wait_for_job

        @flow(name="publish-brochure")
        def publish(brochure: str, site: str = "./site") -> str:
            credentials = PdfcoCredentials.load("pdfco")
            page = wait_for_job(credentials, pdf_to_html(credentials, brochure, simple=True).job_id)
            return download_result(page, site, filename="brochure.html").path

        publish("https://example.com/brochure.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_to_html", locals())
