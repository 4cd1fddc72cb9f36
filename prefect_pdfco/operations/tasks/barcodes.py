"""Typed tasks for barcodes: read them from PDFs and images, generate them as images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import SecretStr

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.models import GenerateBarcodeParams, ReadBarcodesParams
from prefect_pdfco.operations.tasks._common import PageArg, operation_task, submit_operation

__all__ = ["generate_barcode", "read_barcodes"]


@operation_task
async def read_barcodes(
    credentials: PdfcoCredentials,
    url: str,
    barcode_types: Sequence[str] | str = ("QRCode",),
    *,
    pages: PageArg | None = None,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Finds and decodes barcodes in a PDF or an image (``/v1/barcode/read/from/url``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's or image's link.
        barcode_types: The symbologies to look for (PDF.co requires at least one), e.g.
            ``["QRCode", "Code128", "DataMatrix"]``; also marks such as ``Checkbox``. Sent as ``types``.
        pages: 0-based pages to scan. Default: every page.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is a JSON file listing the barcodes found (value, type, page, box).

    Raises:
        InvalidParametersError: No barcode type, bad pages... (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, read_barcodes, wait_for_job

        @flow
        def shipping_labels(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = read_barcodes(credentials, url, ["Code128", "QRCode"], pages="0-")
            return wait_for_job(credentials, job.job_id).url

        shipping_labels("https://example.com/labels.pdf")
        ```
    """
    return await submit_operation(credentials, "read_barcodes", ReadBarcodesParams, locals())


@operation_task
async def generate_barcode(
    credentials: PdfcoCredentials,
    value: str,
    barcode_type: str = "QRCode",
    *,
    decoration_image: str | None = None,
    inline: bool | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Generates a barcode image (``/v1/barcode/generate``).

    Args:
        credentials: The PDF.co credentials block.
        value: The data to encode.
        barcode_type: The symbology: ``QRCode`` (the default), ``Code128``, ``DataMatrix``, ``EAN13``... (sent as
            ``type``).
        decoration_image: A logo's link to put in the middle of a QR code (PNG or JPG).
        inline: Return the image inline (as a data URL) rather than only a link.
        name: The output file name, e.g. ``"label.png"``.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the image.

    Raises:
        InvalidParametersError: An empty value or a bad option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, generate_barcode, wait_for_job

        @flow
        def ticket_code(ticket_id: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = generate_barcode(credentials, ticket_id, "QRCode", name=f"{ticket_id}.png")
            return wait_for_job(credentials, job.job_id).url

        ticket_code("T-1001")
        ```
    """
    return await submit_operation(credentials, "generate_barcode", GenerateBarcodeParams, locals())
