"""A typed task's parameter model, runtime signature and full docstring, built from its Python signature.

The signature is the one place a typed task declares its arguments (see ``options.py``). ``operation_task`` calls
``describe`` once per task, at import time, and gets:

- the parameter model: one pydantic field per argument (credentials and the submit options aside), named as the
  argument, validated as its ``Sent.type`` (else its annotation), sent under ``Sent.name`` (else its name in
  camelCase); ``extra="forbid"``, so it accepts nothing the signature cannot pass;
- the runtime signature: the function's, with ``**options: Unpack[SomeOptions]`` spread into keyword-only
  parameters, so Prefect records each option as a parameter of the task run (the submit options too: the cache
  policy and the submit record read them there);
- the docstring: the function's, with one line in ``Args:`` for each option it does not document itself, taken
  from the ``Attributes:`` of the option group that declares it.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from pydantic import Field, create_model
from pydantic.alias_generators import to_camel
from typing_extensions import is_typeddict

from prefect_pdfco.jobs.keys import SUBMIT_OPTION_NAMES
from prefect_pdfco.operations.catalogue import Operation, get_operation
from prefect_pdfco.operations.options import Sent
from prefect_pdfco.operations.params import OperationParams

__all__ = ["LOCAL_ARGUMENTS", "OperationSpec", "describe", "operation_spec"]

#: Arguments that are not PDF.co parameters: the block, and the options that choose how a submit is keyed.
LOCAL_ARGUMENTS = frozenset({"credentials", *SUBMIT_OPTION_NAMES})
# The runtime default of an option that is not None (``resend_if_unknown`` is a plain flag).
_RUNTIME_DEFAULTS: Mapping[str, Any] = {"resend_if_unknown": False}
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY
_ENTRY = re.compile(r"^ {8}(\w+): ")
_CREDENTIALS = {"credentials": "        credentials: The PDF.co credentials block."}
#: What any typed task may raise, added to its ``Raises:`` unless it says more about them itself.
_SUBMIT_ERRORS: Mapping[str, str] = {
    name: f"        {name}: {text}"
    for name, text in {
        "InvalidParametersError": "A bad argument, found before any request (nothing is spent).",
        "PdfcoAPIError": "PDF.co refused the job.",
        "PdfcoConnectionError": "No answer (the job may exist: it is not re-sent).",
    }.items()
}


@dataclass(frozen=True)
class OperationSpec:
    """What ``describe`` makes of one typed task.

    Attributes:
        operation: Its catalogue entry (endpoint, output kind, poll policy).
        model: Its parameter model.
        signature: Its runtime signature (options spread into keyword-only parameters).
        doc: Its docstring, with every option in ``Args:``.
        options: The name of its ``**options`` parameter, None without one.
    """

    operation: Operation
    model: type[OperationParams]
    signature: inspect.Signature
    doc: str
    options: str | None

    def values(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The task's arguments (``locals()``, options spread) that go into the model: no credentials, no
        submit options, no unset (None) ones, so the model's defaults apply."""
        spread = dict(arguments)
        if self.options is not None:
            spread.update(spread.pop(self.options, None) or {})
        return {name: value for name, value in spread.items() if name not in LOCAL_ARGUMENTS and value is not None}


_SPECS: dict[str, OperationSpec] = {}


def operation_spec(operation: str) -> OperationSpec:
    """The spec ``describe`` made for the typed task of ``operation`` (a catalogue name)."""
    return _SPECS[operation]


def describe(fn: Callable[..., Any]) -> OperationSpec:
    """Builds (and keeps, for ``operation_spec``) the spec of a typed task from its function.

    The operation is the catalogue entry named like the function (``merge_pdfs`` is ``merge``).
    """
    hints, bare = get_type_hints(fn, include_extras=True), get_type_hints(fn)
    parameters: list[inspect.Parameter] = []
    fields: dict[str, Any] = {}
    documented: dict[str, str] = {}
    options = None
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind is not inspect.Parameter.VAR_KEYWORD:
            parameters.append(parameter.replace(annotation=bare.get(parameter.name, Any)))
            fields[parameter.name] = _field(parameter.name, hints.get(parameter.name, Any), parameter.default)
            continue
        options, group = parameter.name, get_args(hints[parameter.name])[0]  # Unpack[SomeOptions]
        documented = _attributes(group)
        for option, hint, annotation in _spread(fn.__name__, group, documented):
            default = _RUNTIME_DEFAULTS.get(option)
            annotation = annotation if default is not None else annotation | None
            parameters.append(inspect.Parameter(option, _KEYWORD_ONLY, default=default, annotation=annotation))
            fields[option] = _field(option, hint, None)
    operation = get_operation(fn.__name__)
    model_fields = {name: field for name, field in fields.items() if name not in LOCAL_ARGUMENTS}
    model = create_model(_model_name(fn.__name__), __base__=OperationParams, **model_fields)
    signature = inspect.signature(fn).replace(parameters=parameters, return_annotation=bare.get("return", Any))
    doc = _append(_append(fn.__doc__ or "", "Args", documented, _CREDENTIALS), "Raises", _SUBMIT_ERRORS)
    spec = OperationSpec(operation, model, signature, doc, options)
    _SPECS[operation.name] = spec
    return spec


