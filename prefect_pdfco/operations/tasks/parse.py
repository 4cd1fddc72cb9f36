"""Typed tasks that read facts out of documents: info, text search, the Document Parser, the AI invoice parser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import SecretStr

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.models import FindTextParams, ParseDocumentParams, ParseInvoiceParams
from prefect_pdfco.operations.params import UrlInputParams
from prefect_pdfco.operations.tasks._common import PageArg, operation_task, submit_operation

__all__ = ["find_text", "parse_document", "parse_invoice", "pdf_info"]


@operation_task
async def pdf_info(
    credentials: PdfcoCredentials,
    url: str,
    *,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Reads a PDF's page count, metadata, encryption and permissions (``/v1/pdf/info``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is a JSON file with an ``info`` object (``PageCount``, ``Encrypted``...).

    Raises:
        InvalidParametersError: A bad option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, pdf_info, wait_for_job

        @flow
        def page_count(url: str) -> int | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = pdf_info(credentials, url)
            return wait_for_job(credentials, job.job_id).page_count

        page_count("https://example.com/report.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_info", UrlInputParams, locals())


@operation_task
async def find_text(
    credentials: PdfcoCredentials,
    url: str,
    search_string: str,
    *,
    regex: bool | None = None,
    case_sensitive: bool | None = None,
    word_matching_mode: Literal["None", "SmartMatch", "ExactMatch"] | None = None,
    pages: PageArg | None = None,
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
    """Finds text or a regular expression, with the page and box of each match (``/v1/pdf/find``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        search_string: The text to find, or a regular expression when ``regex`` is True.
        regex: Treat ``search_string`` as a regular expression (sent as ``regexSearch``).
        case_sensitive: Match case (PDF.co's default: True).
        word_matching_mode: ``None``, ``SmartMatch`` or ``ExactMatch`` (whole words).
        pages: 0-based pages to search, e.g. ``"0-2"``. Default: every page.
        inline: Also return the matches in the job-check answer's ``body``.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is a JSON list of matches (``text``, ``left``, ``top``, ``pageIndex``...).

    Raises:
        InvalidParametersError: An empty search string or another bad option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, find_text, wait_for_job

        @flow
        def find_totals(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = find_text(credentials, url, r"Total:\\s+\\d+", regex=True)
            return wait_for_job(credentials, job.job_id).url

        find_totals("https://example.com/invoice.pdf")
        ```
    """
    return await submit_operation(credentials, "find_text", FindTextParams, locals())


@operation_task
async def parse_document(
    credentials: PdfcoCredentials,
    url: str,
    *,
    template_id: str | int | None = None,
    template: Mapping[str, Any] | str | None = None,
    output_format: Literal["JSON", "YAML", "XML", "CSV"] | None = None,
    generate_csv_headers: bool | None = None,
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
    """Extracts fields and tables with a Document Parser template (``/v1/pdf/documentparser``).

    Args:
        credentials: The PDF.co credentials block.
        url: The document's link.
        template_id: The id of a template saved at app.pdf.co. Exactly one of ``template_id`` and ``template``.
        template: The template itself: a mapping (sent as JSON) or its JSON text.
        output_format: ``JSON`` (default), ``YAML``, ``XML`` or ``CSV``.
        generate_csv_headers: Write a header row in CSV output.
        inline: Also return the result in the job-check answer's ``body`` (applies to async jobs only, which
            these are).
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL holds ``{"objects": [...]}`` (or CSV, YAML, XML as asked).

    Raises:
        InvalidParametersError: Neither or both of ``template_id`` and ``template``, or another bad option.
        PdfcoAPIError: PDF.co refused the job (447: invalid template).
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, parse_document, wait_for_job

        @flow
        def parse_orders(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = parse_document(credentials, url, template_id="1234", output_format="CSV")
            return wait_for_job(credentials, job.job_id).url

        parse_orders("https://example.com/order.pdf")
        ```
    """
    return await submit_operation(credentials, "parse_document", ParseDocumentParams, locals())


@operation_task
async def parse_invoice(
    credentials: PdfcoCredentials,
    url: str,
    *,
    custom_fields: Sequence[str] | str | None = None,
    callback: str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Reads an invoice with PDF.co's AI invoice parser (``/v1/ai-invoice-parser``, always a background job).

    Args:
        credentials: The PDF.co credentials block.
        url: The invoice's link: one invoice of at most 100 pages (split bundles first).
        custom_fields: Fields beyond the standard schema, e.g. ``["storeNumber", "lineTotal"]`` (sent as
            ``customfield``, comma-separated).
        callback: A URL PDF.co POSTs the parsed invoice to when the job ends.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job. The submit answer has no result URL (status ``created``); the success answer of the job
        check carries the parsed invoice in its ``body`` and a JSON link in ``url``. AI jobs take seconds to
        minutes: poll slowly (``get_operation("parse_invoice").poll_policy``).

    Raises:
        InvalidParametersError: A bad option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, parse_invoice, wait_for_job

        @flow
        def invoice_total(url: str) -> object:
            credentials = PdfcoCredentials.load("pdfco")
            job = parse_invoice(credentials, url)
            result = wait_for_job(credentials, job.job_id, initial_poll_seconds=5)
            return result.extra["body"]["paymentDetails"]["total"]

        invoice_total("https://example.com/invoice.pdf")
        ```
    """
    return await submit_operation(credentials, "parse_invoice", ParseInvoiceParams, locals())
