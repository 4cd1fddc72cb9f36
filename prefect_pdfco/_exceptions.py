"""Every error prefect-pdfco raises (the tree, and why no API key is in them: docs/reference/errors.md)."""

from __future__ import annotations

import errno as _errno
from datetime import datetime, timezone
from typing import Any, ClassVar

import httpx

DASHBOARD = "https://app.pdf.co"  # where PDF.co lists an account's jobs


def escape_control(text: str) -> str:
    """``text`` with control characters shown as escapes, so an id or a name cannot split or forge a log line."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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
    utc = moment.astimezone(timezone.utc) if moment is not None and moment.tzinfo else moment
    return f"at {utc:%Y-%m-%d %H:%M:%S} UTC" if utc is not None else "at an unknown time"


class PdfcoAPIError(PdfcoError):
    """PDF.co answered, and the answer is an error.

    Attributes:
        status_code: The HTTP status of the response.
        error_code: PDF.co's own code (``errorCode`` or a numeric ``status`` in the body, e.g. 441), else the
            HTTP status.
        message: PDF.co's message, verbatim.
        endpoint: The API path that was called, e.g. ``/v1/pdf/merge``.
        request, response: The ``httpx`` objects (the request's headers hold the API key: never log them).
    """

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
        self.message, self.status_code, self.endpoint = message, status_code, endpoint
        self.error_code = error_code if error_code is not None else status_code
        self.request, self.response = request, response
        code = f"HTTP {status_code}" + (f", PDF.co code {self.error_code}" if self.error_code != status_code else "")
        text = f"{endpoint or 'PDF.co'} failed ({code}): {escape_control(message)}".rstrip(".")
        super().__init__(f"{text}. {self.hint}" if self.hint else text)


class BadRequestError(PdfcoAPIError):
    """400, other 4xx, or one of PDF.co's 441-454 input codes: fix the input, retrying will not help."""

    hint = (
        "Check the parameters and the input URL; codes 441-454 are listed in PDF.co's docs "
        "(441 password, 442 damaged file, 449/450 page range, 454 invalid parameters)."
    )


class NotFoundError(BadRequestError):
    """404 from the API host: no such path there, so the ``base_url`` or the endpoint is wrong."""

    hint = (
        "Check base_url on the credentials block (https://api.pdf.co unless you test against a local server) and the "
        "endpoint path against PDF.co's docs (e.g. /v1/pdf/merge)."
    )


class AuthenticationError(PdfcoAPIError):
    """401: the API key is missing or invalid."""

    hint = "Check the api_key of your PdfcoCredentials block (https://app.pdf.co/ > API)."


class InsufficientCreditsError(PdfcoAPIError):
    """402 (older docs: 403 "not enough credits"): the account has no credits left for this call."""

    hint = "Top up credits at https://app.pdf.co/subscriptions or lower the volume of this run."


class RateLimitError(PdfcoAPIError):
    """429: too many requests for the plan (2/s free, 10/s paid); ``retry_after``: a ``Retry-After``, if any."""

    hint = "The client slows down by itself after a 429; lower the concurrency if it keeps happening."

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(PdfcoAPIError):
    """5xx, or a body that is not JSON: PDF.co (or something in front of it) failed."""

    hint = "PDF.co had a problem; calls that are safe to repeat were retried already."


class PdfcoConnectionError(PdfcoError):
    """The request to ``endpoint`` did not complete: the connection failed, broke, or timed out.

    Attributes:
        may_have_reached_server: False only when the request surely never left (connect error or timeout, pool
            timeout); a submit is sent again only then.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        request: httpx.Request | None = None,
        may_have_reached_server: bool = True,
    ) -> None:
        self.message, self.endpoint, self.request = message, endpoint, request
        self.may_have_reached_server = may_have_reached_server
        super().__init__(f"{endpoint}: {message}" if endpoint else message)


class SubmitOutcomeUnknown(PdfcoError):
    """A submit may have reached PDF.co (and been billed) but its answer was lost (read timeout, connection broken
    after sending, 5xx), so neither this attempt nor any retry or re-run sends it again.

    Attributes:
        endpoint, sent_at: The API path of the submit, and when it was sent (UTC), if known.
        submit_key, reason: The record's key in the result storage; what happened (``"HTTP 503"``).
    """

    def __init__(
        self, endpoint: str, *, sent_at: datetime | None = None, submit_key: str = "", reason: str = ""
    ) -> None:
        self.endpoint, self.sent_at, self.submit_key, self.reason = endpoint, sent_at, submit_key, reason
        why = f" ({escape_control(reason)})" if reason else ""
        super().__init__(
            f"{endpoint or 'PDF.co'}: this submit was sent {_utc_text(sent_at)} and its outcome is unknown{why}: "
            "the job may exist and be billed, so it was not sent again. Look for it in the job history at "
            f"{DASHBOARD} (jobs started around that time): if it is there, wait for its job id (wait_for_job); if "
            "it is not, send it again on purpose (resend_if_unknown=True)."
            + (f" Submit record: {submit_key}." if submit_key else "")
        )


class UnexpectedResponseError(PdfcoError):
    """A 2xx ``body`` from ``endpoint`` that we cannot trust, e.g. a job status PDF.co does not document."""

    def __init__(self, message: str, *, endpoint: str = "", body: object = None) -> None:
        self.message, self.endpoint, self.body = message, endpoint, body
        super().__init__(f"{endpoint}: {message}" if endpoint else message)


class JobError(PdfcoError):
    """A background job did not end in success.

    Attributes:
        job_id: PDF.co's job id (opaque string): hand it to ``wait_for_job`` to resume.
        status, message: The last status PDF.co reported (a ``JobStatus`` value), and its message or ours.
    """

    def __init__(self, job_id: str, message: str = "", *, status: str | None = None) -> None:
        self.job_id, self.status, self.message = job_id, status, message
        shown = escape_control(job_id)
        super().__init__(f"PDF.co job {shown}: {escape_control(message)}" if message else f"PDF.co job {shown}")


class JobFailed(JobError):
    """PDF.co reported the job ``failed``; ``message`` holds its reason."""


class JobAborted(JobError):
    """PDF.co reported the job ``aborted``."""


class JobNotFound(JobError):
    """A forced check reported ``unknown``: PDF.co has no job with this id (a typo, or an expired job)."""


class SubmittedJobGone(JobNotFound):
    """A retry found the job this document was paid for, submitted at ``submitted_at``, but PDF.co no longer knows
    it (jobs live about an hour); nothing was sent again: ``resend_if_unknown=True`` pays for a new one."""

    def __init__(
        self, job_id: str, submitted_at: datetime | None, message: str = "", *, status: str | None = None
    ) -> None:
        self.submitted_at = submitted_at
        message = message or (
            f"this document was paid for as this job, submitted {_utc_text(submitted_at)}, but PDF.co no longer "
            "knows it (its result is gone). It was not sent again; pass resend_if_unknown=True to pay for a new job."
        )
        super().__init__(job_id, message, status=status)


class JobTimeout(JobError):
    """The deadline passed (after ``waited_seconds``) while PDF.co still said ``working``; the job may finish."""

    def __init__(
        self, job_id: str, message: str = "", *, status: str | None = None, waited_seconds: float = 0.0
    ) -> None:
        self.waited_seconds = waited_seconds
        super().__init__(job_id, message, status=status)


class JobStillWorking(PdfcoError):
    """The job is still ``working``: raised by ``check_job`` so that Prefect retries the task. Not a ``JobError``
    (a signal, not an outcome: ``except JobError`` never swallows a retry); ``check`` of ``checks`` so far."""

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
        where = f" (check {check} of {checks})" if check and checks else ""
        text = f"PDF.co job {escape_control(job_id)} is still working{where}"
        super().__init__(text + (f": {escape_control(message)}" if message else ""))


class FileTransferError(PdfcoError):
    """A result download or presigned upload failed at the file host (S3): ``url`` in safe form (no signed
    query), ``status_code`` of its answer when there was one, ``message``."""

    def __init__(self, message: str, *, url: str = "", status_code: int | None = None) -> None:
        self.message, self.url, self.status_code = message, url, status_code
        super().__init__(f"{url}: {message}" if url else message)


class ChecksumMismatchError(FileTransferError):
    """The bytes moved differ from the MD5 that S3's ETag states (``verify_etag=True``); nothing was kept."""


class ResultExpiredError(FileTransferError):
    """The result link expired (at ``valid_till``, when known) and PDF.co deleted the file: run the job again."""

    def __init__(
        self, message: str, *, url: str = "", status_code: int | None = None, valid_till: datetime | None = None
    ) -> None:
        self.valid_till = valid_till
        super().__init__(message, url=url, status_code=status_code)


class ResultNotReadyError(FileTransferError):
    """The file host answered 404 (``NoSuchKey``): the job is not done yet, or the file was deleted."""


class ResultTooLargeError(FileTransferError):
    """A text or JSON result is over ``limit`` bytes, the limit of ``fetch_result_text``/``fetch_result_json``."""

    def __init__(self, message: str, *, url: str = "", status_code: int | None = None, limit: int = 0) -> None:
        self.limit = limit
        super().__init__(message, url=url, status_code=status_code)


class DestinationError(PdfcoError):
    """A result could not be written at ``destination`` (not a directory, read-only, full, refused by a block); its
    link (``url``, in safe form; ``job_id``) works until ``valid_till``: only the download needs to run again."""

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
        errors: One line per problem (the argument and why; never its value, which may be a password).
    """

    def __init__(self, operation: str, errors: list[str]) -> None:
        self.operation, self.errors = operation, list(errors)
        super().__init__(f"{operation}: {'; '.join(self.errors) or 'invalid parameters'} (nothing was sent to PDF.co)")


class UnknownOperationError(PdfcoError, KeyError):
    """No operation in the catalogue has this name or path; the message lists the closest ones."""

    def __init__(self, wanted: str, suggestions: list[str]) -> None:
        self.wanted, self.suggestions = wanted, list(suggestions)
        hint = f" Did you mean {', '.join(repr(s) for s in self.suggestions)}?" if self.suggestions else ""
        self.message = (
            f"Unknown PDF.co operation {wanted!r}.{hint} Pass an operation name (prefect_pdfco.get_operation), a "
            "documented path such as '/v1/pdf/merge', or call submit_job with any endpoint."
        )
        super().__init__(self.message)

    __str__ = Exception.__str__  # KeyError's own would quote the message


class BlockNotFoundError(PdfcoError, ValueError):
    """No block of this ``name`` and ``block_type_slug`` is saved (a ``ValueError``, as Prefect's own is)."""

    def __init__(self, name: str, block_type_slug: str) -> None:
        self.name, self.block_type_slug = name, block_type_slug
        self.message = (
            f"No {block_type_slug} block named {name!r} is saved in this Prefect workspace. Save one with "
            f"`python -m prefect_pdfco credentials save --name {name}` (the key comes from PDFCO_API_KEY or a "
            "prompt), or in the Prefect UI under Blocks; `prefect block ls` lists the saved ones."
        )
        super().__init__(self.message)


class LocalFileError(PdfcoError):
    """A local file (``path``) cannot be uploaded to PDF.co; ``message`` says why."""

    def __init__(self, path: str, message: str) -> None:
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}")


class LocalFileNotFoundError(LocalFileError, FileNotFoundError):
    """The file to upload does not exist or is not a regular file; ``except FileNotFoundError`` catches it."""

    def __init__(self, path: str, message: str = "no such file") -> None:
        super().__init__(path, message)
        self.errno, self.strerror, self.filename = _errno.ENOENT, message, path

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.message))  # errno & co. live in OSError's slots


class FileTooLargeError(LocalFileError):
    """The file (``size`` bytes) is over PDF.co's upload ``limit`` (2 GB); refused before any request."""

    def __init__(self, path: str, message: str = "", *, size: int = 0, limit: int = 0) -> None:
        self.size, self.limit = size, limit
        super().__init__(path, message or f"{size} bytes is over the upload limit of {limit} bytes")
