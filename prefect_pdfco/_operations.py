"""The catalogue of PDF.co's asynchronous operations as data, and ``build_payload``. See docs/design/parameters.md."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

from prefect_pdfco import _params as k
from prefect_pdfco._exceptions import InvalidParametersError, UnknownOperationError
from prefect_pdfco._params import ParamKind
from prefect_pdfco.models import PollPolicy

__all__ = ["OPERATIONS", "Operation", "OutputKind", "build_payload", "closest_name", "get_operation"]


class OutputKind(str, Enum):
    """What the result URL of a finished job holds."""

    #: One binary document: a PDF, an image, a spreadsheet.
    FILE = "file"
    #: Several files: the async result URL is a JSON file holding the list of their links (split's quirk).
    FILES = "files"
    TEXT = "text"
    JSON = "json"
    CSV = "csv"
    XML = "xml"
    HTML = "html"
    #: No document: the job's success is the outcome (an e-mail was sent).
    NONE = "none"

    @property
    def is_text(self) -> bool:
        """Whether the result is text worth reading into memory (``fetch_result_text``) rather than a file."""
        return self in (OutputKind.TEXT, OutputKind.JSON, OutputKind.CSV, OutputKind.XML, OutputKind.HTML)

    def __str__(self) -> str:
        return self.value


# How often to check, by kind of work; page shuffling, extraction, security and info take a second or two.
DEFAULT_POLL = PollPolicy()
#: HTML, web pages and office documents go through a browser or office renderer: a few seconds at least.
RENDER = PollPolicy(initial_seconds=3.0)
#: Re-encoding images and mixed-format merges scale with the input's size.
HEAVY = PollPolicy(initial_seconds=5.0)
#: AI models (invoice parser, table detection, JSON "with AI", auto-rotate): seconds to a minute per document.
AI = PollPolicy(initial_seconds=5.0)
#: OCR: checks at about 10, 25, 48 and 78 s, then every 30 s.
OCR = PollPolicy(initial_seconds=10.0)


@dataclass(frozen=True)
class Operation:
    """One PDF.co operation that runs as a background job.

    Attributes:
        name: The catalogue key, snake_case (``"html_to_pdf"``, ``"merge"``).
        endpoint: The documented API path (``"/v1/pdf/merge"``).
        output: What the result URL holds.
        description: One line on what it does.
        async_only: PDF.co always runs it in the background and takes no ``async`` flag.
        poll: How often to check on its jobs; None for the default policy (see ``poll_policy``).
        params: Every parameter PDF.co documents for it (in PDF.co's letter case) and the kind of value it takes.
        requires: Groups of parameters of which exactly one must be given (``("html", "templateId")``).
    """

    name: str
    endpoint: str
    output: OutputKind
    description: str
    async_only: bool = False
    poll: PollPolicy | None = None
    params: Mapping[str, ParamKind] = field(default_factory=dict, repr=False)
    requires: tuple[tuple[str, ...], ...] = ()

    @property
    def poll_policy(self) -> PollPolicy:
        """The polling policy to use: ``poll``, else the default (2 s growing to 30 s)."""
        return self.poll or DEFAULT_POLL


# The parameters most endpoints share; `async` and `callback` are ours to set.
_IN = dict(url=k.LINK, httpusername=k.TEXT, httppassword=k.SECRET)
_OUT = dict(name=k.NAME, expiration=k.EXPIRATION, profiles=k.PROFILES, encrypt=k.BOOL)
_BASE = {**_IN, **_OUT}
_MANY = {**_BASE, "url": k.LINKS}
_LOCKED = {**_BASE, "password": k.SECRET}
_PDF = {**_LOCKED, "pages": k.PAGES}
_INLINE = dict(inline=k.BOOL)
_AREA = {**_PDF, "lang": k.LANG, "rect": k.RECT}
_TABLES = {**_AREA, "unwrap": k.BOOL, "lineGrouping": k.choice("1", "2", "3")}
_EXTRACT = {**_TABLES, **_INLINE}
# The plain-text converter documents no `profiles`.
_SIMPLE = {**_IN, **_INLINE, **dict(name=k.NAME, expiration=k.EXPIRATION, encrypt=k.BOOL, password=k.SECRET)}
_SIMPLE |= dict(pages=k.PAGES, lineending=k.TEXT)
_INFO = {**_IN, "expiration": k.EXPIRATION, "profiles": k.PROFILES, "encrypt": k.BOOL, "password": k.SECRET}
_FIND = {**_PDF, **_INLINE, **dict(searchString=k.NAME, regexSearch=k.BOOL, caseSensitive=k.BOOL)}
_FIND_TEXT = {**_FIND, "wordMatchingMode": k.choice("None", "SmartMatch", "ExactMatch")}
_SPLIT_TEXT = {**_FIND, "lang": k.LANG, "excludeKeyPages": k.BOOL}
_CLASSIFY = {**_LOCKED, **_INLINE, "caseSensitive": k.BOOL, "rulescsv": k.TEXT, "rulescsvurl": k.LINK}
_PARSER = {**_PDF, **_INLINE, "templateId": k.TEMPLATE_ID, "template": k.JSON_TEXT, "generateCsvHeaders": k.BOOL}
_PARSER |= dict(outputFormat=k.choice("JSON", "YAML", "XML", "CSV"))
#: The HTML renderer's page layout, shared by the URL, HTML and e-mail converters.
_PAGE = dict(margins=k.TEXT, paperSize=k.TEXT, header=k.TEXT, footer=k.TEXT)
_PAGE |= dict(orientation=k.choice("Portrait", "Landscape"))
_LAYOUT = {**_PAGE, "printBackground": k.BOOL, "mediaType": k.choice("print", "screen", "none")}
_LAYOUT |= dict(DoNotWaitFullLoad=k.BOOL, legacyrendition=k.BOOL)
_HTML = {**_OUT, **_LAYOUT, "html": k.NAME, "templateId": k.TEMPLATE_ID, "templateData": k.JSON_TEXT}
_EMAIL = {**_BASE, **_PAGE, "embedAttachments": k.BOOL, "convertAttachments": k.BOOL}
_EXCEL = {**_BASE, **_INLINE, "worksheetIndex": k.INT}
_SEARCH = {**_PDF, **dict(searchString=k.NAME, caseSensitive=k.BOOL, regex=k.BOOL, replacementLimit=k.INT)}
_SEARCH |= dict(makeunsearchable=k.BOOL)
_STRINGS = dict(searchStrings=k.STRINGS)
_REPLACE = {**_SEARCH, **_STRINGS, "replaceString": k.TEXT, "replaceStrings": k.STRINGS}
_ALLOW = ("AccessibilitySupport", "AssemblyDocument", "PrintDocument", "FillForms", "ModifyDocument")
_SECURITY = {**_BASE, "ownerPassword": k.SECRET, "userPassword": k.SECRET}
_SECURITY |= {f"allow{name}": k.BOOL for name in (*_ALLOW, "ContentExtraction", "ModifyAnnotations")}
_SECURITY |= dict(encryptionAlgorithm=k.choice("RC4_40bit", "RC4_128bit", "AES_128bit", "AES_256bit"))
_SECURITY |= dict(printQuality=k.choice("HighResolution", "LowResolution"))
# The single-object spelling (text, x, y, urlimage...) is the older form; PDF.co's MCP server sends `flatten`.
_ADD = {**_PDF, **_INLINE, "annotations": k.items("text", "x", "y"), "images": k.items("url", "x", "y")}
_ADD |= dict(fields=k.items("fieldName", "text"), urlimage=k.LINK, flatten=k.BOOL, transparent=k.BOOL)
_ADD |= dict.fromkeys(("annotationsString", "imagesString", "fieldsString", "text", "color", "fontname"), k.TEXT)
_ADD |= {**dict.fromkeys(("x", "y", "size", "width", "height"), k.NUMBER), "type": k.TEXT}
_BARCODE = {**_OUT, **_INLINE, "value": k.NAME, "type": k.NAME, "decorationImage": k.LINK}
# The reader documents `type` and `types`; PDF.co's n8n node sends `types`, name, expiration and inline.
_READER = {**_BASE, **_INLINE, "pages": k.PAGES, "type": k.NAME, "types": k.NAMES}
_MAIL = {**_MANY, **dict.fromkeys(("from", "to", "cc", "bcc", "replyto", "subject", "bodytext", "bodyhtml"), k.TEXT)}
_MAIL |= dict(smtpserver=k.TEXT, smtpport=k.INT, smtpusername=k.TEXT, smtppassword=k.SECRET)
_MAIL_IN = {**_IN, **_INLINE, "profiles": k.PROFILES, "encrypt": k.BOOL}


def _op(
    name: str,
    endpoint: str,
    output: str,
    description: str,
    params: Mapping[str, ParamKind],
    poll: PollPolicy | None = None,
    needs: str = "url",
    async_only: bool = False,
) -> Operation:
    # `needs`: the required parameters, space-separated; "a|b" asks for exactly one of a and b.
    requires = tuple(tuple(group.split("|")) for group in needs.split())
    return Operation(
        name, endpoint, OutputKind(output), description, async_only, poll, MappingProxyType(params), requires
    )


_URL_AND = "url searchString|searchStrings"
# fmt: off
_CATALOGUE: tuple[Operation, ...] = (
    # Conversion from PDF, extraction.
    _op("pdf_to_text", "/v1/pdf/convert/to/text", "text", "PDF to text with layout (OCRs scans)", _EXTRACT, OCR),
    _op("pdf_to_text_simple", "/v1/pdf/convert/to/text-simple", "text", "PDF to plain text, no layout",
        _SIMPLE),
    _op("pdf_to_csv", "/v1/pdf/convert/to/csv", "csv", "PDF tables and text to CSV", _EXTRACT),
    _op("pdf_to_json", "/v1/pdf/convert/to/json2", "json", "PDF to JSON: text runs with fonts and positions", _EXTRACT),
    # The legacy JSON endpoint; PDF.co's n8n node still calls it (json2's page documents both).
    _op("pdf_to_json_legacy", "/v1/pdf/convert/to/json", "json", "PDF to JSON (legacy endpoint)", _EXTRACT),
    _op("pdf_to_json_meta", "/v1/pdf/convert/to/json-meta", "json", "PDF to JSON with AI-found styles", _EXTRACT, AI),
    _op("pdf_to_xml", "/v1/pdf/convert/to/xml", "xml", "PDF to XML", _EXTRACT),
    _op("pdf_to_html", "/v1/pdf/convert/to/html", "html", "PDF to HTML",
        {**_AREA, **_INLINE, "simple": k.BOOL, "columns": k.BOOL}),
    _op("pdf_to_xls", "/v1/pdf/convert/to/xls", "file", "PDF to Excel (XLS)", _TABLES),
    _op("pdf_to_xlsx", "/v1/pdf/convert/to/xlsx", "file", "PDF to Excel (XLSX)", _TABLES),
    # One image per page: like split, the async result is a JSON list of links (PDF.co's n8n node parses it so).
    _op("pdf_to_jpg", "/v1/pdf/convert/to/jpg", "files", "PDF pages to JPG images", {**_AREA, **_INLINE}, RENDER),
    _op("pdf_to_png", "/v1/pdf/convert/to/png", "files", "PDF pages to PNG images", {**_AREA, **_INLINE}, RENDER),
    _op("pdf_to_webp", "/v1/pdf/convert/to/webp", "files", "PDF pages to WEBP images", {**_AREA, **_INLINE}, RENDER),
    # TIFF holds every page in one multi-page file.
    _op("pdf_to_tiff", "/v1/pdf/convert/to/tiff", "file", "PDF to one TIFF", {**_AREA, "unwrap": k.BOOL}, RENDER),
    _op("find_text", "/v1/pdf/find", "json", "Find text or a regex, with coordinates", _FIND_TEXT, None,
        "url searchString"),
    _op("find_tables", "/v1/pdf/find/table", "json", "Detect tables (AI)", {**_PDF, **_INLINE}, AI),
    _op("pdf_info", "/v1/pdf/info", "json", "Document info and permissions", _INFO),
    # PDF.co's own "PDF Forms Info Reader" samples send `name` too.
    _op("pdf_form_fields", "/v1/pdf/info/fields", "json", "Form field names, types and values", {**_INFO, **_OUT}),
    _op("extract_attachments", "/v1/pdf/attachments/extract", "files", "Extract embedded files", {**_INFO, **_INLINE}),
    _op("classify_document", "/v1/pdf/classifier", "json", "Classify a document with keyword rules", _CLASSIFY),
    _op("parse_document", "/v1/pdf/documentparser", "json", "Document Parser", _PARSER, None,
        "url templateId|template"),
    _op("parse_invoice", "/v1/ai-invoice-parser", "json", "AI invoice parser",
        dict(url=k.LINK, customField=k.NAMES, profiles=k.PROFILES), AI, async_only=True),  # no async flag: a job always
    # Conversion to PDF.
    _op("document_to_pdf", "/v1/pdf/convert/from/doc", "file", "DOC, DOCX, RTF, TXT or XPS to PDF", _BASE, RENDER),
    _op("csv_to_pdf", "/v1/pdf/convert/from/csv", "file", "CSV to PDF", _BASE, RENDER),
    _op("image_to_pdf", "/v1/pdf/convert/from/image", "file", "Images to one PDF, a page each",
        {**_MANY, "pages": k.PAGES}, RENDER),
    _op("url_to_pdf", "/v1/pdf/convert/from/url", "file", "Web page to PDF", {**_BASE, **_LAYOUT}, RENDER),
    _op("html_to_pdf", "/v1/pdf/convert/from/html", "file", "HTML or an HTML template to PDF", _HTML, RENDER,
        "html|templateId"),
    _op("email_to_pdf", "/v1/pdf/convert/from/email", "file", "E-mail (.eml, .msg) to PDF", _EMAIL, RENDER),
    # PDF.co's n8n node also calls /v1/xlsx/convert/to/pdf (an alias below).
    _op("excel_to_pdf", "/v1/xls/convert/to/pdf", "file", "Excel (XLS, XLSX) to PDF",
        {**_BASE, "worksheetIndex": k.INT, "autosize": k.BOOL}, RENDER),
    _op("excel_to_csv", "/v1/xls/convert/to/csv", "csv", "Excel worksheet to CSV",
        {**_EXCEL, "quotationsymbol": k.TEXT, "separatorsymbol": k.TEXT}),
    _op("excel_to_json", "/v1/xls/convert/to/json", "json", "Excel worksheet to JSON", _EXCEL),
    _op("excel_to_html", "/v1/xls/convert/to/html", "html", "Excel worksheet to HTML", _EXCEL),
    _op("excel_to_text", "/v1/xls/convert/to/txt", "text", "Excel worksheet to text", _EXCEL),
    _op("excel_to_xml", "/v1/xls/convert/to/xml", "xml", "Excel worksheet to XML", _EXCEL),
    # Merge, split, pages. Merge takes no password. Split's async result URL is a JSON list of part links.
    _op("merge", "/v1/pdf/merge", "file", "Merge PDFs in the order given", _MANY),
    _op("merge_any", "/v1/pdf/merge2", "file", "Merge mixed documents (PDF, DOC, XLS, images, ZIP)", _MANY, HEAVY),
    _op("split", "/v1/pdf/split", "files", "Split by pages (1-based)", {**_PDF, **_INLINE, "pages": k.SPLIT_PAGES}),
    _op("split_by_text", "/v1/pdf/split2", "files", "Split where a text or barcode is found", _SPLIT_TEXT, None,
        "url searchString"),
    _op("delete_pages", "/v1/pdf/edit/delete-pages", "file", "Delete pages (1-based)",
        {**_PDF, "pages": k.PAGES_FROM_1}, None, "url pages"),
    _op("rotate", "/v1/pdf/edit/rotate", "file", "Rotate pages by quarter turns", {**_PDF, "angle": k.ANGLE}, None,
        "url angle"),
    _op("auto_rotate", "/v1/pdf/edit/rotate/auto", "file", "Turn scans upright (AI)", {**_LOCKED, "lang": k.LANG}, AI),
    # Edit, forms, search and replace (one pair of strings, or two arrays).
    _op("add_to_pdf", "/v1/pdf/edit/add", "file", "Add text, images and form field values", _ADD),
    _op("replace_text", "/v1/pdf/edit/replace-text", "file", "Search and replace text", _REPLACE, None, _URL_AND),
    _op("replace_text_with_image", "/v1/pdf/edit/replace-text-with-image", "file", "Replace text with an image",
        {**_SEARCH, "replaceImage": k.LINK}, None, "url searchString replaceImage"),
    _op("delete_text", "/v1/pdf/edit/delete-text", "file", "Search and delete text", {**_SEARCH, **_STRINGS}, None,
        _URL_AND),
    # OCR, compression, security.
    _op("make_searchable", "/v1/pdf/makesearchable", "file", "OCR scans into a searchable PDF", _AREA, OCR),
    _op("make_unsearchable", "/v1/pdf/makeunsearchable", "file", "Rasterise text so it cannot be extracted", _PDF),
    # PDF.co's n8n node sends `inline` to the compressor.
    _op("compress", "/v2/pdf/compress", "file", "Compress a PDF", {**_PDF, **_INLINE, "config": k.OBJECT}, HEAVY),
    _op("optimize", "/v1/pdf/optimize", "file", "Optimize a PDF (older compressor)", _LOCKED, HEAVY),
    _op("add_password", "/v1/pdf/security/add", "file", "Encrypt with passwords and permissions", _SECURITY),
    _op("remove_password", "/v1/pdf/security/remove", "file", "Remove passwords and restrictions", _LOCKED),
    # Barcodes and e-mail.
    _op("generate_barcode", "/v1/barcode/generate", "file", "Make a barcode or QR code image", _BARCODE, None, "value"),
    _op("read_barcodes", "/v1/barcode/read/from/url", "json", "Read barcodes from a PDF or an image", _READER),
    # Sends through the user's own SMTP server: nothing to download afterwards.
    _op("send_email", "/v1/email/send", "none", "Send an e-mail with attachments", _MAIL, HEAVY, ""),
    _op("decode_email", "/v1/email/decode", "json", "Parse an .eml or .msg e-mail", _MAIL_IN),
    _op("extract_email_attachments", "/v1/email/extract-attachments", "files", "Extract e-mail attachments", _MAIL_IN),
)
# fmt: on

#: Every operation, by name.
OPERATIONS: Mapping[str, Operation] = MappingProxyType({operation.name: operation for operation in _CATALOGUE})
_BY_ENDPOINT: Mapping[str, Operation] = MappingProxyType(
    {"/v1/xlsx/convert/to/pdf": OPERATIONS["excel_to_pdf"], **{op.endpoint: op for op in _CATALOGUE}}
)
#: The typed tasks' names, where they differ from the operation's.
TASK_NAMES: Mapping[str, str] = MappingProxyType(
    {"merge_pdfs": "merge", "split_pdf": "split", "rotate_pages": "rotate", "compress_pdf": "compress"}
)
#: Names the library sets itself, whatever the caller passes.
_OURS = {
    "async": "set by prefect-pdfco: every operation runs as a background job",
    "callback": "set by prefect-pdfco from the credentials' callback_url",
}


def get_operation(name_or_endpoint: str | Operation) -> Operation:
    """Looks up an operation by name (``"merge"``), typed task name (``"merge_pdfs"``) or path (``"pdf/merge"``).

    Names ignore case and accept dashes (``"html-to-pdf"``); paths get ``/v1`` when they lack a version.

    Args:
        name_or_endpoint: A name, a path, or an ``Operation`` (returned as it is).

    Returns:
        The catalogue entry: endpoint, kind of output, poll policy, documented parameters.

    Raises:
        UnknownOperationError: Nothing matches; the message lists the closest names.
    """
    if isinstance(name_or_endpoint, Operation):
        return name_or_endpoint
    wanted = str(name_or_endpoint).strip()
    key = wanted.lower().replace("-", "_").replace(" ", "_")
    key = TASK_NAMES.get(key, key)
    if key in OPERATIONS:
        return OPERATIONS[key]
    probe = key
    if wanted and "://" not in wanted and "/" in wanted:
        probe = "/" + wanted.split("?", 1)[0].strip("/").lower()
        probe = probe if probe.startswith(("/v1/", "/v2/")) else "/v1" + probe
        if probe in _BY_ENDPOINT:
            return _BY_ENDPOINT[probe]
    candidates = [*OPERATIONS, *TASK_NAMES, *_BY_ENDPOINT]
    raise UnknownOperationError(wanted, difflib.get_close_matches(probe, candidates, n=3, cutoff=0.5))


def _folded(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


# Typed-task argument names PDF.co spells otherwise, beyond case and underscores (``http_password`` folds itself).
_ARGUMENT_NAMES = dict(urls="url", barcodetypes="types", barcodetype="type", customfields="customField")
_ARGUMENT_NAMES |= dict(regex="regexSearch", search="searchString", replace="replaceString")


def closest_name(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``name`` was probably meant to be (``paper_size``, ``pagse`` -> ``paperSize``, ``pages``)."""
    by_folded = {_folded(candidate): candidate for candidate in candidates}
    folded = _folded(name)
    if folded in by_folded:
        return by_folded[folded]
    alias = _ARGUMENT_NAMES.get(folded)
    if alias is not None and _folded(alias) in by_folded:
        return by_folded[_folded(alias)]
    close = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=0.75)
    return by_folded[close[0]] if close else None


