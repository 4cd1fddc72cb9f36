"""The one submit path of the typed operation tasks: validate, build the payload, submit, log."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar

from typing_extensions import ParamSpec

from prefect_pdfco._params import OperationParams, build_params, check_request_size
from prefect_pdfco._submit import submit_and_record
from prefect_pdfco._tasks import SyncCompatibleTask, sync_compatible_task
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.jobs import SUBMIT_TASK_OPTIONS
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations import OPERATIONS

__all__ = ["PageArg", "operation_task", "submit_operation"]

#: What a ``pages`` argument takes: ``"0,2-4,!0"``, one page number, or a list of numbers and ranges.
PageArg: TypeAlias = str | int | Sequence[int | str]

P = ParamSpec("P")
R = TypeVar("R")


def operation_task(fn: Callable[P, Coroutine[Any, Any, R]]) -> SyncCompatibleTask[P, Coroutine[Any, Any, R]]:
    """Makes a typed operation task: callable from sync and async flows, run name ``html-to-pdf``, and the
    crash-safe submit options (a flow retried after a crash gets its job back; Prefect never re-sends it)."""
    return sync_compatible_task(task_run_name=fn.__name__.replace("_", "-"), **SUBMIT_TASK_OPTIONS)(fn)


async def submit_operation(
    credentials: PdfcoCredentials,
    operation: str,
    model: type[OperationParams],
    arguments: Mapping[str, Any],
) -> JobSubmission:
    """Validates a task's arguments, then submits the operation once and logs one line (never the parameters).

    Args:
        credentials: The PDF.co credentials block.
        operation: The catalogue name of the operation.
        model: The operation's parameter model.
        arguments: The task's arguments (``locals()``); ``credentials`` and unset (None) ones are left out, so
            the model's defaults apply.

    Raises:
        InvalidParametersError: Bad input, found before any request is made.
    """
    spec = OPERATIONS[operation]
    values = {key: value for key, value in arguments.items() if key != "credentials" and value is not None}
    payload = build_params(model, spec.name, values).to_payload()
    check_request_size(spec.name, payload)
    return await submit_and_record(credentials, spec.endpoint, payload, operation=spec.name)
