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
    │   ├── ResultExpiredError      the result link has expired (valid_till); refused without a request
    │   ├── ResultNotReadyError     404 NoSuchKey on a result link: the job is not done (or the file is gone)
    │   └── ResultTooLargeError     a text or JSON result over the size limit of fetch_result_text/json
    ├── DestinationError            a result could not be written where it was to land; its link still works
    ├── InvalidParametersError      a typed task's parameters failed validation; nothing was sent (also ValueError)
    ├── UnknownOperationError       no catalogue operation has this name or path (also KeyError)
    └── LocalFileError              a local file cannot be uploaded (path)
        ├── LocalFileNotFoundError  missing, or not a regular file; also a FileNotFoundError
        └── FileTooLargeError       over PDF.co's 2 GB upload limit; refused before any request

Only ``PdfcoClient`` turns HTTP into these (see ``client.map_response``); the tasks add the job errors, and
``files`` adds the transfer errors for result links and presigned uploads (hosts other than PDF.co's API).
Exceptions carry objects (the ``httpx.Request`` and ``httpx.Response``), never the API key: httpx requests
hold the ``x-api-key`` header, so ``__repr__`` and ``__str__`` show only the method, endpoint and code.
"""

from __future__ import annotations

import errno
from datetime import datetime, timezone
from typing import ClassVar

import httpx

from prefect_pdfco._redact import escape_control

__all__ = [
    "AuthenticationError",
    "BadRequestError",
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


class PdfcoError(Exception):
    """Base class of every error raised by prefect-pdfco.

    Prefect pickles a task's exception into its state, and our constructors take keyword arguments that
    ``Exception``'s own pickling cannot replay: every error is rebuilt from its message and attributes instead,
    without the ``httpx`` request and response (the request's headers hold the API key).
    """

    def __reduce__(self) -> tuple[object, ...]:
        state = {key: None if key in ("request", "response") else value for key, value in self.__dict__.items()}
        return (_rebuild, (type(self), self.args), state)


def _rebuild(cls: type[PdfcoError], args: tuple[object, ...]) -> PdfcoError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    return error


class PdfcoAPIError(PdfcoError):
    """PDF.co answered, and the answer is an error.

    Attributes:
        status_code: The HTTP status of the response.
        error_code: PDF.co's own code (``errorCode`` or a numeric ``status`` in the body, e.g. 441), else the
            HTTP status.
        message: PDF.co's message, verbatim.
        endpoint: The API path that was called, e.g. ``/v1/pdf/merge``.
        request: The ``httpx.Request`` (its headers hold the API key: never log them).
        response: The ``httpx.Response``.
    """

    #: The HTTP status this class stands for; None for classes that cover a range.
    http_status: ClassVar[int | None] = None
    #: What to do about it, appended to the message.
    hint: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_code: int | None = None,
        endpoint: str = "",
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.error_code = error_code if error_code is not None else status_code
        self.endpoint = endpoint
        self.request = request
        self.response = response
        super().__init__(self._describe())

    def _describe(self) -> str:
        code = f"HTTP {self.status_code}"
        if self.error_code != self.status_code:
            code += f", PDF.co code {self.error_code}"
        text = f"{self.endpoint or 'PDF.co'} failed ({code}): {self.message}"
        if not self.hint:
            return text
        return f"{text} {self.hint}" if text.endswith((".", "!", "?")) else f"{text}. {self.hint}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, error_code={self.error_code}, "
            f"endpoint={self.endpoint!r}, message={self.message!r})"
        )




class BadRequestError(PdfcoAPIError):
    """400, other 4xx, or one of PDF.co's 441-454 input codes: fix the input, retrying will not help."""

    http_status = 400
    hint = (
        "Check the parameters and the input URL; codes 441-454 are listed in PDF.co's docs "
        "(441 password, 442 damaged file, 449/450 page range, 454 invalid parameters)."
    )


class NotFoundError(BadRequestError):
    """404 from the API host: no such path there, so the ``base_url`` or the endpoint is wrong; not retried."""

    http_status = 404
    hint = (
        "Check base_url on the credentials block (https://api.pdf.co unless you run the emulator) and the "
        "endpoint path against PDF.co's docs (e.g. /v1/pdf/merge)."
    )


class AuthenticationError(PdfcoAPIError):
    """401: the API key is missing or invalid."""

    http_status = 401
    hint = "Check the api_key of your PdfcoCredentials block (https://app.pdf.co/ > API)."


class InsufficientCreditsError(PdfcoAPIError):
    """402 (older docs: 403 "not enough credits"): the account has no credits left for this call."""

    http_status = 402
    hint = "Top up credits at https://app.pdf.co/subscriptions or lower the volume of this run."


class RateLimitError(PdfcoAPIError):
    """429: too many requests for the account's plan (2 requests/s free, 10 paid).

    Attributes:
        retry_after: Seconds to wait, when a ``Retry-After`` header said so (PDF.co documents none).
    """

    http_status = 429
    hint = (
        "Lower the request rate: set requests_per_second on the credentials block "
        "(2 for free plans, 10 for paid) or use fewer concurrent tasks."
    )

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]




class ServerError(PdfcoAPIError):
    """5xx, or a body that is not JSON: PDF.co (or something in front of it) failed."""

    hint = "PDF.co had a problem; idempotent calls were retried already. Try again later."


class PdfcoConnectionError(PdfcoError):
    """The request did not complete: the connection failed, broke, or timed out.

    Attributes:
        endpoint: The API path, or the host and path of a download.
        request: The ``httpx.Request``, when one was built.
        may_have_reached_server: False only when the request surely never left (connect error or timeout,
            pool timeout); a submit is re-sent only then.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        request: httpx.Request | None = None,
        may_have_reached_server: bool = True,
    ) -> None:
        self.message = message
        self.endpoint = endpoint
        self.request = request
        self.may_have_reached_server = may_have_reached_server
        super().__init__(f"{endpoint or 'PDF.co'}: {message}" if endpoint else message)




class SubmitOutcomeUnknown(PdfcoError):
    """An earlier attempt sent this submit and never learnt its outcome, so it is not sent again.

    PDF.co bills every submit and has no idempotency key. When a submit's answer was lost (read timeout,
    connection broken after sending, a 5xx, or the process died mid-request), the job may exist and be billed;
    a retry of the task, of the flow run, or a re-run of the same flow run raises this instead of paying twice.
    Look for the job in PDF.co's dashboard; to send the document again anyway, call the task with
    ``resend_if_unknown=True``.

    Attributes:
        endpoint: The API path of the submit, e.g. ``/v1/pdf/convert/from/html``.
        sent_at: When the earlier attempt sent it (UTC), if known.
        submit_key: The key of the submit record in the task's result storage (never a secret).
        reason: What happened to the earlier attempt, e.g. ``"ReadTimeout"`` or ``"HTTP 503"``.
    """

    #: Where PDF.co lists an account's jobs.
    dashboard = "https://app.pdf.co"

    def __init__(
        self, endpoint: str, *, sent_at: datetime | None = None, submit_key: str = "", reason: str = ""
    ) -> None:
        self.endpoint = endpoint
        self.sent_at = sent_at
        self.submit_key = submit_key
        self.reason = reason
        utc = sent_at.astimezone(timezone.utc) if sent_at is not None and sent_at.tzinfo else sent_at
        when = f"at {utc:%Y-%m-%d %H:%M:%S} UTC" if utc is not None else "at an unknown time"
        why = f" ({escape_control(reason)})" if reason else ""
        record = f" Submit record: {submit_key}." if submit_key else ""
        super().__init__(
            f"{endpoint or 'PDF.co'}: an earlier attempt sent this submit {when} and its outcome is unknown{why}. "
            "It was not sent again, so the job is not paid twice. Look for it in the job history at "
            f"{self.dashboard} (jobs started around that time): if it is there, pass its job id to wait_for_job; "
            "if it is not, call the task again with resend_if_unknown=True to send it once more." + record
        )




class UnexpectedResponseError(PdfcoError):
    """A successful response whose body we cannot trust, e.g. a job status PDF.co does not document.

    Attributes:
        endpoint: The API path.
        body: The decoded body (secrets are never in PDF.co's responses).
    """

    def __init__(self, message: str, *, endpoint: str = "", body: object = None) -> None:
        self.message = message
        self.endpoint = endpoint
        self.body = body
        super().__init__(f"{endpoint}: {message}" if endpoint else message)




class JobError(PdfcoError):
    """A background job did not end in success.

    Attributes:
        job_id: PDF.co's job id (opaque string): hand it to ``wait_for_job`` to resume.
        status: The last status PDF.co reported (a ``JobStatus`` value), if any.
        message: PDF.co's message, or ours.
    """

    def __init__(self, job_id: str, message: str = "", *, status: str | None = None) -> None:
        self.job_id = job_id
        self.status = status
        self.message = message
        shown = escape_control(job_id)
        super().__init__(f"PDF.co job {shown}: {message}" if message else f"PDF.co job {shown}")



class JobFailed(JobError):
    """PDF.co reported the job ``failed``; ``message`` holds its reason."""


class JobAborted(JobError):
    """PDF.co reported the job ``aborted``."""


class JobNotFound(JobError):
    """A forced check reported ``unknown``: PDF.co has no job with this id (typo, or expired)."""


class JobTimeout(JobError):
    """The deadline passed while PDF.co still reported ``working``.

    The job may still finish: pass ``job_id`` to ``wait_for_job`` in a later run to pick up its result
    without paying for a new submit.

    Attributes:
        waited_seconds: How long we waited before giving up.
    """

    def __init__(
        self, job_id: str, message: str = "", *, status: str | None = None, waited_seconds: float = 0.0
    ) -> None:
        self.waited_seconds = waited_seconds
        super().__init__(job_id, message, status=status)



class JobStillWorking(PdfcoError):
    """The job is still ``working``: raised by ``check_job`` so that Prefect retries the task.

    Not a ``JobError``: it is a signal, not an outcome, and ``except JobError`` around a wait must not swallow the
    retry. Its attributes are those of ``JobError``.

    Attributes:
        job_id: PDF.co's job id.
        status: The last status PDF.co reported (``working``), if any.
        message: Why it is still working (e.g. the check could not be made).
    """

    def __init__(self, job_id: str, message: str = "", *, status: str | None = None) -> None:
        self.job_id = job_id
        self.status = status
        self.message = message
        super().__init__(f"PDF.co job {escape_control(job_id)} is still working" + (f": {message}" if message else ""))


class FileTransferError(PdfcoError):
    """A result download or a presigned upload failed: the file host (S3) refused it or broke off.

    These hosts are not PDF.co's API and never see the API key. Their errors are S3's XML, not PDF.co's JSON.

    Attributes:
        message: What went wrong, in words.
        url: The link in safe form: scheme, host and path, never the signed query string.
        status_code: The HTTP status of the file host's answer, when there was one.
    """

    def __init__(self, message: str, *, url: str = "", status_code: int | None = None) -> None:
        self.message = message
        self.url = url
        self.status_code = status_code
        super().__init__(f"{url}: {message}" if url else message)





class ResultExpiredError(FileTransferError):
    """The result link has expired: PDF.co deletes output files when their link expires.

    Raised without any request when ``outputLinkValidTill`` (or the link's own signed expiry) has passed, and
    when the file host answers S3's 403 "Request has expired". Run the job again, and pass PDF.co's
    ``expiration`` parameter (minutes; up to 1440 on some plans) to keep links longer.

    Attributes:
        valid_till: When the link stopped working (timezone-aware), when known.
    """

    def __init__(
        self, message: str, *, url: str = "", status_code: int | None = None, valid_till: datetime | None = None
    ) -> None:
        self.valid_till = valid_till
        super().__init__(message, url=url, status_code=status_code)



class ResultNotReadyError(FileTransferError):
    """The file host answered 404 (S3 ``NoSuchKey``): the job is not done yet, or the file was deleted.

    A job's result URL exists before the job has finished; wait for ``success`` (``wait_for_job``) first.
    """


class ResultTooLargeError(FileTransferError):
    """A text or JSON result is larger than the limit of ``fetch_result_text``/``fetch_result_json``.

    Download it to a file with ``download_result`` instead, or raise ``max_bytes``.

    Attributes:
        limit: The limit in bytes.
    """

    def __init__(self, message: str, *, url: str = "", status_code: int | None = None, limit: int = 0) -> None:
        self.limit = limit
        super().__init__(message, url=url, status_code=status_code)



class DestinationError(PdfcoError):
    """A downloaded result could not be written at its destination: a file where the directory should be, a
    read-only directory, a full disk, no permission, or a storage block that refused it.

    The job succeeded and its result link still works until it expires, so only the download needs to run
    again (once the destination is fixed): not the job, which would be billed again.

    Attributes:
        message: What went wrong, in words.
        destination: The directory, or the kind of storage block.
        url: The result link in safe form (host and path, never the signed query string).
        job_id: The job whose result it is, when known.
        valid_till: When the link stops working (timezone-aware), when known.
        errno: The operating system's error number (e.g. ``errno.ENOSPC``), when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        destination: str = "",
        url: str = "",
        job_id: str | None = None,
        valid_till: datetime | None = None,
        errno: int | None = None,
    ) -> None:
        self.message = message
        self.destination = destination
        self.url = url
        self.job_id = job_id
        self.valid_till = valid_till
        self.errno = errno
        super().__init__(message)



class LocalFileError(PdfcoError):
    """A local file cannot be uploaded to PDF.co.

    Attributes:
        path: The local path, as given.
        message: What is wrong with it.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")



class LocalFileNotFoundError(LocalFileError, FileNotFoundError):
    """The file to upload does not exist or is not a regular file; ``except FileNotFoundError`` catches it."""

    def __init__(self, path: str, message: str = "no such file") -> None:
        super().__init__(path, message)
        # The attributes an OSError handler reads.
        self.errno = errno.ENOENT
        self.strerror = message
        self.filename = path

    def __reduce__(self) -> tuple[object, ...]:
        # errno, strerror and filename live in OSError's slots, not in __dict__: replay the constructor.
        return (type(self), (self.path, self.message))


class FileTooLargeError(LocalFileError):
    """The file is over PDF.co's 2 GB limit for presigned uploads; refused before any request is made.

    Attributes:
        size: The file's size in bytes.
        limit: The limit in bytes.
    """

    def __init__(self, path: str, message: str = "", *, size: int = 0, limit: int = 0) -> None:
        self.size = size
        self.limit = limit
        super().__init__(path, message or f"{size} bytes is over the upload limit of {limit} bytes")



class InvalidParametersError(PdfcoError, ValueError):
    """Parameters of a typed operation task failed validation; raised before any request (no credits spent).

    Attributes:
        operation: The operation's name, e.g. ``"split"``.
        errors: One readable line per problem (field and reason; never the value, which may be a password).
    """

    def __init__(self, operation: str, errors: list[str]) -> None:
        self.operation = operation
        self.errors = list(errors)
        detail = "; ".join(self.errors) or "invalid parameters"
        super().__init__(f"{operation}: {detail} (nothing was sent to PDF.co)")



class UnknownOperationError(PdfcoError, KeyError):
    """No operation in the catalogue has this name or path; the message lists the closest ones."""

    def __init__(self, wanted: str, suggestions: list[str]) -> None:
        self.wanted = wanted
        self.suggestions = list(suggestions)
        hint = f" Did you mean {', '.join(repr(s) for s in self.suggestions)}?" if self.suggestions else ""
        self.message = (
            f"Unknown PDF.co operation {wanted!r}.{hint} Pass a name from prefect_pdfco.operations.OPERATIONS, "
            "a documented path such as '/v1/pdf/merge', or call submit_job with any endpoint."
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        # KeyError's own __str__ would print the message as a quoted repr.
        return self.message
