"""Keeping secrets out of logs, artifacts and payload copies.

Request payloads may hold PDF passwords (``password``, ``ownerPassword``...) and ``httppassword``; result links
are presigned bearer URLs whose query string is the credential. Log host and path only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import SecretStr

__all__ = ["SENSITIVE_PARAMS", "escape_control", "jsonable", "redact_params", "safe_url"]

SENSITIVE_PARAMS = frozenset(
    {
        "password",
        "userpassword",
        "ownerpassword",
        "httppassword",
        "httpusername",
        "smtppassword",
        "dataencryptionkey",
        "datadecryptionkey",
        "profiles",
    }
)


def jsonable(value: Any) -> Any:
    """A copy of ``value`` fit for ``json=``: ``SecretStr`` revealed (for the wire only), containers copied."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of request parameters safe to log: secrets masked, links cut to host and path."""
    safe: dict[str, Any] = {}
    for key, value in params.items():
        if key.lower() in SENSITIVE_PARAMS or isinstance(value, SecretStr):
            safe[key] = "**********"
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            safe[key] = ",".join(safe_url(part) for part in value.split(","))
        else:
            safe[key] = value
    return safe


def safe_url(url: str) -> str:
    """``scheme://host/path`` of a URL, without its query string (presigned signatures) or user info."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        return "<invalid url>"
    if not parsed.host:
        return parsed.path
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def escape_control(text: str) -> str:
    """``text`` with control characters shown as escapes, so an id or a name cannot split or forge a log line."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
