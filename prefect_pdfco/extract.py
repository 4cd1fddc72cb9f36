"""Typed tasks that read documents (info, search, parsers, OCR, barcodes) and lock or unlock them with passwords.

Every task takes the ``PdfcoCredentials`` block first and, besides its own arguments, ``extra`` (other parameters PDF.co
documents for the operation, by its names: ``{"expiration": 120}``), ``submit_key`` (a name for this submit, unique in
the flow run; by default the call's rank among identical calls) and ``resend_if_unknown`` (send again although an
earlier attempt may have been billed: check the job history first); where a task takes them and says no more, ``name``
is the output file name and ``password`` the PDF's password (never logged). Examples import ``flow`` from prefect,
``Secret`` from prefect.blocks.system and every other name from prefect_pdfco.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import SecretStr

from prefect_pdfco._exceptions import InvalidParametersError
from prefect_pdfco._params import PageArg
from prefect_pdfco._prefect_task import pdfco_task
from prefect_pdfco._submit_guard import submit_operation
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission

__all__ = ["add_password", "find_text", "make_searchable", "parse_document"]
__all__ += ["parse_invoice", "pdf_info", "read_barcodes", "remove_password"]


@pdfco_task(submits=True, task_run_name="pdf-info")
async def pdf_info(
    credentials: PdfcoCredentials,
    url: str,
    *,
    password: str | SecretStr | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Reads a PDF's page count, metadata, encryption and permissions (``/v1/pdf/info``).

    Args:
        url: The PDF's link.

    Returns:
        The job; its result URL is a JSON file with an ``info`` object (the page count is on the finished job too).

    Example:
        ```python
        @flow
        def page_count(url: str) -> int | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, pdf_info(credentials, url)).page_count
        ```
    """
    payload: dict[str, Any] = {"url": url, "password": password}
    return await submit_operation(credentials, "pdf_info", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="find-text")
