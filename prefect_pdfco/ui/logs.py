"""The logger our tasks write to: the run logger inside Prefect runs (so lines reach the UI), else a plain one."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

__all__ = ["per_item_quiet", "run_logger"]

#: True while ``run_batch`` works its documents: lines about one document (submitted, succeeded, downloaded) go
#: to DEBUG, and results get no link artifact each: a batch of 1,000 would send 3,000 log lines and 1,000
#: artifacts to the Prefect API. The batch logs its summary, and the jobs table lists every job.
per_item_quiet: ContextVar[bool] = ContextVar("pdfco_per_item_quiet", default=False)


class _ItemLinesAtDebug(logging.LoggerAdapter[Any]):
    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The run logger inside a flow or task run; the ``prefect_pdfco`` logger elsewhere (e.g. under ``.fn()``)."""
    try:
        logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = get_run_logger()
    except MissingContextError:
        logger = logging.getLogger("prefect_pdfco")
    return _ItemLinesAtDebug(logger) if per_item_quiet.get() else logger
