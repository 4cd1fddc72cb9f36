"""PDF.co's endpoints and the request parameters each one documents: the data behind the emulator's strict mode.

Sources, all public:

- The reference page of each endpoint, whose "Attributes" table says "Attributes are case-sensitive":
  https://docs.pdf.co/api-reference/ (mirrored at https://developer.pdf.co/api-reference/), e.g.
  https://docs.pdf.co/api-reference/pdf-from-url, https://developer.pdf.co/api-reference/pdf-split/by-pages,
  https://developer.pdf.co/api-reference/pdf-password/add, https://docs.pdf.co/api-reference/ai-invoice-parser.
- PDF.co's OpenAPI description behind the docs' API tester, https://docs.pdf.co/openapi.json (shown on
  https://docs.pdf.co/api-tester/pdf-to-text/basic.md): it lists the same attributes, lower-cased. Its
  read-only entries (``file``, ``timeout``, ``customscript``, ``rendertimeout``, ``templatedata`` of the URL
  converter) describe the tester, not the API, and are left out.
- Job check: https://docs.pdf.co/api-reference/job-check and https://apidocs.pdf.co/42-background-jobs-check
  (``jobid`` in the example body, ``jobId`` in the attribute table). Callbacks:
  https://docs.pdf.co/api-reference/webhooks. Uploads: https://developer.pdf.co/api/file-upload/index.html,
  https://docs.pdf.co/api-reference/file-upload/upload-base64. The legacy ``encrypt`` flag:
  https://support.bytescout.com/hc/en-us/articles/8609729717011.
- Options the pages indent under ``profiles`` (``outputDataFormat``, ``DataEncryptionAlgorithm``...,
  https://developer.pdf.co/security/user-controlled-encryption.html) go inside the ``profiles`` string, so
  they are not request parameters here.

Spelling. A name is accepted as the reference table spells it, and lower-cased as the OpenAPI description
spells every attribute (the API tester sends ``ownerpassword``). Names only the OpenAPI description lists keep
its lower-case spelling (``lineending``). Where PDF.co's own clients send something else, ``known_in_use``
lists it, with the client: the MCP server (https://pypi.org/project/pdfco-mcp/, 0.0.11) capitalises the
security options (``EncryptionAlgorithm``); the n8n node (https://github.com/pdfdotco/n8n-nodes-pdfco) sends
``async`` to the always-asynchronous invoice parser and ``name``/``expiration``/``inline`` to the barcode
reader; PDF.co's samples (https://github.com/bytescout/pdf-co-api-samples) send ``name`` to the form-fields
reader. Anything else (``PaperSize``, ``paper_size``, ``bogusParam``) is not documented.

Where a reference page could not be read in full, its OpenAPI list stands in, so an option a page documents
may be missing: add it here with its source.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from types import MappingProxyType
from typing import Literal

__all__ = [
    "COMMON_PARAMETERS",
    "DOCUMENTED_PREFIXES",
    "ENDPOINTS",
    "LEGACY_PATHS",
    "Endpoint",
    "accepted_names",
    "documented_spelling",
    "undocumented_names",
]

#: The async column of the catalogue: takes the ``async`` flag, always runs in the background, or neither.
AsyncMode = Literal["A", "A-only", "-"]


@dataclass(frozen=True)
class Endpoint:
    """One documented PDF.co endpoint.

    Attributes:
        path: The API path (``/v1/pdf/merge``).
        mode: ``"A"`` takes ``async``; ``"A-only"`` always runs as a job; ``"-"`` files, jobs, account.
        params: The documented parameter names, in the reference table's spelling.
        known_in_use: Other spellings PDF.co's own clients send to it (see the module docstring).
        method: The HTTP method (``GET /v1/file/upload/url`` also takes POST).
    """

    path: str
    mode: AsyncMode
    params: frozenset[str]
    known_in_use: frozenset[str] = frozenset()
    method: str = "POST"


# Section 5 of the catalogue: the parameters most endpoints share. The input link and its basic auth; the
# background job and its webhook; the output file's name and link lifetime (minutes); engine options as a
# JSON-ish string; and ``encrypt``, the legacy output-link flag (links are always signed since June 2022).
_IN = ("url", "httpusername", "httppassword")
_JOB = ("async", "callback")
_OUT = ("name", "expiration")
_BASE = (*_IN, *_JOB, *_OUT, "profiles", "encrypt")
_PDF = ("password", "pages")
_EXTRACT = (*_BASE, *_PDF, "lang", "rect", "unwrap", "lineGrouping")
#: The HTML renderer's page layout, shared by the URL, HTML and e-mail converters.
_LAYOUT = ("margins", "paperSize", "orientation", "printBackground", "mediaType", "DoNotWaitFullLoad", "header",
           "footer", "legacyrendition")  # fmt: skip
_SEARCH = (*_BASE, *_PDF, "searchString", "caseSensitive", "regex", "replacementLimit", "makeunsearchable")
_ALLOW = ("allowAccessibilitySupport", "allowAssemblyDocument", "allowPrintDocument", "allowFillForms",
          "allowModifyDocument", "allowContentExtraction", "allowModifyAnnotations")  # fmt: skip
_EXCEL = (*_BASE, "worksheetIndex", "inline")

#: What section 5 calls common parameters (every processing endpoint documents most of them).
COMMON_PARAMETERS = frozenset({*_BASE, *_PDF, "inline"})


def _e(path: str, mode: AsyncMode, *params: str, known: tuple[str, ...] = (), method: str = "POST") -> Endpoint:
    return Endpoint(path, mode, frozenset(params), frozenset(known), method)


# fmt: off
_TABLE: tuple[Endpoint, ...] = (
    # Conversion from PDF, extraction.
    _e("/v1/pdf/convert/to/text", "A", *_EXTRACT, "inline"),
    _e("/v1/pdf/convert/to/text-simple", "A", *_IN, *_JOB, *_OUT, "encrypt", *_PDF, "inline", "lineending"),
    _e("/v1/pdf/convert/to/csv", "A", *_EXTRACT, "inline"),
    _e("/v1/pdf/convert/to/json2", "A", *_EXTRACT, "inline"),
    _e("/v1/pdf/convert/to/json-meta", "A", *_EXTRACT, "inline"),
    _e("/v1/pdf/convert/to/xml", "A", *_EXTRACT, "inline"),
    _e("/v1/pdf/convert/to/html", "A", *_BASE, *_PDF, "lang", "rect", "inline", "simple", "columns"),
    _e("/v1/pdf/convert/to/xls", "A", *_EXTRACT),  # no inline: the result is a spreadsheet
    _e("/v1/pdf/convert/to/xlsx", "A", *_EXTRACT),
    *(_e(f"/v1/pdf/convert/to/{kind}", "A", *_BASE, *_PDF, "lang", "rect", "inline")
      for kind in ("jpg", "png", "webp")),
    _e("/v1/pdf/convert/to/tiff", "A", *_BASE, *_PDF, "lang", "rect", "unwrap"),
    _e("/v1/pdf/find", "A", *_BASE, *_PDF, "inline", "searchString", "regexSearch", "wordMatchingMode",
       "caseSensitive"),
    _e("/v1/pdf/find/table", "A", *_BASE, *_PDF, "inline"),
    _e("/v1/pdf/info", "A", *_IN, *_JOB, "expiration", "profiles", "encrypt", "password"),
    # PDF.co's own "PDF Forms Info Reader" samples send `name` too (SMP, Python and others).
    _e("/v1/pdf/info/fields", "A", *_IN, *_JOB, "expiration", "profiles", "encrypt", "password", known=("name",)),
    _e("/v1/pdf/attachments/extract", "A", *_IN, *_JOB, "expiration", "profiles", "encrypt", "password", "inline"),
    _e("/v1/pdf/classifier", "A", *_BASE, "password", "inline", "caseSensitive", "rulescsv", "rulescsvurl"),
    _e("/v1/pdf/documentparser", "A", *_BASE, *_PDF, "inline", "templateId", "template", "outputFormat",
       "generateCsvHeaders"),
    _e("/v1/pdf/documentparser/templates", "-", method="GET"),
    # No async flag: it always answers with a job id. The n8n node and the MCP server send async=true anyway.
    _e("/v1/ai-invoice-parser", "A-only", "url", "customField", "callback", "profiles", known=("async",)),
    # Conversion to PDF.
    _e("/v1/pdf/convert/from/doc", "A", *_BASE),
    _e("/v1/pdf/convert/from/csv", "A", *_BASE),
    _e("/v1/pdf/convert/from/image", "A", *_BASE, "pages"),
    _e("/v1/pdf/convert/from/url", "A", *_BASE, *_LAYOUT),
    _e("/v1/pdf/convert/from/html", "A", *_JOB, *_OUT, "profiles", "encrypt", "html", "templateId", "templateData",
       *_LAYOUT),
    _e("/v1/templates/html", "-", method="GET"),
    _e("/v1/pdf/convert/from/email", "A", *_BASE, "margins", "paperSize", "orientation", "header", "footer",
       "embedAttachments", "convertAttachments"),
    _e("/v1/xls/convert/to/pdf", "A", *_BASE, "worksheetIndex", "autosize"),
    _e("/v1/xls/convert/to/csv", "A", *_EXCEL, "quotationsymbol", "separatorsymbol"),
    *(_e(f"/v1/xls/convert/to/{kind}", "A", *_EXCEL) for kind in ("json", "html", "txt", "xml")),
    # Merge, split, pages. Merge takes no password (neither its page nor the OpenAPI list one).
    _e("/v1/pdf/merge", "A", *_BASE),
    _e("/v1/pdf/merge2", "A", *_BASE),
    _e("/v1/pdf/split", "A", *_BASE, *_PDF, "inline"),
    _e("/v1/pdf/split2", "A", *_BASE, *_PDF, "inline", "lang", "searchString", "regexSearch", "caseSensitive",
       "excludeKeyPages"),
    _e("/v1/pdf/edit/delete-pages", "A", *_BASE, *_PDF),
    _e("/v1/pdf/edit/rotate", "A", *_BASE, *_PDF, "angle"),
    _e("/v1/pdf/edit/rotate/auto", "A", *_BASE, "password", "lang"),
    # Edit, forms, search and replace. The single-object spellings of /pdf/edit/add (text, x, y, urlimage...)
    # are the older form, still in the OpenAPI list. The MCP server also sends `flatten`.
    _e("/v1/pdf/edit/add", "A", *_BASE, *_PDF, "inline", "annotations", "images", "fields", "annotationsString",
       "imagesString", "fieldsString", "text", "x", "y", "size", "color", "fontname", "type", "width", "height",
       "transparent", "urlimage", known=("flatten",)),
    # One pair (searchString, replaceString: https://apidocs.pdf.co/08-pdf-search-and-replace-text) or arrays.
    _e("/v1/pdf/edit/replace-text", "A", *_SEARCH, "searchStrings", "replaceString", "replaceStrings"),
    _e("/v1/pdf/edit/replace-text-with-image", "A", *_SEARCH, "replaceImage"),
    _e("/v1/pdf/edit/delete-text", "A", *_SEARCH, "searchStrings"),
    # OCR, compression, security.
    _e("/v1/pdf/makesearchable", "A", *_BASE, *_PDF, "lang", "rect"),
    _e("/v1/pdf/makeunsearchable", "A", *_BASE, *_PDF),
    _e("/v2/pdf/compress", "A", *_BASE, *_PDF, "config", known=("inline",)),  # n8n sends inline
    _e("/v1/pdf/optimize", "A", *_BASE, "password"),
    # The MCP server capitalises every option (EncryptionAlgorithm, AllowPrintDocument, PrintQuality).
    _e("/v1/pdf/security/add", "A", *_BASE, "ownerPassword", "userPassword", "encryptionAlgorithm", *_ALLOW,
       "printQuality", known=("EncryptionAlgorithm", "PrintQuality", *(n[0].upper() + n[1:] for n in _ALLOW))),
    _e("/v1/pdf/security/remove", "A", *_BASE, "password"),
    # Barcodes and e-mail. The reader's `type` is the barcode type; `types` (optical marks on its page) is what
    # the n8n node sends barcode types in, with name, expiration and inline.
    _e("/v1/barcode/generate", "A", *_JOB, *_OUT, "profiles", "encrypt", "value", "type", "decorationImage", "inline"),
    _e("/v1/barcode/read/from/url", "A", *_IN, *_JOB, "profiles", "encrypt", "pages", "type", "types",
       known=("name", "expiration", "inline")),
    _e("/v1/email/send", "A", *_BASE, "from", "to", "cc", "bcc", "replyto", "subject", "bodytext", "bodyhtml",
       "smtpserver", "smtpport", "smtpusername", "smtppassword"),
    _e("/v1/email/decode", "A", *_IN, *_JOB, "profiles", "encrypt", "inline"),
    _e("/v1/email/extract-attachments", "A", *_IN, *_JOB, "profiles", "encrypt", "inline"),
    # Files, jobs, account.
    # PDF.co's "Generate Secure URL for Upload" sample sends the legacy encrypt flag too.
    _e("/v1/file/upload/get-presigned-url", "-", "name", "contenttype", known=("encrypt",), method="GET"),
    _e("/v1/file/upload/base64", "-", "file", "name", "expiration", "permanent"),
    _e("/v1/file/upload/url", "-", *_IN, "name", method="GET"),
    _e("/v1/file/upload", "-", "file", "name"),
    _e("/v1/file/delete", "-", *_IN),
    _e("/v1/file/hash", "-", *_IN),
    # The docs' example body says jobid, their attribute table jobId: both are documented.
    _e("/v1/job/check", "-", "jobid", "jobId", "force"),
    _e("/v1/account/credit/balance", "-", method="GET"),
)
# fmt: on

# PDF.co's MCP server (pdfco-mcp 0.0.11) sends its request model's defaults with every call: `lang` ("eng") and
# `lineGrouping` ("0") everywhere, `unwrap` with every conversion from PDF and `autosize` with every conversion of a
# document or a sheet (observed running it against the emulator, tests/emulator/test_pdfco_mcp.py).
_MCP_PATHS = frozenset(
    {
        *(f"/v1/pdf/convert/to/{kind}" for kind in ("json", "csv", "text", "xls", "xlsx", "xml", "html", "jpg")),
        *(f"/v1/pdf/convert/to/{kind}" for kind in ("png", "webp", "tiff")),
        *(f"/v1/pdf/convert/from/{kind}" for kind in ("doc", "csv", "image", "url", "html", "email")),
        *(f"/v1/xls/convert/to/{kind}" for kind in ("csv", "json", "html", "txt", "xml", "pdf")),
        *(f"/v1/pdf/{path}" for path in ("merge2", "split", "info", "info/fields", "edit/add", "find", "find/table")),
        *(f"/v1/pdf/{path}" for path in ("makesearchable", "makeunsearchable", "security/add", "security/remove")),
        *("/v1/ai-invoice-parser", "/v1/pdf/attachments/extract"),
    }
)


def _mcp_sends(endpoint: Endpoint) -> Endpoint:
    if endpoint.path not in _MCP_PATHS:
        return endpoint
    sent = {"lang", "lineGrouping"}
    if endpoint.path.startswith("/v1/pdf/convert/to/"):
        sent.add("unwrap")
    if endpoint.path.startswith(("/v1/pdf/convert/from/doc", "/v1/pdf/convert/from/csv", "/v1/xls/")):
        sent.add("autosize")
    extra = frozenset(name for name in sent if name.lower() not in {p.lower() for p in endpoint.params})
    return replace(endpoint, known_in_use=endpoint.known_in_use | extra)


#: Every documented endpoint, by path.
ENDPOINTS: Mapping[str, Endpoint] = MappingProxyType({endpoint.path: _mcp_sends(endpoint) for endpoint in _TABLE})
#: Paths PDF.co's own clients call that the docs only mention, and the documented endpoint they stand for: the
#: legacy JSON converter (json2's page; the n8n node still calls it) and the n8n node's XLSX spelling.
LEGACY_PATHS: Mapping[str, str] = MappingProxyType(
    {"/v1/pdf/convert/to/json": "/v1/pdf/convert/to/json2", "/v1/xlsx/convert/to/pdf": "/v1/xls/convert/to/pdf"}
)
#: Documented paths that take an id after them (``GET /v1/templates/html/{id}``): no parameters.
DOCUMENTED_PREFIXES = ("/v1/pdf/documentparser/templates/", "/v1/templates/html/")


@cache
def accepted_names(path: str) -> frozenset[str] | None:
    """Every spelling strict mode accepts for ``path``; None when PDF.co documents no such endpoint.

    Args:
        path: A normalized API path (lower case, no trailing slash).
    """
    endpoint = ENDPOINTS.get(LEGACY_PATHS.get(path, path))
    if endpoint is None:
        return frozenset() if path.startswith(DOCUMENTED_PREFIXES) else None
    return frozenset({*endpoint.params, *(name.lower() for name in endpoint.params), *endpoint.known_in_use})


def undocumented_names(path: str, names: Iterable[str]) -> list[str]:
    """The names ``path`` does not document, in the order given (none for a path PDF.co does not document)."""
    accepted = accepted_names(path)
    if accepted is None:
        return []
    return [name for name in names if name not in accepted]


def documented_spelling(path: str, name: str) -> str | None:
    """The documented name ``name`` was probably meant to be: same letters in another case, or a close one."""
    endpoint = ENDPOINTS.get(LEGACY_PATHS.get(path, path))
    if endpoint is None:
        return None
    by_letters = {documented.lower().replace("_", ""): documented for documented in endpoint.params}
    match = by_letters.get(name.lower().replace("_", ""))
    if match is not None:
        return match
    close = difflib.get_close_matches(name, sorted(endpoint.params), n=1, cutoff=0.8)
    return close[0] if close else None
