"""What PDF.co answers, what lands on disk, and the policies that say how hard to try and how often to check.

PDF.co's bodies vary by endpoint and by era (``status`` is ``200``, ``"created"`` or a job state; the job id is
``jobId`` or ``jobid``; ``error`` may be missing): the models accept every shape and keep unknown fields.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from prefect_pdfco._exceptions import InvalidParametersError, PdfcoConnectionError, RateLimitError, ServerError
from prefect_pdfco._util import check_number

__all__ = ["DownloadedFile", "JobResult", "JobStatus", "JobSubmission", "PollPolicy", "RetryPolicy"]

#: The shortest gap between two checks of one job: PDF.co's own clients tick no faster than once a second.
MIN_CHECK_GAP_SECONDS = 1.0

logger = logging.getLogger("prefect_pdfco")


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

    # What every answer about a job carries, in PDF.co's spellings or ours.
    job_id: str = Field(validation_alias=AliasChoices("jobId", "jobid", "job_id"))
    url: str | None = None
    credits: int | None = None
    remaining_credits: int | None = Field(
        default=None, validation_alias=AliasChoices("remainingCredits", "remaining_credits")
    )
    duration: float | None = None

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

    endpoint: str = ""
    name: str | None = None
    #: When PDF.co accepted the job (UTC), as this client saw it.
    submitted_at: datetime | None = None


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

    status: JobStatus
    message: str | None = None
    urls: list[str] | None = None
    output_link_valid_till: datetime | None = Field(
        default=None, validation_alias=AliasChoices("outputLinkValidTill", "output_link_valid_till")
    )
    page_count: int | None = Field(default=None, validation_alias=AliasChoices("pageCount", "page_count"))
    job_duration: float | None = Field(default=None, validation_alias=AliasChoices("jobDuration", "job_duration"))

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


class DownloadedFile(BaseModel):
    """A file that landed in full at its destination.

    Attributes:
        path: The absolute local path, or the path within the storage block (as the block reports it).
        size: Its size in bytes.
        url: The link it came from, in safe form (scheme, host and path: never the signed query string).
        job_id: The PDF.co job whose result it is, when known.
        sha256: The hex SHA-256 of its content: None unless ``fingerprint=True``.
        content_type: The Content-Type the file host declared, when it did.
        etag_verified: True when ``verify_etag=True`` found the content's MD5 equal to the one S3's ETag states.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    size: int
    url: str
    job_id: str | None = None
    sha256: str | None = None
    content_type: str | None = None
    etag_verified: bool = False


def _backoff(attempt: int, initial: float, multiplier: float, maximum: float, jitter: float, rand: float) -> float:
    """The capped exponential delay after attempt ``attempt`` (1-based), less up to ``jitter`` of it."""
    base = min(maximum, initial * multiplier ** min(max(0, attempt - 1), 64))
    return base * (1.0 - jitter * rand)


def _check_fraction(value: float, name: str, caller: str, *, allow_zero: bool = False, top: float = 1.0) -> None:
    if check_number(value, name, caller=caller, allow_zero=allow_zero) >= top:
        raise InvalidParametersError(caller, [f"{name}: must be under {top:g}, got {value:g}"])


