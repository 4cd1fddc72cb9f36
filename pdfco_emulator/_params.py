"""Request parameters the way PDF.co's clients send them: JSON, form or multipart, any letter case.

The docs say "JSON body, case-sensitive names", but the official samples post forms (``requests.post(url,
data=...)``, ``curl --form``) and the official clients disagree on case (``jobid``/``jobId``,
``EncryptionAlgorithm``/``encryptionAlgorithm``). The emulator accepts all of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from urllib.parse import parse_qsl

__all__ = ["ParamError", "Params", "UploadedPart", "parse_params", "truthy"]

_TRUE = frozenset({"true", "1", "yes", "on"})


def truthy(value: object) -> bool:
    """``True``, ``"true"``, ``"1"``... are true: form bodies carry every value as a string."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value) if isinstance(value, (bool, int, float)) else False


class ParamError(ValueError):
    """The body could not be read as parameters (a 400)."""


@dataclass(frozen=True)
class UploadedPart:
    """A file part of a multipart body."""

    filename: str
    content_type: str
    content: bytes


@dataclass
class Params:
    """The request's parameters: query string, then body (the body wins), names matched in any case.

    Attributes:
        values: The parameters with their names as sent (handed to the processor unchanged).
        files: File parts of a multipart body, by field name.
    """

    values: dict[str, object] = field(default_factory=dict)
    files: dict[str, UploadedPart] = field(default_factory=dict)

    def get(self, name: str, default: object = None) -> object:
        """The value of ``name`` in any letter case (the first spelling sent wins, as in the processor)."""
        wanted = name.lower()
        for key, value in self.values.items():
            if key.lower() == wanted:
                return value
        return default

    def text(self, name: str) -> str | None:
        """The value as a stripped string; None when missing or empty."""
        value = self.get(name)
        if value is None or isinstance(value, (dict, list)):
            return None
        text = str(value).strip()
        return text or None

    def flag(self, name: str) -> bool:
        """The value as a boolean (``"true"`` and ``true`` alike)."""
        return truthy(self.get(name))

    def number(self, name: str) -> float | None:
        """The value as a number; None when missing or not a number."""
        value = self.get(name)
        if isinstance(value, bool) or value is None:
            return None
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, object], dict[str, UploadedPart]]:
    # No python-multipart dependency: the stdlib e-mail parser reads multipart/form-data well enough for the
    # small bodies PDF.co accepts (4 MB cap).
    message = BytesParser(policy=policy.default).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ParamError("malformed multipart/form-data body")
    values: dict[str, object] = {}
    files: dict[str, UploadedPart] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = UploadedPart(filename, part.get_content_type(), content)
        else:
            values[name] = content.decode(part.get_content_charset() or "utf-8", errors="replace")
    return values, files


def parse_params(query: Mapping[str, str], content_type: str, body: bytes) -> Params:
    """Reads parameters from the query string and the body.

    Args:
        query: The query parameters (``x-api-key`` is dropped: it is a credential, not a parameter).
        content_type: The request's Content-Type header ('' when absent).
        body: The request body.

    Raises:
        ParamError: The body is not valid JSON, form or multipart.
    """
    params = Params({key: value for key, value in query.items() if key.lower() != "x-api-key"})
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        return params
    if kind == "multipart/form-data":
        values, params.files = _multipart(content_type, body)
        params.values.update(values)
    elif kind == "application/x-www-form-urlencoded" or (
        kind != "application/json" and not body.lstrip().startswith(b"{")
    ):
        try:
            params.values.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError) as error:
            raise ParamError(f"cannot read the request body as a form: {error}") from error
    else:
        try:
            data = json.loads(body)
            if isinstance(data, str) and data.lstrip().startswith("{"):
                # JSON text sent as a JSON string (PDF.co's own hash sample does: requests' json= of a str).
                data = json.loads(data)
        except ValueError as error:
            raise ParamError(f"the request body is not valid JSON: {error}") from error
        if not isinstance(data, dict):
            raise ParamError("the request body must be a JSON object")
        params.values.update(data)
    return params
