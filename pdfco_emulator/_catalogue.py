"""What the emulator knows about PDF.co's endpoints: the documented catalogue, prices and output kinds.

Everything here is data: the documented paths come from the parameter table (``_pdfco_params``), the rest is
chosen by the emulator and documented here (the prices: PDF.co publishes no per-endpoint price list, only
https://app.pdf.co/subscriptions/credits_pricing and "endpoint credits x pages").
"""

from __future__ import annotations

from dataclasses import dataclass

from ._pdfco_params import DOCUMENTED_PREFIXES, ENDPOINTS, LEGACY_PATHS

__all__ = [
    "ASYNC_ONLY",
    "CREDIT_COSTS",
    "DEFAULT_CREDIT_COST",
    "DOCUMENTED_ENDPOINTS",
    "DOCUMENTED_PREFIXES",
    "JOB_CHECK_COST",
    "MULTI_INPUT",
    "MULTI_OUTPUT",
    "CreditCost",
    "default_output_name",
    "normalize_path",
]


@dataclass(frozen=True)
class CreditCost:
    """The price of one processing call.

    Attributes:
        per_page: Credits per processed page (a call is billed at least one page).
        flat: When True, ``per_page`` is the price of the whole call whatever its page count.
    """

    per_page: int
    flat: bool = False

    def total(self, pages: int) -> int:
        """Credits for a call that processed ``pages`` pages."""
        return self.per_page if self.flat else self.per_page * max(1, pages)


#: Credits charged by each emulated processing endpoint. PDF.co bills "endpoint credits x pages" (sync) and
#: does not publish the per-endpoint figures, so these are the emulator's own, chosen to be easy to assert:
#:
#: ============================================== =======================
#: endpoint                                        price
#: ============================================== =======================
#: text, text-simple, csv, json2, find(/table),   10 credits per page
#: parser,
#: PDF to html, xml, jpg, png, webp, tiff,
#: (un)searchable PDFs
#: html, url, doc, csv, image -> PDF                5 credits per page
#: merge, merge2, split, rotate, delete-pages,      2 credits per page
#: edit/add, security add/remove, compress, info,
#: info/fields, optimize
#: ``/v1/ai-invoice-parser``                       100 credits per document (PDF.co's own example)
#: ``/v1/job/check``                               2 credits per call, whatever the status (documented)
#: balance, uploads, delete, hash                  free
#: ============================================== =======================
#:
#: "Pages" are the result's ``pageCount``: the output document's pages (the parts' pages together for split, the
#: pages rendered or read for conversions from PDF).
#:
#: Async jobs follow PDF.co's older, documented billing model, so that sync and async cost the same: the
#: submit pays for the first page, the first check that reports ``success`` pays for the remaining pages (plus
#: its own 2 credits), and the submit's credits are refunded when the job ends ``failed`` or ``aborted``.
CREDIT_COSTS: dict[str, CreditCost] = {
    "/v1/pdf/convert/to/text": CreditCost(10),
    "/v1/pdf/convert/to/text-simple": CreditCost(10),
    "/v1/pdf/convert/to/csv": CreditCost(10),
    "/v1/pdf/convert/to/json2": CreditCost(10),
    "/v1/pdf/convert/to/json": CreditCost(10),
    "/v1/pdf/convert/to/html": CreditCost(10),
    "/v1/pdf/convert/to/jpg": CreditCost(10),
    "/v1/pdf/convert/to/png": CreditCost(10),
    "/v1/pdf/convert/to/webp": CreditCost(10),
    "/v1/pdf/convert/to/tiff": CreditCost(10),
    "/v1/pdf/convert/to/xml": CreditCost(10),
    "/v1/pdf/makesearchable": CreditCost(10),
    "/v1/pdf/makeunsearchable": CreditCost(10),
    "/v1/pdf/find": CreditCost(10),
    "/v1/pdf/find/table": CreditCost(10),
    "/v1/pdf/documentparser": CreditCost(10),
    "/v1/pdf/convert/from/html": CreditCost(5),
    "/v1/pdf/convert/from/url": CreditCost(5),
    "/v1/pdf/convert/from/doc": CreditCost(5),
    "/v1/pdf/convert/from/csv": CreditCost(5),
    "/v1/pdf/convert/from/image": CreditCost(5),
    "/v1/pdf/merge": CreditCost(2),
    "/v1/pdf/merge2": CreditCost(2),
    "/v1/pdf/split": CreditCost(2),
    "/v1/pdf/split2": CreditCost(2),
    "/v1/pdf/edit/rotate": CreditCost(2),
    "/v1/pdf/edit/delete-pages": CreditCost(2),
    "/v1/pdf/edit/add": CreditCost(2),
    "/v1/pdf/security/add": CreditCost(2),
    "/v1/pdf/security/remove": CreditCost(2),
    "/v2/pdf/compress": CreditCost(2),
    "/v1/pdf/optimize": CreditCost(2),
    "/v1/pdf/info": CreditCost(2),
    "/v1/pdf/info/fields": CreditCost(2),
    "/v1/ai-invoice-parser": CreditCost(100, flat=True),
}
#: The price of an emulated endpoint missing from ``CREDIT_COSTS``.
DEFAULT_CREDIT_COST = CreditCost(10)
#: Each ``/v1/job/check`` call costs 2 credits, whatever it answers
#: (https://docs.pdf.co/api-reference/async-and-sync-mode.md, https://intercom.help/pdf-co/en/articles/11274643).
JOB_CHECK_COST = 2

