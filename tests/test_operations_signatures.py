"""Each typed task declares its parameters once: its signature, its parameter model and PDF.co's parameter table
(``testing/_pdfco_params.py``) agree, and its docstring documents every argument.

The static signature is read here on its own terms (the function's parameters, ``**options: Unpack[...]``
spread), not through ``operations.signature``, which builds the model and the runtime signature from it.
"""

from __future__ import annotations

import inspect
import pickle
import re
from collections.abc import Callable
from typing import Any, get_args, get_type_hints

import cloudpickle
import pytest
from pydantic import ValidationError
from typing_extensions import TypedDict, Unpack

from prefect_pdfco.jobs.keys import SUBMIT_OPTION_NAMES
from prefect_pdfco.operations import get_operation
from prefect_pdfco.operations import tasks as typed
from prefect_pdfco.operations.signature import LOCAL_ARGUMENTS, describe, operation_spec
from prefect_pdfco.testing._pdfco_params import ENDPOINTS, undocumented_names

TASKS = sorted(name for name in typed.__all__ if name[0].islower())
#: Arguments sent under names the task's check builds (one pair, or two arrays), not under their own: the exact
#: payload test (test_operations_payloads.py) checks the names sent.
BUILT_BY_CHECK = {("replace_text", "search"), ("replace_text", "replace")}


def static_parameters(task: Any) -> list[str]:
    """What a type checker sees: the function's parameters, with ``**options: Unpack[X]`` spread into X's keys."""
    fn = task.fn.__wrapped__
    names = []
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            group = get_args(get_type_hints(fn, include_extras=True)[parameter.name])[0]
            names.extend(get_type_hints(group))
        else:
            names.append(parameter.name)
    return names


def test_every_typed_task_is_checked() -> None:
    assert len(TASKS) == 24


@pytest.mark.parametrize("name", TASKS)
def test_signature_model_and_pdfco_table_agree(name: str) -> None:
    task = getattr(typed, name)
    operation = get_operation(name)
    spec = operation_spec(operation.name)
    declared = static_parameters(task)

    # The submit options are in the static signature, and the runtime signature is the static one spread.
    assert set(SUBMIT_OPTION_NAMES) <= set(declared)
    assert declared[0] == "credentials"
    assert sorted(inspect.signature(task.fn).parameters) == sorted(declared)
    assert len(set(declared)) == len(declared)

    # One model field per argument that is a PDF.co parameter (or ``extra``), and nothing else.
    fields = spec.model.model_fields
    assert set(fields) == set(declared) - LOCAL_ARGUMENTS
    assert spec.model.model_config.get("extra") == "forbid"
    with pytest.raises(ValidationError):
        spec.model.model_validate({"not_an_argument": 1})

    # Each is sent under a name PDF.co documents for this endpoint, in its letter case.
    assert operation.endpoint in ENDPOINTS
    sent = {}
    for field_name, field in fields.items():
        if field_name == "extra" or (name, field_name) in BUILT_BY_CHECK:
            assert field_name == "extra" or field.exclude
            continue
        assert not field.exclude, field_name
        sent[field_name] = field.serialization_alias
    assert all(sent.values())
    assert undocumented_names(operation.endpoint, list(sent.values())) == [], sent
    assert len(set(sent.values())) == len(sent), "two arguments sent under one name"


@pytest.mark.parametrize("name", TASKS)
def test_every_argument_is_documented_once(name: str) -> None:
    doc = getattr(typed, name).fn.__doc__ or ""
    start = doc.index("\n    Args:\n")
    entries = re.findall(r"^ {8}(\w+): ", doc[start : doc.index("\n\n", start + 1)], re.MULTILINE)
    assert sorted(entries) == sorted(static_parameters(getattr(typed, name)))
    raises = doc[doc.index("\n    Raises:\n") :]
    for error in ("InvalidParametersError:", "PdfcoAPIError:", "PdfcoConnectionError:"):
        assert raises.count(error) == 1, (name, error)


def test_a_task_is_picklable_with_its_runtime_signature() -> None:
    # Process and distributed task runners ship the task (its function and signature) with cloudpickle.
    shipped = pickle.loads(cloudpickle.dumps(typed.merge_pdfs))
    assert shipped.name == "merge_pdfs"
    assert inspect.signature(shipped.fn) == inspect.signature(typed.merge_pdfs.fn)


class _Undocumented(TypedDict, total=False):
    """Options whose docs forgot one.

    Attributes:
        documented: Here.
    """

    documented: str
    forgotten: int


def test_an_option_without_a_line_of_docs_is_refused_at_import() -> None:
    async def task_with_undocumented_options(credentials: object, **options: Unpack[_Undocumented]) -> None:
        """Doc."""

    function: Callable[..., Any] = task_with_undocumented_options
    with pytest.raises(TypeError, match="forgotten"):
        describe(function)
