"""Every number is checked and every wrong type is a typed error, before any request is sent."""

from __future__ import annotations

import math
from typing import Any

import pytest
import respx

from prefect_pdfco import InvalidParametersError, PdfcoCredentials, PdfcoError, check_job, wait_for_job, wait_for_jobs
from prefect_pdfco.exceptions import JobFailed
from prefect_pdfco.flows import check_job_for
from prefect_pdfco.jobs.schedule import PollPolicy
from prefect_pdfco.operations import get_operation
from tests.conftest import pdfco_requests

BAD_NUMBERS = [math.nan, math.inf, -math.inf, -1.0, 0, "10", None, True]


@pytest.mark.parametrize("argument", ["max_wait_seconds", "initial_poll_seconds", "max_poll_seconds"])
@pytest.mark.parametrize("value", BAD_NUMBERS, ids=repr)
async def test_wait_for_job_refuses_bad_numbers_before_any_request(
    credentials: PdfcoCredentials, pdfco: respx.MockRouter, argument: str, value: Any
) -> None:
    with pytest.raises(InvalidParametersError, match=argument) as raised:
        await wait_for_job.fn(credentials, "job-1", **{argument: value})
    assert raised.value.operation == "wait_for_job"
    assert pdfco_requests(pdfco) == []


@pytest.mark.parametrize("value", [math.nan, math.inf, -5.0, 0.0], ids=repr)
async def test_wait_for_jobs_refuses_bad_deadlines(
    credentials: PdfcoCredentials, pdfco: respx.MockRouter, value: float
) -> None:
    with pytest.raises(InvalidParametersError, match="max_wait_seconds"):
        await wait_for_jobs.fn(credentials, ["job-1"], max_wait_seconds=value)
    assert pdfco_requests(pdfco) == []


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: wait_for_job.fn(None, "job-1"), "credentials"),
        (lambda c: wait_for_job.fn(c, 12345), "job_id"),
        (lambda c: wait_for_job.fn(c, "   "), "job_id"),
        (lambda c: check_job.fn("pdfco", "job-1"), "credentials"),
        (lambda c: check_job.fn(c, None), "job_id"),
        (lambda c: wait_for_jobs.fn(c, "job-1"), "job_ids"),
        (lambda c: wait_for_jobs.fn(c, ["job-1", 7]), r"job_ids\[1\]"),
        (lambda c: wait_for_jobs.fn(c, None), "job_ids"),
    ],
)
async def test_wrong_types_are_typed_errors_naming_the_argument(
    credentials: PdfcoCredentials, pdfco: respx.MockRouter, call: Any, argument: str
) -> None:
    with pytest.raises(InvalidParametersError, match=argument) as raised:
        await call(credentials)
    assert isinstance(raised.value, PdfcoError)
    assert isinstance(raised.value, ValueError)
    assert pdfco_requests(pdfco) == []


async def test_control_characters_in_a_job_id_are_refused_and_shown_escaped(
    credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    with pytest.raises(InvalidParametersError) as raised:
        await wait_for_job.fn(credentials, "job-1\nINFO forged line")
    assert "\n" not in str(raised.value)
    assert "job-1\\nINFO forged line" in str(raised.value)
    assert pdfco_requests(pdfco) == []


def test_job_errors_escape_control_characters_in_their_message() -> None:
    error = JobFailed("abc\r\ndef", "bad file")
    assert str(error) == "PDF.co job abc\\r\\ndef: bad file"
    assert error.job_id == "abc\r\ndef"  # the data stays as PDF.co gave it


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"initial_seconds": math.nan}, "initial_seconds"),
        ({"max_seconds": math.inf}, "max_seconds"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"jitter": 1.0}, "jitter"),
        ({"jitter": -0.1}, "jitter"),
    ],
)
def test_poll_policies_refuse_bad_numbers(options: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidParametersError, match=field):
        PollPolicy(**options)


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0])
def test_check_job_for_refuses_bad_deadlines(value: float) -> None:
    with pytest.raises(InvalidParametersError, match="max_wait_seconds"):
        check_job_for(get_operation("split"), value)


@pytest.mark.parametrize("field", ["timeout_seconds", "requests_per_second"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, 0.0])
def test_credentials_refuse_bad_numbers(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        PdfcoCredentials(api_key="k", **{field: value})
