"""Pydantic models of PDF.co responses, tolerant of the shapes PDF.co actually sends.

PDF.co's bodies vary by endpoint and by era: ``status`` is ``200`` on sync and submit bodies, ``"created"`` on
the invoice-parser submit and a job state on ``/v1/job/check``; the job id is ``jobId`` or ``jobid``; ``error``
may be missing. Unknown fields are kept (``model_extra``) so nothing PDF.co adds is lost.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

__all__ = ["JobResult", "JobStatus", "JobSubmission"]


class JobStatus(str, Enum):
    """The states ``/v1/job/check`` reports.

    ``working`` also means "no such job" unless the check was forced; ``unknown`` is only returned by a
    forced check.
    """

    WORKING = "working"
    SUCCESS = "success"
    FAILED = "failed"
    ABORTED = "aborted"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """True for every state but ``working``: polling again will not change the answer."""
        return self is not JobStatus.WORKING

    def __str__(self) -> str:
        return self.value


class _PdfcoModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    @property
    def extra(self) -> dict[str, Any]:
        """Fields PDF.co sent that this model does not name, as sent."""
        return dict(self.model_extra or {})


class JobSubmission(_PdfcoModel):
    """What PDF.co answers to an ``async: true`` submit.

    Attributes:
        job_id: PDF.co's job id; treat it as an opaque string.
        url: The result placeholder: not readable until the job check reports ``success``.
        endpoint: The API path the job was submitted to.
        credits: Credits billed for the submit, when reported.
        remaining_credits: The account balance after the submit.
        name: The output file name, when reported.
    """

    job_id: str = Field(validation_alias=AliasChoices("jobId", "jobid", "job_id"))
    url: str | None = None
    endpoint: str = ""
    credits: int | None = None
    remaining_credits: int | None = Field(
        default=None, validation_alias=AliasChoices("remainingCredits", "remaining_credits")
    )
    name: str | None = None
    duration: float | None = None


class JobResult(_PdfcoModel):
    """One answer of ``/v1/job/check`` (any status), or the final result of a job.

    Attributes:
        job_id: PDF.co's job id.
        status: The job state.
        message: PDF.co's message (the reason, for ``failed``).
        url: The result link (an expiring presigned URL) once ``success``. For split, a JSON file holding the
            list of part links.
        output_link_valid_till: When ``url`` stops working (timezone-aware), when PDF.co says.
        page_count: Pages processed.
        credits: Credits billed by this check (and, under the older billing model, the remaining pages).
        remaining_credits: The account balance after this check.
        job_duration: The job's processing time in milliseconds.
        duration: This call's duration in milliseconds.
    """

    job_id: str = Field(validation_alias=AliasChoices("jobId", "jobid", "job_id"))
    status: JobStatus
    message: str | None = None
    url: str | None = None
    urls: list[str] | None = None
    output_link_valid_till: datetime | None = Field(
        default=None, validation_alias=AliasChoices("outputLinkValidTill", "output_link_valid_till")
    )
    page_count: int | None = Field(default=None, validation_alias=AliasChoices("pageCount", "page_count"))
    credits: int | None = None
    remaining_credits: int | None = Field(
        default=None, validation_alias=AliasChoices("remainingCredits", "remaining_credits")
    )
    job_duration: float | None = Field(default=None, validation_alias=AliasChoices("jobDuration", "job_duration"))
    duration: float | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _lowercase_status(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("output_link_valid_till")
    @classmethod
    def _assume_utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value

    def link_expired(self, now: datetime | None = None) -> bool:
        """Whether ``output_link_valid_till`` has passed (False when PDF.co did not say)."""
        if self.output_link_valid_till is None:
            return False
        return (now or datetime.now(timezone.utc)) >= self.output_link_valid_till
