"""Models accept every shape PDF.co sends and keep what they do not name."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from prefect_pdfco import JobResult, JobStatus, JobSubmission


def test_job_status_terminal() -> None:
    assert not JobStatus.WORKING.is_terminal
    assert all(s.is_terminal for s in JobStatus if s is not JobStatus.WORKING)
    assert JobStatus("success") is JobStatus.SUCCESS and str(JobStatus.FAILED) == "failed"


@pytest.mark.parametrize(
    "body",
    [
        {"jobId": "J1", "url": "https://x/r.pdf", "error": False, "status": 200, "remainingCredits": 5},
        {"jobid": "J1", "url": "https://x/r.pdf", "status": "created", "credits": 100, "remainingCredits": 5},
        {"jobId": "J1", "status": "success", "message": "Success", "url": "https://x/r.pdf", "remainingCredits": 5},
    ],
)
def test_submission_shapes(body: dict[str, object]) -> None:
    submission = JobSubmission.model_validate({**body, "endpoint": "/v1/pdf/merge"})
    assert submission.job_id == "J1"
    assert submission.remaining_credits == 5
    assert "status" in submission.extra  # kept, whatever its type


def test_result_parses_documented_fields_and_keeps_unknown_ones() -> None:
    result = JobResult.model_validate(
        {
            "status": "Success",
            "jobId": "J1",
            "url": "https://pdf-temp-files.s3.us-west-2.amazonaws.com/J1/r.pdf?X-Amz-Expires=3600",
            "outputLinkValidTill": "2025-08-11T17:09:13.263623+00:00",
            "pageCount": 3,
            "credits": 2,
            "remainingCredits": 1480582,
            "jobDuration": 1234,
            "duration": 56,
            "hash": "abc",
        }
    )
    assert result.status is JobStatus.SUCCESS
    assert result.output_link_valid_till == datetime(2025, 8, 11, 17, 9, 13, 263623, tzinfo=timezone.utc)
    assert result.page_count == 3 and result.job_duration == 1234
    assert result.extra == {"hash": "abc"}
    assert result.link_expired()


def test_naive_valid_till_is_utc_and_link_expiry() -> None:
    soon = datetime.now(timezone.utc) + timedelta(minutes=5)
    result = JobResult(job_id="J", status=JobStatus.SUCCESS, output_link_valid_till=soon.replace(tzinfo=None))
    assert result.output_link_valid_till is not None and result.output_link_valid_till.tzinfo is not None
    assert not result.link_expired()
    assert result.link_expired(now=soon + timedelta(seconds=1))
    assert not JobResult(job_id="J", status=JobStatus.SUCCESS).link_expired()


def test_unknown_status_is_rejected_by_the_model() -> None:
    with pytest.raises(ValidationError):
        JobResult.model_validate({"jobId": "J", "status": "done"})
