"""prefect-pdfco: Prefect 3 tasks and flows for the PDF.co REST API.

The emulator lives in ``prefect_pdfco.testing`` and is not imported here (it needs the ``emulator`` extra).
"""

from __future__ import annotations

from prefect_pdfco._polling import PollPolicy
from prefect_pdfco._retry import RetryPolicy
from prefect_pdfco._version import __version__
from prefect_pdfco.client import PdfcoClient
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    JobAborted,
    JobError,
    JobFailed,
    JobNotFound,
    JobStillWorking,
    JobTimeout,
    PdfcoAPIError,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)
from prefect_pdfco.jobs import check_job, submit_job, wait_for_job, wait_for_jobs
from prefect_pdfco.models import JobResult, JobStatus, JobSubmission

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "InsufficientCreditsError",
    "JobAborted",
    "JobError",
    "JobFailed",
    "JobNotFound",
    "JobResult",
    "JobStatus",
    "JobStillWorking",
    "JobSubmission",
    "JobTimeout",
    "PdfcoAPIError",
    "PdfcoClient",
    "PdfcoConnectionError",
    "PdfcoCredentials",
    "PdfcoError",
    "PollPolicy",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "UnexpectedResponseError",
    "__version__",
    "check_job",
    "submit_job",
    "wait_for_job",
    "wait_for_jobs",
]