def _spread(task: str, group: type, documented: Mapping[str, str]) -> list[tuple[str, Any, Any]]:
    """(name, annotation with metadata, bare annotation) of each option of ``group``, in the order of its docs."""
    hints, bare = get_type_hints(group, include_extras=True), get_type_hints(group)
    if hints.keys() - documented.keys():
        raise TypeError(f"{task}: options missing from their group's Attributes: {hints.keys() - documented.keys()}")
    return [(name, hints[name], bare[name]) for name in documented if name in hints]


def _field(name: str, hint: Any, default: Any) -> tuple[Any, Any]:
    """The model field of an argument: its type and its ``Field`` (default, PDF.co's name)."""
    sent, annotation, optional = _sent(hint)
    kind = sent.type if sent.type is not None else annotation
    required = default is inspect.Parameter.empty
    if optional or (not required and default is None):
        kind = kind | None
    return kind, Field(
        ... if required else default,
        serialization_alias=sent.name or to_camel(name),
        exclude=sent.exclude or None,
    )


def _sent(hint: Any) -> tuple[Sent, Any, bool]:
    """(the ``Sent`` of ``hint``, its metadata merged, later wins; the bare type; whether it allows None)."""
    optional = False
    if get_origin(hint) in (Union, types.UnionType):
        members = [member for member in get_args(hint) if member is not type(None)]
        optional = len(members) < len(get_args(hint))
        if optional and len(members) == 1:
            hint = members[0]
    sent = Sent()
    if get_origin(hint) is Annotated:
        hint, *metadata = get_args(hint)
        for item in metadata:
            if isinstance(item, Sent):
                given = {key: value for key, value in vars(item).items() if value not in (None, False)}
                sent = replace(sent, **given)
    return sent, hint, optional


def _attributes(group: type) -> dict[str, str]:
    """The ``Attributes:`` entries of an option group and of the groups it extends, the group's own first."""
    entries: dict[str, str] = {}
    pending = [group]
    while pending:
        current = pending.pop(0)
        for name, text in _section(current.__doc__ or "", "Attributes").items():
            entries.setdefault(name, text)
        pending.extend(base for base in getattr(current, "__orig_bases__", ()) if is_typeddict(base))
    return entries


def _section(doc: str, title: str) -> dict[str, str]:
    """The entries of a Google-style section (``name: text`` and its indented continuation lines)."""
    entries: dict[str, str] = {}
    lines = doc.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == f"{title}:"), None)
    if start is None:
        return entries
    name = None
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        match = _ENTRY.match(line)
        if match:
            name = match.group(1)
            entries[name] = line
        elif name is not None:
            entries[name] += "\n" + line
    return entries


def _append(doc: str, title: str, entries: Mapping[str, str], lead: Mapping[str, str] | None = None) -> str:
    """``doc`` with the ``entries`` its section ``title`` lacks at the end of the section (and the ``lead``
    entries it lacks at its start); a section it lacks goes before ``Example:``. Unchanged without either."""
    own = _section(doc, title)
    first, missing = ([text for name, text in group.items() if name not in own] for group in (lead or {}, entries))
    start = doc.find(f"\n    {title}:\n")
    if start < 0:
        start = doc.find("\n    Example:\n")
        if start < 0 or not first + missing:
            return doc
        return doc[:start] + f"\n    {title}:\n" + "\n".join(first + missing) + "\n" + doc[start:]
    body = start + len(f"\n    {title}:\n")
    end = doc.find("\n\n", body)
    if end < 0:
        return doc
    return (
        doc[:body]
        + "".join(line + "\n" for line in first)
        + doc[body:end]
        + "".join("\n" + m for m in missing)
        + doc[end:]
    )


def _model_name(function: str) -> str:
    return "".join(part.capitalize() for part in function.split("_")) + "Params"
