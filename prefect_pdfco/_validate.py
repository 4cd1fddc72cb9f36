"""Checks of the arguments users hand to public functions, made before any request is sent.

A deadline of NaN never passes and one of ``inf`` never ends: either would poll (2 credits a check) forever, so
every number that bounds a wait or a rate is checked to be finite and positive. A wrong type (``None`` for the
credentials, a number for a job id) would otherwise surface as ``AttributeError`` deep inside; users catch
``PdfcoError``, so these raise ``InvalidParametersError`` (also a ``ValueError``) naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prefect_pdfco._redact import escape_control
from prefect_pdfco.exceptions import InvalidParametersError

if TYPE_CHECKING:
    from prefect_pdfco.credentials import PdfcoCredentials

__all__ = ["check_job_id", "check_job_ids", "check_number", "require_credentials"]


def check_number(value: object, name: str, *, caller: str, allow_zero: bool = False) -> float:
    """``value`` as a float when it is a finite number above zero (or zero, with ``allow_zero``).

    Raises:
        InvalidParametersError: NaN, infinite, negative, zero (unless allowed), or not a number at all.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParametersError(caller, [f"{name}: expected a number of seconds, got {type(value).__name__}"])
    number = float(value)
    if not math.isfinite(number):
        raise InvalidParametersError(caller, [f"{name}: must be a finite number, got {number}"])
    if number < 0 or (number == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "more than zero"
        raise InvalidParametersError(caller, [f"{name}: must be {bound}, got {number:g}"])
    return number


def require_credentials(value: object, *, caller: str) -> PdfcoCredentials:
    """``value`` when it is a ``PdfcoCredentials`` block.

    Raises:
        InvalidParametersError: Anything else, with how to get one.
    """
    from prefect_pdfco.credentials import PdfcoCredentials  # credentials -> client -> exceptions: no cycle here

    if isinstance(value, PdfcoCredentials):
        return value
    raise InvalidParametersError(
        caller,
        [
            f"credentials: expected a PdfcoCredentials block, got {type(value).__name__} "
            '(load one with PdfcoCredentials.load("name"))'
        ],
    )


def check_job_id(value: object, *, caller: str, name: str = "job_id") -> str:
    """``value`` stripped, when it is a non-empty string without control characters.

    Raises:
        InvalidParametersError: Not a string, empty, or holding control characters (shown escaped).
    """
    if not isinstance(value, str):
        raise InvalidParametersError(caller, [f"{name}: expected a PDF.co job id (str), got {type(value).__name__}"])
    job_id = value.strip()
    if not job_id:
        raise InvalidParametersError(caller, [f"{name}: is empty"])
    if escape_control(job_id) != job_id:
        raise InvalidParametersError(caller, [f"{name}: holds control characters: {escape_control(job_id)}"])
    return job_id


def check_job_ids(values: object, *, caller: str) -> list[str]:
    """A list of checked job ids from any iterable of them (a lone string is refused, not split into letters).

    Raises:
        InvalidParametersError: Not an iterable of job ids.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidParametersError(caller, [f"job_ids: expected a list of job ids, got {type(values).__name__}"])
    return [check_job_id(value, caller=caller, name=f"job_ids[{index}]") for index, value in enumerate(values)]