async def find_text(
    credentials: PdfcoCredentials,
    url: str,
    search_string: str,
    *,
    regex: bool | None = None,
    case_sensitive: bool | None = None,
    word_matching_mode: Literal["None", "SmartMatch", "ExactMatch"] | None = None,
    pages: PageArg | None = None,
    password: str | SecretStr | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Finds text or a regular expression, with the page and box of each match (``/v1/pdf/find``).

    Args:
        url: The PDF's link.
        search_string: The text to find, or a regular expression when ``regex`` is True.
        regex: Treat ``search_string`` as a regular expression (sent as ``regexSearch``).
        case_sensitive: Match case (PDF.co's default: True).
        word_matching_mode: ``None``, ``SmartMatch`` or ``ExactMatch`` (whole words).
        pages: **0-based** pages to search, e.g. ``"0-2"``; all by default.

    Returns:
        The job; its result URL is a JSON list of matches (``text``, ``left``, ``top``, ``pageIndex``...).

    Example:
        ```python
        @flow
        def totals(invoice: str) -> object:
            credentials = PdfcoCredentials.load("pdfco")
            search = find_text(credentials, invoice, r"Total:\\s+\\d+", regex=True)
            return fetch_result_json(wait_for_job(credentials, search))
        ```
    """
    payload: dict[str, Any] = {"url": url, "searchString": search_string, "regexSearch": regex}
    payload |= {"caseSensitive": case_sensitive, "wordMatchingMode": word_matching_mode, "pages": pages}
    payload |= {"password": password}
    return await submit_operation(credentials, "find_text", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="parse-document")
async def parse_document(
    credentials: PdfcoCredentials,
    url: str,
    *,
    template_id: str | int | None = None,
    template: Mapping[str, Any] | str | None = None,
    output_format: Literal["JSON", "YAML", "XML", "CSV"] | None = None,
    generate_csv_headers: bool | None = None,
    password: str | SecretStr | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Extracts fields and tables with a Document Parser template (``/v1/pdf/documentparser``).

    Args:
        url: The document's link.
        template_id: The id of a template saved at app.pdf.co; exactly one of ``template_id`` and ``template``.
        template: The template itself: a mapping (sent as JSON) or its JSON text.
        output_format: ``JSON`` (the default), ``YAML``, ``XML`` or ``CSV``.
        generate_csv_headers: Write a header row in CSV output.

    Returns:
        The job; its result URL holds ``{"objects": [...]}`` (or CSV, YAML, XML as asked).

    Example:
        ```python
        @flow
        def order_fields(order: str) -> object:
            credentials = PdfcoCredentials.load("pdfco")
            return fetch_result_json(wait_for_job(credentials, parse_document(credentials, order, template_id=1234)))
        ```
    """
    if (template_id is None) == (template is None):
        raise InvalidParametersError("parse_document", ["pass exactly one of template_id or template"])
    payload: dict[str, Any] = {"url": url, "templateId": template_id, "template": template}
    payload |= {"outputFormat": output_format, "generateCsvHeaders": generate_csv_headers, "password": password}
    return await submit_operation(credentials, "parse_document", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="parse-invoice")
async def parse_invoice(
    credentials: PdfcoCredentials,
    url: str,
    *,
    custom_fields: Sequence[str] | str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Reads an invoice of at most 100 pages with PDF.co's AI invoice parser (``/v1/ai-invoice-parser``).

    Args:
        url: The invoice's link.
        custom_fields: Fields beyond the standard schema, e.g. ``["poNumber"]`` (sent as ``customField``).

    Returns:
        The job (always a background one); the finished job carries the parsed invoice in ``extra["body"]``.

    Example:
        ```python
        @flow
        def invoice_total(url: str) -> object:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, parse_invoice(credentials, url)).extra["body"]["paymentDetails"]["total"]
        ```
    """
    payload: dict[str, Any] = {"url": url, "customField": custom_fields}
    return await submit_operation(credentials, "parse_invoice", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="make-searchable")
async def make_searchable(
    credentials: PdfcoCredentials,
    url: str,
    *,
    lang: str | None = None,
    pages: PageArg | None = None,
    rect: str | Sequence[float] | None = None,
    password: str | SecretStr | None = None,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """OCRs scanned pages into a searchable PDF, a text layer under the images (``/v1/pdf/makesearchable``).

    Args:
        url: The scanned PDF's (or image's) link.
        lang: OCR language(s): ``"eng"`` (PDF.co's default), ``"deu"``, ``"eng+deu"``...
        pages: **0-based** pages to OCR; all by default.
        rect: OCR only this area: ``"x, y, width, height"`` in points, or four numbers.

    Returns:
        The job; its result URL is the searchable PDF. OCR is slow: PDF.co advises a first check after a minute.

    Example:
        ```python
        @flow
        def ocr(scan: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, make_searchable(credentials, scan, lang="eng+deu")).url
        ```
    """
    payload = {"url": url, "lang": lang, "pages": pages, "rect": rect, "password": password, "name": name}
    return await submit_operation(credentials, "make_searchable", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="read-barcodes")
async def read_barcodes(
    credentials: PdfcoCredentials,
    url: str,
    barcode_types: Sequence[str] | str = ("QRCode",),
    *,
    pages: PageArg | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Finds and decodes barcodes in a PDF or an image (``/v1/barcode/read/from/url``).

    Args:
        url: The PDF's or image's link.
        barcode_types: The symbologies to look for, e.g. ``["QRCode", "Code128", "DataMatrix"]`` (sent as ``types``).
        pages: **0-based** pages to scan; all by default.

    Returns:
        The job; its result URL is a JSON file listing the barcodes found (value, type, page, box).

    Example:
        ```python
        @flow
        def label_codes(labels: str) -> object:
            credentials = PdfcoCredentials.load("pdfco")
            return fetch_result_json(wait_for_job(credentials, read_barcodes(credentials, labels, ["Code128"])))
        ```
    """
    payload: dict[str, Any] = {"url": url, "types": barcode_types, "pages": pages}
    return await submit_operation(credentials, "read_barcodes", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="add-password")
async def add_password(
    credentials: PdfcoCredentials,
    url: str,
    *,
    owner_password: str | SecretStr | None = None,
    user_password: str | SecretStr | None = None,
    encryption_algorithm: Literal["RC4_40bit", "RC4_128bit", "AES_128bit", "AES_256bit"] | None = None,
    allow_print_document: bool | None = None,
    allow_fill_forms: bool | None = None,
    allow_modify_document: bool | None = None,
    allow_content_extraction: bool | None = None,
    allow_modify_annotations: bool | None = None,
    allow_accessibility_support: bool | None = None,
    allow_assembly_document: bool | None = None,
    print_quality: Literal["HighResolution", "LowResolution"] | None = None,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Encrypts a PDF with passwords and permissions (``/v1/pdf/security/add``); its input must not be locked.

    Args:
        url: The PDF's link.
        owner_password: Unlocks everything, permissions included; at least one of the two passwords (never logged).
        user_password: Needed to open the document (never logged).
        encryption_algorithm: ``AES_128bit`` (PDF.co's default), ``AES_256bit``, ``RC4_128bit`` or ``RC4_40bit``.
        allow_print_document: Permit printing (the ``allow_*`` flags bind users who open with the user password).
        allow_fill_forms: Permit filling form fields.
        allow_modify_document: Permit changes.
        allow_content_extraction: Permit copying text and images.
        allow_modify_annotations: Permit adding or changing annotations.
        allow_accessibility_support: Permit extraction for accessibility tools.
        allow_assembly_document: Permit inserting, rotating and deleting pages.
        print_quality: ``HighResolution`` or ``LowResolution``.

    Returns:
        The job; its result URL is the encrypted PDF.

    Example:
        ```python
        @flow
        def protect(url: str) -> str | None:
            credentials, owner = PdfcoCredentials.load("pdfco"), Secret.load("pdf-owner-password").get()
            return wait_for_job(credentials, add_password(credentials, url, owner_password=owner)).url
        ```
    """
    given = [p for p in (owner_password, user_password) if p is not None]
    if not any(p.get_secret_value() if isinstance(p, SecretStr) else p for p in given):
        raise InvalidParametersError("add_password", ["pass owner_password and/or user_password"])
    payload: dict[str, Any] = {"url": url, "ownerPassword": owner_password, "userPassword": user_password}
    payload |= {"encryptionAlgorithm": encryption_algorithm, "allowPrintDocument": allow_print_document}
    payload |= {"allowFillForms": allow_fill_forms, "allowModifyDocument": allow_modify_document}
    payload |= {"allowContentExtraction": allow_content_extraction, "allowModifyAnnotations": allow_modify_annotations}
    payload |= {"allowAccessibilitySupport": allow_accessibility_support}
    payload |= {"allowAssemblyDocument": allow_assembly_document, "printQuality": print_quality, "name": name}
    return await submit_operation(credentials, "add_password", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="remove-password")
async def remove_password(
    credentials: PdfcoCredentials,
    url: str,
    password: str | SecretStr,
    *,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Removes a PDF's passwords and restrictions (``/v1/pdf/security/remove``); a wrong one fails the job (441).

    Args:
        url: The protected PDF's link.
        password: Its owner or user password (never logged).

    Returns:
        The job; its result URL is the unprotected PDF.

    Example:
        ```python
        @flow
        def unlock(locked: str) -> str | None:
            credentials, password = PdfcoCredentials.load("pdfco"), Secret.load("pdf-password").get()
            return wait_for_job(credentials, remove_password(credentials, locked, password)).url
        ```
    """
    if not (password.get_secret_value() if isinstance(password, SecretStr) else password):
        raise InvalidParametersError("remove_password", ["password: the document's owner or user password is required"])
    payload: dict[str, Any] = {"url": url, "password": password, "name": name}
    return await submit_operation(credentials, "remove_password", payload, extra, submit_key, resend_if_unknown)
