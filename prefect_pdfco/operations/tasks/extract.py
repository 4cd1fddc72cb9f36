"""Typed tasks that turn PDFs into data: text, JSON, CSV and HTML.

Pages here count from 0 (``"0"`` is the first page, ``"!0"`` the last), unlike split and delete-pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import SecretStr

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.models import PdfToHtmlParams, TextExtractionParams
from prefect_pdfco.operations.tasks._common import PageArg, operation_task, submit_operation

__all__ = ["pdf_to_csv", "pdf_to_html", "pdf_to_json", "pdf_to_text"]


@operation_task
async def pdf_to_text(
    credentials: PdfcoCredentials,
    url: str,
    *,
    pages: PageArg | None = None,
    lang: str | None = None,
    rect: str | Sequence[float] | None = None,
    inline: bool | None = None,
    unwrap: bool | None = None,
    line_grouping: Literal[1, 2, 3, "1", "2", "3"] | None = None,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Extracts text with its layout (``/v1/pdf/convert/to/text``); scanned pages are OCR'd.

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link (upload local files with ``upload_file`` first).
        pages: 0-based pages: ``"0,2-4,7-"``, ``"!0"`` (the last page), or a list such as ``[0, "2-4"]``.
            Default: every page.
        lang: OCR language(s) for scanned pages: ``"eng"``, ``"eng+deu"``...
        rect: Extract only this area: ``"x, y, width, height"`` in points, or four numbers.
        inline: Also return the text in the job-check answer's ``body``.
        unwrap: Join the lines of a table cell into one (with ``line_grouping``).
        line_grouping: How lines group into table cells: 1 by rows, 2 by columns, 3 join orphaned rows.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url`` (HTTP basic auth).
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is a text file. OCR jobs take a while: poll slowly
        (``get_operation("pdf_to_text").poll_policy``).

    Raises:
        InvalidParametersError: Bad pages syntax or another bad option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, pdf_to_text, wait_for_job

        @flow
        def first_pages_text(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = pdf_to_text(credentials, url, pages="0-1")
            return wait_for_job(credentials, job.job_id, initial_poll_seconds=10).url

        first_pages_text("https://example.com/report.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_to_text", TextExtractionParams, locals())


@operation_task
async def pdf_to_json(
    credentials: PdfcoCredentials,
    url: str,
    *,
    pages: PageArg | None = None,
    lang: str | None = None,
    rect: str | Sequence[float] | None = None,
    inline: bool | None = None,
    unwrap: bool | None = None,
    line_grouping: Literal[1, 2, 3, "1", "2", "3"] | None = None,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Converts a PDF to JSON: pages, rows and text runs with fonts and positions (``/v1/pdf/convert/to/json2``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        pages: 0-based pages, e.g. ``"0,2-4"`` or ``"!0"`` (the last). Default: every page.
        lang: OCR language(s) for scanned pages.
        rect: Extract only this area: ``"x, y, width, height"`` in points.
        inline: Also return the JSON in the job-check answer's ``body``.
        unwrap: Join the lines of a table cell into one (with ``line_grouping``).
        line_grouping: How lines group into table cells: 1 by rows, 2 by columns, 3 join orphaned rows.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is a JSON file.

    Raises:
        InvalidParametersError: Bad pages syntax or another bad option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, pdf_to_json, wait_for_job

        @flow
        def layout(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = pdf_to_json(credentials, url, pages="0")
            return wait_for_job(credentials, job.job_id).url

        layout("https://example.com/report.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_to_json", TextExtractionParams, locals())


@operation_task
async def pdf_to_csv(
    credentials: PdfcoCredentials,
    url: str,
    *,
    pages: PageArg | None = None,
    lang: str | None = None,
    rect: str | Sequence[float] | None = None,
    inline: bool | None = None,
    unwrap: bool | None = None,
    line_grouping: Literal[1, 2, 3, "1", "2", "3"] | None = None,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Extracts tables and text as CSV (``/v1/pdf/convert/to/csv``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        pages: 0-based pages, e.g. ``"1-"`` (all but the first). Default: every page.
        lang: OCR language(s) for scanned pages.
        rect: Extract only this area (a table's box): ``"x, y, width, height"`` in points.
        inline: Also return the CSV in the job-check answer's ``body``.
        unwrap: Join the lines of a table cell into one (with ``line_grouping``).
        line_grouping: How lines group into table cells: 1 by rows, 2 by columns, 3 join orphaned rows.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is a CSV file.

    Raises:
        InvalidParametersError: Bad pages syntax or another bad option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, pdf_to_csv, wait_for_job

        @flow
        def statement_rows(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = pdf_to_csv(credentials, url, pages="0-", line_grouping=1)
            return wait_for_job(credentials, job.job_id).url

        statement_rows("https://example.com/statement.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_to_csv", TextExtractionParams, locals())


@operation_task
async def pdf_to_html(
    credentials: PdfcoCredentials,
    url: str,
    *,
    pages: PageArg | None = None,
    rect: str | Sequence[float] | None = None,
    simple: bool | None = None,
    columns: bool | None = None,
    inline: bool | None = None,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
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
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is an HTML file.

    Raises:
        InvalidParametersError: Bad pages syntax or another bad option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, pdf_to_html, wait_for_job

        @flow
        def to_web(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = pdf_to_html(credentials, url, simple=True)
            return wait_for_job(credentials, job.job_id).url

        to_web("https://example.com/brochure.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_to_html", PdfToHtmlParams, locals())
