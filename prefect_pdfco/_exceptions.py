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
    ├── SubmitOutcomeUnknown        a submit may have been billed and its answer was lost: never sent again
    ├── UnexpectedResponseError     a 2xx body we cannot make sense of (e.g. an unknown job status)
    ├── JobError                    a background job did not end in success (job_id, status, message)
    │   ├── JobFailed               PDF.co reported "failed"
    │   ├── JobAborted              PDF.co reported "aborted"
    │   ├── JobNotFound             a forced check reported "unknown": no such job id
    │   │   └── SubmittedJobGone    a job this flow paid for is no longer known to PDF.co; not paid again
    │   └── JobTimeout              our deadline passed while the job was still "working"
    ├── JobStillWorking             not an outcome: the signal that drives check_job's retries
    ├── FileTransferError           a result download or a presigned upload failed (url: host and path only)
    │   ├── ChecksumMismatchError   the bytes moved differ from the MD5 in S3's ETag (verify_etag=True)
    │   ├── ResultExpiredError      the result link has expired (valid_till); refused without a request
    │   ├── ResultNotReadyError     404 NoSuchKey on a result link: the job is not done (or the file is gone)
    │   └── ResultTooLargeError     a text or JSON result over the size limit of fetch_result_text/json
    ├── DestinationError            a result could not be written where it was to land; its link still works
    ├── InvalidParametersError      an argument refused before any request; nothing was sent (also ValueError)
    ├── UnknownOperationError       no catalogue operation has this name or path (also KeyError)
    ├── BlockNotFoundError          no block of that name is saved; names the command that saves one (also ValueError)
    └── LocalFileError              a local file cannot be uploaded (path)
        ├── LocalFileNotFoundError  missing, or not a regular file; also a FileNotFoundError
        └── FileTooLargeError       over PDF.co's 2 GB upload limit; refused before any request

Exceptions hold the ``httpx`` request and response, never the API key in their text: httpx requests carry the
``x-api-key`` header, so ``repr`` and ``str`` show only method, endpoint and code, and pickling drops both.
"""

from __future__ import annotations

import errno as _errno
from datetime import datetime, timezone
from typing import Any, ClassVar

import httpx

from prefect_pdfco._util import escape_control

#: Where PDF.co lists an account's jobs.
DASHBOARD = "https://app.pdf.co"


class PdfcoError(Exception):
    """Base class of every error raised by prefect-pdfco."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Prefect pickles a task's exception into its state; our constructors take keywords that Exception's own
        # pickling cannot replay, and the httpx objects hold the API key: rebuild from message and attributes.
        state = {key: None if key in ("request", "response") else value for key, value in self.__dict__.items()}
        return (_rebuild, (type(self), self.args), state)


def _rebuild(cls: type[PdfcoError], args: tuple[object, ...]) -> PdfcoError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    return error


