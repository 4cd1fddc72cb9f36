"""Per-job callback tokens: what the library puts into each submit's ``callback`` URL, and how a receiver
verifies one without a database.

A token is ``<nonce>.<mac>``: 16 random bytes and their HMAC-SHA256 under a key derived from the block's API
key (never the key itself), both base64url. PDF.co signs nothing it POSTs and documents no body for most
endpoints, so the token only proves that *we* made the URL; the job id in the body is confirmed by one job check.
The token is not bound to the job id: PDF.co assigns the id after it has read the callback URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

if TYPE_CHECKING:
    from prefect_pdfco.credentials import PdfcoCredentials

__all__ = ["TOKEN_PLACEHOLDER", "callback_key", "callback_url_for", "new_token", "verify_token", "with_callback"]

#: Where the token goes in ``PdfcoCredentials.callback_url``; a URL without it gets ``/<token>`` appended.
TOKEN_PLACEHOLDER = "{token}"  # noqa: S105 (a placeholder, not a secret)

_CONTEXT = b"prefect-pdfco callback token v1"
_NONCE_BYTES = 16
_MAC_BYTES = 16
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$")


def callback_key(api_key: SecretStr | str) -> bytes:
    """The HMAC key of callback tokens: derived from the API key, so the block is the only secret to keep."""
    secret = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(key: bytes, nonce: str) -> str:
    return _b64(hmac.new(key, nonce.encode(), hashlib.sha256).digest()[:_MAC_BYTES])


def new_token(key: bytes) -> str:
    """A fresh ``<nonce>.<mac>`` token."""
    nonce = _b64(secrets.token_bytes(_NONCE_BYTES))
    return f"{nonce}.{_mac(key, nonce)}"


def verify_token(key: bytes, token: str) -> bool:
    """Whether ``token`` was made with ``key`` (constant-time comparison; any malformed value is False)."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        return False
    nonce, mac = token.split(".")
    return hmac.compare_digest(mac, _mac(key, nonce))


def callback_url_for(base: str, token: str) -> str:
    """The callback URL of one job: ``base`` with the token in place of ``{token}``, or ``<base>/<token>``."""
    if TOKEN_PLACEHOLDER in base:
        return base.replace(TOKEN_PLACEHOLDER, token)
    return f"{base.rstrip('/')}/{token}"


def with_callback(credentials: PdfcoCredentials, params: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """``params`` with a fresh per-job ``callback`` when the block has a ``callback_url`` and the caller passed
    none (any spelling of the name: PDF.co matches parameter names without regard to case)."""
    base = getattr(credentials, "callback_url", None)
    if not base or any(str(name).lower() == "callback" for name in (params or {})):
        return params
    token = new_token(callback_key(credentials.api_key))
    return {**(params or {}), "callback": callback_url_for(base, token)}