def build_payload(
    operation: Operation | str, params: Mapping[str, Any] | None, *, caller: str | None = None
) -> dict[str, Any]:
    """PDF.co parameters (by PDF.co's names; None values left out) checked for ``operation``, as they are sent; one
    ``InvalidParametersError`` under ``caller`` lists every problem, before any request."""
    spec = get_operation(operation)
    who = caller or spec.name
    if params is None:
        params = {}
    if not isinstance(params, Mapping) or not all(isinstance(name, str) for name in params):
        raise InvalidParametersError(who, ["params: expected a dict of PDF.co parameters by name"])
    problems: list[str] = []
    payload: dict[str, Any] = {}
    for name, value in params.items():
        kind = spec.params.get(name)
        if kind is None:
            problems.append(f"{name}: {_unknown(name, spec)}")
        elif value is not None:
            try:
                converted = kind.convert(value)
            except ValueError as error:
                problems.append(f"{name}: {error}")
            else:
                if converted is not None:
                    payload[name] = converted
    for group in spec.requires:
        given = [name for name in group if name in payload]
        if len(given) > 1:
            problems.append(f"pass only one of {' or '.join(group)}, not both")
        elif not given and not any(name in params and params[name] is not None for name in group):
            problems.append(f"{group[0]}: required" if len(group) == 1 else f"pass one of {' or '.join(group)}")
    if problems:
        raise InvalidParametersError(who, problems)
    return payload


def _unknown(name: str, spec: Operation) -> str:
    if _folded(name) in _OURS:
        return _OURS[_folded(name)]
    meant = closest_name(name, spec.params)
    if meant is None:
        return f"not a parameter PDF.co documents for {spec.endpoint} (get_operation({spec.name!r}).params lists them)"
    return f"not a parameter of {spec.name}; did you mean {meant!r}?"
