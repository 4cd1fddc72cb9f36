"""PDF.co parameters given by name (``run_operation``'s ``params``), checked with the typed tasks' models.

A typed task validates its arguments with the parameter model built from its signature (``signature.py``);
``check_payload`` runs the same model over a payload spelt as PDF.co's docs spell it, before any request:

- a name the operation's typed task models, in PDF.co's spelling and any letter case (``paperSize``,
  ``papersize``), is validated by that model and sent as the task sends it, under its documented spelling
  (``pages=[0, "2-4"]`` as ``"0,2-4"``, a mapping of ``profiles`` as JSON text, passwords as ``SecretStr``);
  a local path as ``url`` is refused, as the typed tasks refuse it;
- a name spelt the Python way (``paper_size``, ``barcode_types``) or one letter away from a modelled name
  (``pagse``) is refused, naming the parameter it was probably meant to be;
- any other name goes to PDF.co as given, as a typed task's ``extra`` does: PDF.co documents parameters the
  models leave out (``encrypt``, ``inline``, ``legacyrendition``, replace-text's ``searchString``...).

Operations without a typed task get the checks of the parameters every operation shares: the input links,
``callback``, ``expiration``, ``profiles``, ``name`` and the passwords.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args

from pydantic import BaseModel, SecretStr, ValidationError, create_model
from pydantic.fields import FieldInfo

from prefect_pdfco.exceptions import InvalidParametersError
from prefect_pdfco.operations import tasks as _typed_tasks  # noqa: F401 (each typed task registers its spec)
from prefect_pdfco.operations.catalogue import Operation
from prefect_pdfco.operations.params import (
    Callback,
    Expiration,
    InputUrls,
    NonEmpty,
    OperationParams,
    Profiles,
    _describe,
)
from prefect_pdfco.operations.signature import operation_spec

__all__ = ["check_payload"]

# A name one edit away from a modelled one (a letter added, dropped, changed, or two swapped: "pagse", "page")
# is taken for a typo of it, from this length on. PDF.co documents a few names one edit away from a modelled
# one, left out below by model; tests/test_flows_params.py checks every endpoint's documented names.
_SHORTEST_TYPO = 4
_DOCUMENTED_NEAR: Mapping[str, frozenset[str]] = {
    # The reader's page documents `type` (the barcode type); the typed task sends barcode types as `types`.
    "ReadBarcodesParams": frozenset({"type"}),
}


class _SharedParams(OperationParams):
    """The parameters every operation shares, for the operations without a typed task."""

    url: InputUrls | None = None
    callback: Callback | None = None
    expiration: Expiration | None = None
    profiles: Profiles | None = None
    name: NonEmpty | None = None
    password: SecretStr | None = None
    httpusername: str | None = None
    httppassword: SecretStr | None = None


@dataclass(frozen=True)
class _Names:
    """An operation's parameter model and the names it knows.

    Attributes:
        model: The typed task's model (its fields sent under another name made optional), or ``_SharedParams``.
        fields: The field of each documented name, by that name in lower case.
        spelling: The documented spelling of each field (``paper_size``: ``paperSize``).
        python: The field of each Python-style name that PDF.co would not know (``barcode_types``).
        lists: The fields that take several links (``url`` of merge), so a comma-joined string is split first.
    """

    model: type[BaseModel]
    fields: Mapping[str, str]
    spelling: Mapping[str, str]
    python: Mapping[str, str]
    lists: frozenset[str]


@cache
def _names(operation: str) -> _Names:
    try:
        model: type[BaseModel] = operation_spec(operation).model
    except KeyError:  # no typed task for this operation
        model = _SharedParams
    spelling: dict[str, str] = {}
    excluded: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name == "extra":
            continue
        if field.exclude:  # sent through the task's check (search and replace pairs): PDF.co's names pass through
            excluded[name] = (Any, None)
            continue
        spelling[name] = field.serialization_alias or name
    if excluded:
        model = create_model(model.__name__, __base__=model, **excluded)
    joined = get_args(InputUrls)[1]  # the validator that joins several links
    return _Names(
        model=model,
        fields={alias.lower(): name for name, alias in spelling.items()},
        spelling=spelling,
        python={name: name for name, alias in spelling.items() if name.lower() != alias.lower()},
        lists=frozenset(name for name in spelling if _takes(model.model_fields[name], joined)),
    )


def _takes(field: FieldInfo, validator: object) -> bool:
    """Whether ``field``'s type, or a member of its union (``InputUrls | None``), carries ``validator``."""
    members = [field, *(getattr(arg, "__metadata__", ()) for arg in get_args(field.annotation))]
    return any(validator in (member.metadata if isinstance(member, FieldInfo) else member) for member in members)


