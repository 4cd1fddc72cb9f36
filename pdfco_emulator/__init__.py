"""An offline PDF.co: a local HTTP server that answers PDF.co's REST API for tests and development.

Point any PDF.co client at ``PdfcoEmulator.base_url`` with its ``api_key``; see README.md beside this file.
Names load on first use, so the pytest plugin (``pdfco_emulator.pytest_plugin``) imports without the emulator's
dependencies installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "CREDIT_COSTS": "._catalogue",
    "JOB_CHECK_COST": "._catalogue",
    "CreditCost": "._catalogue",
    "JOB_DURATION_HEADER": "._api",
    "STRICT_ENV": "._server",
    "PdfcoEmulator": "._server",
    "make_sample_form_pdf": "._processing_edit",
    "make_sample_invoice_pdf": "._invoice",
    "make_sample_pdf": "._processing_render",
    "make_sample_table_pdf": "._processing_tables",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(home, __name__)
    except ImportError as error:
        raise ImportError(
            f"pdfco_emulator.{name} needs the emulator's dependencies ({error.name} is missing): "
            "pip install 'prefect-pdfco[emulator]'"
        ) from error
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
