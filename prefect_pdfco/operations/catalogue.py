"""The catalogue of PDF.co operations, as data: every endpoint that runs as a background job.

One ``Operation`` per asynchronous endpoint PDF.co documents (https://docs.pdf.co/api-reference/; the table in
``prefect_pdfco/testing/_pdfco_params.py``, mode A or A-only): its name, its documented path, the kind of output
it leaves behind the result URL, and how often it is worth checking on.
Tasks, flows and users look operations up here (``get_operation("merge")``, ``get_operation("pdf/merge")``)
instead of typing paths. ``submit_job`` stays the escape hatch for anything missing.

The output kinds matter because PDF.co's async result URL means different things per endpoint: a PDF, a text
file, or (split, image conversions, attachment extraction) a JSON file holding the list of part links.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

from prefect_pdfco.client import normalize_endpoint
from prefect_pdfco.exceptions import InvalidParametersError, UnknownOperationError
from prefect_pdfco.jobs.schedule import DEFAULT_POLL_POLICY, PollPolicy

__all__ = [
    "OPERATIONS",
    "InvalidParametersError",
    "Operation",
    "OutputKind",
    "UnknownOperationError",
    "get_operation",
]


class OutputKind(str, Enum):
    """What the result URL of a finished job holds."""

    #: One binary document: a PDF, an image, a spreadsheet.
    FILE = "file"
    #: Several files: the async result URL is a JSON file holding the list of their links (split's quirk).
    FILES = "files"
    #: Plain text.
    TEXT = "text"
    #: A JSON document.
    JSON = "json"
    #: CSV text.
    CSV = "csv"
    #: XML text.
    XML = "xml"
    #: HTML text.
    HTML = "html"
    #: No document: the job's success is the outcome (e.g. an e-mail was sent).
    NONE = "none"

    @property
    def is_text(self) -> bool:
        """Whether the result is text worth reading into memory (``fetch_result_text``) rather than a file."""
        return self in (OutputKind.TEXT, OutputKind.JSON, OutputKind.CSV, OutputKind.XML, OutputKind.HTML)

    def __str__(self) -> str:
        return self.value


# How often to check, by kind of work. Each check costs 2 credits, so the first check waits for about as long as
# the smallest job of that kind takes, and the backoff (x1.5 per check, capped) covers the big ones. Page
# shuffling, text extraction, security and info are pure PDF manipulation, done in a second or two: they keep
# the default policy (2 s, growing to 30 s). PDF.co's advice on checking jobs ("the KB" below):
# https://apidocs.pdf.co/kb/Background%20Job%20(job-check)/how-are-credits-spent-for-async-jobs
#: HTML, web pages and office documents go through a browser or office renderer: a few seconds at least.
RENDER = PollPolicy(initial_seconds=3.0, multiplier=1.5, max_seconds=30.0)
#: Re-encoding images (compress, optimize) and mixed-format merges scale with the input's size. The KB advises
#: 10-15 s between checks for large files; the cap is there, the start stays modest for small ones.
HEAVY = PollPolicy(initial_seconds=5.0, multiplier=1.5, max_seconds=30.0)
#: AI models (invoice parser, table detection, JSON "with AI", auto-rotate): seconds to a minute per document.
AI = PollPolicy(initial_seconds=5.0, multiplier=1.5, max_seconds=30.0)
#: OCR. The KB advises 60-100 s before the first check of an OCR job; a one-page scan is done sooner, so
#: we start at 10 s: checks come at about 10, 25, 48 and 78 s, then every 30 s (8 credits in the first 80 s).
OCR = PollPolicy(initial_seconds=10.0, multiplier=1.5, max_seconds=30.0)


@dataclass(frozen=True)
class Operation:
    """One PDF.co operation that runs as a background job.

    Attributes:
        name: The catalogue key, snake_case (``"html_to_pdf"``, ``"merge"``, ``"split"``).
        endpoint: The documented API path (``"/v1/pdf/merge"``).
        output: What the result URL holds.
        description: One line on what it does.
        async_only: True when PDF.co always runs it in the background and takes no ``async`` flag.
        poll: How often to check on its jobs; None means the default policy (see ``poll_policy``).
    """

    name: str
    endpoint: str
    output: OutputKind
    description: str
    async_only: bool = False
    poll: PollPolicy | None = None

    @property
    def poll_policy(self) -> PollPolicy:
        """The polling policy to use: ``poll``, else the default (2 s growing to 30 s)."""
        return self.poll or DEFAULT_POLL_POLICY


_F, _FS, _T, _J, _C, _X, _H = (
    OutputKind.FILE,
    OutputKind.FILES,
    OutputKind.TEXT,
    OutputKind.JSON,
    OutputKind.CSV,
    OutputKind.XML,
    OutputKind.HTML,
)

_CATALOGUE: tuple[Operation, ...] = (
    # Conversion from PDF, extraction.
    Operation("pdf_to_text", "/v1/pdf/convert/to/text", _T, "PDF to text with layout (OCRs scanned pages)", poll=OCR),
    Operation("pdf_to_text_simple", "/v1/pdf/convert/to/text-simple", _T, "PDF to plain text, fast, no layout"),
    Operation("pdf_to_csv", "/v1/pdf/convert/to/csv", _C, "PDF tables and text to CSV"),
    Operation("pdf_to_json", "/v1/pdf/convert/to/json2", _J, "PDF to JSON: text runs with fonts and positions"),
    # The legacy JSON endpoint; PDF.co's n8n node still calls it. Prefer pdf_to_json.
    Operation("pdf_to_json_legacy", "/v1/pdf/convert/to/json", _J, "PDF to JSON (legacy endpoint)"),
    Operation("pdf_to_json_meta", "/v1/pdf/convert/to/json-meta", _J, "PDF to JSON with AI-detected styles", poll=AI),
    Operation("pdf_to_xml", "/v1/pdf/convert/to/xml", _X, "PDF to XML"),
    Operation("pdf_to_html", "/v1/pdf/convert/to/html", _H, "PDF to HTML"),
    Operation("pdf_to_xls", "/v1/pdf/convert/to/xls", _F, "PDF to Excel (XLS)"),
    Operation("pdf_to_xlsx", "/v1/pdf/convert/to/xlsx", _F, "PDF to Excel (XLSX)"),
    # One image per page: like split, the async result is a JSON list of links (PDF.co's n8n node parses it so).
    Operation("pdf_to_jpg", "/v1/pdf/convert/to/jpg", _FS, "PDF pages to JPG images", poll=RENDER),
    Operation("pdf_to_png", "/v1/pdf/convert/to/png", _FS, "PDF pages to PNG images", poll=RENDER),
    Operation("pdf_to_webp", "/v1/pdf/convert/to/webp", _FS, "PDF pages to WEBP images", poll=RENDER),
    # TIFF holds every page in one multi-page file (the n8n node does not parse it as a list).
    Operation("pdf_to_tiff", "/v1/pdf/convert/to/tiff", _F, "PDF to one multi-page TIFF", poll=RENDER),
    Operation("find_text", "/v1/pdf/find", _J, "Find text or a regex, with coordinates"),
    Operation("find_tables", "/v1/pdf/find/table", _J, "Detect tables (AI)", poll=AI),
    Operation("pdf_info", "/v1/pdf/info", _J, "Document info and permissions"),
    Operation("pdf_form_fields", "/v1/pdf/info/fields", _J, "Form field names, types and values"),
    Operation("extract_attachments", "/v1/pdf/attachments/extract", _FS, "Extract files embedded in a PDF"),
    Operation("classify_document", "/v1/pdf/classifier", _J, "Classify a document with keyword rules"),
    Operation("parse_document", "/v1/pdf/documentparser", _J, "Template-based Document Parser (JSON or CSV)"),
    # Async only: the endpoint has no async flag and always answers with a job id (status "created").
    Operation("parse_invoice", "/v1/ai-invoice-parser", _J, "AI invoice parser", async_only=True, poll=AI),
    # Conversion to PDF.
    Operation("document_to_pdf", "/v1/pdf/convert/from/doc", _F, "DOC, DOCX, RTF, TXT or XPS to PDF", poll=RENDER),
    Operation("csv_to_pdf", "/v1/pdf/convert/from/csv", _F, "CSV to PDF", poll=RENDER),
    Operation("image_to_pdf", "/v1/pdf/convert/from/image", _F, "Images to one PDF (a page each)", poll=RENDER),
    Operation("url_to_pdf", "/v1/pdf/convert/from/url", _F, "Web page to PDF", poll=RENDER),
    Operation("html_to_pdf", "/v1/pdf/convert/from/html", _F, "HTML or an HTML template to PDF", poll=RENDER),
    Operation("email_to_pdf", "/v1/pdf/convert/from/email", _F, "E-mail (.eml, .msg) to PDF", poll=RENDER),
    # PDF.co's n8n node (https://github.com/pdfdotco/n8n-nodes-pdfco) also calls /v1/xlsx/convert/to/pdf; PDF.co
    # documents the xls path for both formats (the parameter table lists the other in LEGACY_PATHS).
    Operation("excel_to_pdf", "/v1/xls/convert/to/pdf", _F, "Excel (XLS, XLSX) to PDF", poll=RENDER),
    Operation("excel_to_csv", "/v1/xls/convert/to/csv", _C, "Excel worksheet to CSV"),
    Operation("excel_to_json", "/v1/xls/convert/to/json", _J, "Excel worksheet to JSON"),
    Operation("excel_to_html", "/v1/xls/convert/to/html", _H, "Excel worksheet to HTML"),
    Operation("excel_to_text", "/v1/xls/convert/to/txt", _T, "Excel worksheet to text"),
    Operation("excel_to_xml", "/v1/xls/convert/to/xml", _X, "Excel worksheet to XML"),
    # Merge, split, pages.
    Operation("merge", "/v1/pdf/merge", _F, "Merge PDFs in the order given"),
    Operation("merge_any", "/v1/pdf/merge2", _F, "Merge mixed documents (PDF, DOC, XLS, images, ZIP)", poll=HEAVY),
    # Split's async result URL is a JSON file holding the list of part links (sync answers carry `urls`).
    Operation("split", "/v1/pdf/split", _FS, "Split by page numbers or ranges (1-based)"),
    Operation("split_by_text", "/v1/pdf/split2", _FS, "Split where a text or barcode is found"),
    Operation("delete_pages", "/v1/pdf/edit/delete-pages", _F, "Delete pages (1-based)"),
    Operation("rotate", "/v1/pdf/edit/rotate", _F, "Rotate pages by a multiple of 90 degrees"),
    Operation("auto_rotate", "/v1/pdf/edit/rotate/auto", _F, "Rotate scanned pages upright (AI)", poll=AI),
    # Edit, forms, search and replace.
    Operation("add_to_pdf", "/v1/pdf/edit/add", _F, "Add text, images and form field values"),
    Operation("replace_text", "/v1/pdf/edit/replace-text", _F, "Search and replace text"),
    Operation("replace_text_with_image", "/v1/pdf/edit/replace-text-with-image", _F, "Replace text with an image"),
    Operation("delete_text", "/v1/pdf/edit/delete-text", _F, "Search and delete text"),
    # OCR, compression, security.
    Operation("make_searchable", "/v1/pdf/makesearchable", _F, "OCR scanned pages into a searchable PDF", poll=OCR),
    Operation("make_unsearchable", "/v1/pdf/makeunsearchable", _F, "Rasterise text so it cannot be extracted"),
    Operation("compress", "/v2/pdf/compress", _F, "Compress a PDF (images, fonts, structure)", poll=HEAVY),
    Operation("optimize", "/v1/pdf/optimize", _F, "Optimize a PDF (older compressor)", poll=HEAVY),
    Operation("add_password", "/v1/pdf/security/add", _F, "Encrypt with passwords and permissions"),
    Operation("remove_password", "/v1/pdf/security/remove", _F, "Remove passwords and restrictions"),
    # Barcodes and e-mail.
    Operation("generate_barcode", "/v1/barcode/generate", _F, "Generate a barcode or QR code image"),
    Operation("read_barcodes", "/v1/barcode/read/from/url", _J, "Read barcodes from a PDF or an image"),
    # Sends through the user's own SMTP server: nothing to download afterwards.
    Operation("send_email", "/v1/email/send", OutputKind.NONE, "Send an e-mail with attachments", poll=HEAVY),
    Operation("decode_email", "/v1/email/decode", _J, "Parse an .eml or .msg e-mail"),
    Operation("extract_email_attachments", "/v1/email/extract-attachments", _FS, "Extract e-mail attachments"),
)

#: Every operation, by name.
OPERATIONS: Mapping[str, Operation] = MappingProxyType({operation.name: operation for operation in _CATALOGUE})
_BY_ENDPOINT: Mapping[str, Operation] = MappingProxyType({operation.endpoint: operation for operation in _CATALOGUE})
# The typed tasks' names, where they differ from the operation's.
_TASK_NAMES: Mapping[str, str] = MappingProxyType(
    {"merge_pdfs": "merge", "split_pdf": "split", "rotate_pages": "rotate", "compress_pdf": "compress"}
)
# The invoice parser's docs page shows POST /ai-invoice-parser: normalize_endpoint adds the /v1 the clients use.


def get_operation(name_or_endpoint: str | Operation) -> Operation:
    """Looks up an operation by name (``"merge"``) or documented path (``"/v1/pdf/merge"``, ``"pdf/merge"``).

    Names ignore case and accept dashes (``"html-to-pdf"``) and the typed tasks' names (``"split_pdf"``).
    Paths are normalized like the client's (``/v1`` added when missing, trailing slash and query dropped).

    Args:
        name_or_endpoint: A name, a path, or an ``Operation`` (returned as it is).

    Returns:
        The catalogue entry: endpoint, kind of output, poll policy.

    Raises:
        UnknownOperationError: Nothing matches; a ``KeyError`` whose message lists the closest names.

    Example:
        Submit whatever the catalogue calls "split" and wait on its own backoff:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, get_operation, submit_job, wait_for_job

        @flow
        def split_every_page(url: str, operation: str = "split") -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            split = get_operation(operation)
            job = submit_job(credentials, split.endpoint, {"url": url, "pages": "*"})
            policy = split.poll_policy
            return wait_for_job(credentials, job.job_id, initial_poll_seconds=policy.initial_seconds).url

        split_every_page("https://example.com/report.pdf")
        ```
    """
    if isinstance(name_or_endpoint, Operation):
        return name_or_endpoint
    wanted = str(name_or_endpoint).strip()
    key = wanted.lower().replace("-", "_").replace(" ", "_")
    key = _TASK_NAMES.get(key, key)
    if key in OPERATIONS:
        return OPERATIONS[key]
    probe = key
    path = wanted.split("?", 1)[0].rstrip("/").lower()
    if path and "://" not in path:
        endpoint = normalize_endpoint(path)
        if endpoint in _BY_ENDPOINT:
            return _BY_ENDPOINT[endpoint]
        probe = endpoint if "/" in path else key
    candidates = [*OPERATIONS, *_BY_ENDPOINT]
    raise UnknownOperationError(wanted, difflib.get_close_matches(probe, candidates, n=3, cutoff=0.5))
