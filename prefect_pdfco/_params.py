"""The kinds of value PDF.co's parameters take: how each one is checked, and what is sent."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, SecretStr

#: What a ``pages`` argument takes: ``"0,2-4,!0"``, one page number, or a list of numbers and ranges.
PageArg = str | int | Sequence[int | str]

_RANGE = re.compile(r"^(!?\d+)(?:-(!?\d*))?$")
# PDF.co's OpenAPI pattern is ^[a-z]{3}(\+[a-z]{3})*$; its n8n node also lists codes such as chi_sim.
_LANG = re.compile(r"^[a-z]{3}(?:_[a-z]+)?(?:\+[a-z]{3}(?:_[a-z]+)?)*$")
_INT_MAX = 2**31 - 1  # PDF.co's integers are 32-bit


@dataclass(frozen=True)
class ParamKind:
    """A PDF.co parameter's kind: ``convert`` returns what is sent (None: left out) or raises a ValueError."""

    name: str  # what it takes, for messages
    convert: Callable[[Any], Any]  # its ValueError never quotes the value: it may be a password


def _type(value: object) -> str:
    return type(value).__name__


def _plain(name: str, types: tuple[type, ...], ok: Callable[[Any], bool] | None = None) -> ParamKind:
    """A kind whose value is sent as given: one of ``types`` (a bool is no number) for which ``ok`` holds."""

    def convert(value: object) -> object:
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise ValueError(f"expected {name}, got {_type(value)}")
        if ok is not None and not ok(value):
            raise ValueError(f"expected {name}")
        return value

    return ParamKind(name, convert)


def pages(value: object, *, one_based: bool = False, allow_star: bool = False) -> str:
    """PDF.co's page syntax, checked and compact (``"0, 2-4"`` -> ``"0,2-4"``): ``N``, ``N-M``, ``N-``, ``!N``."""
    if isinstance(value, int) and not isinstance(value, bool):
        parts = [str(value)]
    elif isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, Sequence) and all(isinstance(p, (int, str)) and not isinstance(p, bool) for p in value):
        parts = [str(part) for part in value] or [""]  # no pages at all: refused below
    else:
        raise ValueError(f"expected a string such as '0,2-4' or a list of page numbers and ranges, got {_type(value)}")
    tokens: list[str] = []
    for part in parts:
        token = re.sub(r"\s+", "", part)
        match = _RANGE.match(token)
        if token == "*" and allow_star:  # noqa: S105 (a page range, not a password)
            tokens.append(token)
            continue
        if match is None:  # quoted only when it looks like pages: a password in the wrong place is never shown
            shown = repr(token) if re.fullmatch(r"[\d!*-]{0,12}", token) else "a part"
            star = " ('*' is split's alone)" if token == "*" else ""  # noqa: S105
            raise ValueError(f"{shown} is not a page range: use N, N-M, N- or !N (counted from the end){star}")
        start, end = match.group(1), match.group(2) or ""
        if one_based and any(term and not term.startswith("!") and int(term) == 0 for term in (start, end)):
            raise ValueError("pages count from 1 here: there is no page 0")
        if end and not start.startswith("!") and not end.startswith("!") and int(end) < int(start):
            raise ValueError(f"{token!r} ends before it starts")
        tokens.append(token)
    return ",".join(tokens)


def _link(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a link (str), got {_type(value)}")
    text = value.strip()
    # ``cache:`` turns on PDF.co's URL cache for the link that follows; filetoken:// is Built-In Files Storage.
    bare = text[len("cache:") :] if text.lower().startswith("cache:") else text
    scheme, _, rest = bare.partition("://")
    try:
        rest = httpx.URL(bare).host if scheme.lower() in ("http", "https") else rest.strip("/")
    except (httpx.InvalidURL, ValueError):
        rest = ""
    if scheme.lower() not in ("http", "https", "filetoken") or not rest or not text.isprintable():
        raise ValueError(
            "not a link PDF.co can fetch: pass an http(s):// or filetoken:// URL (optionally prefixed with "
            "'cache:'); upload a local file first (upload_file) and pass the link it returns"
        )
    return text


def _links(value: object) -> str:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, Sequence) or isinstance(items, bytes) or not items:
        raise ValueError(f"expected a non-empty list of links, got {_type(value)}")
    links = [_link(item) for item in items]
    if any("," in link for link in links):
        # PDF.co splits the joined value on commas: a comma inside one link would cut it in two.
        raise ValueError("a link holds a comma, which PDF.co would read as two links: percent-encode it (%2C)")
    return ",".join(links)


def _profiles(value: object) -> str:
    # PDF.co takes profiles as JSON-ish text, e.g. "{'CheckPermissions': false}". It may hold encryption keys.
    if isinstance(value, Mapping):
        return _json(dict(value))
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("expected a mapping or JSON text such as {'CheckPermissions': false}")


