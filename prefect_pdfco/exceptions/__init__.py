"""Every error prefect-pdfco raises.

The tree::

    PdfcoError                      base of everything we raise
    ├── PdfcoAPIError               PDF.co answered with an error (HTTP status or "error": true in the body)
    │   ├── BadRequestError         400, other 4xx, and PDF.co's 441-454 input codes (error_code)
    │   │   └── NotFoundError       404 from the API host: a wrong base_url or endpoint path
    │   ├── AuthenticationError     401: missing or invalid API key
    │   ├── InsufficientCreditsError 402 (older docs: 403 "not enough credits")
    │   ├── RateLimitError          429; retry_after when a header gives it
    │   └── ServerError             5xx, and bodies that are not JSON
    ├── PdfcoConnectionError        the request did not complete (connect/read errors, timeouts)
    ├── SubmitOutcomeUnknown        an earlier submit of this document may have been billed: not sent again
    ├── UnexpectedResponseError     a 2xx body we cannot make sense of (e.g. an unknown job status)
    ├── JobError                    a background job did not end in success (job_id, status, message)
    │   ├── JobFailed               PDF.co reported "failed"
    │   ├── JobAborted              PDF.co reported "aborted"
    │   ├── JobNotFound             a forced check reported "unknown": no such job id
    │   └── JobTimeout              our deadline passed while the job was still "working"
    ├── JobStillWorking             not an outcome: the signal that drives check_job's retries (job_id)
    ├── FileTransferError           a result download or a presigned upload failed (url: host and path only)
    │   ├── ChecksumMismatchError   the bytes moved differ from the MD5 in S3's ETag (verify_etag=True)
    │   ├── ResultExpiredError      the result link has expired (valid_till); refused without a request
    │   ├── ResultNotReadyError     404 NoSuchKey on a result link: the job is not done (or the file is gone)
    │   └── ResultTooLargeError     a text or JSON result over the size limit of fetch_result_text/json
    ├── DestinationError            a result could not be written where it was to land; its link still works
    ├── InvalidParametersError      a typed task's parameters failed validation; nothing was sent (also ValueError)
    ├── UnknownOperationError       no catalogue operation has this name or path (also KeyError)
    ├── BlockNotFoundError          no block of that name is saved; names the command that saves one (also ValueError)
    └── LocalFileError              a local file cannot be uploaded (path)
        ├── LocalFileNotFoundError  missing, or not a regular file; also a FileNotFoundError
        └── FileTooLargeError       over PDF.co's 2 GB upload limit; refused before any request

Only ``PdfcoClient`` turns HTTP into these (see ``_http_errors.map_response``); the tasks add the job errors, and
``files`` adds the transfer errors for result links and presigned uploads (hosts other than PDF.co's API).
Exceptions carry objects (the ``httpx.Request`` and ``httpx.Response``), never the API key: httpx requests
hold the ``x-api-key`` header, so ``__repr__`` and ``__str__`` show only the method, endpoint and code.
"""

from __future__ import annotations

from prefect_pdfco.exceptions._api import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    NotFoundError,
    PdfcoAPIError,
    PdfcoConnectionError,
    RateLimitError,
    ServerError,
    SubmitOutcomeUnknown,
    UnexpectedResponseError,
)
from prefect_pdfco.exceptions._base import (
    PdfcoError,
)
from prefect_pdfco.exceptions._files import (
    ChecksumMismatchError,
    FileTransferError,
    ResultExpiredError,
    ResultNotReadyError,
    ResultTooLargeError,
)
from prefect_pdfco.exceptions._jobs import (
    JobAborted,
    JobError,
    JobFailed,
    JobNotFound,
    JobStillWorking,
    JobTimeout,
)
from prefect_pdfco.exceptions._local import (
    BlockNotFoundError,
    DestinationError,
    FileTooLargeError,
    InvalidParametersError,
    LocalFileError,
    LocalFileNotFoundError,
    UnknownOperationError,
)

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BlockNotFoundError",
    "ChecksumMismatchError",
    "DestinationError",
    "FileTooLargeError",
    "FileTransferError",
    "InsufficientCreditsError",
    "InvalidParametersError",
    "JobAborted",
    "JobError",
    "JobFailed",
    "JobNotFound",
    "JobStillWorking",
    "JobTimeout",
    "LocalFileError",
    "LocalFileNotFoundError",
    "NotFoundError",
    "PdfcoAPIError",
    "PdfcoConnectionError",
    "PdfcoError",
    "RateLimitError",
    "ResultExpiredError",
    "ResultNotReadyError",
    "ResultTooLargeError",
    "ServerError",
    "SubmitOutcomeUnknown",
    "UnexpectedResponseError",
    "UnknownOperationError",
]