def _misspelt(name: str, names: _Names) -> str | None:
    """The documented name ``name`` was probably meant to be, or None when it looks like a name of its own."""
    if name in names.python:
        return names.spelling[names.python[name]]
    letters = name.lower().replace("_", "").replace("-", "")
    for documented in names.spelling.values():
        if documented.lower().replace("_", "") == letters:
            return documented
    if len(letters) < _SHORTEST_TYPO or name.lower() in _DOCUMENTED_NEAR.get(names.model.__name__, ()):
        return None
    close = [documented for documented in names.spelling.values() if _one_edit_apart(letters, documented.lower())]
    return close[0] if close else None


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether one letter added, dropped, changed, or two neighbours swapped turn ``a`` into ``b``."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and (a[diff[0]], a[diff[1]]) == (b[diff[1]], b[diff[0]])
        return len(diff) == 1 or swapped
    short, long = sorted((a, b), key=len)
    first = next((i for i in range(len(short)) if short[i] != long[i]), len(short))
    return short[first:] == long[first + 1 :]


def check_payload(operation: Operation, params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Validates PDF.co parameters for ``operation`` with its typed task's model, before any request.

    Args:
        operation: The catalogue entry.
        params: PDF.co's parameters, named as its docs name them; None for none.

    Returns:
        The payload to send: the modelled parameters as the typed task sends them (documented spelling,
        normalized values), the others as given, in the order given. None when ``params`` is None.

    Raises:
        InvalidParametersError: Naming each bad or misspelt parameter and why (never its value).
    """
    if params is None:
        return None
    if not isinstance(params, Mapping) or not all(isinstance(key, str) for key in params):
        raise InvalidParametersError(operation.name, ["params: expected a dict of PDF.co parameters by name"])
    names = _names(operation.name)
    given: dict[str, str] = {}  # field: the name it was given under
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in params.items():
        field = names.fields.get(name.lower())
        if field is None:
            meant = _misspelt(name, names)
            if meant is not None:
                problems.append(f"{name}: not a parameter of {operation.name}; PDF.co names it {meant!r}")
            continue
        if field in given:
            problems.append(f"{name}: given twice (also as {given[field]!r})")
            continue
        given[field] = name
        values[field] = value.split(",") if field in names.lists and isinstance(value, str) else value
    try:
        checked = names.model.model_validate(values).model_dump(by_alias=True, exclude_unset=True, exclude_none=True)
    except ValidationError as error:
        for item in error.errors(include_url=False, include_input=False):
            field = str(item["loc"][0]) if item["loc"] else ""
            where = (given.get(field, names.spelling.get(field, field)), *item["loc"][1:])
            problems.append(_describe({**item, "loc": where}))
        checked = {}
    if problems:
        raise InvalidParametersError(operation.name, problems)
    payload: dict[str, Any] = {}
    for name, value in params.items():
        field = names.fields.get(name.lower())
        if field is None:
            payload[name] = value
        elif names.spelling[field] in checked:  # None (and an empty list of items) is left out, as in a task
            payload[names.spelling[field]] = checked[names.spelling[field]]
    return payload
