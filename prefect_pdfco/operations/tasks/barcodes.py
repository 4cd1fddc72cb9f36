"""Typed tasks for barcodes: read them from PDFs and images, generate them as images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from typing_extensions import Unpack

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.options import Link, LinkOptions, OutputOptions, PageRanges, Sent, Text
from prefect_pdfco.operations.params import CommaList, InputUrl, NonEmpty
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["generate_barcode", "read_barcodes"]


class ReadBarcodesOptions(LinkOptions, total=False):
    """The options of ``read_barcodes``, and those of ``LinkOptions``.

    Attributes:
        pages: 0-based pages to scan. Default: every page.
    """

    pages: PageRanges


@operation_task
async def read_barcodes(
    credentials: PdfcoCredentials,
    url: Link,
    # The reader's page documents `type` as the barcode type and `types` for optical marks; PDF.co's n8n node
    # (https://github.com/pdfdotco/n8n-nodes-pdfco) sends barcode types in `types`, comma-separated.
    barcode_types: Annotated[Sequence[str] | str, Sent(CommaList, "types")] = ("QRCode",),
    **options: Unpack[ReadBarcodesOptions],
) -> JobSubmission:
    """Finds and decodes barcodes in a PDF or an image (``/v1/barcode/read/from/url``).

    One scan looks for every symbology asked for, on every page asked for.

    Args:
        url: The PDF's or image's link.
        barcode_types: The symbologies to look for (PDF.co requires at least one), e.g.
            ``["QRCode", "Code128", "DataMatrix"]``; also marks such as ``Checkbox``. Sent as ``types``.

    Returns:
        The job; its result URL is a JSON file listing the barcodes found (value, type, page, box).

    Raises:
        InvalidParametersError: No barcode type, bad pages... (nothing is sent).

    Example:
        Every Code 128 barcode on a sheet of shipping labels:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, fetch_result_json, read_barcodes, wait_for_job

        @flow
        def label_barcodes(labels: str) -> object:
            credentials = PdfcoCredentials.load("pdfco")
            scan = read_barcodes(credentials, labels, ["Code128"], pages="0-")
            return fetch_result_json(wait_for_job(credentials, scan.job_id))

        label_barcodes("https://example.com/labels.pdf")
        ```
    """
    return await submit_operation(credentials, "read_barcodes", locals())


class GenerateBarcodeOptions(OutputOptions, total=False):
    """The options of ``generate_barcode``, and those of ``OutputOptions``.

    Attributes:
        decoration_image: A logo's link to put in the middle of a QR code (PNG or JPG).
        inline: Return the image inline (as a data URL) rather than only a link.
    """

    decoration_image: Annotated[str, Sent(InputUrl)]
    inline: bool


@operation_task
async def generate_barcode(
    credentials: PdfcoCredentials,
    value: Text,
    barcode_type: Annotated[str, Sent(NonEmpty, "type")] = "QRCode",
    **options: Unpack[GenerateBarcodeOptions],
) -> JobSubmission:
    """Generates a barcode image (``/v1/barcode/generate``).

    QR codes (the default) take any text; other symbologies restrict ``value`` (``EAN13``: 12 or 13 digits).

    Args:
        value: The data to encode.
        barcode_type: The symbology: ``QRCode`` (the default), ``Code128``, ``DataMatrix``, ``EAN13``... (sent as
            ``type``).
        name: The output file name, e.g. ``"label.png"``.

    Returns:
        The job; its result URL is the image.

    Raises:
        InvalidParametersError: An empty value or a bad option (nothing is sent).

    Example:
        A QR code per ticket, named after it:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, generate_barcode, wait_for_job

        @flow
        def ticket_codes(tickets: list[str]) -> dict[str, str | None]:
            credentials = PdfcoCredentials.load("pdfco")
            jobs = {ticket: generate_barcode(credentials, ticket, name=f"{ticket}.png") for ticket in tickets}
            return {ticket: wait_for_job(credentials, job.job_id).url for ticket, job in jobs.items()}

        ticket_codes(["T-1001", "T-1002"])
        ```
    """
    return await submit_operation(credentials, "generate_barcode", locals())
