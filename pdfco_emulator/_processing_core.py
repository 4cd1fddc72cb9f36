"""Shared building blocks of the emulator's document processing.

Everything here is pure: bytes and parameters in, values out. The endpoint handlers in the sibling
``_processing_*`` modules and ``_invoice`` build on these helpers (page ranges: ``_processing_ranges``);
``_processing`` is the public face.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pypdf import PasswordType, PdfReader
from pypdf.constants import UserAccessPermissions
from pypdf.errors import DependencyError, FileNotDecryptedError, WrongPasswordError

__all__ = [
    "InputFile",
    "NotEmulated",
    "OutputFile",
    "Params",
    "ProcessingError",
    "ProcessingResult",
    "json_file",
    "open_pdf",
    "output_name",
    "read_pdf_input",
    "require_inputs",
    "text_file",
]


@dataclass
class InputFile:
    """One resolved ``url`` input of a request.

    Attributes:
        name: File name, as the server knows it (used only for messages).
        content: The raw bytes.
        content_type: MIME type reported by the source, if any.
    """

    name: str
    content: bytes
    content_type: str | None = None


@dataclass
class OutputFile:
    """One result file the server should store and link to.

    Attributes:
        name: File name, e.g. ``result.pdf`` or ``part-1.pdf``.
        content: The bytes to serve.
        content_type: MIME type to serve them with.
    """

    name: str
    content: bytes
    content_type: str


@dataclass
class ProcessingResult:
    """What one processing call produced.

    Attributes:
        files: Result files, in order (split: one per part).
        page_count: The result's ``pageCount`` (the output document's pages; for extraction, the pages read),
            also what the call is billed by.
        body: Inline body for text-like outputs (``str`` for text/CSV, ``dict``/``list`` for JSON);
            ``None`` for PDF outputs.
        fields: Extra top-level response fields, e.g. ``{"info": {...}}`` for ``/v1/pdf/info``.
    """

    files: list[OutputFile]
    page_count: int
    body: object | None = None
    fields: dict[str, object] = field(default_factory=dict)


class ProcessingError(Exception):
    """A request PDF.co would reject, with PDF.co's error code.

    Codes used: 400 generic, 441 password-protected or wrong password, 442 damaged or wrong type,
    443 prohibited by permissions, 446 files missing, 447 invalid template, 448 invalid HTML,
    449 page out of range, 450 invalid page range, 454 invalid parameters.
    """

    def __init__(self, message: str, code: int = 400) -> None:
        """Create the error.

        Args:
            message: Human-readable reason, returned as the response ``message``.
            code: PDF.co error code.
        """
        super().__init__(message)
        self.message = message
        self.code = code

    def __repr__(self) -> str:
        return f"ProcessingError({self.message!r}, code={self.code})"


class NotEmulated(Exception):
    """The endpoint (or a feature of it) is not implemented by the emulator.

    Attributes:
        endpoint: The normalized endpoint path.
        documented: Whether PDF.co documents the endpoint at all.
    """

    def __init__(self, endpoint: str, message: str | None = None, *, documented: bool = True) -> None:
        """Create the error.

        Args:
            endpoint: The normalized endpoint path.
            message: Optional reason; a default naming the endpoint is used otherwise.
            documented: Whether PDF.co documents the endpoint.
        """
        if message is None:
            message = (
                f"{endpoint} is not emulated by the PDF.co emulator"
                if documented
                else f"{endpoint} is not a documented PDF.co endpoint"
            )
        super().__init__(message)
        self.endpoint = endpoint
        self.message = message
        self.documented = documented


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


class Params:
    """Case-insensitive, type-coercing view of request parameters.

    PDF.co clients mix spellings (``ownerPassword``/``ownerpassword``) and encodings (JSON booleans vs
    form strings ``"true"``), so every lookup ignores case and coerces values.
    """

    def __init__(self, raw: Mapping[str, object]) -> None:
        """Wrap the raw parameters.

        Args:
            raw: Parameters as sent (JSON body or form fields).
        """
        self._values: dict[str, object] = {}
        for key, value in raw.items():
            # First spelling wins, so an explicit camelCase key is not overridden by a later duplicate.
            self._values.setdefault(str(key).lower(), value)

    def has(self, name: str) -> bool:
        """Whether a parameter was sent with a non-empty value."""
        value = self._values.get(name.lower())
        return value is not None and value != ""

    def raw(self, name: str) -> object | None:
        """The value as sent, or ``None``."""
        return self._values.get(name.lower())

    def get_str(self, name: str, default: str | None = None) -> str | None:
        """The value as a string; ``default`` when absent or empty."""
        value = self._values.get(name.lower())
        if value is None or value == "":
            return default
        if isinstance(value, list):
            return ",".join(str(item) for item in value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def required_str(self, name: str) -> str:
        """The value as a string, or ProcessingError 454 when it is missing."""
        value = self.get_str(name)
        if value is None or not value.strip():
            raise ProcessingError(f"Parameter '{name}' is required", 454)
        return value

    def get_bool(self, name: str, default: bool = False) -> bool:
        """The value as a boolean (``true``/``false``/``1``/``0`` strings accepted)."""
        value = self._values.get(name.lower())
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return default if text == "" else False
        raise ProcessingError(f"Parameter '{name}' must be true or false, got {value!r}", 454)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        """The value as an integer, or ProcessingError 454 when it is not one."""
        value = self._values.get(name.lower())
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise ProcessingError(f"Parameter '{name}' must be a number, got {value!r}", 454)
        try:
            number = value if isinstance(value, int) else float(str(value))
        except (TypeError, ValueError):
            raise ProcessingError(f"Parameter '{name}' must be a number, got {value!r}", 454) from None
        if isinstance(number, float):
            if not number.is_integer():
                raise ProcessingError(f"Parameter '{name}' must be a whole number, got {value!r}", 454)
            number = int(number)
        return number

    def get_json(self, name: str) -> object | None:
        """The value decoded from JSON when sent as a string, else as sent."""
        value = self._values.get(name.lower())
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                decoded: object = json.loads(value)
            except json.JSONDecodeError:
                raise ProcessingError(f"Parameter '{name}' is not valid JSON", 454) from None
            return decoded
        return value

    def check_permissions(self) -> bool:
        """Whether document permissions should be enforced.

        ``profiles`` is JSON-ish text (single quotes accepted) or an object; ``CheckPermissions: false``
        turns the 443 check off, as PDF.co documents.
        """
        profiles = self._values.get("profiles")
        if isinstance(profiles, Mapping):
            for key, value in profiles.items():
                if str(key).lower() == "checkpermissions":
                    return str(value).strip().lower() not in _FALSE
            return True
        if isinstance(profiles, str):
            match = re.search(r"checkpermissions['\"]?\s*:\s*['\"]?(\w+)", profiles, re.IGNORECASE)
            if match:
                return match.group(1).lower() not in _FALSE
        return True


# --------------------------------------------------------------------------------------------------
# Inputs and outputs
# --------------------------------------------------------------------------------------------------


def require_inputs(inputs: list[InputFile], count: int = 1) -> None:
    """Raise 446 unless at least ``count`` inputs were resolved."""
    if len(inputs) < count:
        noun = "file is" if count == 1 else "files are"
        raise ProcessingError(f"Input {noun} missing: pass the source in 'url'", 446)


# Permissions a handler may require, named after what it does to the document.
PERM_EXTRACT = UserAccessPermissions.EXTRACT
PERM_MODIFY = UserAccessPermissions.MODIFY
PERM_ASSEMBLE = UserAccessPermissions.ASSEMBLE_DOC
PERM_ANNOTATE = UserAccessPermissions.ADD_OR_MODIFY


def open_pdf(
    source: InputFile,
    password: str | None,
    *,
    require: UserAccessPermissions | None = None,
    check_permissions: bool = True,
) -> PdfReader:
    """Open a PDF input the way PDF.co's engine would judge it.

    Args:
        source: The input.
        password: The request's ``password`` parameter.
        require: Permission the operation needs; enforced (443) when the document was opened with the
            user password rather than the owner password.
        check_permissions: ``False`` when ``profiles`` carries ``CheckPermissions: false``.

    Returns:
        A reader, decrypted when the document is encrypted.

    Raises:
        ProcessingError: 442 for damaged or non-PDF input, 441 for a missing or wrong password,
            443 when the document's permissions forbid the operation.
    """
    data = source.content
    if b"%PDF-" not in data[:1024]:
        raise ProcessingError(f"'{source.name}' is not a PDF document (damaged or wrong file type)", 442)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        opened_as_owner = True
        if reader.is_encrypted:
            try:
                outcome = reader.decrypt(password or "")
            except DependencyError as exc:  # pragma: no cover - needs pypdf[crypto] missing
                raise ProcessingError(f"Cannot decrypt '{source.name}': {exc}", 500) from exc
            if not outcome:
                if password:
                    raise ProcessingError(f"Invalid password for '{source.name}'", 441)
                raise ProcessingError(f"'{source.name}' is password-protected: pass its password in 'password'", 441)
            opened_as_owner = outcome == PasswordType.OWNER_PASSWORD
        # Touch the page tree now so damage surfaces here as 442 rather than later as a 500.
        if len(reader.pages) == 0:
            raise ProcessingError(f"'{source.name}' has no pages", 442)
    except (WrongPasswordError, FileNotDecryptedError) as exc:
        raise ProcessingError(f"Invalid password for '{source.name}'", 441) from exc
    except ProcessingError:
        raise
    except Exception as exc:  # pypdf signals broken files with many exception types (zlib, struct, ...)
        raise ProcessingError(f"'{source.name}' is damaged or not a valid PDF: {exc}", 442) from exc
    if reader.is_encrypted and require is not None and check_permissions and not opened_as_owner:
        granted = reader.user_access_permissions
        if granted is not None and not granted & require:
            raise ProcessingError(
                f"'{source.name}' does not permit this operation (document permissions);"
                " pass the owner password or profiles {'CheckPermissions': false}",
                443,
            )
    return reader


def read_pdf_input(inputs: list[InputFile], params: Params, require: UserAccessPermissions | None = None) -> PdfReader:
    """Open the first input with the request's password and permission settings."""
    require_inputs(inputs)
    return open_pdf(
        inputs[0], params.get_str("password"), require=require, check_permissions=params.check_permissions()
    )


def output_name(params: Params, default: str) -> str:
    """The output file name: the ``name`` parameter, given the default's extension when it has none."""
    name = (params.get_str("name") or "").strip()
    if not name:
        return default
    # Keep only the last path segment: a name must never steer where the server stores files.
    name = re.split(r"[\\/]", name)[-1] or default
    if "." not in name.lstrip("."):
        suffix = default[default.rfind(".") :] if "." in default else ""
        name += suffix
    return name


def text_file(name: str, text: str, content_type: str = "text/plain") -> OutputFile:
    """Wrap text as a UTF-8 output file."""
    return OutputFile(name=name, content=text.encode("utf-8"), content_type=f"{content_type}; charset=utf-8")


def json_file(name: str, value: object) -> OutputFile:
    """Wrap a JSON-compatible value as an output file."""
    payload = json.dumps(value, indent=2, ensure_ascii=False)
    return OutputFile(name=name, content=payload.encode("utf-8"), content_type="application/json")


def split_name(name: str) -> tuple[str, str]:
    """Split ``part.pdf`` into ``("part", ".pdf")``."""
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot:]
