"""An offline PDF.co: a local HTTP server that answers PDF.co's REST API for tests and development.

Point any PDF.co client at ``PdfcoEmulator.base_url`` with its ``api_key``; see README.md beside this file.
"""

from __future__ import annotations

from ._api import JOB_DURATION_HEADER
from ._catalogue import CREDIT_COSTS, JOB_CHECK_COST, CreditCost
from ._invoice import make_sample_invoice_pdf
from ._processing_edit import make_sample_form_pdf
from ._processing_render import make_sample_pdf
from ._processing_tables import make_sample_table_pdf
from ._server import STRICT_ENV, PdfcoEmulator

__all__ = [
    "CREDIT_COSTS",
    "JOB_CHECK_COST",
    "JOB_DURATION_HEADER",
    "STRICT_ENV",
    "CreditCost",
    "PdfcoEmulator",
    "make_sample_form_pdf",
    "make_sample_invoice_pdf",
    "make_sample_pdf",
    "make_sample_table_pdf",
]