def _utc_text(moment: datetime | None) -> str:
    if moment is None:
        return "at an unknown time"
    utc = moment.astimezone(timezone.utc) if moment.tzinfo else moment
    return f"at {utc:%Y-%m-%d %H:%M:%S} UTC"


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
        code = f"HTTP {status_code}" + (f", PDF.co code {self.error_code}" if self.error_code != status_code else "")
        text = f"{endpoint or 'PDF.co'} failed ({code}): {escape_control(message)}"
        if self.hint:
            text = f"{text} {self.hint}" if text.endswith((".", "!", "?")) else f"{text}. {self.hint}"
        super().__init__(text)

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
    """404 from the API host: no such path there, so the ``base_url`` or the endpoint is wrong."""

    http_status = 404
    hint = (
        "Check base_url on the credentials block (https://api.pdf.co unless you run an emulator) and the "
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
    hint = "The client slows down by itself after a 429; lower the concurrency if it keeps happening."

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(PdfcoAPIError):
    """5xx, or a body that is not JSON: PDF.co (or something in front of it) failed."""

    hint = "PDF.co had a problem; calls that are safe to repeat were retried already."


class PdfcoConnectionError(PdfcoError):
    """The request did not complete: the connection failed, broke, or timed out.

    Attributes:
        endpoint: The API path, or the host and path of a link.
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
        super().__init__(f"{endpoint}: {message}" if endpoint else message)


class SubmitOutcomeUnknown(PdfcoError):
    """A submit may have reached PDF.co (and been billed) but its answer was lost, so it is not sent again.

    Raised by the submit that lost its answer (read timeout, connection broken after sending, a 5xx) and by every
    later attempt of the same submit (a task or flow retry, a re-run of the flow run). PDF.co has no idempotency
    key: look for the job in the job history; if it is there, wait for its id; if not, send again on purpose
    (``resend_if_unknown=True`` on the task).

    Attributes:
        endpoint: The API path of the submit, e.g. ``/v1/pdf/convert/from/html``.
        sent_at: When it was sent (UTC), if known.
        submit_key: The key of the submit record in the task's result storage (never a secret).
        reason: What happened, e.g. ``"ReadTimeout"`` or ``"HTTP 503"``.
    """

    dashboard = DASHBOARD

    def __init__(
        self, endpoint: str, *, sent_at: datetime | None = None, submit_key: str = "", reason: str = ""
    ) -> None:
        self.endpoint = endpoint
        self.sent_at = sent_at
        self.submit_key = submit_key
        self.reason = reason
        why = f" ({escape_control(reason)})" if reason else ""
        record = f" Submit record: {submit_key}." if submit_key else ""
        super().__init__(
            f"{endpoint or 'PDF.co'}: this submit was sent {_utc_text(sent_at)} and its outcome is unknown{why}: "
            "the job may exist and be billed, so it was not sent again. Look for it in the job history at "
            f"{DASHBOARD} (jobs started around that time): if it is there, wait for its job id (wait_for_job); if "
            "it is not, send it again on purpose (resend_if_unknown=True)." + record
        )


class UnexpectedResponseError(PdfcoError):
    """A successful response whose body we cannot trust, e.g. a job status PDF.co does not document.

    Attributes:
        endpoint: The API path.
        body: The decoded body (PDF.co's responses hold no secrets).
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
        super().__init__(f"PDF.co job {shown}: {escape_control(message)}" if message else f"PDF.co job {shown}")


class JobFailed(JobError):
    """PDF.co reported the job ``failed``; ``message`` holds its reason."""


class JobAborted(JobError):
    """PDF.co reported the job ``aborted``."""


class JobNotFound(JobError):
    """A forced check reported ``unknown``: PDF.co has no job with this id (a typo, or an expired job)."""


class SubmittedJobGone(JobNotFound):
    """A job this flow already paid for is no longer known to PDF.co, so its result is lost; nothing was re-sent.

    A retry or re-run found the record of the submit and re-attached to its job, but PDF.co's forced check says
    ``unknown`` (jobs and their files live about an hour by default). Sending the document again costs a new
    submit: do it on purpose with ``resend_if_unknown=True``.

    Attributes:
        submitted_at: When the job was submitted (UTC), when known.
    """

    def __init__(
        self, job_id: str, submitted_at: datetime | None, message: str = "", *, status: str | None = None
    ) -> None:
        self.submitted_at = submitted_at
        super().__init__(
            job_id,
            message
            or f"this document was paid for as this job, submitted {_utc_text(submitted_at)}, but PDF.co no "
            "longer knows the job (its result is gone). It was not sent again; pass resend_if_unknown=True to pay "
            "for a new job.",
            status=status,
        )


class JobTimeout(JobError):
    """The deadline passed while PDF.co still reported ``working``; the job may still finish.

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

    Not a ``JobError``: it is a signal, not an outcome, so ``except JobError`` never swallows a retry.

    Attributes:
        job_id: PDF.co's job id.
        status: The last status PDF.co reported, if any.
        message: Why it is still working (e.g. the check could not be made).
        check: This check's number; checks: the checks allowed; next_seconds: the delay before the next one.
    """

    def __init__(
        self,
        job_id: str,
        message: str = "",
        *,
        status: str | None = None,
        check: int | None = None,
        checks: int | None = None,
        next_seconds: float | None = None,
    ) -> None:
        self.job_id, self.status, self.message = job_id, status, message
        self.check, self.checks, self.next_seconds = check, checks, next_seconds
        where = f"check {check} of {checks}" if check and checks else ""
        if next_seconds is not None:
            where += ("; " if where else "") + f"next in ~{round(next_seconds)}s"
        text = f"PDF.co job {escape_control(job_id)} is still working" + (f" ({where})" if where else "")
        super().__init__(text + (f": {escape_control(message)}" if message else ""))


class FileTransferError(PdfcoError):
    """A result download or a presigned upload failed: the file host (S3) refused it or broke off.

    Attributes:
        message: What went wrong.
        url: The link in safe form: scheme, host and path, never the signed query string.
        status_code: The HTTP status of the file host's answer, when there was one.
    """

    def __init__(self, message: str, *, url: str = "", status_code: int | None = None) -> None:
        self.message = message
        self.url = url
        self.status_code = status_code
        super().__init__(f"{url}: {message}" if url else message)


class ChecksumMismatchError(FileTransferError):
    """The bytes moved differ from the MD5 that S3's ETag states (``verify_etag=True``); nothing was kept."""


class ResultExpiredError(FileTransferError):
    """The result link has expired (PDF.co deletes output files then); run the job again.

    Attributes:
        valid_till: When the link stopped working (timezone-aware), when known.
    """

    def __init__(
        self, message: str, *, url: str = "", status_code: int | None = None, valid_till: datetime | None = None
    ) -> None:
        self.valid_till = valid_till
        super().__init__(message, url=url, status_code=status_code)


class ResultNotReadyError(FileTransferError):
    """The file host answered 404 (``NoSuchKey``): the job is not done yet, or the file was deleted."""


class ResultTooLargeError(FileTransferError):
    """A text or JSON result is over the limit of ``fetch_result_text``/``fetch_result_json``.

    Attributes:
        limit: The limit in bytes.
    """

    def __init__(self, message: str, *, url: str = "", status_code: int | None = None, limit: int = 0) -> None:
        self.limit = limit
        super().__init__(message, url=url, status_code=status_code)


class DestinationError(PdfcoError):
    """A result could not be written at its destination (not a directory, read-only, full, refused by a block).

    The job succeeded and its link works until it expires: only the download needs to run again.

    Attributes:
        message: What went wrong. destination: The directory or kind of block. url: The link (safe form).
        job_id: The job, when known. valid_till: When the link stops working. errno: The OS error number.
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
        self.message, self.destination, self.url = message, destination, url
        self.job_id, self.valid_till, self.errno = job_id, valid_till, errno
        super().__init__(message)


class InvalidParametersError(PdfcoError, ValueError):
    """An argument was refused before any request: nothing was sent, nothing was spent.

    Attributes:
        operation: The task, flow or operation that refused it, e.g. ``"split_pdf"``.
        errors: One readable line per problem (the argument and why; never its value, which may be a password).
    """

    def __init__(self, operation: str, errors: list[str]) -> None:
        self.operation = operation
        self.errors = list(errors)
        super().__init__(f"{operation}: {'; '.join(self.errors) or 'invalid parameters'} (nothing was sent to PDF.co)")


class UnknownOperationError(PdfcoError, KeyError):
    """No operation in the catalogue has this name or path; the message lists the closest ones."""

    def __init__(self, wanted: str, suggestions: list[str]) -> None:
        self.wanted = wanted
        self.suggestions = list(suggestions)
        hint = f" Did you mean {', '.join(repr(s) for s in self.suggestions)}?" if self.suggestions else ""
        self.message = (
            f"Unknown PDF.co operation {wanted!r}.{hint} Pass an operation name (prefect_pdfco.get_operation), a "
            "documented path such as '/v1/pdf/merge', or call submit_job with any endpoint."
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message  # KeyError's own would quote it


class BlockNotFoundError(PdfcoError, ValueError):
    """No ``PdfcoCredentials`` block of this name is saved (a ``ValueError``, as Prefect's own answer is).

    Attributes:
        name: The block document name asked for.
        block_type_slug: The block type looked in.
    """

    def __init__(self, name: str, block_type_slug: str) -> None:
        self.name = name
        self.block_type_slug = block_type_slug
        self.message = (
            f"No {block_type_slug} block named {name!r} is saved in this Prefect workspace. Save one with "
            f"`python -m prefect_pdfco credentials save --name {name}` (the key comes from PDFCO_API_KEY or a "
            "prompt), or in the Prefect UI under Blocks; `prefect block ls` lists the saved ones."
        )
        super().__init__(self.message)


class LocalFileError(PdfcoError):
    """A local file cannot be uploaded to PDF.co.

    Attributes:
        path: The local path, as given. message: What is wrong with it.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")


class LocalFileNotFoundError(LocalFileError, FileNotFoundError):
    """The file to upload does not exist or is not a regular file; ``except FileNotFoundError`` catches it."""

    def __init__(self, path: str, message: str = "no such file") -> None:
        super().__init__(path, message)
        self.errno, self.strerror, self.filename = _errno.ENOENT, message, path

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.message))  # errno & co. live in OSError's slots


class FileTooLargeError(LocalFileError):
    """The file is over PDF.co's 2 GB upload limit; refused before any request.

    Attributes:
        size: The file's size in bytes. limit: The limit in bytes.
    """

    def __init__(self, path: str, message: str = "", *, size: int = 0, limit: int = 0) -> None:
        self.size = size
        self.limit = limit
        super().__init__(path, message or f"{size} bytes is over the upload limit of {limit} bytes")
