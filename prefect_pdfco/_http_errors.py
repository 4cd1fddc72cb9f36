"""The one boundary where httpx's answers and failures become the error tree.

``map_response`` reads an API answer (an HTTP status >= 400, ``"error": true`` inside a 2xx body, PDF.co's
441-454 codes, a body that is not JSON) and ``map_transport_error`` any failure that is not an answer. The
client calls them for the API; the file side calls ``map_transport_error`` for result links and uploads. A test
raises every httpx error class through them and checks that nothing escapes unmapped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from prefect_pdfco._retry import parse_retry_after
from prefect_pdfco.exceptions import (
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

__all__ = ["map_response", "map_transport_error"]

# These failures happen before a single byte of the request leaves: the request surely never reached PDF.co.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def map_transport_error(
    error: httpx.HTTPError | httpx.InvalidURL, endpoint: str, *, host: str | None = None, role: str | None = None
) -> PdfcoConnectionError:
    """Turns any httpx failure that is not an HTTP answer into ``PdfcoConnectionError`` naming the host.

    Args:
        error: What httpx raised.
        endpoint: The API path, or the safe form (host and path) of a link.
        host: The host the request went to (default: the request's own).
        role: What that host is to us, e.g. ``"the PDF.co API"`` or ``"result storage"``.
    """
    try:
        request: httpx.Request | None = error.request  # type: ignore[union-attr]
    except (RuntimeError, AttributeError):
        request = None
    not_sent = isinstance(error, _NOT_SENT)
    detail = str(error) or type(error).__name__
    where = host or (request.url.host if request is not None else "") or "the server"
    if role:
        where = f"{where} ({role})"
    reason = (
        f"could not connect to {where}; the request was not sent"
        if not_sent
        else f"the request may have reached {where} but no complete answer came back"
    )
    return PdfcoConnectionError(
        f"{reason} ({type(error).__name__}: {detail})",
        endpoint=endpoint,
        request=request,
        may_have_reached_server=not not_sent,
    )


def _decode_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        return None


def _pdfco_code(body: Mapping[str, Any]) -> int | None:
    # PDF.co's MCP server (https://pypi.org/project/pdfco-mcp/) reads errorCode, then a numeric status; both are
    # how PDF.co carries 441-454 inside a body.
    for key in ("errorCode", "status"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 400:
            return value
        if isinstance(value, str) and value.isdigit() and int(value) >= 400:
            return int(value)
    return None


def _error_class(http_status: int, code: int, message: str, is_json: bool) -> type[PdfcoAPIError]:
    for status in (code, http_status):
        if status == AuthenticationError.http_status:
            return AuthenticationError
        if status == InsufficientCreditsError.http_status:
            return InsufficientCreditsError
        # Older PDF.co docs answer "not enough credits" with 403, which otherwise means "input URL forbidden".
        if status == 403 and "credit" in message.lower():
            return InsufficientCreditsError
        if status == RateLimitError.http_status:
            return RateLimitError
    if http_status == NotFoundError.http_status:
        # The API host has no such path: a wrong base_url or endpoint, whatever the body (JSON or a proxy's HTML).
        return NotFoundError
    if not is_json or code >= 500 or http_status >= 500:
        return ServerError
    return BadRequestError


def map_response(response: httpx.Response, endpoint: str) -> dict[str, Any]:
    """Returns the JSON body of a successful response, or raises the matching ``PdfcoAPIError``.

    An error is an HTTP status >= 400, ``"error": true`` inside a 2xx body (PDF.co's 441-454 codes may come
    that way), or a body that is not a JSON object.
    """
    body = _decode_json(response)
    status = response.status_code
    if isinstance(body, dict):
        if status < 400 and body.get("error") is not True:
            return body
        message = str(body.get("message") or response.reason_phrase or "error")
        code = _pdfco_code(body) or status
        is_json = True
    else:
        if status < 400 and body is not None:
            raise UnexpectedResponseError("expected a JSON object", endpoint=endpoint, body=body)
        content_type = response.headers.get("content-type", "no content type")
        snippet = response.text[:200].strip() if response.content else "empty body"
        message = f"response is not JSON ({content_type}): {snippet}"
        code = status
        is_json = False
    error_class = _error_class(status, code, message, is_json)
    kwargs: dict[str, Any] = {}
    if error_class is RateLimitError:
        kwargs["retry_after"] = parse_retry_after(response.headers.get("retry-after"))
    return_code = code if code != status else None
    raise error_class(
        message,
        status_code=status,
        error_code=return_code,
        endpoint=endpoint,
        request=response.request,
        response=response,
        **kwargs,
    )
