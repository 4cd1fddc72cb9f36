"""The one boundary where httpx's answers and failures become the error tree, and PDF.co's bodies become models."""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping
from datetime import timezone
from typing import Any

import httpx
from pydantic import ValidationError

from prefect_pdfco._exceptions import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    NotFoundError,
    PdfcoAPIError,
    PdfcoConnectionError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)
from prefect_pdfco.models import JobResult, JobSubmission

# These fail before a byte of the request leaves: the request surely never reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# RFC 9110 delta-seconds; a decimal fraction is tolerated, a sign, an exponent, "nan" or "inf" are not.
_DELTA_SECONDS = re.compile(r"^\s*(\d{1,12}(?:\.\d+)?)\s*$")


def transport_error(error: Exception, request: httpx.Request, endpoint: str, where: str) -> PdfcoConnectionError:
    """Any httpx failure that is not an HTTP answer, as ``PdfcoConnectionError`` naming ``where`` it went."""
    sent = not isinstance(error, _NOT_SENT)
    if sent:
        reason = f"the request may have reached {where} but no complete answer came back"
    else:
        reason = f"could not connect to {where}; the request was not sent"
    detail = f"{type(error).__name__}: {str(error) or 'no details'}"
    return PdfcoConnectionError(
        f"{reason} ({detail})", endpoint=endpoint, request=request, may_have_reached_server=sent
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None for anything else, never raises."""
    if not value:
        return None
    match = _DELTA_SECONDS.match(value)
    if match:
        return float(match.group(1))
    try:
        moment = email.utils.parsedate_to_datetime(value.strip())
        if moment.tzinfo is None:  # "-0000" parses naive; HTTP dates are always UTC
            moment = moment.replace(tzinfo=timezone.utc)
        seconds = moment.timestamp() - time.time()
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _pdfco_code(body: Mapping[str, Any]) -> int | None:
    # PDF.co's MCP server reads errorCode, then a numeric status: how 441-454 travel inside a body.
    for key in ("errorCode", "status"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 400:
            return value
        if isinstance(value, str) and value.isdigit() and int(value) >= 400:
            return int(value)
    return None


def _error_class(http_status: int, code: int, message: str, is_json: bool) -> type[PdfcoAPIError]:
    for status in (code, http_status):
        if status == 401:
            return AuthenticationError
        # Older PDF.co docs answer "not enough credits" with 403, which otherwise means "input URL forbidden".
        if status == 402 or (status == 403 and "credit" in message.lower()):
            return InsufficientCreditsError
        if status == 429:
            return RateLimitError
    if http_status == 404:
        return NotFoundError  # no such path on the API host, whatever the body says
    if not is_json or code >= 500 or http_status >= 500:
        return ServerError
    return BadRequestError


def response_body(response: httpx.Response, endpoint: str) -> dict[str, Any]:
    """The JSON object of a successful answer, or the matching ``PdfcoAPIError`` (docs/design/client.md)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if isinstance(body, dict):
        if status < 400 and body.get("error") is not True:
            return body
        message = str(body.get("message") or response.reason_phrase or "error")
        code, is_json = _pdfco_code(body) or status, True
    else:
        if status < 400 and body is not None:
            raise UnexpectedResponseError("expected a JSON object", endpoint=endpoint, body=body)
        snippet = response.text[:200].strip() if response.content else "empty body"
        message = f"response is not JSON ({response.headers.get('content-type', 'no content type')}): {snippet}"
        code, is_json = status, False
    error_class = _error_class(status, code, message, is_json)
    limited = error_class is RateLimitError
    extra = {"retry_after": parse_retry_after(response.headers.get("retry-after"))} if limited else {}
    raise error_class(
        message,
        status_code=status,
        error_code=code if code != status else None,
        endpoint=endpoint,
        request=response.request,
        response=response,
        **extra,
    )


def job_result(body: Mapping[str, Any], job_id: str, endpoint: str) -> JobResult:
    """A job-check body as a ``JobResult``; a status PDF.co does not document is an error, never a success."""
    try:
        return JobResult.model_validate({"jobId": job_id, **body})  # a "working" answer carries no job id
    except ValidationError as error:
        raise UnexpectedResponseError(
            f"unrecognised job-check answer for job {job_id} (status {body.get('status')!r})",
            endpoint=endpoint,
            body=dict(body),
        ) from error


def submission(body: Mapping[str, Any], endpoint: str, **fields: Any) -> JobSubmission:
    try:
        return JobSubmission.model_validate({**body, "endpoint": endpoint, **fields})
    except ValidationError as error:
        raise UnexpectedResponseError(
            "the submit answer has no jobId; is the endpoint asynchronous?", endpoint=endpoint, body=dict(body)
        ) from error