#: Endpoints that are always asynchronous: the invoice parser has no ``async`` flag
#: (https://docs.pdf.co/api-reference/ai-invoice-parser).
ASYNC_ONLY = frozenset(path for path, endpoint in ENDPOINTS.items() if endpoint.mode == "A-only")
#: Endpoints whose ``url`` is a comma-separated list of inputs.
MULTI_INPUT = frozenset({"/v1/pdf/merge", "/v1/pdf/merge2", "/v1/pdf/convert/from/image"})
#: Endpoints with one output per part: sync answers ``urls`` (even for one part); the async placeholder is a JSON
#: list of links. PDF.co's samples read images this way too: ``json["urls"]`` from a sync PDF to JPG or PNG, a
#: JSON list from the async placeholder (SMP ``PDF To PNG/Python/...Asynchronously``).
MULTI_OUTPUT = frozenset(
    {"/v1/pdf/split", "/v1/pdf/split2", "/v1/pdf/convert/to/jpg", "/v1/pdf/convert/to/png", "/v1/pdf/convert/to/webp"}
)

_TEXT = "txt"
_JSON = "json"
_OUTPUT_EXTENSIONS: dict[str, str] = {
    "/v1/pdf/convert/to/text": _TEXT,
    "/v1/pdf/convert/to/text-simple": _TEXT,
    "/v1/pdf/convert/to/csv": "csv",
    "/v1/pdf/convert/to/json2": _JSON,
    "/v1/pdf/convert/to/json": _JSON,
    "/v1/pdf/convert/to/xml": "xml",
    "/v1/pdf/convert/to/html": "html",
    "/v1/pdf/find": _JSON,
    "/v1/pdf/find/table": _JSON,
    "/v1/pdf/convert/to/jpg": "jpg",
    "/v1/pdf/convert/to/png": "png",
    "/v1/pdf/convert/to/webp": "webp",
    "/v1/pdf/convert/to/tiff": "tiff",
    "/v1/pdf/info": _JSON,
    "/v1/pdf/info/fields": _JSON,
    "/v1/pdf/documentparser": _JSON,
    "/v1/ai-invoice-parser": _JSON,
}

#: Every documented API path (the emulated ones included), and the legacy paths PDF.co's own clients call:
#: the table of ``_pdfco_params``.
DOCUMENTED_ENDPOINTS = frozenset({*ENDPOINTS, *LEGACY_PATHS})


def normalize_path(path: str) -> str:
    """The form the emulator keys paths by: lower case, one leading slash, no trailing slash.

    ``"pdf/merge"`` becomes ``"/v1/pdf/merge"`` (as the client's ``normalize_endpoint`` does), so fault
    injection accepts the same spellings as the client.
    """
    clean = "/" + path.strip().strip("/").lower()
    if not clean.startswith(("/v1/", "/v2/", "/pdf-temp-files", "/__emulator__")) and clean != "/":
        clean = "/v1" + clean
    return clean


def default_output_name(endpoint: str, name: str | None) -> str:
    """The output file name an endpoint reports when the caller gave none (``name`` wins when given)."""
    return name or f"result.{_OUTPUT_EXTENSIONS.get(endpoint, 'pdf')}"
