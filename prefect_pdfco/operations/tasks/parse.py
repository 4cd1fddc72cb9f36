"""Typed tasks that read facts out of documents: info, text search, the Document Parser, the AI invoice parser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from typing_extensions import Unpack

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.options import (
    FetchOptions,
    JobOptions,
    Json,
    Link,
    Minutes,
    PageRanges,
    Password,
    PdfOptions,
    Sent,
    TemplateId,
)
from prefect_pdfco.operations.params import CommaList, NonEmpty, OutputFormat
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["find_text", "parse_document", "parse_invoice", "pdf_info"]


class InfoOptions(FetchOptions, JobOptions, total=False):
    """The options of ``pdf_info``: fetching the input, and the job options."""


@operation_task
async def pdf_info(
    credentials: PdfcoCredentials,
    url: Link,
    *,
    password: Password | None = None,
    expiration: Minutes | None = None,
    **options: Unpack[InfoOptions],
) -> JobSubmission:
    """Reads a PDF's page count, metadata, encryption and permissions (``/v1/pdf/info``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        password: The PDF's password, if it has one (never logged).
        expiration: Minutes the result link lives (1-1440). PDF.co's info takes no output ``name``.

    Returns:
        The job; its result URL is a JSON file with an ``info`` object (``PageCount``, ``Encrypted``...).

    Raises:
        InvalidParametersError: A bad option (nothing is sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, pdf_info, wait_for_job

        @flow(log_prints=True)
        def page_count(url: str) -> int | None:
            credentials = PdfcoCredentials.load("pdfco")
            info = wait_for_job(credentials, pdf_info(credentials, url).job_id)
            print(f"{url}: {info.page_count} pages")
            return info.page_count

        page_count("https://example.com/report.pdf")
        ```
    """
    return await submit_operation(credentials, "pdf_info", locals())


@operation_task
async def find_text(
    credentials: PdfcoCredentials,
    url: Link,
    search_string: Annotated[str, Sent(NonEmpty)],
    *,
    regex: Annotated[bool, Sent(name="regexSearch")] | None = None,
    case_sensitive: bool | None = None,
    word_matching_mode: Literal["None", "SmartMatch", "ExactMatch"] | None = None,
    pages: PageRanges | None = None,
    inline: bool | None = None,
    **options: Unpack[PdfOptions],
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

    Returns:
        The job; its result URL is a JSON list of matches (``text``, ``left``, ``top``, ``pageIndex``...).

    Raises:
        InvalidParametersError: An empty search string or another bad option (nothing is sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, fetch_result_json, find_text, wait_for_job

        @flow
        def totals(invoice: str) -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            search = find_text(credentials, invoice, r"Total:\\s+\\d+", regex=True, pages="!0")
            matches = fetch_result_json(wait_for_job(credentials, search.job_id))
            return [match["text"] for match in matches]

        totals("https://example.com/invoice.pdf")
        ```
    """
    return await submit_operation(credentials, "find_text", locals())


def _one_template(values: Mapping[str, Any]) -> None:
    if (values["template_id"] is None) == (values["template"] is None):
        raise ValueError("pass exactly one of template_id or template")


@operation_task
async def parse_document(
    credentials: PdfcoCredentials,
    url: Link,
    *,
    template_id: TemplateId | None = None,
    template: Json | None = None,
    output_format: Annotated[Literal["JSON", "YAML", "XML", "CSV"], Sent(OutputFormat)] | None = None,
    generate_csv_headers: bool | None = None,
    inline: bool | None = None,
    **options: Unpack[PdfOptions],
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

    Returns:
        The job; its result URL holds ``{"objects": [...]}`` (or CSV, YAML, XML as asked).

    Raises:
        InvalidParametersError: Neither or both of ``template_id`` and ``template``, or another bad option.
        PdfcoAPIError: PDF.co refused the job (447: invalid template).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, download_result, parse_document, wait_for_job

        @flow
        def orders_to_csv(orders: list[str]) -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            jobs = [parse_document(credentials, order, template_id=1234, output_format="CSV") for order in orders]
            done = [wait_for_job(credentials, job.job_id) for job in jobs]
            return [download_result(result, "./orders").path for result in done]

        orders_to_csv(["https://example.com/order-1.pdf", "https://example.com/order-2.pdf"])
        ```
    """
    return await submit_operation(credentials, "parse_document", locals(), _one_template)


@operation_task
async def parse_invoice(
    credentials: PdfcoCredentials,
    url: Link,
    *,
    custom_fields: Annotated[Sequence[str] | str, Sent(CommaList, "customfield")] | None = None,
    **options: Unpack[JobOptions],
) -> JobSubmission:
    """Reads an invoice with PDF.co's AI invoice parser (``/v1/ai-invoice-parser``, always a background job).

    Args:
        credentials: The PDF.co credentials block.
        url: The invoice's link: one invoice of at most 100 pages (split bundles first).
        custom_fields: Fields beyond the standard schema, e.g. ``["storeNumber", "lineTotal"]`` (sent as
            ``customfield``, comma-separated: the spelling of PDF.co's OpenAPI description and n8n node).
        callback: A URL PDF.co POSTs the parsed invoice to when the job ends.

    Returns:
        The job. The submit answer has no result URL (status ``created``); the success answer of the job
        check carries the parsed invoice in its ``body`` and a JSON link in ``url``. AI jobs take seconds to
        minutes: poll slowly (``get_operation("parse_invoice").poll_policy``).

    Raises:
        InvalidParametersError: A bad option (nothing is sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, parse_invoice, wait_for_job

        @flow
        def invoice_total(url: str) -> object:
            credentials = PdfcoCredentials.load("pdfco")
            job = parse_invoice(credentials, url, custom_fields=["poNumber"])
            result = wait_for_job(credentials, job.job_id, initial_poll_seconds=5)
            return result.extra["body"]["paymentDetails"]["total"]

        invoice_total("https://example.com/invoice.pdf")
        ```
    """
    return await submit_operation(credentials, "parse_invoice", locals())
