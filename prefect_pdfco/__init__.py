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
    FileTooLargeError,
    FileTransferError,
    InsufficientCreditsError,
    JobAborted,
    JobError,
    JobFailed,
    JobNotFound,
    JobStillWorking,
    JobTimeout,
    LocalFileError,
    LocalFileNotFoundError,
    PdfcoAPIError,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    ResultExpiredError,
    ResultNotReadyError,
    ResultTooLargeError,
    ServerError,
    UnexpectedResponseError,
)
from prefect_pdfco.files import (
    DownloadedFile,
    download_result,
    download_result_files,
    fetch_result_json,
    fetch_result_text,
    upload_file,
)
from prefect_pdfco.jobs import check_job, submit_job, wait_for_job, wait_for_jobs
from prefect_pdfco.models import JobResult, JobStatus, JobSubmission

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "DownloadedFile",
    "FileTooLargeError",
    "FileTransferError",
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
    "LocalFileError",
    "LocalFileNotFoundError",
    "PdfcoAPIError",
    "PdfcoClient",
    "PdfcoConnectionError",
    "PdfcoCredentials",
    "PdfcoError",
    "PollPolicy",
    "RateLimitError",
    "ResultExpiredError",
    "ResultNotReadyError",
    "ResultTooLargeError",
    "RetryPolicy",
    "ServerError",
    "UnexpectedResponseError",
    "__version__",
    "check_job",
    "download_result",
    "download_result_files",
    "fetch_result_json",
    "fetch_result_text",
    "submit_job",
    "upload_file",
    "wait_for_job",
    "wait_for_jobs",
]
