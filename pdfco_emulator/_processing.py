"""Real document processing behind the PDF.co emulator: pure functions, bytes in, results out.

:func:`process` is the single entry point the server calls with a normalized endpoint path, the request
parameters as sent (JSON or form values; names matched case-insensitively, booleans accepted as
``"true"``/``"false"``) and the resolved ``url`` inputs in order. It returns a
:class:`ProcessingResult` or raises :class:`ProcessingError` (carrying PDF.co's error code) or
:class:`NotEmulated` (a documented endpoint, or a feature of one, this emulator does not implement).

Processing uses pypdf (reading, page operations, encryption, text extraction, form fields), fpdf2 (rendering
HTML, text, tables and images, and stamping text), Pillow (images), python-docx (Word ``.docx``) and pypdfium2
(rendering pages to JPG/PNG); no PDF syntax is written by hand. Documents generated here carry a fixed
creation date, so identical requests produce identical bytes (encryption salts excepted).

Page ranges follow PDF.co: comma-separated ``N``, ``N-M``, ``N-`` and ``!N`` (``!0`` = last page), 0-based
except for ``/v1/pdf/split`` and ``/v1/pdf/edit/delete-pages``, which count from 1; split also takes
``*``. See :func:`parse_page_ranges`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pypdf.errors import PdfReadError

from ._invoice import invoice_parser, make_sample_invoice_pdf, parse_invoice_text
from ._pdfco_params import ENDPOINTS, LEGACY_PATHS
from ._processing_convert import csv_to_pdf, doc_to_pdf, image_to_pdf, merge2
from ._processing_core import InputFile, NotEmulated, OutputFile, Params, ProcessingError, ProcessingResult
from ._processing_edit import edit_add
from ._processing_extract import find, to_csv, to_json2, to_text, to_text_simple, to_xml
from ._processing_html import html_to_pdf, url_to_pdf
from ._processing_info import info
from ._processing_output import info_fields, make_unsearchable, to_html, to_jpg, to_png, to_tiff, to_webp
from ._processing_pages import (
    compress,
    delete_pages,
    make_searchable,
    merge,
    rotate,
    security_add,
    security_remove,
    split,
)
from ._processing_parser import BUILTIN_TEMPLATES, document_parser
from ._processing_ranges import parse_page_ranges, selected_pages
from ._processing_render import make_sample_pdf
from ._processing_tables import find_table

__all__ = [
    "BUILTIN_TEMPLATES",
    "DOCUMENTED_ENDPOINTS",
    "EMULATED_ENDPOINTS",
    "InputFile",
    "NotEmulated",
    "OutputFile",
    "ProcessingError",
    "ProcessingResult",
    "make_sample_invoice_pdf",
    "make_sample_pdf",
    "normalize_endpoint",
    "parse_invoice_text",
    "parse_page_ranges",
    "process",
    "selected_pages",
]

_Handler = Callable[[Params, list[InputFile]], ProcessingResult]

_HANDLERS: dict[str, _Handler] = {
    "/v1/pdf/convert/from/html": html_to_pdf,
    "/v1/pdf/convert/from/url": url_to_pdf,
    "/v1/pdf/convert/from/doc": doc_to_pdf,
    "/v1/pdf/convert/from/csv": csv_to_pdf,
    "/v1/pdf/convert/from/image": image_to_pdf,
    "/v1/pdf/convert/to/text": to_text,
    "/v1/pdf/convert/to/text-simple": to_text_simple,
    "/v1/pdf/convert/to/json2": to_json2,
    # The legacy JSON endpoint (still used by PDF.co's n8n node) answers like json2.
    "/v1/pdf/convert/to/json": to_json2,
    "/v1/pdf/convert/to/csv": to_csv,
    "/v1/pdf/convert/to/html": to_html,
    "/v1/pdf/convert/to/jpg": to_jpg,
    "/v1/pdf/convert/to/png": to_png,
    "/v1/pdf/convert/to/webp": to_webp,
    "/v1/pdf/convert/to/tiff": to_tiff,
    "/v1/pdf/convert/to/xml": to_xml,
    "/v1/pdf/makesearchable": make_searchable,
    "/v1/pdf/makeunsearchable": make_unsearchable,
    "/v1/pdf/info": info,
    "/v1/pdf/info/fields": info_fields,
    "/v1/pdf/merge": merge,
    "/v1/pdf/merge2": merge2,
    "/v1/pdf/split": split,
    "/v1/pdf/edit/rotate": rotate,
    "/v1/pdf/edit/delete-pages": delete_pages,
    "/v1/pdf/edit/add": edit_add,
    "/v1/pdf/security/add": security_add,
    "/v1/pdf/security/remove": security_remove,
    "/v2/pdf/compress": compress,
    # The older optimizer: lossless recompression as /v2/pdf/compress does it.
    "/v1/pdf/optimize": compress,
    "/v1/pdf/find": find,
    "/v1/pdf/find/table": find_table,
    "/v1/pdf/documentparser": document_parser,
    "/v1/ai-invoice-parser": invoice_parser,
}

#: Processing endpoints this module implements.
EMULATED_ENDPOINTS: frozenset[str] = frozenset(_HANDLERS)

#: Processing endpoints PDF.co documents (the table of ``_pdfco_params``: files, jobs and account aside), and
#: the legacy paths its own clients call.
DOCUMENTED_ENDPOINTS: frozenset[str] = EMULATED_ENDPOINTS | frozenset(
    {*(path for path, endpoint in ENDPOINTS.items() if endpoint.mode != "-"), *LEGACY_PATHS}
)

# Spellings seen in PDF.co's own docs and clients for the same endpoint.
_ALIASES = {"/ai-invoice-parser": "/v1/ai-invoice-parser"}


def normalize_endpoint(endpoint: str) -> str:
    """Lower-case, drop query and trailing slash, resolve documented aliases."""
    path = endpoint.split("?", 1)[0].strip().lower().rstrip("/")
    if not path.startswith("/"):
        path = "/" + path
    if path.startswith("/v1/templates/html/") or path.startswith("/v1/pdf/documentparser/templates/"):
        path = path.rsplit("/", 1)[0]  # GET .../{id}
    return _ALIASES.get(path, path)


def process(endpoint: str, params: Mapping[str, object], inputs: list[InputFile]) -> ProcessingResult:
    """Run one PDF.co processing request.

    Args:
        endpoint: The endpoint path, e.g. ``"/v1/pdf/merge"``.
        params: Request parameters as sent (JSON body or form fields).
        inputs: The resolved ``url`` inputs, in order (none for HTML to PDF; the fetched page for
            ``/v1/pdf/convert/from/url``).

    Returns:
        Result files, processed page count, inline body and extra response fields.

    Raises:
        ProcessingError: The request is invalid or the input unprocessable; ``code`` is PDF.co's.
        NotEmulated: The endpoint (or a requested feature of it) is not implemented here.
    """
    path = normalize_endpoint(endpoint)
    handler = _HANDLERS.get(path)
    if handler is None:
        raise NotEmulated(path, documented=path in DOCUMENTED_ENDPOINTS)
    try:
        return handler(Params(params), list(inputs))
    except PdfReadError as exc:
        # Damage found after opening (a broken content stream, say) is still the input's fault.
        raise ProcessingError(f"The input is damaged or not a valid PDF: {exc}", 442) from exc
