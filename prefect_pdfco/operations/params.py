"""PDF.co's parameter conventions as pydantic types, and the base of every operation's parameter model.

A typed task validates its arguments into a model (built from its signature, see ``signature.py``) before it
opens a connection, so bad input costs no credits, and turns the model into PDF.co's payload with
``to_payload()``: names as the docs spell them, lists joined with commas, ``SecretStr`` kept as is (the client
reveals it on the wire only). The types here say what PDF.co gets; ``options.py`` pairs them with what a
caller may pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from prefect_pdfco.exceptions import InvalidParametersError

__all__ = [
    "Callback",
    "CommaList",
    "Expiration",
    "InputUrl",
    "InputUrls",
    "JsonText",
    "Lang",
    "LineGrouping",
    "MediaType",
    "NonEmpty",
    "NumberText",
    "OneBasedPages",
    "OperationParams",
    "Orientation",
    "OutputFormat",
    "Pages",
    "Profiles",
    "Rect",
    "SplitPages",
    "build_params",
    "camel",
    "normalize_pages",
]


_RANGE = re.compile(r"^(!?\d+)(?:-(!?\d*))?$")


def normalize_pages(value: object, *, one_based: bool, allow_star: bool) -> str:
    """Checks PDF.co's page syntax and returns it compact (``"0, 2-4"`` -> ``"0,2-4"``).

    Comma-separated ``N``, ``N-M``, ``N-`` (to the end) and ``!N`` (counted from the end, ``!0`` is the last
    page); ``*`` (every page on its own) for split only. A list of numbers and ranges is joined with commas.

    Raises:
        ValueError: The syntax is wrong, a range is reversed, or page 0 is used where pages count from 1.
    """
    if isinstance(value, bool):
        raise ValueError("expected page numbers or ranges, got a boolean")
    if isinstance(value, int):
        parts = [str(value)]
    elif isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, Sequence) and all(isinstance(p, (int, str)) and not isinstance(p, bool) for p in value):
        parts = [str(part) for part in value]
    else:
        raise ValueError("expected a string such as '0,2-4' or a list of page numbers and ranges")
    tokens: list[str] = []
    for part in parts:
        token = re.sub(r"\s+", "", part)
        if not token:
            raise ValueError("empty page range (a stray comma?)")
        if token == "*":  # noqa: S105 (a page range, not a password)
            if not allow_star:
                raise ValueError("'*' (every page on its own) is accepted by split only")
            tokens.append(token)
            continue
        match = _RANGE.match(token)
        if match is None:
            raise ValueError(f"{token!r} is not a page range: use N, N-M, N- or !N (counted from the end)")
        start, end = match.group(1), match.group(2) or ""
        for term in (start, end):
            if one_based and term and not term.startswith("!") and int(term) == 0:
                raise ValueError("pages count from 1 here: there is no page 0")
        if end and not start.startswith("!") and not end.startswith("!") and int(end) < int(start):
            raise ValueError(f"{token!r} ends before it starts")
        tokens.append(token)
    return ",".join(tokens)


def _check_url(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a URL string (upload local files first with upload_file)")
    text = value.strip()
    # ``cache:`` turns on PDF.co's URL cache for the link that follows; filetoken:// is Built-In Files Storage.
    bare = text[len("cache:") :] if text.lower().startswith("cache:") else text
    scheme, _, rest = bare.partition("://")
    if scheme.lower() not in ("http", "https", "filetoken") or not rest.strip("/"):
        raise ValueError(
            "not a link PDF.co can fetch: pass an http(s):// or filetoken:// URL (optionally prefixed with "
            "'cache:'); upload a local file first with upload_file and pass the URL it returns"
        )
    return text


def _join_urls(value: object) -> str:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not value:
        raise ValueError("expected a non-empty list of URLs")
    urls = [_check_url(item) for item in value]
    if any("," in url for url in urls):
        # PDF.co splits the joined value on commas: a comma inside one link would cut it in two.
        raise ValueError("a URL contains a comma, which PDF.co would read as two URLs; percent-encode it (%2C)")
    return ",".join(urls)


def _check_callback(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text.lower().startswith(("http://", "https://")):
        raise ValueError("the callback must be an http(s):// URL that PDF.co can POST to")
    return text


def _profiles(value: object) -> str:
    # PDF.co takes profiles as a string of JSON-ish text, e.g. "{'CheckPermissions': false}".
    if isinstance(value, Mapping):
        return json.dumps(dict(value))
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("expected a mapping or a JSON string such as {'CheckPermissions': false}")


def _json_text(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except TypeError as error:
        raise ValueError(f"cannot be sent as JSON: {error}") from None


_LANG = re.compile(r"^[a-z]{3}(?:_[a-z]+)?(?:\+[a-z]{3}(?:_[a-z]+)?)*$")


def _check_lang(value: object) -> str:
    # PDF.co's OpenAPI description (https://docs.pdf.co/openapi.json) gives ^[a-z]{3}(\+[a-z]{3})*$; its n8n node
    # (https://github.com/pdfdotco/n8n-nodes-pdfco) also lists codes such as chi_sim.
    text = value.strip() if isinstance(value, str) else ""
    if not _LANG.match(text):
        raise ValueError("expected OCR language codes such as 'eng' or 'eng+deu'")
    return text


def _expiration(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1440:
        # Precision is one minute; PDF.co's default is 60 and plans below Business 2 stop there.
        raise ValueError("expected whole minutes from 1 to 1440 (24 h; over 60 needs a Business 2 plan or above)")
    return value


def _rect(value: object) -> str:
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
    elif isinstance(value, Sequence):
        parts = [str(part) for part in value]
    else:
        parts = []
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or any(number < 0 for number in numbers):
        raise ValueError("expected 'x, y, width, height' in points (four non-negative numbers)")
    return ", ".join(f"{number:g}" for number in numbers)


def _as_text(value: object) -> object:
    # Template ids and line-grouping modes are numbers that PDF.co takes as text.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _comma_list(value: object) -> str:
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, Sequence) and not isinstance(value, str):
        items = [str(item).strip() for item in value if str(item).strip()]
        if items:
            return ",".join(items)
    raise ValueError("expected a non-empty list of names (or a comma-separated string)")


def _fold(value: object, *, how: Callable[[str], str]) -> object:
    # A word in any letter case, sent as PDF.co lists it.
    return how(value.strip()) if isinstance(value, str) else value


#: Pages counted from 0 (most endpoints).
Pages = Annotated[str, BeforeValidator(partial(normalize_pages, one_based=False, allow_star=False))]
#: Pages counted from 1 (``pdf/edit/delete-pages``).
OneBasedPages = Annotated[str, BeforeValidator(partial(normalize_pages, one_based=True, allow_star=False))]
#: Pages counted from 1, ``*`` for every page on its own (``pdf/split``).
SplitPages = Annotated[str, BeforeValidator(partial(normalize_pages, one_based=True, allow_star=True))]
InputUrl = Annotated[str, BeforeValidator(_check_url)]
#: A list of input links, sent comma-separated as PDF.co's multi-input endpoints expect.
InputUrls = Annotated[str, BeforeValidator(_join_urls)]
Callback = Annotated[str, BeforeValidator(_check_callback)]
Profiles = Annotated[str, BeforeValidator(_profiles)]
JsonText = Annotated[str, BeforeValidator(_json_text)]
Lang = Annotated[str, BeforeValidator(_check_lang)]
Expiration = Annotated[int, BeforeValidator(_expiration)]
Rect = Annotated[str, BeforeValidator(_rect)]
NonEmpty = Annotated[str, Field(min_length=1)]
#: A number PDF.co takes as text (template ids).
NumberText = Annotated[str, BeforeValidator(_as_text), Field(min_length=1)]
#: Words in any letter case, sent as PDF.co lists them.
Orientation = Annotated[Literal["Portrait", "Landscape"], BeforeValidator(partial(_fold, how=str.capitalize))]
MediaType = Annotated[Literal["print", "screen", "none"], BeforeValidator(partial(_fold, how=str.lower))]
OutputFormat = Annotated[Literal["JSON", "YAML", "XML", "CSV"], BeforeValidator(partial(_fold, how=str.upper))]
#: How text lines group into table cells; a number or its text, sent as text.
LineGrouping = Annotated[Literal["1", "2", "3"], BeforeValidator(_as_text)]
#: Names sent comma-separated (barcode types, custom invoice fields).
CommaList = Annotated[str, BeforeValidator(_comma_list)]


def camel(alias: str, default: Any = None, **kwargs: Any) -> Any:
    """A field sent as ``alias`` (PDF.co's camelCase) and accepted under either its Python name or ``alias``."""
    return Field(default, validation_alias=AliasChoices(_snake(alias), alias), serialization_alias=alias, **kwargs)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class OperationParams(BaseModel):
    """The base of every typed task's parameter model: strict about names, and the payload it becomes.

    Attributes:
        extra: PDF.co parameters we do not model, merged last into the payload (they win).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, validate_default=True)

    extra: dict[str, Any] | None = None

    def to_payload(self, derived: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """PDF.co's parameters: docs names, unset options left out (PDF.co's defaults apply), then the entries
        ``derived`` from several arguments (a task's check), then ``extra`` (it wins)."""
        payload = self.model_dump(by_alias=True, exclude_none=True, exclude={"extra"})
        payload.update(derived or {})
        payload.update(self.extra or {})
        return payload


M = TypeVar("M", bound=OperationParams)


def _describe(error: Mapping[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return f"{where}: {message}" if where else message


def build_params(model: type[M], operation: str, values: Mapping[str, Any]) -> M:
    """Validates a task's keyword arguments into ``model``.

    Raises:
        InvalidParametersError: Naming each bad parameter and why, never its value (it may be a password).
    """
    try:
        return model.model_validate(dict(values))
    except ValidationError as error:
        lines = [_describe(item) for item in error.errors(include_url=False, include_input=False)]
        # ``from None``: pydantic's own message quotes the input values, passwords included.
        raise InvalidParametersError(operation, lines) from None
