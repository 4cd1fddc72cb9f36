"""The one submit path of the typed operation tasks: validate, build the payload, submit, log."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar, cast

from typing_extensions import ParamSpec

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import InvalidParametersError
from prefect_pdfco.jobs.keys import SubmitTask, submit_task
from prefect_pdfco.jobs.submit import submit_and_record
from prefect_pdfco.jobs.tasks import SUBMIT_TASK_OPTIONS
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.params import build_params
from prefect_pdfco.operations.signature import describe, operation_spec

__all__ = ["Check", "operation_task", "submit_operation"]

P = ParamSpec("P")
R = TypeVar("R")


def operation_task(fn: Callable[P, Coroutine[Any, Any, R]]) -> SubmitTask[P, R]:
    """Makes a typed operation task: callable from sync and async flows, run name ``html-to-pdf``, and the
    crash-safe submit options (a flow retried after a crash gets its job back; Prefect never re-sends it).

    Every operation task takes the keyword options of ``submit_job`` as well, ``submit_key`` and
    ``resend_if_unknown``: ``fn`` declares them for type checkers in its ``**options`` (every option group
    extends ``SubmitOptions``). The task's runtime signature (``signature.describe``) spreads those options into
    keyword-only parameters, so Prefect records them as parameters of the task run, where the cache policy and
    the submit record read them; ``fn`` itself is called without the two submit options.
    """

    @functools.wraps(fn)
    async def run(*args: Any, submit_key: str | None = None, resend_if_unknown: bool = False, **kwargs: Any) -> R:
        return await fn(*args, **kwargs)

    spec = describe(fn)
    run.__signature__ = spec.signature  # type: ignore[attr-defined]
    run.__doc__ = spec.doc
    wrapped = cast("Callable[P, Coroutine[Any, Any, R]]", run)
    return submit_task(task_run_name=fn.__name__.replace("_", "-"), **SUBMIT_TASK_OPTIONS)(wrapped)


#: A task's rule across its arguments, run on the validated values (by argument name): raises ValueError for a bad
#: combination, and may return the payload entries of arguments not sent under their own name (``Sent.exclude``).
Check = Callable[[Mapping[str, Any]], Mapping[str, Any] | None]


async def submit_operation(
    credentials: PdfcoCredentials, operation: str, arguments: Mapping[str, Any], check: Check | None = None
) -> JobSubmission:
    """Validates a task's arguments with the model built from its signature, then submits the operation once and
    logs one line (never the parameters).

    Args:
        credentials: The PDF.co credentials block.
        operation: The catalogue name of the operation.
        arguments: The task's arguments (``locals()``); credentials, the submit options and unset (None) ones are
            left out, so the model's defaults apply.
        check: The task's rule across its arguments, if it has one.

    Raises:
        InvalidParametersError: Bad input, found before any request is made.
    """
    spec = operation_spec(operation)
    params = build_params(spec.model, operation, spec.values(arguments))
    try:
        derived = check(dict(params)) if check is not None else None
    except ValueError as error:
        raise InvalidParametersError(operation, [str(error)]) from None
    payload = params.to_payload(derived)
    return await submit_and_record(credentials, spec.operation.endpoint, payload, operation=operation)
