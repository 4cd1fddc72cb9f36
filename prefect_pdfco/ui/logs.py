"""The logger our tasks write to: the run logger inside Prefect runs (so lines reach the UI), else a plain one."""

from __future__ import annotations

import logging

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

__all__ = ["run_logger"]


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The run logger inside a flow or task run; the ``prefect_pdfco`` logger elsewhere (e.g. under ``.fn()``)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("prefect_pdfco")
