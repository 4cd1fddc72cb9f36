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
    Text,
)
from prefect_pdfco.operations.params import CommaList, OutputFormat
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["find_text", "parse_document", "parse_invoice", "pdf_info"]


class PdfInfoOptions(FetchOptions, JobOptions, total=False):
    """The options of ``pdf_info``: those of a PDF input, but no output ``name``.

    Attributes:
        password: The PDF's password, if it has one (never logged).
        expiration: Minutes the result link lives (1-1440).
    """

    password: Password
    expiration: Minutes


@operation_task
async def pdf_info(credentials: PdfcoCredentials, url: Link, **options: Unpack[PdfInfoOptions]) -> JobSubmission:
    """Reads a PDF's page count, metadata, encryption and permissions (``/v1/pdf/info``).

    The page count is on the finished job as well (``JobResult.page_count``).

    Args:
        url: The PDF's link.

    Returns:
        The job; its result URL is a JSON file with an ``info`` object (``PageCount``, ``Encrypted``...).

    Example:
        The page count is also on the finished job itself:
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


class FindTextOptions(PdfOptions, total=False):
    """The options of ``find_text``, and those of ``PdfOptions``.

    Attributes:
        regex: Treat ``search_string`` as a regular expression (sent as ``regexSearch``).
        case_sensitive: Match case (PDF.co's default: True).
        word_matching_mode: ``None``, ``SmartMatch`` or ``ExactMatch`` (whole words).
        pages: 0-based pages to search, e.g. ``"0-2"``. Default: every page.
        inline: Also return the matches in the job-check answer's ``body``.
    """

    regex: Annotated[bool, Sent(name="regexSearch")]
    case_sensitive: bool
    word_matching_mode: Literal["None", "SmartMatch", "ExactMatch"]
    pages: PageRanges
    inline: bool


@operation_task
async def find_text(
    credentials: PdfcoCredentials,
    url: Link,
    search_string: Text,
    **options: Unpack[FindTextOptions],
) -> JobSubmission:
    """Finds text or a regular expression, with the page and box of each match (``/v1/pdf/find``).

    Boxes are in points from the top-left corner: where ``add_to_pdf`` can stamp something beside a match.

    Args:
        url: The PDF's link.
        search_string: The text to find, or a regular expression when ``regex`` is True.

    Returns:
        The job; its result URL is a JSON list of matches (``text``, ``left``, ``top``, ``pageIndex``...).

    Raises:
        InvalidParametersError: An empty search string or another bad option (nothing is sent).

    Example:
        The totals on the last page of an invoice:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, fetch_result_json, find_text, wait_for_job

        @flow
        def totals(invoice: str, pages: str = "!0") -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            search = find_text(credentials, invoice, r"Total:\\s+\\d+", regex=True, pages=pages)
            matches = fetch_result_json(wait_for_job(credentials, search.job_id))
            return [match["text"] for match in matches]

        totals("https://example.com/invoice.pdf")
        ```
    """
    return await submit_operation(credentials, "find_text", locals())


def _one_template(values: Mapping[str, Any]) -> None:
    if (values["template_id"] is None) == (values["template"] is None):
        raise ValueError("pass exactly one of template_id or template")


class ParseDocumentOptions(PdfOptions, total=False):
    """The options of ``parse_document``, and those of ``PdfOptions``.

    Attributes:
        template_id: The id of a template saved at app.pdf.co. Exactly one of ``template_id`` and ``template``.
        template: The template itself: a mapping (sent as JSON) or its JSON text.
        output_format: ``JSON`` (default), ``YAML``, ``XML`` or ``CSV``.
        generate_csv_headers: Write a header row in CSV output.
        inline: Also return the result in the job-check answer's ``body`` (applies to async jobs only, which
            these are).
    """

    template_id: TemplateId
    template: Json
    output_format: Annotated[Literal["JSON", "YAML", "XML", "CSV"], Sent(OutputFormat)]
    generate_csv_headers: bool
    inline: bool


@operation_task
async def parse_document(
    credentials: PdfcoCredentials, url: Link, **options: Unpack[ParseDocumentOptions]
) -> JobSubmission:
    """Extracts fields and tables with a Document Parser template (``/v1/pdf/documentparser``).

    Templates are made in PDF.co's Document Parser editor (app.pdf.co), or passed here as JSON.

    Args:
        url: The document's link.

    Returns:
        The job; its result URL holds ``{"objects": [...]}`` (or CSV, YAML, XML as asked).

    Raises:
        InvalidParametersError: Neither or both of ``template_id`` and ``template``, or another bad option.
        PdfcoAPIError: PDF.co refused the job (447: invalid template).

    Example:
        Orders parsed with one saved template, each to a CSV file:
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


class ParseInvoiceOptions(JobOptions, total=False):
    """The options of ``parse_invoice``, and those of ``JobOptions``.

    Attributes:
        custom_fields: Fields beyond the standard schema, e.g. ``["storeNumber", "lineTotal"]`` (sent as
            ``customfield``, comma-separated: the spelling of PDF.co's OpenAPI description and n8n node).
    """

    custom_fields: Annotated[Sequence[str] | str, Sent(CommaList, "customfield")]


@operation_task
async def parse_invoice(
    credentials: PdfcoCredentials, url: Link, **options: Unpack[ParseInvoiceOptions]
) -> JobSubmission:
    """Reads an invoice with PDF.co's AI invoice parser (``/v1/ai-invoice-parser``, always a background job).

    One invoice per call, of at most 100 pages: split bundles first.

    Args:
        url: The invoice's link.
        callback: A URL PDF.co POSTs the parsed invoice to when the job ends.

    Returns:
        The job. The submit answer has no result URL (status ``created``); the success answer of the job
        check carries the parsed invoice in its ``body`` and a JSON link in ``url``. AI jobs take seconds to
        minutes: poll slowly (``get_operation("parse_invoice").poll_policy``).

    Example:
        The total, straight from the finished job's answer:
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