def _json(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot be sent as JSON ({_type(error)})") from None


def _number(value: object) -> bool:
    try:
        return isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1e9
    except OverflowError:  # 10**400
        return False


def _rect(value: object) -> str:
    parts = value.split(",") if isinstance(value, str) else value
    try:
        numbers = [float(part) for part in parts] if isinstance(parts, Sequence) else []
    except (TypeError, ValueError, OverflowError):
        numbers = []
    if len(numbers) != 4 or not all(_number(number) for number in numbers):
        raise ValueError("expected 'x, y, width, height' in points (four non-negative numbers)")
    return ", ".join(f"{number:g}" for number in numbers)


def _secret(value: object) -> SecretStr:
    # Kept a SecretStr: the client reveals it on the wire only; logs and Prefect's parameters show it masked.
    if isinstance(value, (str, SecretStr)):
        return SecretStr(value) if isinstance(value, str) else value
    raise ValueError(f"expected text or a SecretStr, got {_type(value)}")


def _names(value: object) -> str:
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, Sequence) and all(isinstance(item, str) for item in items):
        names = [item.strip() for item in items if item.strip()]
        if names:
            return ",".join(names)
    raise ValueError("expected a non-empty list of names (or a comma-separated string)")


def _template_id(value: object) -> str:
    # Template ids are numbers that PDF.co takes as text.
    return str(NAME.convert(str(value) if isinstance(value, int) and not isinstance(value, bool) else value))


def choice(*values: str) -> ParamKind:
    """One of ``values`` in any letter case (or a number, for numbered modes), sent as PDF.co spells it."""
    spelling = {value.lower(): value for value in values}

    def convert(value: object) -> str:
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(text, str) and text.strip().lower() in spelling:
            return spelling[text.strip().lower()]
        raise ValueError(f"expected one of {', '.join(values)}")

    return ParamKind("one of " + ", ".join(values), convert)


def items(*required: str) -> ParamKind:
    """A list of objects (pydantic models, or mappings with PDF.co's keys) that each hold ``required``."""

    def convert(value: object) -> list[dict[str, Any]] | None:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise ValueError(f"expected a list of objects with {', '.join(required)}, got {_type(value)}")
        sent = []
        for index, item in enumerate(value):
            entry = item.model_dump(by_alias=True, exclude_none=True) if isinstance(item, BaseModel) else item
            if not isinstance(entry, Mapping) or not all(entry.get(key) is not None for key in required):
                raise ValueError(f"[{index}]: expected an object with {', '.join(required)}")
            if entry.get("pages") is not None:
                entry = {**entry, "pages": pages(entry["pages"])}
            sent.append(dict(entry))
        _json(sent)
        return sent or None  # an empty list adds nothing: left out

    return ParamKind(f"objects with {', '.join(required)}", convert)


TEXT = _plain("text", (str,))
NAME = _plain("non-empty text", (str,), lambda value: bool(value.strip()))
BOOL = _plain("True or False", (bool,))
INT = _plain(f"a whole number from 0 to {_INT_MAX}", (int,), lambda value: 0 <= value <= _INT_MAX)
NUMBER = _plain("a finite number from 0 to 1e9", (int, float), _number)
ANGLE = _plain("90, 180, 270 or their negatives", (int,), lambda value: value % 90 == 0 and 0 < abs(value) < 360)
# Precision is one minute; PDF.co's default is 60 and plans below Business 2 stop there.
EXPIRATION = _plain("whole minutes from 1 to 1440 (over 60 needs a Business 2 plan)", (int,), lambda v: 1 <= v <= 1440)
LANG = _plain("OCR language codes such as 'eng' or 'eng+deu'", (str,), lambda value: bool(_LANG.match(value)))
LINK = ParamKind("a link", _link)
LINKS = ParamKind("links, sent comma-separated", _links)
PAGES = ParamKind("0-based pages", pages)
PAGES_FROM_1 = ParamKind("1-based pages", lambda value: pages(value, one_based=True))
SPLIT_PAGES = ParamKind("1-based pages or '*'", lambda value: pages(value, one_based=True, allow_star=True))
PROFILES = ParamKind("engine options (a mapping or JSON text)", _profiles)
JSON_TEXT = ParamKind("JSON (a mapping or list, or its text)", _json)
OBJECT = _plain("a mapping that JSON can hold", (Mapping,), lambda value: bool(_json(dict(value))))
RECT = ParamKind("x, y, width, height", _rect)
SECRET = ParamKind("a secret", _secret)
NAMES = ParamKind("names, sent comma-separated", _names)
STRINGS = _plain("a list of strings", (list, tuple), lambda value: all(isinstance(item, str) for item in value))
TEMPLATE_ID = ParamKind("a template id", _template_id)
