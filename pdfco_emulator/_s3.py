"""S3 look-alikes: presigned-URL signing and verification, and S3's XML error bodies.

PDF.co hands out result and upload links as S3 presigned URLs on the ``pdf-temp-files`` bucket. The emulator
serves its files at ``/pdf-temp-files/<dir>/<name>`` with the same query parameters (``X-Amz-Date``,
``X-Amz-Expires``, ``X-Amz-Signature``...) and answers failures the way S3 does: XML, not JSON, and 403 for
both an expired and a tampered link.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from starlette.responses import Response

__all__ = ["LINK_PREFIX", "LinkCheck", "LinkSigner", "s3_error"]

#: The path prefix of every file link, named after PDF.co's real bucket.
LINK_PREFIX = "/pdf-temp-files/"
_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_CREDENTIAL_SCOPE = "us-west-2/s3/aws4_request"


def _amz_date(timestamp: float) -> str:
    return time.strftime(_DATE_FORMAT, time.gmtime(int(timestamp)))


def _iso_z(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(timestamp)))


def s3_error(code: str, message: str, status: int, **details: str) -> Response:
    """An S3-style XML error response, e.g. ``<Error><Code>NoSuchKey</Code>...</Error>``."""
    parts = [f"<Code>{escape(code)}</Code>", f"<Message>{escape(message)}</Message>"]
    parts += [f"<{name}>{escape(value)}</{name}>" for name, value in details.items()]
    parts.append(f"<RequestId>{secrets.token_hex(8).upper()}</RequestId>")
    parts.append(f"<HostId>{secrets.token_urlsafe(48)}</HostId>")
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>"
    return Response(body, status_code=status, media_type="application/xml")


@dataclass(frozen=True)
class LinkCheck:
    """The outcome of verifying a presigned link: ``error`` is None when the link is good.

    Attributes:
        error: The S3 error response to send, or None.
        expires_at: When the link stops working (epoch seconds), when it could be read.
    """

    error: Response | None
    expires_at: float | None = None


class LinkSigner:
    """Signs and verifies the emulator's presigned links with an HMAC secret of its own.

    The signature covers the method, the object key, the ``Content-Type`` (for presigned PUTs, like S3's
    ``X-Amz-SignedHeaders=content-type;host``), the signing date and the lifetime, so any edit of the query
    string answers ``SignatureDoesNotMatch``.

    Args:
        link_host: The host name links carry. Not the API's ``127.0.0.1`` on purpose: result links live on
            another host at PDF.co (S3), and a client must not send its API key there.
        port: The server's port.
    """

    def __init__(self, link_host: str, port: int) -> None:
        self.link_host = link_host
        self.port = port
        self._secret = secrets.token_bytes(32)

    @property
    def origin(self) -> str:
        """``http://<link_host>:<port>``."""
        return f"http://{self.link_host}:{self.port}"

    def _signature(self, method: str, key: str, content_type: str, date: str, expires: str) -> str:
        message = "\n".join((method, key, content_type, date, expires)).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(
        self, key: str, *, now: float, lifetime: float, method: str = "GET", content_type: str | None = None
    ) -> tuple[str, float]:
        """A presigned URL for ``key`` (``<dir>/<name>``) and the epoch second it expires at.

        Args:
            key: The object key, unquoted.
            now: The signing time (the emulator's clock).
            lifetime: Seconds the link stays valid; rounded up to whole seconds like ``X-Amz-Expires``.
            method: ``GET`` for download links, ``PUT`` for presigned uploads.
            content_type: For ``PUT``: the Content-Type the upload must carry.
        """
        date = _amz_date(now)
        expires = str(max(0, math.ceil(lifetime)))
        signed_headers = "content-type;host" if method == "PUT" else "host"
        signature = self._signature(method, key, content_type or "", date, expires)
        query = urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Credential": f"EMULATOR/{date[:8]}/{_CREDENTIAL_SCOPE}",
                "X-Amz-Date": date,
                "X-Amz-Expires": expires,
                "X-Amz-SignedHeaders": signed_headers,
                "X-Amz-Signature": signature,
            }
        )
        expires_at = float(calendar.timegm(time.strptime(date, _DATE_FORMAT)) + int(expires))
        return f"{self.origin}{LINK_PREFIX}{quote(key)}?{query}", expires_at

    def verify(
        self, key: str, query: dict[str, str], *, method: str, content_type: str | None, now: float
    ) -> LinkCheck:
        """Checks a request's presigned query the way S3 does: signature first, then expiry.

        Args:
            key: The object key from the path, unquoted.
            query: The request's query parameters.
            method: The request method (HEAD is checked as GET).
            content_type: The request's Content-Type header (only signed for PUT).
            now: The emulator's clock.
        """
        date = query.get("X-Amz-Date")
        expires = query.get("X-Amz-Expires")
        signature = query.get("X-Amz-Signature")
        if not (date and expires and signature):
            # A private bucket without query authentication.
            return LinkCheck(s3_error("AccessDenied", "Access Denied", 403))
        signed_method = "GET" if method == "HEAD" else method
        signed_type = (content_type or "") if signed_method == "PUT" else ""
        expected = self._signature(signed_method, key, signed_type, date, expires)
        if not hmac.compare_digest(expected, signature):
            return LinkCheck(
                s3_error(
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. "
                    "Check your key and signing method.",
                    403,
                )
            )
        try:
            expires_at = float(calendar.timegm(time.strptime(date, _DATE_FORMAT)) + int(expires))
        except ValueError:
            return LinkCheck(s3_error("AuthorizationQueryParametersError", "Invalid X-Amz-Date", 400))
        if now >= expires_at:
            return LinkCheck(
                s3_error(
                    "AccessDenied",
                    "Request has expired",
                    403,
                    **{"X-Amz-Expires": expires, "Expires": _iso_z(expires_at), "ServerTime": _iso_z(now)},
                ),
                expires_at,
            )
        return LinkCheck(None, expires_at)