@dataclass(frozen=True)
class RetryPolicy:
    """How one HTTP call is retried.

    Attributes:
        max_attempts: Attempts in all for failures other than 429 (connection errors, 5xx), the first included.
        initial_delay: Seconds before the first retry (also the least wait after a 429).
        multiplier: Growth of the delay per retry.
        max_delay: Cap on one delay.
        jitter: Fraction of a delay drawn at random, to spread out clients that failed together.
        rate_limit_budget_seconds: Seconds of waiting after 429 answers before one call gives up with
            ``RateLimitError`` (0: a 429 is not retried).

    Raises:
        InvalidParametersError: A value is NaN, infinite, negative, or zero where zero means nothing.
    """

    max_attempts: int = 4
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 10.0
    jitter: float = 0.25
    rate_limit_budget_seconds: float = 120.0

    def __post_init__(self) -> None:
        caller = "RetryPolicy"
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise InvalidParametersError(
                caller, [f"max_attempts: must be a whole number >= 1, got {self.max_attempts!r}"]
            )
        check_number(self.initial_delay, "initial_delay", caller=caller)
        check_number(self.max_delay, "max_delay", caller=caller)
        check_number(self.multiplier, "multiplier", caller=caller, minimum=1)
        _check_fraction(self.jitter, "jitter", caller, allow_zero=True, top=1.0 + 1e-12)
        check_number(self.rate_limit_budget_seconds, "rate_limit_budget_seconds", caller=caller, allow_zero=True)

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """The jittered delay after failed attempt number ``attempt`` (1-based)."""
        return _backoff(attempt, self.initial_delay, self.multiplier, self.max_delay, self.jitter, rand())

    def delay_for(
        self, error: Exception, *, attempt: int, idempotent: bool, rate_limited_seconds: float
    ) -> float | None:
        """Seconds to wait before sending a failed call again, or None to give up (the one rule of every retry loop).

        A 429 was refused, so sending again is always safe, on its own budget of seconds (``Retry-After`` when
        given); a connection error or 5xx counts against ``max_attempts`` and is re-sent only when ``idempotent``
        (or, for a connection error, when the request surely never reached the server). Anything else: None.

        Args:
            error: What the failed attempt raised.
            attempt: How many attempts failed with this kind of failure (429s, or the others), this one included.
            idempotent: Whether sending twice is harmless (a GET, a job check, a presigned PUT).
            rate_limited_seconds: Seconds already waited after 429s by this call.
        """
        if isinstance(error, RateLimitError):
            left = self.rate_limit_budget_seconds - rate_limited_seconds
            if left <= 0:
                return None
            if error.retry_after is not None:
                delay = max(error.retry_after, self.initial_delay)
                return delay if delay <= left else None
            return min(left, self.delay(attempt))
        if attempt >= self.max_attempts or not isinstance(error, (PdfcoConnectionError, ServerError)):
            return None
        if idempotent or (isinstance(error, PdfcoConnectionError) and not error.may_have_reached_server):
            return self.delay(attempt)
        return None


@dataclass(frozen=True)
class PollPolicy:
    """How often to check a job: ``initial_seconds`` before the first check (with nothing learnt), growing by
    ``multiplier`` up to ``max_seconds``; never two checks of one job closer than one second.

    Attributes:
        initial_seconds: Delay before the first check (with nothing learnt) or the first retry (``check_job``).
        multiplier: Growth per check.
        max_seconds: Cap on one delay; below 1 s it is raised to 1 s (with a warning).
        jitter: Fraction of a delay drawn at random, so jobs submitted together are not checked together.
        learned_share: Once the learnt first check found the job working, checks are at most this share of the
            time since the submit apart.
        cold_share: With nothing learnt, no gap longer than this share of the time since the submit (a gap of
            ``1.5 x initial_seconds`` is always allowed).
        safety_net_seconds: With callbacks, the longest sleep on the job's end event before a check anyway.
        learn: Learn from finished jobs and place the first check at their expected end.
    """

    initial_seconds: float = 2.0
    multiplier: float = 1.5
    max_seconds: float = 30.0
    jitter: float = 0.2
    learned_share: float = 0.15
    cold_share: float = 0.25
    safety_net_seconds: float = 300.0
    learn: bool = True

    def __post_init__(self) -> None:
        caller = "PollPolicy"
        check_number(self.initial_seconds, "initial_seconds", caller=caller)
        if check_number(self.max_seconds, "max_seconds", caller=caller) < MIN_CHECK_GAP_SECONDS:
            logger.warning(
                "max_seconds=%g between checks raised to %g s: each check costs 2 credits, and PDF.co's own "
                "clients check no faster than once a second",
                self.max_seconds,
                MIN_CHECK_GAP_SECONDS,
            )
            object.__setattr__(self, "max_seconds", MIN_CHECK_GAP_SECONDS)
        check_number(self.safety_net_seconds, "safety_net_seconds", caller=caller)
        check_number(self.multiplier, "multiplier", caller=caller, minimum=1)
        _check_fraction(self.jitter, "jitter", caller, allow_zero=True)
        _check_fraction(self.learned_share, "learned_share", caller)
        _check_fraction(self.cold_share, "cold_share", caller)
        if not isinstance(self.learn, bool):
            raise InvalidParametersError(caller, [f"learn: expected True or False, got {self.learn!r}"])

    def delay(self, check: int, rand: Callable[[], float] = random.random) -> float:
        """The jittered delay after check number ``check`` (1-based); never above the cap."""
        return _backoff(check, self.initial_seconds, self.multiplier, self.max_seconds, self.jitter, rand())
