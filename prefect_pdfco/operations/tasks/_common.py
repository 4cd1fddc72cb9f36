"""The one submit path of the typed operation tasks: validate, build the payload, submit, log."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeAlias, TypeVar, cast

from typing_extensions import ParamSpec

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.jobs.keys import SUBMIT_OPTION_NAMES, SubmitTask, submit_task
from prefect_pdfco.jobs.submit import submit_and_record
from prefect_pdfco.jobs.tasks import SUBMIT_TASK_OPTIONS
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.catalogue import OPERATIONS
from prefect_pdfco.operations.params import OperationParams, build_params

__all__ = ["PageArg", "operation_task", "submit_operation"]

#: What a ``pages`` argument takes: ``"0,2-4,!0"``, one page number, or a list of numbers and ranges.
PageArg: TypeAlias = str | int | Sequence[int | str]

P = ParamSpec("P")
R = TypeVar("R")


def operation_task(fn: Callable[P, Coroutine[Any, Any, R]]) -> SubmitTask[P, R]:
    """Makes a typed operation task: callable from sync and async flows, run name ``html-to-pdf``, and the
    crash-safe submit options (a flow retried after a crash gets its job back; Prefect never re-sends it).

    Every operation task takes the keyword options of ``submit_job`` as well, ``submit_key`` and
    ``resend_if_unknown``: ``fn`` declares them for type checkers as ``**options: Unpack[SubmitOptions]``
    (``prefect_pdfco.jobs.keys``). The task's runtime signature lists them as two keyword-only parameters, so
    Prefect records them as parameters of the task run, where the cache policy and the submit record read them;
    ``fn`` itself is called without them.
    """

    @functools.wraps(fn)
    async def run(*args: Any, submit_key: str | None = None, resend_if_unknown: bool = False, **kwargs: Any) -> R:
        return await fn(*args, **kwargs)

    run.__signature__ = _with_submit_options(inspect.signature(fn))  # type: ignore[attr-defined]
    run.__doc__ = _document_submit_options(fn.__doc__ or "")
    wrapped = cast("Callable[P, Coroutine[Any, Any, R]]", run)
    return submit_task(task_run_name=fn.__name__.replace("_", "-"), **SUBMIT_TASK_OPTIONS)(wrapped)


_SUBMIT_OPTIONS = (
    inspect.Parameter("submit_key", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | None"),
    inspect.Parameter("resend_if_unknown", inspect.Parameter.KEYWORD_ONLY, default=False, annotation="bool"),
)

_SUBMIT_OPTIONS_DOC = """
        submit_key: A name for this submit, unique in the flow run (e.g. ``"invoice-17"``); by default the
            call's rank among identical calls of the run. Calls with the same name and inputs are one submit.
        resend_if_unknown: Send again even if an earlier attempt sent this submit and its outcome is unknown
            (check PDF.co's job history first: that attempt may have been billed).
""".strip("\n")


def _with_submit_options(signature: inspect.Signature) -> inspect.Signature:
    """``signature`` with the submit options as keyword-only parameters, in place of ``**options`` that declares
    them (``Unpack[SubmitOptions]``) or of explicit ones."""
    kept, var_keyword = [], []
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            if "SubmitOptions" not in str(parameter.annotation):
                var_keyword.append(parameter)
        elif parameter.name not in SUBMIT_OPTION_NAMES:
            kept.append(parameter)
    return signature.replace(parameters=[*kept, *_SUBMIT_OPTIONS, *var_keyword])


def _document_submit_options(doc: str) -> str:
    """``doc`` with the two options at the end of its ``Args:`` section (unchanged without one)."""
    if "submit_key:" in doc:
        return doc
    start = doc.find("\n    Args:\n")
    end = doc.find("\n\n", start + 1) if start >= 0 else -1
    if end < 0:
        return doc
    return doc[: end + 1] + _SUBMIT_OPTIONS_DOC + doc[end:]


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
    return await submit_and_record(credentials, spec.endpoint, payload, operation=spec.name)
