"""Errors of a call to the PDF.co API: its answers (by status), lost requests, and submits of unknown outcome."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import ClassVar

import httpx

from prefect_pdfco._redact import escape_control
from prefect_pdfco.exceptions._base import PdfcoError


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

    def _describe(self) -> str:
        text = super()._describe()
        # The PDF.co emulator marks what it does not implement ("notEmulated": true) and says so in its message;
        # advice about PDF.co's input codes would send the reader the wrong way.
        try:
            marked = self.response is not None and self.response.json().get("notEmulated") is True
        except (ValueError, AttributeError):
            marked = False
        return text.removesuffix(f" {self.hint}") if marked else text


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
