"""The error tree: data on every error, no key in any text, and they survive Prefect's pickling."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

import httpx
import pytest

from prefect_pdfco import (
    AuthenticationError,
    BadRequestError,
    DestinationError,
    FileTooLargeError,
    InsufficientCreditsError,
    InvalidParametersError,
    JobAborted,
    JobError,
    JobFailed,
    JobNotFound,
    JobStillWorking,
    JobTimeout,
    LocalFileNotFoundError,
    PdfcoAPIError,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    ResultExpiredError,
    ResultTooLargeError,
    ServerError,
    SubmitOutcomeUnknown,
    UnexpectedResponseError,
    UnknownOperationError,
)
from prefect_pdfco import exceptions as exceptions_module

from .conftest import API_KEY


def test_tree_matches_the_docstring() -> None:
    for cls in (BadRequestError, AuthenticationError, InsufficientCreditsError, RateLimitError, ServerError):
        assert issubclass(cls, PdfcoAPIError)
    for cls in (JobFailed, JobAborted, JobNotFound, JobTimeout):
        assert issubclass(cls, JobError)
    # A signal, not an outcome: `except JobError` around a wait must not swallow check_job's retry.
    assert not issubclass(JobStillWorking, JobError) and issubclass(JobStillWorking, PdfcoError)
    for cls in (PdfcoAPIError, PdfcoConnectionError, UnexpectedResponseError, JobError):
        assert issubclass(cls, PdfcoError)
    doc = exceptions_module.__doc__ or ""
    for name in exceptions_module.__all__:
        assert name in doc, f"{name} missing from the tree drawn in exceptions.py"


def test_status_codes_are_pinned_on_the_classes() -> None:
    assert AuthenticationError.http_status == 401
    assert InsufficientCreditsError.http_status == 402
    assert RateLimitError.http_status == 429
    assert BadRequestError.http_status == 400


WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
ERRORS: list[PdfcoError] = [
    BadRequestError("Invalid password", status_code=200, error_code=441, endpoint="/v1/pdf/info"),
    AuthenticationError("Unauthorized", status_code=401, endpoint="/v1/pdf/merge"),
    RateLimitError("Too many", status_code=429, endpoint="/v1/job/check", retry_after=2.5),
    ServerError("down", status_code=503),
    PdfcoConnectionError("refused", endpoint="/v1/pdf/merge", may_have_reached_server=False),
    UnexpectedResponseError("odd", endpoint="/v1/job/check", body={"status": "x"}),
    JobFailed("J1", "damaged input", status="failed"),
    JobTimeout("J2", "still working", status="working", waited_seconds=12.5),
    JobStillWorking("J3", "still working", status="working"),
    SubmitOutcomeUnknown("/v1/pdf/merge", sent_at=WHEN, reason="HTTP 503"),
    ResultExpiredError("gone", url="https://host/x.pdf", status_code=403, valid_till=WHEN),
    ResultTooLargeError("big", url="https://host/x.txt", limit=10),
    DestinationError("full", destination="/out", url="https://host/x.pdf", job_id="J4", errno=28),
    LocalFileNotFoundError("/nope.pdf"),
    FileTooLargeError("/big.pdf", size=3, limit=2),
    InvalidParametersError("split", ["pages: bad"]),
    UnknownOperationError("splt", ["split"]),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_pickle_with_their_data(error: PdfcoError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    for attribute in (
        "status_code",
        "error_code",
        "endpoint",
        "message",
        "job_id",
        "status",
        "waited_seconds",
        "retry_after",
        "may_have_reached_server",
        "body",
        "sent_at",
        "reason",
        "url",
        "valid_till",
        "limit",
        "destination",
        "errno",
        "filename",
        "path",
        "size",
        "operation",
        "errors",
        "wanted",
        "suggestions",
    ):
        if hasattr(error, attribute):
            assert getattr(copy, attribute) == getattr(error, attribute)


def test_api_error_with_request_never_shows_the_key() -> None:
    request = httpx.Request("POST", "https://api.pdf.co/v1/pdf/merge", headers={"x-api-key": API_KEY})
    response = httpx.Response(401, json={"error": True, "message": "Unauthorized"}, request=request)
    error = AuthenticationError(
        "Unauthorized", status_code=401, endpoint="/v1/pdf/merge", request=request, response=response
    )
    assert API_KEY not in str(error) and API_KEY not in repr(error)
    assert API_KEY not in str(pickle.loads(pickle.dumps(error)).__dict__)


def test_still_working_reads_as_waiting_with_the_check_and_the_rounded_delay() -> None:
    error = JobStillWorking("J3", status="working", check=2, checks=66, next_seconds=2.6384)
    assert str(error) == "waiting: PDF.co job J3 still working (check 2 of 66; next in ~3s)"
    assert (error.check, error.checks, error.next_seconds) == (2, 66, 2.6384)
    assert str(JobStillWorking("J4")) == "waiting: PDF.co job J4 still working"
    inconclusive = JobStillWorking("J5", "check inconclusive", check=1, checks=3, next_seconds=None)
    assert str(inconclusive) == "waiting: PDF.co job J5 still working (check 1 of 3): check inconclusive"
