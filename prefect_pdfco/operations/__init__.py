"""What PDF.co can do: the catalogue of asynchronous operations, their parameter models and the typed tasks.

- ``catalogue``: ``OPERATIONS`` and ``get_operation`` (endpoint, kind of output, poll policy);
- ``tasks``: one typed task per operation (``html_to_pdf``, ``merge_pdfs``...), re-exported by ``prefect_pdfco``;
  each declares its arguments once, in its signature;
- ``options``: the arguments' types and the option groups tasks share (``PdfOptions``...), with PDF.co's names;
- ``signature``: builds each task's parameter model, runtime signature and full docstring from its signature;
- ``params`` and ``models``: PDF.co's value conventions as pydantic types, and the items of ``add_to_pdf``.
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
