"""What PDF.co can do: the catalogue of asynchronous operations, their parameter models and the typed tasks.

- ``catalogue``: ``OPERATIONS`` and ``get_operation`` (endpoint, kind of output, poll policy);
- ``params`` and ``models``: parameter validation, PDF.co's names as aliases;
- ``tasks``: one typed task per operation (``html_to_pdf``, ``merge_pdfs``...), re-exported by ``prefect_pdfco``.
"""

from __future__ import annotations

from prefect_pdfco.operations.catalogue import (
    OPERATIONS,
    InvalidParametersError,
    Operation,
    OutputKind,
    UnknownOperationError,
    get_operation,
)

__all__ = ["OPERATIONS", "InvalidParametersError", "Operation", "OutputKind", "UnknownOperationError", "get_operation"]
